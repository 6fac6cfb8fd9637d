import type { ClusterSettings } from "../../config";
import { aksConnection, type AksConnectionOptions } from "./aks";
import { k3dConnection } from "./k3d";
import type { ClusterConnection } from "./placement";

export { clusterIdentifier } from "./identity";
export { BUILDKIT_POOL_PLACEMENT, builderPlacement } from "./placement";
export type { ClusterConnection, TierPlacement } from "./placement";

/** The Kubernetes provider and builder placement for the configured cluster kind. */
export function connectCluster(cluster: ClusterSettings, options: AksConnectionOptions = {}): ClusterConnection {
    switch (cluster.kind) {
        case "k3d":
            return k3dConnection(cluster);
        case "aks":
            // The pools' upgrade drain limit follows the builders' drain (node-pool.ts, poolDrainTimeoutMinutes).
            return aksConnection(cluster, options);
    }
}
