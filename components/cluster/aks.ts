import * as containerservice from "@pulumi/azure-native/containerservice";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSettings } from "../../config";
import { BUILDKIT_POOL_PLACEMENT, ClusterConnection } from "./placement";

/**
 * The existing AKS cluster, reached with its user credentials. The kubeconfig is a Pulumi secret
 * from the moment it is read: it never appears in a diff, an output or the state in plain text.
 */
export function aksConnection(cluster: Extract<ClusterSettings, { kind: "aks" }>): ClusterConnection {
    const credentials = containerservice.listManagedClusterUserCredentialsOutput({
        resourceGroupName: cluster.resourceGroup,
        resourceName: cluster.clusterName,
    });
    const kubeconfig = pulumi.secret(
        credentials.kubeconfigs.apply((configs) => {
            if (!configs?.length || !configs[0].value) {
                throw new pulumi.RunError(`AKS cluster ${cluster.resourceGroup}/${cluster.clusterName} returned no user kubeconfig`);
            }
            return Buffer.from(configs[0].value, "base64").toString("utf8");
        }),
    );
    const provider = new k8s.Provider("aks", { kubeconfig, enableServerSideApply: true });
    return { provider, placement: BUILDKIT_POOL_PLACEMENT };
}
