import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "./config";
import { BuildkitService } from "./components/buildkit";
import { connectCluster } from "./components/cluster";
import { ArcRunners } from "./components/arc";
import { BUILDKITD_ARM64_NAME, BUILDKITD_NAME, CLIENT_TLS_SECRET, RUNNER_NAMESPACE, SERVER_TLS_SECRET } from "./contracts";
import { BuildMetrics, listedRepositories } from "./components/metrics";
import { GithubVariables } from "./components/github";
import { BuildkitMonitoring } from "./components/monitoring";
import { BuildkitPki } from "./components/pki";
import { BuildkitProbe } from "./components/probe";
import { ZRS_STORAGE_CLASS } from "./config/aks";
import { GithubAuthMethod, parseGithubConfigUrl } from "./config/github";

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
        `To add runners, ${how} and run \`npm run local:up\` again (README: "Add runners to the local stack").`
    );
}

/** Declares the whole stack from validated settings. */
export function createStack(settings: Settings): StackOutputs {
    const cluster = connectCluster(settings.cluster);
    const k8sOpts = { provider: cluster.provider };
    const { buildkit, tls } = settings;

    const pki = new BuildkitPki("buildkit", { replicas: buildkit.replicas, arm64Replicas: cluster.arm64?.replicas ?? 0, ...tls });

    const service = new BuildkitService(
        "buildkit",
        {
            ...buildkit,
            cacheSize: buildkit.cache.size,
            storageClass: buildkit.cache.storageClass,
            declareZoneRedundantStorageClass: settings.cluster.kind === "aks" && buildkit.cache.storageClass === ZRS_STORAGE_CLASS,
            monitoringNamespace: settings.network.monitoringNamespace,
            placement: cluster.placement,
            binfmtPlacement: cluster.binfmtPlacement,
            arm64: cluster.arm64,
            nodePools: cluster.nodePools,
            serverTls: pki.server,
        },
        k8sOpts,
    );

    // Per-repository build metrics (docs/cache-metrics.md): the shared tier's Pushgateway, whose URL the runners get.
    const { buildMetrics } = settings.monitoring;
    const metrics =
        settings.monitoring.enabled && buildMetrics.pushgatewayImage
            ? new BuildMetrics(
                  "buildkit",
                  {
                      tier: "shared",
                      namespace: service.namespace,
                      image: buildMetrics.pushgatewayImage,
                      runnerNamespace: RUNNER_NAMESPACE,
                      monitoringNamespace: settings.network.monitoringNamespace,
                      selectorLabels: settings.monitoring.selectorLabels,
                      repositories: listedRepositories(buildMetrics.repositories, "arc-buildkit:monitoring.buildMetrics.repositories"),
                      builderSets: [
                          { name: BUILDKITD_NAME, replicas: buildkit.replicas },
                          ...(cluster.arm64 ? [{ name: BUILDKITD_ARM64_NAME, replicas: cluster.arm64.replicas }] : []),
                      ],
                  },
                  k8sOpts,
              )
            : undefined;

    // ARC: namespaces arc-systems and arc-runners, the client TLS secret, controller and scale sets.
    const { arc, github } = settings;
    const runners = new ArcRunners(
        "arc",
        {
            ...arc,
            buildkitImage: buildkit.image,
            githubConfigUrl: github.configUrl,
            credentials: settings.githubCredentials,
            endpoint: service.endpoint,
            serverName: service.serverName,
            clientTls: pki.client,
            builders: service.builderHosts,
            arm64: service.arm64Builders
                ? { endpoint: service.arm64Builders.endpoint, serverName: service.arm64Builders.serverName, builders: service.arm64Builders.hosts }
                : undefined,
            extraEnv: metrics?.runnerEnv,
        },
        k8sOpts,
    );

    if (!settings.githubCredentials) {
        // Only a k3d stack gets here (config/index.ts requires credentials everywhere else). Info, not a
        // warning: BuildKit without runners is a working local builder. The CLI shows it under Diagnostics.
        pulumi.log.info(runnersSkippedMessage(pulumi.getStack(), github.auth));
    }

    // GitHub variables need their own provider; a stack with scope `none` (always `local`) declares neither.
    const { variables } = github;
    if (variables.scope !== "none") {
        if (!settings.githubCredentials) {
            throw new Error(`stack ${pulumi.getStack()}: GitHub variables need credentials; config validation should have required them`);
        }
        new GithubVariables("github", {
            ...variables,
            scope: variables.scope,
            organization: parseGithubConfigUrl(github.configUrl)!.organization,
            credentials: settings.githubCredentials,
            endpoint: service.endpoint,
            // A new organization variable beside the contract's, only where native arm64 builders exist.
            arm64Endpoint: service.arm64Builders?.endpoint,
            runsOn: settings.runnerLabel,
        });
    }

    const certificates = [
        { certificate: "ca", notAfter: pki.caNotAfter },
        { certificate: "server", notAfter: pki.server.notAfter },
        { certificate: "client", notAfter: pki.client.notAfter },
    ];
    const { monitoring } = settings;
    if (monitoring.enabled) {
        new BuildkitMonitoring(
            "buildkit",
            {
                namespace: service.namespace,
                selectorLabels: monitoring.selectorLabels,
                dashboardNamespace: monitoring.dashboardNamespace,
                dashboardLabel: monitoring.dashboardLabel,
                certificates,
                certificateWarningDays: monitoring.certificateWarningDays,
            },
            k8sOpts,
        );
    }

    if (settings.probe.enabled) {
        // The endpoints, server name and client Secret name are references, so the Job waits for the
        // Services, the StatefulSets and the client Secret through them. Depending on the whole service
        // component also waits for what no value of the probe's comes from: the NetworkPolicies (the
        // default-deny without the buildkitd one would fail the probe) and binfmt (platform builds).
        new BuildkitProbe(
            "buildkit",
            {
                image: buildkit.image,
                endpoint: service.endpoint,
                podEndpoints: service.podEndpoints,
                serverName: service.serverName,
                platforms: buildkit.platforms,
                namespace: runners.runnerNamespace,
                clientSecretName: runners.clientTlsSecret.metadata.name,
                revision: [service.configToml, pki.caCertPem, pki.server.certPem, pki.client.certPem, String(buildkit.rootless)],
                timeoutSeconds: settings.probe.timeoutSeconds,
                keepFinishedSeconds: settings.probe.keepFinishedSeconds,
                buildEachPlatform: settings.probe.buildEachPlatform,
                certificates,
                minCertificateDays: settings.probe.minCertificateDays,
            },
            { ...k8sOpts, dependsOn: [service] },
        );
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
    };
}
