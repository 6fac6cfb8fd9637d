import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "./config";
import { BuildkitService } from "./components/buildkit";
import { connectCluster } from "./components/cluster";
import { AdmissionPolicies } from "./components/admission";
import { ArcRunners } from "./components/arc";
import { CLIENT_TLS_SECRET, SERVER_TLS_SECRET, SHARED_TIER, tierNames, type TierNames } from "./contracts";
import { BuildMetrics, BuildMetricsScrape, listedRepositories } from "./components/metrics";
import { GithubVariables } from "./components/github";
import { BuildkitMonitoring, whenMonitoringInstalled } from "./components/monitoring";
import { BuildkitPki, keyGeneration } from "./components/pki";
import { BuildkitProbe } from "./components/probe";
import { ZRS_STORAGE_CLASS } from "./config/aks";
import { GithubAuthMethod, parseGithubConfigUrl } from "./config/github";
import { effectiveClusterCidrs } from "./config/sandbox";

/** What `pulumi stack output` shows. Nothing here is private: keys stay in Secrets and state. */
export interface StackOutputs {
    endpoint: pulumi.Output<string>;
    /** The native arm64 builders' Service on AKS with the arm64 pool; undefined otherwise. */
    arm64Endpoint: pulumi.Output<string | undefined>;
    tlsServerName: pulumi.Output<string>;
    podEndpoints: pulumi.Output<string[]>;
    serverTlsSecret: string;
    clientTlsSecret: string;
    caCertPem: pulumi.Output<string>;
    /** notAfter (RFC 3339) of the first CA certificate in the bundle to expire. */
    caNotAfter: pulumi.Output<string>;
    /** notAfter (RFC 3339) of buildkitd's server certificate. */
    serverCertNotAfter: pulumi.Output<string>;
    /** notAfter (RFC 3339) of the runners' client certificate. */
    clientCertNotAfter: pulumi.Output<string>;
    runnerLabel: string;
    /** Each further tier's endpoint, runner label and certificate expiry, by tier name (nothing private). */
    tiers: Record<string, { endpoint: pulumi.Output<string>; runnerLabel: string; runnerNamespace: string; caNotAfter: pulumi.Output<string> }>;
}

/**
 * The one line a k3d stack without GitHub credentials prints: what was skipped and how to add it.
 * The environment variables are the ones `npm run local:up` stores as secrets (scripts/local-env.ts).
 */
export function runnersSkippedMessage(stack: string, auth: GithubAuthMethod): string {
    const how =
        auth === "token"
            ? "export ARC_BUILDKIT_GITHUB_TOKEN"
            : "export ARC_BUILDKIT_GITHUB_APP_ID, ARC_BUILDKIT_GITHUB_APP_INSTALLATION_ID and ARC_BUILDKIT_GITHUB_APP_PRIVATE_KEY_FILE (or ARC_BUILDKIT_GITHUB_TOKEN)";
    return (
        `Runners skipped: stack "${stack}" has no GitHub credentials, so BuildKit, its certificates and the probe are deployed without ARC. ` +
        `To add runners, ${how} and run \`npm run local:up\` again (docs/local.md, "Add runners").`
    );
}

/**
 * Declares the whole stack from validated settings. `now` picks the key-rotation period
 * (components/pki `keyGeneration`); tests pass a fixed clock.
 */
export function createStack(settings: Settings, now: Date = new Date()): StackOutputs {
    const { buildkit, tls } = settings;
    // Ranges builders and runners may not reach (docs/build-sandbox.md); validated in config.
    const clusterCidrs = effectiveClusterCidrs(settings.network, settings.cluster.kind);
    // On AKS the preflight checks the cluster can hold the sandbox: user namespaces, covered ranges.
    const cluster = connectCluster(settings.cluster, {
        tiers: settings.tiers,
        sandbox: { userNamespace: buildkit.sandbox.userNamespace, clusterCidrs },
        builders: { drainTimeoutSeconds: buildkit.drainTimeoutSeconds, replicas: buildkit.replicas },
    });
    const k8sOpts = { provider: cluster.provider };
    const generation = keyGeneration(now, tls);

    const pki = new BuildkitPki("buildkit", { arm64Replicas: cluster.arm64?.replicas ?? 0, ...tls, keyGeneration: generation });
    // Each further tier: its own CA (and rotation slots), server and client identities.
    const tiers = Object.entries(settings.tiers)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([tier, tierSettings]) => {
            const names = tierNames(tier);
            const placement = cluster.tiers[tier] ?? { placement: cluster.placement, binfmtPlacement: cluster.placement, nodePools: [] };
            const tierPki = new BuildkitPki(`buildkit-${tier}`, { arm64Replicas: placement.arm64?.replicas ?? 0, ...tls, keyGeneration: generation, names });
            return { tier, names, settings: tierSettings, placement, pki: tierPki };
        });

    const service = new BuildkitService(
        "buildkit",
        {
            ...buildkit,
            cacheSize: buildkit.cache.size,
            storageClass: buildkit.cache.storageClass,
            declareZoneRedundantStorageClass: settings.cluster.kind === "aks" && buildkit.cache.storageClass === ZRS_STORAGE_CLASS,
            // AKS's Azure Disk CSI classes expand online; k3d's local-path cannot (docs/operations/cache-size.md).
            cacheGrowth: settings.cluster.kind === "aks" ? "expand" : "replace",
            monitoringNamespace: settings.network.monitoringNamespace,
            prometheusPodLabels: settings.network.prometheusPodLabels,
            buildHistory: buildkit.history.shared,
            clusterCidrs,
            builderEgressExceptions: settings.network.builderEgressExceptions,
            placement: cluster.placement,
            binfmtPlacement: cluster.binfmtPlacement,
            arm64: cluster.arm64,
            nodePools: cluster.nodePools,
            serverTls: pki.server,
            tiers: tiers.map((t) => ({
                names: t.names,
                replicas: t.settings.replicas,
                placement: t.placement.placement,
                binfmtPlacement: t.placement.binfmtPlacement,
                arm64: t.placement.arm64,
                nodePools: t.placement.nodePools,
                serverTls: t.pki.server,
                // Every tier beside the shared one keeps its builds' records as the protected tier does.
                buildHistory: buildkit.history.protected,
            })),
        },
        k8sOpts,
    );
    const tierBuilders = (tier: string) => service.tiers.find((t) => t.tier === tier)!;

    // The GitHub side first: each tier's scale sets register in the runner group declared here. A
    // stack with scope `none` and no tiers (always `local`) declares nothing there.
    const { github } = settings;
    const { variables } = github;
    const organization = parseGithubConfigUrl(github.configUrl)!.organization;
    let githubSide: GithubVariables | undefined;
    if (variables.scope !== "none" || tiers.length > 0) {
        const adminCredentials =
            github.adminCredentials === "environment"
                ? settings.githubAdminToken && { method: "token" as const, token: settings.githubAdminToken }
                : settings.githubCredentials;
        if (!adminCredentials) {
            throw new Error(`stack ${pulumi.getStack()}: the GitHub side needs credentials; config validation should have required them`);
        }
        githubSide = new GithubVariables("github", {
            ...variables,
            // A tier's variables are organization variables (config/tiers.ts refuses scope `repositories`
            // with tiers); with scope `none` only the tiers' are published.
            scope: variables.scope === "none" ? "organization" : variables.scope,
            publishShared: variables.scope !== "none",
            organization,
            credentials: adminCredentials,
            endpoint: service.endpoint,
            // A new organization variable beside the contract's, only where native arm64 builders exist.
            arm64Endpoint: service.arm64Builders?.endpoint,
            runsOn: settings.runnerLabel,
            tiers: tiers.map((t) => ({
                tier: t.tier,
                runnerGroup: t.settings.runnerGroup,
                runsOn: t.settings.runnerLabel,
                endpoint: tierBuilders(t.tier).endpoint,
                arm64Endpoint: tierBuilders(t.tier).arm64Builders?.endpoint,
            })),
        });
    }

    // Per-repository build metrics (docs/cache-metrics.md): a Pushgateway per tier, whose URL that tier's runners get.
    const { buildMetrics } = settings.monitoring;
    const metricsFor = (names: TierNames, builders: (typeof service.tiers)[number]) =>
        settings.monitoring.enabled && buildMetrics.pushgatewayImage
            ? new BuildMetrics(
                  names.tier === SHARED_TIER ? "buildkit" : `buildkit-${names.tier}`,
                  {
                      tier: names.tier,
                      namespace: service.namespace,
                      image: buildMetrics.pushgatewayImage,
                      runnerNamespace: names.runnerNamespace,
                      monitoringNamespace: settings.network.monitoringNamespace,
                      selectorLabels: settings.monitoring.selectorLabels,
                      repositories: listedRepositories(buildMetrics.repositories, "arc-buildkit:monitoring.buildMetrics.repositories"),
                      builderSets: [
                          { name: names.statefulSet, replicas: builders.builderHosts.length },
                          ...(builders.arm64Builders ? [{ name: names.arm64.statefulSet, replicas: builders.arm64Builders.hosts.length }] : []),
                      ],
                  },
                  k8sOpts,
              )
            : undefined;
    const sharedMetrics = metricsFor(tierNames(SHARED_TIER), service.tiers[0]);
    const tierMetrics = Object.fromEntries(tiers.map((t) => [t.tier, metricsFor(t.names, tierBuilders(t.tier))]));

    // ARC: namespaces arc-systems and arc-runners, the client TLS secret, controller and scale sets.
    const { arc } = settings;
    const runners = new ArcRunners(
        "arc",
        {
            ...arc,
            buildkitImage: buildkit.image,
            githubConfigUrl: github.configUrl,
            access: settings.arcAccess,
            endpoint: service.endpoint,
            serverName: service.serverName,
            clientTls: pki.client,
            builders: service.builderHosts,
            arm64: service.arm64Builders
                ? { endpoint: service.arm64Builders.endpoint, serverName: service.arm64Builders.serverName, builders: service.arm64Builders.hosts }
                : undefined,
            extraEnv: sharedMetrics?.runnerEnv,
            metricsGateway: sharedMetrics?.gateway,
            tiers: tiers.map((t) => {
                const builders = tierBuilders(t.tier);
                return {
                    names: t.names,
                    scaleSets: t.settings.scaleSets,
                    runnerGroup: githubSide!.runnerGroups[t.tier],
                    endpoint: builders.endpoint,
                    serverName: builders.serverName,
                    clientTls: t.pki.client,
                    builders: builders.builderHosts,
                    arm64: builders.arm64Builders
                        ? { endpoint: builders.arm64Builders.endpoint, serverName: builders.arm64Builders.serverName, builders: builders.arm64Builders.hosts }
                        : undefined,
                    extraEnv: tierMetrics[t.tier]?.runnerEnv,
                    metricsGateway: tierMetrics[t.tier]?.gateway,
                    builderPods: builders.builderPods,
                };
            }),
            builderPods: service.builderPods,
            clusterCidrs,
        },
        k8sOpts,
    );

    // The policy pack's second line: the API server itself refuses plaintext or published BuildKit and
    // privileged runner pods, whoever creates them, in every tier's runner namespace (docs/admission.md).
    new AdmissionPolicies(
        "buildkit",
        { runnerNamespaces: runners.tiers.map((t) => tierNames(t.tier).runnerNamespace), validationActions: settings.admission.validationActions },
        k8sOpts,
    );

    if (!settings.arcAccess) {
        // Only a k3d stack gets here (config/index.ts requires credentials everywhere else). Info, not a
        // warning: BuildKit without runners is a working local builder. The CLI shows it under Diagnostics.
        pulumi.log.info(runnersSkippedMessage(pulumi.getStack(), github.auth));
    }

    const tierCertificates = (tierPki: BuildkitPki) => [
        { certificate: "ca", notAfter: tierPki.caNotAfter },
        { certificate: "server", notAfter: tierPki.server.notAfter },
        { certificate: "client", notAfter: tierPki.client.notAfter },
    ];
    const certificates = tierCertificates(pki);
    const { monitoring } = settings;
    if (monitoring.enabled) {
        // Only when the cluster has the Prometheus Operator's CRDs; otherwise a warning, never a failed up.
        whenMonitoringInstalled(
            cluster.kubeTarget,
            () =>
                new BuildkitMonitoring(
                    "buildkit",
                    {
                        namespace: service.namespace,
                        selectorLabels: monitoring.selectorLabels,
                        dashboardNamespace: monitoring.dashboardNamespace,
                        dashboardLabel: monitoring.dashboardLabel,
                        // Every tier's certificates; another tier's carry its name (`protected-ca`).
                        certificates: [
                            ...certificates,
                            ...tiers.flatMap((t) => tierCertificates(t.pki).map((c) => ({ ...c, certificate: `${t.tier}-${c.certificate}` }))),
                        ],
                        certificateWarningDays: monitoring.certificateWarningDays,
                        tiers: service.tiers.map((t) => ({ tier: t.tier, arm64: t.arm64Builders !== undefined })),
                    },
                    k8sOpts,
                ),
        );
        // The Pushgateways' scrapes (ServiceMonitors), under the same condition.
        const gateways = [sharedMetrics, ...Object.values(tierMetrics)].filter((m): m is BuildMetrics => m !== undefined);
        if (gateways.length > 0) {
            whenMonitoringInstalled(cluster.kubeTarget, () => {
                for (const m of gateways) {
                    new BuildMetricsScrape(`${m.scrape.args.tier === SHARED_TIER ? "buildkit" : `buildkit-${m.scrape.args.tier}`}-scrape`, m, k8sOpts);
                }
            });
        }
    }

    if (settings.probe.enabled) {
        // The endpoints, server name and client Secret name are references, so the Job waits for the
        // Services, the StatefulSets and the client Secret through them. Depending on the whole service
        // component also waits for what no value of the probe's comes from: the NetworkPolicies (the
        // default-deny without the buildkitd one would fail the probe) and binfmt (platform builds).
        // One probe per tier, in the tier's runner namespace with the tier's client identity: it proves
        // what that tier's workflows would run, and (tests/tiers) no other tier's material is needed.
        const probes = [
            { name: "buildkit", builders: service.tiers[0], runnerTier: runners.tiers[0], tierPki: pki },
            ...tiers.map((t) => ({
                name: `buildkit-${t.tier}`,
                builders: tierBuilders(t.tier),
                runnerTier: runners.tiers.find((r) => r.tier === t.tier)!,
                tierPki: t.pki,
            })),
        ];
        for (const { name, builders, runnerTier, tierPki } of probes) {
            new BuildkitProbe(
                name,
                {
                    image: buildkit.image,
                    endpoint: name === "buildkit" ? service.endpoint : builders.endpoint,
                    podEndpoints: builders.podEndpoints,
                    serverName: builders.serverName,
                    platforms: buildkit.platforms,
                    namespace: runnerTier.runnerNamespace,
                    clientSecretName: runnerTier.clientTlsSecret.metadata.name,
                    revision: [builders.configToml, tierPki.caCertPem, tierPki.server.certPem, tierPki.client.certPem, String(buildkit.rootless)],
                    timeoutSeconds: settings.probe.timeoutSeconds,
                    keepFinishedSeconds: settings.probe.keepFinishedSeconds,
                    buildEachPlatform: settings.probe.buildEachPlatform,
                    // A build step must reach neither the metadata endpoint nor the daemon (docs/build-sandbox.md).
                    isolation: { expectUserNamespace: buildkit.sandbox.userNamespace },
                    // Its pod holds the tier's client key: never on a node with another tier's runners.
                    tier: { name: runnerTier.tier, others: runners.tiers.map((r) => r.tier).filter((t) => t !== runnerTier.tier) },
                    certificates: tierCertificates(tierPki),
                    minCertificateDays: settings.probe.minCertificateDays,
                },
                { ...k8sOpts, dependsOn: [service] },
            );
        }
    }

    return {
        endpoint: service.endpoint,
        arm64Endpoint: service.arm64Endpoint,
        tlsServerName: service.serverName,
        podEndpoints: service.podEndpoints,
        serverTlsSecret: SERVER_TLS_SECRET,
        clientTlsSecret: CLIENT_TLS_SECRET,
        caCertPem: pki.caCertPem,
        caNotAfter: pki.caNotAfter,
        serverCertNotAfter: pki.server.notAfter,
        clientCertNotAfter: pki.client.notAfter,
        runnerLabel: settings.runnerLabel,
        tiers: Object.fromEntries(
            tiers.map((t) => [
                t.tier,
                {
                    endpoint: tierBuilders(t.tier).endpoint,
                    runnerLabel: t.settings.runnerLabel,
                    runnerNamespace: t.names.runnerNamespace,
                    caNotAfter: t.pki.caNotAfter,
                },
            ]),
        ),
    };
}
