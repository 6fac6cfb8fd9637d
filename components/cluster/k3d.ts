import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSettings } from "../../config";
import { clusterIdentifier, PROVIDER_BEHAVIOUR } from "./identity";
import type { ClusterConnection } from "./placement";

/** A k3d cluster on a laptop: the configured kube context, builders on any node. */
export function k3dConnection(cluster: Extract<ClusterSettings, { kind: "k3d" }>): ClusterConnection {
    const provider = new k8s.Provider("k3d", { context: cluster.kubeContext, clusterIdentifier: clusterIdentifier(cluster), ...PROVIDER_BEHAVIOUR });
    return { provider, placement: {}, nodePools: [], tiers: {}, kubeTarget: pulumi.output({ context: cluster.kubeContext }) };
}
