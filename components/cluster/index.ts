import type { ClusterSettings, TiersSettings } from "../../config";
import { aksConnection } from "./aks";
import { k3dConnection } from "./k3d";
import type { ClusterConnection } from "./placement";

export { BUILDKIT_POOL_PLACEMENT, builderPlacement } from "./placement";
export type { ClusterConnection, TierPlacement } from "./placement";

/** The Kubernetes provider and builder placement for the configured cluster kind. */
export function connectCluster(cluster: ClusterSettings, tiers: TiersSettings = {}): ClusterConnection {
    switch (cluster.kind) {
        case "k3d":
            return k3dConnection(cluster);
        case "aks":
            return aksConnection(cluster, tiers);
    }
}
