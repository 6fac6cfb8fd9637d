import * as k8s from "@pulumi/kubernetes";
import type { ClusterSettings } from "../../config";
import type { ClusterConnection } from "./placement";

/** A k3d cluster on a laptop: the configured kube context, builders on any node. */
export function k3dConnection(cluster: Extract<ClusterSettings, { kind: "k3d" }>): ClusterConnection {
    const provider = new k8s.Provider("k3d", { context: cluster.kubeContext, enableServerSideApply: true });
    return { provider, placement: {}, nodePools: [], tiers: {} };
}
