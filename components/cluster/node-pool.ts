import * as containerservice from "@pulumi/azure-native/containerservice";
import * as pulumi from "@pulumi/pulumi";
import type { AksPoolSettings } from "../../config/aks";
import { BUILDKIT_ARCH_LABEL_KEY, BUILDKIT_POOL_LABEL, BUILDKIT_POOL_TAINT } from "../../contracts";
import type { NodeArch } from "./placement";

/** `ameide.io/pool=buildkit:NoSchedule`, as AKS spells node taints. */
export const BUILDKIT_POOL_TAINT_SPEC = buildkitPoolTaintSpec();

/**
 * The pool's node labels: the contract label (`ameide.io/pool=buildkit`; another tier's pools
 * `buildkit-<tier>`), plus `ameide.io/arch=arm64` on an arm64 pool.
 */
export function buildkitPoolLabels(arch: NodeArch, poolValue: string = BUILDKIT_POOL_LABEL.value): Record<string, string> {
    return {
        [BUILDKIT_POOL_LABEL.key]: poolValue,
        ...(arch === "arm64" ? { [BUILDKIT_ARCH_LABEL_KEY]: "arm64" } : {}),
    };
}

/** `ameide.io/pool=<value>:NoSchedule`: a tier's taint, which no other tier's builders tolerate. */
export function buildkitPoolTaintSpec(poolValue: string = BUILDKIT_POOL_TAINT.value): string {
    return `${BUILDKIT_POOL_TAINT.key}=${poolValue}:${BUILDKIT_POOL_TAINT.effect}`;
}

/**
 * Inputs of one BuildKit AgentPool. A `User` pool (system pods stay off it) of Azure Linux nodes,
 * tainted so only BuildKit pods (which tolerate the taint and select the label) land there, scaled
 * by the cluster autoscaler between minCount and maxCount. `count` is only the size at creation:
 * afterwards the autoscaler owns it (the resource ignores changes to it).
 */
export function agentPoolArgs(
    cluster: { resourceGroup: string; clusterName: pulumi.Input<string> },
    pool: AksPoolSettings,
    arch: NodeArch,
    /** The tier's pool label and taint value. Default: the contract's `buildkit`. */
    poolValue: string = BUILDKIT_POOL_LABEL.value,
): containerservice.AgentPoolArgs {
    return {
        resourceGroupName: cluster.resourceGroup,
        resourceName: cluster.clusterName,
        agentPoolName: pool.name,
        mode: "User",
        type: "VirtualMachineScaleSets",
        osType: "Linux",
        osSKU: "AzureLinux",
        vmSize: pool.vmSize,
        ...(pool.zones.length > 0 ? { availabilityZones: [...pool.zones] } : {}),
        enableAutoScaling: true,
        minCount: pool.minCount,
        maxCount: pool.maxCount,
        // One node at creation even when the pool may scale to zero, so the first `up` finds a node for
        // the builders instead of waiting for a scale-up.
        count: Math.max(pool.minCount, 1),
        maxPods: pool.maxPods,
        osDiskSizeGB: pool.osDiskSizeGB,
        osDiskType: pool.osDiskType,
        nodeLabels: buildkitPoolLabels(arch, poolValue),
        nodeTaints: [buildkitPoolTaintSpec(poolValue)],
        // Azure tag names may not contain "/", so these are not the Kubernetes label keys.
        tags: { "arc-buildkit-pool": poolValue, "arc-buildkit-arch": arch },
    };
}

export interface BuildkitNodePoolArgs {
    resourceGroup: string;
    /** The existing cluster; an Output so the pool waits for the cluster preflight. */
    clusterName: pulumi.Input<string>;
    pool: AksPoolSettings;
    arch: NodeArch;
    /** The tier's pool label and taint value. Default: `buildkit` (the shared tier). */
    poolValue?: string;
}

/** A dedicated, tainted, autoscaled BuildKit node pool in an existing AKS cluster. */
export class BuildkitNodePool extends pulumi.ComponentResource {
    public readonly agentPool: containerservice.AgentPool;
    /** The AKS pool name. */
    public readonly poolName: pulumi.Output<string>;

    constructor(name: string, args: BuildkitNodePoolArgs, opts?: pulumi.ComponentResourceOptions) {
        super("arc-buildkit:cluster:BuildkitNodePool", name, {}, opts);
        this.agentPool = new containerservice.AgentPool(
            name,
            agentPoolArgs({ resourceGroup: args.resourceGroup, clusterName: args.clusterName }, args.pool, args.arch, args.poolValue),
            // The autoscaler changes the node count; without this a second `up` would scale it back.
            { parent: this, ignoreChanges: ["count"] },
        );
        this.poolName = pulumi.output(args.pool.name);
        this.registerOutputs({ poolName: this.poolName });
    }
}
