import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "./config";
import { parseByteQuantity } from "./config/quantity";
import { BuildkitService } from "./components/buildkit";
import { connectCluster } from "./components/cluster";
import { CLIENT_TLS_SECRET, RUNNER_NAMESPACE, SERVER_TLS_SECRET } from "./components/contracts";
import { namespaceWithPodSecurity } from "./components/kubernetes/namespace";
import { tlsSecret } from "./components/kubernetes/tls-secret";
import { BuildkitPki } from "./components/pki";
import { BuildkitProbe } from "./components/probe";

/** What `pulumi stack output` shows. Nothing here is private: keys stay in Secrets and state. */
export interface StackOutputs {
    endpoint: pulumi.Output<string>;
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

    const pki = new BuildkitPki("buildkit", { replicas: buildkit.replicas, ...tls });

    const service = new BuildkitService(
        "buildkit",
        {
            ...buildkit,
            cacheSize: buildkit.cache.size,
            cacheBytes: parseByteQuantity(buildkit.cache.size)!,
            storageClass: buildkit.cache.storageClass,
            monitoringNamespace: settings.network.monitoringNamespace,
            placement: cluster.placement,
            serverTls: pki.server,
        },
        k8sOpts,
    );

    const runners = namespaceWithPodSecurity(RUNNER_NAMESPACE, "baseline", k8sOpts);
    const clientSecret = tlsSecret(CLIENT_TLS_SECRET, runners.metadata.name, pki.client, { ...k8sOpts, dependsOn: [runners] });

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
                namespace: runners.metadata.name,
                clientSecretName: CLIENT_TLS_SECRET,
                revision: [service.configToml, pki.caCertPem, pki.server.certPem, pki.client.certPem, String(buildkit.rootless)],
                timeoutSeconds: settings.probe.timeoutSeconds,
                keepFinishedSeconds: settings.probe.keepFinishedSeconds,
            },
            { ...k8sOpts, dependsOn: [service, clientSecret, runners] },
        );
    }

    return {
        endpoint: service.endpoint,
        tlsServerName: service.serverName,
        podEndpoints: service.podEndpoints,
        serverTlsSecret: SERVER_TLS_SECRET,
        clientTlsSecret: CLIENT_TLS_SECRET,
        caCertPem: pki.caCertPem,
        runnerLabel: settings.runnerLabel,
    };
}
