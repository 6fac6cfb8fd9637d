import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { BUILDKIT_POOL_LABEL, BUILDKIT_POOL_TAINT } from "../../contracts";
import type { Placement } from "../kubernetes/placement";
import type { KubeTarget } from "../monitoring/preflight";

/** Where every Kubernetes resource of the stack goes, and where the builders may run. */
export interface ClusterConnection {
    provider: k8s.Provider;
    /** Placement of the contract (`buildkitd`) builders. */
    placement: Placement;
    /** Placement of the binfmt DaemonSet when it differs from the builders' (AKS: every BuildKit pool node). */
    binfmtPlacement?: Placement;
    /** Native arm64 builders, when the AKS arm64 pool is enabled. */
    arm64?: { replicas: number; placement: Placement };
    /** Node pools the BuildKit workloads must wait for (empty on k3d). */
    nodePools: pulumi.Resource[];
    /** Each further tier's own pools and placements (AKS), by tier name. */
    tiers: Readonly<Record<string, TierPlacement>>;
    /** How read-only preflights reach the cluster: the provider's kubeconfig (a secret) or context. */
    kubeTarget: pulumi.Output<KubeTarget>;
}

/** Where one tier's builders run: only on its own pools. */
export interface TierPlacement {
    placement: Placement;
    binfmtPlacement: Placement;
    arm64?: { replicas: number; placement: Placement };
    nodePools: pulumi.Resource[];
}

/** Node architectures as the kubelet reports them in `kubernetes.io/arch`. */
export type NodeArch = "amd64" | "arm64";

/** Set by the kubelet on every node; AKS does not let a pool override it. */
export const ARCH_NODE_LABEL = "kubernetes.io/arch";

/**
 * On AKS BuildKit pods run only on the dedicated, tainted BuildKit pool(s); nothing else tolerates
 * the taint. This placement covers every BuildKit pool node whatever its architecture (binfmt).
 */
export const BUILDKIT_POOL_PLACEMENT: Placement = {
    nodeSelector: { [BUILDKIT_POOL_LABEL.key]: BUILDKIT_POOL_LABEL.value },
    tolerations: [{ key: BUILDKIT_POOL_TAINT.key, operator: "Equal", value: BUILDKIT_POOL_TAINT.value, effect: BUILDKIT_POOL_TAINT.effect }],
};

/** Set by AKS on every node: the name of the node pool it belongs to. */
export const AKS_AGENTPOOL_NODE_LABEL = "kubernetes.azure.com/agentpool";

/** Every node of one tier's pools (`ameide.io/pool=<value>`), whatever its architecture, and nothing else. */
export function tierPoolPlacement(poolValue: string): Placement {
    return {
        nodeSelector: { [BUILDKIT_POOL_LABEL.key]: poolValue },
        tolerations: [{ key: BUILDKIT_POOL_TAINT.key, operator: "Equal", value: poolValue, effect: BUILDKIT_POOL_TAINT.effect }],
    };
}

/**
 * Builders of one architecture: the tier's pool label, its toleration (which tolerates no other
 * tier's taint), the node architecture, and (on AKS) the node pool by name. The pool name makes a
 * blue/green pool change a rolling update: a new `pool.name` creates the new pool first, then the
 * builders' pod template selects it, so the StatefulSet moves them one at a time (each drained, the
 * next started when the last is ready), and only then is the old pool deleted
 * (docs/operations/node-pool.md). Default: the shared tier's `buildkit` pools, any pool name.
 */
export function builderPlacement(arch: NodeArch, poolName?: string, poolValue: string = BUILDKIT_POOL_LABEL.value): Placement {
    const pool = tierPoolPlacement(poolValue);
    return {
        nodeSelector: {
            ...pool.nodeSelector,
            [ARCH_NODE_LABEL]: arch,
            ...(poolName === undefined ? {} : { [AKS_AGENTPOOL_NODE_LABEL]: poolName }),
        },
        tolerations: pool.tolerations!.map((t) => ({ ...t })),
    };
}
