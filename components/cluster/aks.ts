import * as containerservice from "@pulumi/azure-native/containerservice";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AksClusterSettings } from "../../config/aks";
import type { TiersSettings } from "../../config/tiers";
import { tierNames } from "../../contracts";
import { applyKubeloginMode, kubeloginUsers } from "./kubeconfig";
import { missingNetworkPolicyEngine, NetworkProfileView } from "./network-policy";
import { BuildkitNodePool } from "./node-pool";
import { BUILDKIT_POOL_PLACEMENT, builderPlacement, ClusterConnection, TierPlacement, tierPoolPlacement } from "./placement";

/** What the preflight reads from the existing cluster. */
export interface ClusterFacts {
    networkProfile?: NetworkProfileView;
    /** Present when the cluster uses Microsoft Entra ID (AAD) for Kubernetes authentication. */
    aadProfile?: unknown;
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
                `set arc-buildkit:cluster.kubelogin.login to azurecli, workloadidentity or spn (see the README, section AKS).`,
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
export function aksConnection(cluster: AksClusterSettings, tiers: TiersSettings = {}): ClusterConnection {
    const managed = containerservice.getManagedClusterOutput({
        resourceGroupName: cluster.resourceGroup,
        resourceName: cluster.clusterName,
    });
    // Everything below takes the cluster name from here, so nothing is created before the preflight passed.
    const checkedClusterName = managed.apply((mc) => {
        for (const warning of preflight(cluster, { networkProfile: mc.networkProfile, aadProfile: mc.aadProfile })) {
            pulumi.log.warn(warning);
        }
        return cluster.clusterName;
    });

    const pools = [
        new BuildkitNodePool("buildkit", { resourceGroup: cluster.resourceGroup, clusterName: checkedClusterName, pool: cluster.pool, arch: "amd64" }),
    ];
    const arm64 = cluster.arm64?.enabled ? cluster.arm64 : undefined;
    if (arm64) {
        pools.push(
            new BuildkitNodePool("buildkit-arm64", { resourceGroup: cluster.resourceGroup, clusterName: checkedClusterName, pool: arm64, arch: "arm64" }),
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
                    poolValue,
                }),
            );
        }
        tierPlacements[tier] = {
            placement: builderPlacement("amd64", poolValue),
            binfmtPlacement: tierPoolPlacement(poolValue),
            ...(tierArm64 ? { arm64: { replicas: tierArm64.replicas, placement: builderPlacement("arm64", poolValue) } } : {}),
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
                        `set arc-buildkit:cluster.kubelogin.login to azurecli, workloadidentity or spn (see the README, section AKS).`,
                );
            }
            return applyKubeloginMode(raw, cluster.kubelogin);
        }),
    );
    const provider = new k8s.Provider("aks", { kubeconfig, enableServerSideApply: true });

    return {
        provider,
        placement: builderPlacement("amd64"),
        binfmtPlacement: BUILDKIT_POOL_PLACEMENT,
        ...(arm64 ? { arm64: { replicas: arm64.replicas, placement: builderPlacement("arm64") } } : {}),
        nodePools: pools.map((p) => p.agentPool),
        tiers: tierPlacements,
    };
}
