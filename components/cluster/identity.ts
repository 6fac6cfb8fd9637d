import type { ClusterSettings } from "../../config";

/**
 * The `clusterIdentifier` of the stack's Kubernetes provider: which cluster it deploys to, from
 * config only, so it stays the same when the credentials change.
 *
 * Without it, pulumi-kubernetes decides from the kubeconfig whether the provider points at another
 * cluster, and replaces the provider (and so every Kubernetes resource of the stack) when the active
 * cluster's settings in the kubeconfig change (provider/pkg/provider/provider.go, `DiffConfig`:
 * "planning a replacement iff the active cluster in the kubeconfig changes"). `az aks rotate-certs`
 * changes the cluster CA in the kubeconfig, so it would do exactly that. With `clusterIdentifier`
 * set and unchanged, `DiffConfig` clears every replacement (even for a kubeconfig that is unknown
 * during preview), and only a changed identifier replaces the provider. Adding the identifier to a
 * provider that had none is treated as an update ("We don't do this when adding or removing the
 * identifier"), so rolling this out replaces nothing.
 *
 * The identifier is the cluster's name in config, so pointing the stack at another cluster (another
 * resource group, cluster name or kube context) still replaces everything, as it must.
 */
export function clusterIdentifier(cluster: ClusterSettings): string {
    switch (cluster.kind) {
        case "aks":
            return `aks/${cluster.resourceGroup}/${cluster.clusterName}`;
        case "k3d":
            return `k3d/${cluster.kubeContext}`;
    }
}

/**
 * How every Kubernetes provider of the stack applies changes.
 * - Server-side apply (the program's choice since its first version).
 * - Mutable ConfigMaps and Secrets: by default pulumi-kubernetes replaces a ConfigMap whose `data` or a
 *   Secret whose `data`/`stringData` changes (provider/pkg/provider/diff.go, `forceNewProperties`:
 *   `if clients.IsSecret(obj) && (!k.enableSecretMutable || ...)`, and likewise for ConfigMaps), and
 *   with a fixed name that is a delete-then-create: for a moment `buildkitd-server-tls` or
 *   `buildkitd-client-tls` does not exist, and a pod starting then cannot mount it. Updated in place,
 *   the object is always there; the pods that must pick a change up roll through the checksums in
 *   their templates (`arc-buildkit/tls-sha256`, `arc-buildkit/config-sha256`, the selector digest),
 *   and runner pods are created per job with whatever is current.
 */
export const PROVIDER_BEHAVIOUR = { enableServerSideApply: true, enableConfigMapMutable: true, enableSecretMutable: true } as const;
