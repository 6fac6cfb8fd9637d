import { cidrContains, parseIpv4Cidr } from "../../config/sandbox";

/**
 * Checks, before anything is deployed to an existing AKS cluster, that the build sandbox the
 * config asks for can hold there. Pure, so it is tested without a cluster.
 */

/** What the sandbox preflight reads from the cluster (ManagedCluster, API 2025-09-01 through azure-native 3.28.0). */
export interface SandboxClusterFacts {
    /** `currentKubernetesVersion`, such as `1.33.2`. */
    currentKubernetesVersion?: string;
    networkProfile?: { podCidr?: string; podCidrs?: string[]; serviceCidr?: string; serviceCidrs?: string[] };
}

export interface SandboxPreflightInput {
    /** `resourceGroup/clusterName`, for the messages. */
    cluster: string;
    /** `buildkit.sandbox.userNamespace`. */
    userNamespace: boolean;
    /** The configured `network.clusterCidrs`. */
    clusterCidrs: readonly string[];
}

/**
 * The first Kubernetes minor whose UserNamespacesSupport feature gate is on by default (beta; off
 * by default in 1.30 to 1.32; kubernetes/website feature-gates/UserNamespacesSupport.md). AKS does
 * not let a cluster turn feature gates on, so an older cluster has no user namespaces for pods, and
 * the API server silently drops `hostUsers` from the pod spec (a disabled field is not stored).
 */
export const USER_NAMESPACES_MIN_MINOR = 33;

/** `major.minor` of a version such as `1.33.2`; undefined when it does not parse. */
export function kubernetesMinor(version: string | undefined): { major: number; minor: number } | undefined {
    const match = /^v?([0-9]+)\.([0-9]+)(\.|$)/.exec(version ?? "");
    return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

/**
 * Errors that must stop the deployment: a user namespace asked for on a cluster too old to give
 * one (the daemon would run as the node's root while the config says otherwise), and a pod or
 * Service range of the cluster that `network.clusterCidrs` does not cover (builders and runners
 * could reach it). Node subnets are not in the network profile, so they are not checked.
 */
export function sandboxPreflight(input: SandboxPreflightInput, facts: SandboxClusterFacts): string[] {
    const errors: string[] = [];
    if (input.userNamespace) {
        const version = kubernetesMinor(facts.currentKubernetesVersion);
        if (!version || version.major < 1 || (version.major === 1 && version.minor < USER_NAMESPACES_MIN_MINOR)) {
            errors.push(
                `AKS cluster ${input.cluster} runs Kubernetes ${facts.currentKubernetesVersion ?? "(unknown version)"}, and pods get user namespaces (hostUsers: false) ` +
                    `only from Kubernetes 1.${USER_NAMESPACES_MIN_MINOR} (UserNamespacesSupport on by default; AKS does not enable feature gates), on nodes with containerd 2.0+, runc 1.2+ and Linux 6.3+. ` +
                    `Upgrade the cluster, or set arc-buildkit:buildkit.sandbox.userNamespace to false to run the daemon without one (docs/build-sandbox.md).`,
            );
        }
    }
    const configured = input.clusterCidrs.map(parseIpv4Cidr).filter((c) => c !== undefined);
    const profile = facts.networkProfile ?? {};
    const clusterRanges = [
        ...(profile.podCidrs ?? (profile.podCidr ? [profile.podCidr] : [])),
        ...(profile.serviceCidrs ?? (profile.serviceCidr ? [profile.serviceCidr] : [])),
    ];
    for (const range of [...new Set(clusterRanges)]) {
        const parsed = parseIpv4Cidr(range);
        if (!parsed) {
            // IPv6 ranges of a dual-stack cluster: the egress policies open no IPv6 at all.
            continue;
        }
        if (!configured.some((c) => cidrContains(c, parsed))) {
            errors.push(
                `AKS cluster ${input.cluster} uses the address range ${range} (network profile), which arc-buildkit:network.clusterCidrs (${input.clusterCidrs.join(", ")}) does not cover: ` +
                    `builders and runners could reach pods or Services there. Add it to network.clusterCidrs.`,
            );
        }
    }
    return errors;
}
