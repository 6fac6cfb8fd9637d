import type * as k8s from "@pulumi/kubernetes";

/**
 * Where a workload may run: a node selector and the taints it tolerates. Its own module because the
 * cluster connection (which knows the node pools) produces it and the BuildKit workloads consume it;
 * neither owns the other.
 */
export interface Placement {
    nodeSelector?: Record<string, string>;
    tolerations?: k8s.types.input.core.v1.Toleration[];
}
