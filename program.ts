import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "./config";
import { parseByteQuantity } from "./config/quantity";
import { BuildkitService } from "./components/buildkit";
import { connectCluster } from "./components/cluster";
import { ArcRunners } from "./components/arc";
import { BUILDKIT_ARM64_ENDPOINT, CLIENT_TLS_SECRET, SERVER_TLS_SECRET } from "./components/contracts";
import { GithubVariables } from "./components/github";
import { BuildkitPki } from "./components/pki";
import { BuildkitProbe } from "./components/probe";
import { parseGithubConfigUrl } from "./config/github";

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
    runnerLabel: string;
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
            cacheBytes: parseByteQuantity(buildkit.cache.size)!,
            storageClass: buildkit.cache.storageClass,
            monitoringNamespace: settings.network.monitoringNamespace,
            placement: cluster.placement,
            binfmtPlacement: cluster.binfmtPlacement,
            arm64: cluster.arm64,
            nodePools: cluster.nodePools,
            serverTls: pki.server,
        },
        k8sOpts,
    );

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
                ? { endpoint: BUILDKIT_ARM64_ENDPOINT, serverName: service.arm64Builders.serverName, builders: service.arm64Builders.hosts }
                : undefined,
        },
        k8sOpts,
    );

    // GitHub variables need their own provider; a stack with scope `none` (always `local`) declares neither.
    const { variables } = github;
    if (variables.scope !== "none") {
        new GithubVariables("github", {
            ...variables,
            scope: variables.scope,
            organization: parseGithubConfigUrl(github.configUrl)!.organization,
            credentials: settings.githubCredentials,
            endpoint: service.endpoint,
            // A new organization variable beside the contract's, only where native arm64 builders exist.
            arm64Endpoint: service.arm64Builders ? BUILDKIT_ARM64_ENDPOINT : undefined,
            runsOn: settings.runnerLabel,
        });
    }

    if (settings.probe.enabled) {
        // Depending on the service component waits for all of it: the StatefulSet rolled out, the NetworkPolicy in place.
        new BuildkitProbe(
            "buildkit",
            {
                image: buildkit.image,
                endpoint: service.endpoint,
                podEndpoints: service.podEndpoints,
                serverName: service.serverName,
                platforms: buildkit.platforms,
                namespace: runners.runnerNamespace,
                clientSecretName: CLIENT_TLS_SECRET,
                revision: [service.configToml, pki.caCertPem, pki.server.certPem, pki.client.certPem, String(buildkit.rootless)],
                timeoutSeconds: settings.probe.timeoutSeconds,
                keepFinishedSeconds: settings.probe.keepFinishedSeconds,
            },
            { ...k8sOpts, dependsOn: [service, runners.clientTlsSecret] },
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
        runnerLabel: settings.runnerLabel,
    };
}
