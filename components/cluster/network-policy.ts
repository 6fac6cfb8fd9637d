/**
 * AKS stores NetworkPolicy objects on every cluster but enforces them only when the cluster runs a
 * policy engine: Azure Network Policy Manager, Calico, or Cilium (Azure CNI powered by Cilium). The
 * engine is part of the cluster's network profile, which is what this reads.
 */

/** The fields of `ManagedCluster.networkProfile` this check reads. */
export interface NetworkProfileView {
    networkPolicy?: string;
    networkDataplane?: string;
}

export const ENFORCING_NETWORK_POLICIES = ["azure", "calico", "cilium"] as const;

/** The engine that enforces NetworkPolicy on the cluster, or undefined when none does. */
export function networkPolicyEngine(profile: NetworkProfileView | undefined): string | undefined {
    const policy = profile?.networkPolicy?.toLowerCase();
    if (policy && (ENFORCING_NETWORK_POLICIES as readonly string[]).includes(policy)) {
        return policy;
    }
    // The Cilium dataplane enforces NetworkPolicy itself.
    if (profile?.networkDataplane?.toLowerCase() === "cilium") {
        return "cilium";
    }
    return undefined;
}

/** What to tell the operator when nothing enforces the `buildkitd` NetworkPolicy; undefined when something does. */
export function missingNetworkPolicyEngine(cluster: string, profile: NetworkProfileView | undefined): string | undefined {
    if (networkPolicyEngine(profile)) {
        return undefined;
    }
    const seen = `networkPolicy=${profile?.networkPolicy ?? "unset"}, networkDataplane=${profile?.networkDataplane ?? "unset"}`;
    return (
        `AKS cluster ${cluster} has no NetworkPolicy engine (${seen}): the buildkitd NetworkPolicy will be stored but not enforced, ` +
        `so any pod in the cluster can reach port 1234 (mTLS still rejects clients without the certificate). ` +
        `Enable Azure Network Policy Manager, Calico or Cilium (az aks update --network-policy ...).`
    );
}
