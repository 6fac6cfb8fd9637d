import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "./config";
import { parseByteQuantity } from "./config/quantity";
import { BuildkitService } from "./components/buildkit";
import { connectCluster } from "./components/cluster";
import { CLIENT_TLS_SECRET, RUNNER_NAMESPACE, SERVER_TLS_SECRET } from "./components/contracts";
import { namespaceWithPodSecurity } from "./components/kubernetes/namespace";
import { tlsSecret } from "./components/kubernetes/tls-secret";
import { BuildkitPki } from "./components/pki";

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

    const runners = namespaceWithPodSecurity(RUNNER_NAMESPACE, "baseline", k8sOpts);
    tlsSecret(CLIENT_TLS_SECRET, runners.metadata.name, pki.client, { ...k8sOpts, dependsOn: [runners] });

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
