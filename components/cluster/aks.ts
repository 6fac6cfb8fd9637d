import * as containerservice from "@pulumi/azure-native/containerservice";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AksClusterSettings } from "../../config/aks";
import type { TiersSettings } from "../../config/tiers";
import { tierNames } from "../../contracts";
import { clusterIdentifier, PROVIDER_BEHAVIOUR } from "./identity";
import { applyKubeloginMode, kubeloginUsers } from "./kubeconfig";
import { missingNetworkPolicyEngine, NetworkProfileView } from "./network-policy";
import { BuildkitNodePool, ExistingPool, immutablePoolChanges } from "./node-pool";
import { BUILDKIT_POOL_PLACEMENT, builderPlacement, ClusterConnection, TierPlacement, tierPoolPlacement } from "./placement";
import { sandboxPreflight, type SandboxPreflightInput } from "./sandbox-preflight";

/** What the preflight reads from the existing cluster. */
export interface ClusterFacts {
    networkProfile?: NetworkProfileView;
    /** Present when the cluster uses Microsoft Entra ID (AAD) for Kubernetes authentication. */
    aadProfile?: unknown;
    /** The cluster's existing node pools, as `getManagedCluster` reports them. */
    agentPoolProfiles?: ExistingPool[];
}

/**
 * Checks the existing cluster before anything is added to it. Returns the warnings to log; throws
 * a RunError for what must stop the deployment (no policy engine with `require`; an AAD cluster
 * without a kubelogin mode, whose user kubeconfig could only log in interactively).
 */
export function preflight(cluster: AksClusterSettings, facts: ClusterFacts): string[] {
    const id = `${cluster.resourceGroup}/${cluster.clusterName}`;
    if (facts.aadProfile && cluster.kubelogin.login === "none") {
        throw new pulumi.RunError(
            `AKS cluster ${id} uses Microsoft Entra ID authentication, so its user kubeconfig needs kubelogin: ` +
                `set arc-buildkit:cluster.kubelogin.login to azurecli, workloadidentity or spn (docs/deploy-aks.md, "The cluster connection and kubelogin").`,
        );
    }
    const pools = [{ key: "pool", pool: cluster.pool }, ...(cluster.arm64?.enabled ? [{ key: "arm64", pool: cluster.arm64 }] : [])];
    const changes = pools.flatMap(({ key, pool }) => immutablePoolChanges(key, pool, facts.agentPoolProfiles ?? []));
    if (changes.length > 0) {
        throw new pulumi.RunError(
            `AKS cluster ${id}: ${changes.join("; ")}. AKS cannot change these on an existing node pool, and replacing a pool of the same name would delete it first, with the builders on it. ` +
                `Give the pool a new name (arc-buildkit:cluster.pool.name or cluster.arm64.name) instead: the new pool is created first, the builders move to it one at a time, then the old one is deleted (docs/operations/node-pool.md).`,
        );
    }
    const missing = missingNetworkPolicyEngine(id, facts.networkProfile);
    if (!missing) {
        return [];
    }
    if (cluster.networkPolicyEngine === "require") {
        throw new pulumi.RunError(`${missing} arc-buildkit:cluster.networkPolicyEngine is "require", so nothing was deployed.`);
    }
    return [`${missing} Set arc-buildkit:cluster.networkPolicyEngine to "require" to stop the deployment instead.`];
}

/**
 * The existing AKS cluster: a preflight on its configuration, the dedicated BuildKit pool(s), and a
 * Kubernetes provider built from its user credentials. The kubeconfig is a Pulumi secret from the
 * moment it is read: it never appears in a diff, an output or the state in plain text.
 */
export interface AksConnectionOptions {
    /** Further tiers: each gets pools of its own. Default: none. */
    tiers?: TiersSettings;
    /** What the sandbox preflight checks (user namespaces, covered ranges). Default: no check. */
    sandbox?: Omit<SandboxPreflightInput, "cluster">;
    /** The shared tier's builders, for the pools' upgrade drain limit. Default: AKS's own. */
    builders?: { drainTimeoutSeconds: number; replicas: number };
}

export function aksConnection(cluster: AksClusterSettings, options: AksConnectionOptions = {}): ClusterConnection {
    const { tiers = {}, sandbox, builders } = options;
    const managed = containerservice.getManagedClusterOutput({
        resourceGroupName: cluster.resourceGroup,
        resourceName: cluster.clusterName,
    });
    // Everything below takes the cluster name from here, so nothing is created before the preflight passed.
    const checkedClusterName = managed.apply((mc) => {
        for (const warning of preflight(cluster, { networkProfile: mc.networkProfile, aadProfile: mc.aadProfile, agentPoolProfiles: mc.agentPoolProfiles })) {
            pulumi.log.warn(warning);
        }
        // The build sandbox (docs/build-sandbox.md): a user namespace the cluster can give, and
        // cluster ranges the egress policies really exclude.
        const sandboxErrors = sandbox
            ? sandboxPreflight(
                  { ...sandbox, cluster: `${cluster.resourceGroup}/${cluster.clusterName}` },
                  { currentKubernetesVersion: mc.currentKubernetesVersion, networkProfile: mc.networkProfile },
              )
            : [];
        if (sandboxErrors.length > 0) {
            throw new pulumi.RunError(`${sandboxErrors.join("\n")}\nNothing was deployed.`);
        }
        return cluster.clusterName;
    });

    const pools = [
        new BuildkitNodePool("buildkit", {
            resourceGroup: cluster.resourceGroup,
            clusterName: checkedClusterName,
            pool: cluster.pool,
            arch: "amd64",
            builders,
        }),
    ];
    const arm64 = cluster.arm64?.enabled ? cluster.arm64 : undefined;
    if (arm64) {
        pools.push(
            new BuildkitNodePool("buildkit-arm64", {
                resourceGroup: cluster.resourceGroup,
                clusterName: checkedClusterName,
                pool: arm64,
                arch: "arm64",
                builders: builders && { drainTimeoutSeconds: builders.drainTimeoutSeconds, replicas: arm64.replicas },
            }),
        );
    }

    // Each further tier on pools of its own, labelled and tainted `ameide.io/pool=buildkit-<tier>`:
    // its builders select and tolerate only those, and no other tier's builders tolerate them.
    const tierPlacements: Record<string, TierPlacement> = {};
    for (const [tier, settings] of Object.entries(tiers)) {
        const { poolValue } = tierNames(tier);
        const tierPools: BuildkitNodePool[] = [];
        if (settings.pool) {
            tierPools.push(
                new BuildkitNodePool(`buildkit-${tier}`, {
                    resourceGroup: cluster.resourceGroup,
                    clusterName: checkedClusterName,
                    pool: settings.pool,
                    arch: "amd64",
                    builders: builders && { drainTimeoutSeconds: builders.drainTimeoutSeconds, replicas: settings.replicas },
                    poolValue,
                }),
            );
        }
        const tierArm64 = settings.arm64?.enabled ? settings.arm64 : undefined;
        if (tierArm64) {
            tierPools.push(
                new BuildkitNodePool(`buildkit-${tier}-arm64`, {
                    resourceGroup: cluster.resourceGroup,
                    clusterName: checkedClusterName,
                    pool: tierArm64,
                    arch: "arm64",
                    builders: builders && { drainTimeoutSeconds: builders.drainTimeoutSeconds, replicas: tierArm64.replicas },
                    poolValue,
                }),
            );
        }
        tierPlacements[tier] = {
            placement: builderPlacement("amd64", settings.pool?.name, poolValue),
            binfmtPlacement: tierPoolPlacement(poolValue),
            ...(tierArm64 ? { arm64: { replicas: tierArm64.replicas, placement: builderPlacement("arm64", tierArm64.name, poolValue) } } : {}),
            nodePools: tierPools.map((p) => p.agentPool),
        };
    }

    const credentials = containerservice.listManagedClusterUserCredentialsOutput({
        resourceGroupName: cluster.resourceGroup,
        resourceName: checkedClusterName,
        // AAD clusters: a kubeconfig whose user runs kubelogin, rewritten below to the configured login.
        ...(cluster.kubelogin.login !== "none" ? { format: "exec" } : {}),
    });
    const kubeconfig = pulumi.secret(
        credentials.kubeconfigs.apply((configs) => {
            if (!configs?.length || !configs[0].value) {
                throw new pulumi.RunError(`AKS cluster ${cluster.resourceGroup}/${cluster.clusterName} returned no user kubeconfig`);
            }
            const raw = Buffer.from(configs[0].value, "base64").toString("utf8");
            if (cluster.kubelogin.login === "none" && kubeloginUsers(raw).length > 0) {
                throw new pulumi.RunError(
                    `AKS cluster ${cluster.resourceGroup}/${cluster.clusterName} returned a kubeconfig that logs in through kubelogin: ` +
                        `set arc-buildkit:cluster.kubelogin.login to azurecli, workloadidentity or spn (docs/deploy-aks.md, "The cluster connection and kubelogin").`,
                );
            }
            return applyKubeloginMode(raw, cluster.kubelogin);
        }),
    );
    // A stable identity: a rotated cluster CA (new kubeconfig) updates the provider instead of replacing it and everything it deployed.
    const provider = new k8s.Provider("aks", { kubeconfig, clusterIdentifier: clusterIdentifier(cluster), ...PROVIDER_BEHAVIOUR });

    return {
        provider,
        placement: builderPlacement("amd64", cluster.pool.name),
        binfmtPlacement: BUILDKIT_POOL_PLACEMENT,
        ...(arm64 ? { arm64: { replicas: arm64.replicas, placement: builderPlacement("arm64", arm64.name) } } : {}),
        nodePools: pools.map((p) => p.agentPool),
        tiers: tierPlacements,
        kubeTarget: pulumi.secret(kubeconfig.apply((k) => ({ kubeconfig: k }))),
    };
}
