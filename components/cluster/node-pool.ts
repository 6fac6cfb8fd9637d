import * as containerservice from "@pulumi/azure-native/containerservice";
import * as pulumi from "@pulumi/pulumi";
import type { AksPoolSettings } from "../../config/aks";
import { BUILDKIT_ARCH_LABEL_KEY, BUILDKIT_POOL_LABEL, BUILDKIT_POOL_TAINT } from "../../contracts";
import type { NodeArch } from "./placement";
import { rolloutSeconds } from "../buildkit/rollout";

/** The builders one pool carries: how many, and how long each may drain. */
export interface PoolBuilders {
    replicas: number;
    drainTimeoutSeconds: number;
}

/**
 * AKS's per-node drain limit for upgrades of this pool (`upgradeSettings.drainTimeoutInMinutes`; AKS's
 * default is 30 minutes, the API accepts 1 to 1440): a node-image or Kubernetes upgrade evicts a node's
 * pods, and the builders' PodDisruptionBudget (`maxUnavailable: 1`) lets the next builder go only when
 * the last one's replacement is ready. With every builder of the set on one node that is each builder
 * in turn: `replicas × perPod` of the StatefulSet's rollout bound (components/buildkit/rollout.ts). A
 * shorter limit would fail the upgrade in the middle of a drain.
 */
export function poolDrainTimeoutMinutes(builders: PoolBuilders): number {
    const { perPod } = rolloutSeconds(builders);
    return Math.min(1440, Math.max(30, Math.ceil((builders.replicas * perPod) / 60)));
}

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
    builders?: PoolBuilders,
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
        // Upgrades wait for every builder's drain (poolDrainTimeoutMinutes).
        ...(builders ? { upgradeSettings: { drainTimeoutInMinutes: poolDrainTimeoutMinutes(builders) } } : {}),
        // Azure tag names may not contain "/", so these are not the Kubernetes label keys.
        tags: { "arc-buildkit-pool": poolValue, "arc-buildkit-arch": arch },
    };
}

/** The fields of an existing pool (`getManagedCluster`'s agentPoolProfiles) the immutability check reads. */
export interface ExistingPool {
    name?: string;
    vmSize?: string;
    availabilityZones?: string[];
    osDiskSizeGB?: number;
    osDiskType?: string;
    maxPods?: number;
    osSKU?: string;
}

/**
 * What config would change on an existing pool of the same name that AKS does not change in place:
 * the VM size, the availability zones, the OS disk's size and type, and the pods per node are fixed
 * when a pool is created (AKS's node pool documentation: resizing means a new pool; the AgentPool
 * API refuses these updates). Checked in the preflight, so `pulumi preview` fails with what to do,
 * instead of `pulumi up` failing half-way, or a same-named replacement deleting the pool (and the
 * builders on it) before creating it again. Pure.
 */
export function immutablePoolChanges(key: string, pool: AksPoolSettings, existing: readonly ExistingPool[]): string[] {
    const live = existing.find((p) => p.name === pool.name);
    if (!live) {
        return [];
    }
    const sorted = (zones: readonly string[] | undefined) => [...(zones ?? [])].sort().join(",");
    const checks: [string, unknown, unknown][] = [
        ["vmSize", live.vmSize, pool.vmSize],
        ["zones", sorted(live.availabilityZones), sorted(pool.zones)],
        ["osDiskSizeGB", live.osDiskSizeGB, pool.osDiskSizeGB],
        ["osDiskType", live.osDiskType, pool.osDiskType],
        ["maxPods", live.maxPods, pool.maxPods],
    ];
    return checks
        .filter(([, was, wanted]) => was !== undefined && was !== "" && String(was) !== String(wanted))
        .map(
            ([field, was, wanted]) => `arc-buildkit:cluster.${key}.${field} is ${JSON.stringify(wanted)} but node pool ${pool.name} has ${JSON.stringify(was)}`,
        );
}

export interface BuildkitNodePoolArgs {
    resourceGroup: string;
    /** The existing cluster; an Output so the pool waits for the cluster preflight. */
    clusterName: pulumi.Input<string>;
    pool: AksPoolSettings;
    arch: NodeArch;
    /** The builders the pool carries, for the upgrade drain limit. Default: AKS's own (30 minutes). */
    builders?: PoolBuilders;
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
            agentPoolArgs({ resourceGroup: args.resourceGroup, clusterName: args.clusterName }, args.pool, args.arch, args.builders, args.poolValue),
            // The autoscaler changes the node count; without this a second `up` would scale it back.
            // A new pool name (blue/green) is a replacement: created first, the old pool deleted at the end of
            // the update, after the builders moved (never delete-first, which would take them down at once).
            { parent: this, ignoreChanges: ["count"], deleteBeforeReplace: false },
        );
        this.poolName = pulumi.output(args.pool.name);
        this.registerOutputs({ poolName: this.poolName });
    }
}
