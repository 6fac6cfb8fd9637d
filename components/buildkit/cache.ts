import { CACHE_VOLUME } from "./workload";

/**
 * Growing the builders' caches without losing them.
 *
 * A StatefulSet's `volumeClaimTemplates` are immutable, and pulumi-kubernetes lists them among the
 * fields whose change replaces the object (provider/pkg/provider/diff.go, `forceNew` for apps
 * StatefulSet: `.spec.volumeClaimTemplates`). A replacement deletes the StatefulSet and, with
 * `persistentVolumeClaimRetentionPolicy.whenDeleted: Delete`, every cache claim with it.
 *
 * Where the StorageClass allows expansion (`allowVolumeExpansion: true`: the program's Premium_ZRS
 * class, and AKS's built-in Azure Disk CSI classes), a size change is instead applied to the claims:
 * - the StatefulSet ignores changes to `spec.volumeClaimTemplates` (`ignoreChanges`: the engine keeps
 *   the recorded value, and the provider drops ignored paths from its diff, provider.go `Diff`:
 *   "Remove any ignored changes from the computed diff"), so it is neither replaced nor rolled;
 * - each builder's claim (`cache-<statefulset>-<ordinal>`, the name the StatefulSet controller gives
 *   it) gets a server-side-apply patch of `spec.resources.requests.storage`
 *   (`PersistentVolumeClaimPatch`, forced because the StatefulSet controller owns the field), which
 *   the CSI driver resizes online;
 * - the patches are `retainOnDelete`: a Patch that manages a required field cannot be deleted, and
 *   pulumi-kubernetes says so ("Either set the `retainOnDelete` resource option ...", provider.go
 *   `Delete`); a scaled-away builder's claim is deleted by the StatefulSet (`whenScaled: Delete`).
 * A builder added later gets a claim of the template's original size, patched to the current size
 * right after the StatefulSet is ready. Kubernetes refuses to shrink a claim, so a smaller size fails
 * the `up` at the patch, with every cache intact (docs/operations/cache-size.md says what to do).
 *
 * On k3d, `local-path` cannot expand, so a new size replaces the StatefulSet (delete first).
 */

/** Annotation that makes a Patch resource take over fields other managers own (pulumi-kubernetes metadata/annotations.go). */
export const PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce";

/** How a cache size change is applied. */
export type CacheGrowth = "expand" | "replace";

/** The claim the StatefulSet controller creates for each builder: `<template>-<statefulset>-<ordinal>`. */
export function cacheClaimNames(statefulSet: string, replicas: number): string[] {
    return Array.from({ length: replicas }, (_, ordinal) => `${CACHE_VOLUME}-${statefulSet}-${ordinal}`);
}

/**
 * The StatefulSet's options for a growth mode: expansion leaves the immutable template alone. Ignoring
 * the template would also hide a new StorageClass (the caches would silently stay on the old one), so
 * with expansion the class is the StatefulSet's `replacementTrigger`: a new class replaces it (delete
 * first, new empty caches on the new class), as it always did. The engine replaces only when the value
 * differs from the one recorded by the last deployment; recording it the first time changes nothing.
 */
export function cacheStatefulSetOptions(growth: CacheGrowth, storageClass: string): { ignoreChanges: string[]; replacementTrigger?: string } {
    return growth === "expand" ? { ignoreChanges: ["spec.volumeClaimTemplates"], replacementTrigger: storageClass } : { ignoreChanges: [] };
}

/** The inputs of one claim's patch: only the size, forced. */
export function cacheClaimPatch<N>(name: string, namespace: N, storage: string, labels: Readonly<Record<string, string>>) {
    return {
        metadata: { name, namespace, labels: { ...labels }, annotations: { [PATCH_FORCE_ANNOTATION]: "true" } },
        spec: { resources: { requests: { storage } } },
    };
}
