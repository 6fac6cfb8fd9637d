import { z } from "zod";
import { wholeNumber } from "./numbers";

/**
 * The `aks` variant of `arc-buildkit:cluster`: the existing cluster, how the program logs in to it,
 * the dedicated BuildKit node pool(s) it adds, and the NetworkPolicy preflight. Pure: no Pulumi
 * calls, so it is tested directly. Defaults live here and only here; docs/configuration.md, "AKS cluster", mirrors them.
 */

/**
 * AKS node pool names for Linux pools: lower-case letters and digits, starting with a letter, at
 * most 12 characters. AKS rejects anything else only after the deployment has started; here it
 * fails at config validation.
 */
export const AKS_POOL_NAME = /^[a-z][a-z0-9]{0,11}$/;

/**
 * Azure VM size names as `az vm list-sizes` prints them: `Standard_` + family (upper case) +
 * vCPUs (+ optional constrained vCPUs `-N`) + feature letters (lower case) + `_`-separated
 * accelerator and version parts, for example `Standard_D8ds_v5`, `Standard_E8-4ds_v5`,
 * `Standard_D4ps_v5`, `Standard_NC24ads_A100_v4`.
 */
export const VM_SIZE = /^Standard_([A-Z]+)([0-9]+)(?:-[0-9]+)?([a-z]*)((?:_[A-Za-z0-9]+)*)$/;

/** AKS limits for user pools (node count 0..1000; max pods per node 10..250; OS disk 30..2048 GB). */
export const AKS_LIMITS = {
    minCount: { min: 0, max: 1000 },
    maxCount: { min: 1, max: 1000 },
    maxPods: { min: 10, max: 250 },
    osDiskSizeGB: { min: 30, max: 2048 },
} as const;

/** True for a VM size of Azure's Arm-based families: the `p` feature letter (Dpsv5, Dpdsv6, Epsv5, Bpsv2...). */
export function isArm64VmSize(vmSize: string): boolean {
    const match = VM_SIZE.exec(vmSize);
    return !!match && match[3].includes("p");
}

export const KUBELOGIN_MODES = ["none", "azurecli", "workloadidentity", "spn"] as const;
export type KubeloginMode = (typeof KUBELOGIN_MODES)[number];

export const NETWORK_POLICY_ENGINE_CHECKS = ["warn", "require"] as const;

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const poolName = z.string({ error: "expected a node pool name" }).regex(AKS_POOL_NAME, {
    error: "expected an AKS node pool name: lower-case letters and digits, starting with a letter, at most 12 characters (such as buildkit)",
});

const vmSize = z.string({ error: "expected an Azure VM size such as Standard_D8ds_v5" }).regex(VM_SIZE, {
    error: "expected an Azure VM size as `az vm list-sizes` prints it, such as Standard_D8ds_v5 (Standard_<family><vCPUs><features>_<version>)",
});

const zones = z
    .array(z.enum(["1", "2", "3"], { error: 'expected availability zone "1", "2" or "3" (as strings)' }))
    .refine((list) => new Set(list).size === list.length, { error: "expected each availability zone at most once" });

/** Settings shared by the amd64 pool and the optional arm64 pool. */
const poolFields = {
    /** AKS node pool name. */
    name: poolName,
    /** VM size of the pool's nodes. */
    vmSize,
    /** Availability zones the pool spans. Default: none (a regional pool); zones cannot change after creation. */
    zones: zones.default([]),
    /** Fewest nodes the cluster autoscaler keeps (0 lets the pool scale to zero). */
    minCount: wholeNumber(AKS_LIMITS.minCount.min, AKS_LIMITS.minCount.max),
    /** Most nodes the cluster autoscaler may add. */
    maxCount: wholeNumber(AKS_LIMITS.maxCount.min, AKS_LIMITS.maxCount.max),
    /** Pods per node. Default 30 (AKS's default for Azure CNI). */
    maxPods: wholeNumber(AKS_LIMITS.maxPods.min, AKS_LIMITS.maxPods.max).default(30),
    /** OS disk size in GB. Default 128. */
    osDiskSizeGB: wholeNumber(AKS_LIMITS.osDiskSizeGB.min, AKS_LIMITS.osDiskSizeGB.max).default(128),
    /** `Ephemeral` (on the VM's local disk; needs a cache/temp disk at least osDiskSizeGB) or `Managed`. Default `Managed`. */
    osDiskType: z.enum(["Managed", "Ephemeral"], { error: 'expected "Managed" or "Ephemeral"' }).default("Managed"),
};

type PoolShape = { minCount: number; maxCount: number; vmSize: string };

function checkCounts(ctx: z.core.ParsePayload<PoolShape>): void {
    const { minCount, maxCount } = ctx.value;
    if (minCount > maxCount) {
        ctx.issues.push({ code: "custom", path: ["minCount"], input: minCount, message: `expected no more than maxCount (${maxCount})` });
    }
}

export const amd64Pool = z.strictObject(poolFields).check((ctx) => {
    checkCounts(ctx);
    if (isArm64VmSize(ctx.value.vmSize)) {
        ctx.issues.push({
            code: "custom",
            path: ["vmSize"],
            input: ctx.value.vmSize,
            message: "expected an x86-64 VM size (no `p` feature letter); Arm-based sizes belong in the arm64 block",
        });
    }
});

export const arm64Pool = z
    .strictObject({
        /** Add the arm64 pool and native arm64 builders. Default true when the block is present. */
        enabled: z.boolean().default(true),
        ...poolFields,
        /** arm64 builders (pods of StatefulSet `buildkitd-arm64`). Explicit, like `buildkit.replicas`. */
        replicas: wholeNumber(1, 20),
    })
    .check((ctx) => {
        checkCounts(ctx);
        if (!isArm64VmSize(ctx.value.vmSize)) {
            ctx.issues.push({
                code: "custom",
                path: ["vmSize"],
                input: ctx.value.vmSize,
                message: "expected an Arm-based VM size (a `p` feature letter, such as Standard_D4ps_v5 or Standard_D8pds_v6)",
            });
        }
    });

const kubelogin = z
    .strictObject({
        /**
         * How the Kubernetes provider gets an Entra ID token on AAD-enabled clusters. `none`: use
         * the user kubeconfig as AKS returns it (clusters with local accounts). The others fetch
         * the kubeconfig in `exec` format and point kubelogin at that login mode.
         */
        login: z.enum(KUBELOGIN_MODES, { error: `expected one of ${KUBELOGIN_MODES.join(", ")}` }).default("none"),
        /** Application (client) ID of the service principal; required with `spn`, optional with `workloadidentity`. */
        clientId: z.string().regex(UUID, { error: "expected an application (client) ID (a GUID)" }).optional(),
        /** Entra tenant ID; defaults to the tenant in the kubeconfig AKS returns. */
        tenantId: z.string().regex(UUID, { error: "expected a tenant ID (a GUID)" }).optional(),
    })
    .check((ctx) => {
        if (ctx.value.login === "spn" && !ctx.value.clientId) {
            ctx.issues.push({
                code: "custom",
                path: ["clientId"],
                input: undefined,
                message: "expected the service principal's application (client) ID because login is spn",
            });
        }
        if ((ctx.value.login === "none" || ctx.value.login === "azurecli") && ctx.value.clientId) {
            ctx.issues.push({
                code: "custom",
                path: ["clientId"],
                input: ctx.value.clientId,
                message: `expected no clientId with login ${ctx.value.login} (only spn and workloadidentity use one)`,
            });
        }
    });

export const aksCluster = z
    .strictObject({
        /** An existing Azure AKS cluster; BuildKit gets a dedicated node pool in it. */
        kind: z.literal("aks"),
        /** Resource group of the existing cluster. */
        resourceGroup: z.string().min(1, { error: "expected the resource group of the existing AKS cluster" }),
        /** Name of the existing cluster. */
        clusterName: z.string().min(1, { error: "expected the name of the existing AKS cluster" }),
        /** The dedicated, tainted x86-64 BuildKit pool. */
        pool: amd64Pool,
        /** Optional arm64 pool with native arm64 builders. Default: none (arm64 is built under QEMU). */
        arm64: arm64Pool.optional(),
        /** kubelogin for AAD clusters. Default: `{ login: none }`. */
        kubelogin: kubelogin.prefault({}),
        /**
         * What to do when the cluster has no NetworkPolicy engine (Azure, Calico or Cilium), so the
         * `buildkitd` NetworkPolicy would be stored but not enforced: `warn` (default) or `require`
         * (fail before anything is deployed).
         */
        networkPolicyEngine: z.enum(NETWORK_POLICY_ENGINE_CHECKS, { error: 'expected "warn" or "require"' }).default("warn"),
    })
    .check((ctx) => {
        const { pool, arm64 } = ctx.value;
        if (arm64 && arm64.name === pool.name) {
            ctx.issues.push({
                code: "custom",
                path: ["arm64", "name"],
                input: arm64.name,
                message: "expected a name different from pool.name (AKS pool names are unique per cluster)",
            });
        }
    });

export type AksClusterSettings = z.output<typeof aksCluster>;
export type AksPoolSettings = AksClusterSettings["pool"];
export type Arm64PoolSettings = NonNullable<AksClusterSettings["arm64"]>;
export type KubeloginSettings = AksClusterSettings["kubelogin"];

/**
 * AKS's built-in StorageClasses whose disks are locally redundant (LRS), and so zonal: a disk lives
 * in one availability zone and attaches only to nodes of that zone (`default` and `managed-csi`
 * are StandardSSD_LRS, `managed-csi-premium` Premium_LRS; `managed` and `managed-premium` are their
 * legacy in-tree twins).
 */
export const AKS_ZONAL_STORAGE_CLASSES = ["default", "managed-csi", "managed-csi-premium", "managed", "managed-premium"] as const;

/**
 * The StorageClass the program declares on AKS when `buildkit.cache.storageClass` names it:
 * Premium SSD zone-redundant (Premium_ZRS) disks through the Azure Disk CSI driver, which attach to
 * a node in any zone of the region, so a builder rescheduled to another zone keeps its cache.
 */
export const ZRS_STORAGE_CLASS = "buildkit-premium-zrs";

type ConfigIssue = { code: "custom"; path: (string | number)[]; input: unknown; message: string };

/**
 * A zonal (LRS) cache disk on a pool that spans several zones: the builder's disk stays in the zone
 * where it was created, and a builder moved to another zone (node drain, scale-down, upgrade) stays
 * Pending. Rejected before anything is deployed.
 */
export function zonalCacheIssues(value: {
    cluster: { kind: string; pool?: { zones: readonly string[] }; arm64?: { enabled: boolean; zones: readonly string[] } };
    buildkit: { cache: { storageClass: string } };
}): ConfigIssue[] {
    if (value.cluster.kind !== "aks") {
        return [];
    }
    const storageClass = value.buildkit.cache.storageClass;
    if (!(AKS_ZONAL_STORAGE_CLASSES as readonly string[]).includes(storageClass)) {
        return [];
    }
    const spanning = [
        ...((value.cluster.pool?.zones.length ?? 0) > 1 ? [`arc-buildkit:cluster.pool.zones (${value.cluster.pool!.zones.join(", ")})`] : []),
        ...(value.cluster.arm64?.enabled && value.cluster.arm64.zones.length > 1
            ? [`arc-buildkit:cluster.arm64.zones (${value.cluster.arm64.zones.join(", ")})`]
            : []),
    ];
    if (spanning.length === 0) {
        return [];
    }
    return [
        {
            code: "custom",
            path: ["buildkit", "cache", "storageClass"],
            input: storageClass,
            message:
                `expected a zone-redundant StorageClass such as ${ZRS_STORAGE_CLASS} (declared by the program: Premium_ZRS disks), ` +
                `because ${storageClass} makes zonal (LRS) disks and ${spanning.join(" and ")} spans several availability zones, ` +
                `so a builder moved to another zone could never attach its cache; or set the pool to a single zone`,
        },
    ];
}
