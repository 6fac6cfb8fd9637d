import type * as k8s from "@pulumi/kubernetes";
import { TIER_LABEL_KEY } from "../../contracts";

/**
 * Runner pods of different tiers never share a node. Builders are kept apart by their tainted pools;
 * runner pods (where job code runs, with the tier's client key mounted) land on the cluster's general
 * nodes, so without this a container escape from a pull request's job on the shared tier would find a
 * protected runner's key on the same node. A required anti-affinity on every tier's runner pods against
 * every other tier's (in any namespace) is enforced both ways by the scheduler, which also checks the
 * anti-affinity of the pods already on a node against the incoming pod.
 */
export function tierPodLabels(tier: string): Record<string, string> {
    return { [TIER_LABEL_KEY]: tier };
}

/** No node that runs a pod of one of `otherTiers`. Undefined when there is no other tier. */
export function tierAntiAffinity(otherTiers: readonly string[]): k8s.types.input.core.v1.Affinity | undefined {
    if (otherTiers.length === 0) {
        return undefined;
    }
    return {
        podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
                {
                    labelSelector: { matchExpressions: [{ key: TIER_LABEL_KEY, operator: "In", values: [...otherTiers].sort() }] },
                    // Every namespace: the other tier's runners live in their own.
                    namespaceSelector: {},
                    topologyKey: "kubernetes.io/hostname",
                },
            ],
        },
    };
}
