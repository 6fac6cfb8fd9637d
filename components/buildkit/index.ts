import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import {
    BUILDKIT_ENDPOINT,
    BUILDKIT_GRPC_PORT,
    BUILDKIT_METRICS_PORT,
    BUILDKIT_NAMESPACE,
    BUILDKIT_SERVICE_FQDN,
    BUILDKITD_HEADLESS_NAME,
    BUILDKITD_NAME,
    BUILDKITD_POD_LABELS,
    SERVER_TLS_SECRET,
} from "../contracts";
import { namespaceWithPodSecurity } from "../kubernetes/namespace";
import { tlsSecret } from "../kubernetes/tls-secret";
import { podHostnames, TlsMaterial } from "../pki";
import { binfmtDaemonSetSpec } from "./binfmt";
import { CONFIG_FILE } from "./layout";
import { buildkitdIngressPolicy, DENY_ALL_INGRESS } from "./network";
import { renderBuildkitdToml } from "./toml";
import { CACHE_VOLUME, daemonPodSpec, disruptionBudget, Placement } from "./workload";

export { renderBuildkitdToml } from "./toml";
export { gcPlan } from "./gc";
export type { Placement } from "./workload";

export interface BuildkitServiceArgs {
    /** BuildKit image pinned by digest (`...@sha256:...`). Required. */
    image: string;
    /** Number of builders; each has its own cache volume. Required, at least 1. */
    replicas: number;
    /** Run the rootless image as UID 1000 instead of a privileged daemon. Default: false. */
    rootless: boolean;
    /** Platforms the workers advertise. Default: linux/amd64, linux/arm64. */
    platforms: readonly string[];
    /** Build steps one builder runs at once. Default: 4. */
    maxParallelism: number;
    /** Cache volume per builder, as a Kubernetes quantity (`64Gi`). Required. */
    cacheSize: string;
    /** Its size in bytes; the garbage-collection thresholds are derived from it. */
    cacheBytes: number;
    /** StorageClass of the cache volumes. Required (`local-path` on k3d, `managed-csi` on AKS). */
    storageClass: string;
    /** Container resources. Default: requests 500m / 1Gi, memory limit 4Gi, no CPU limit. */
    resources: { requests: { cpu: string; memory: string }; limits: { cpu?: string; memory: string } };
    /** Seconds a stopping builder waits for running builds. Default: 900. */
    drainTimeoutSeconds: number;
    /** Registry host → mirror hosts. Default: none. */
    registryMirrors: Readonly<Record<string, readonly string[]>>;
    /** QEMU emulators on the builders' nodes. Default: enabled, tonistiigi/binfmt pinned by digest. */
    binfmt: { enabled: boolean; image: string; pauseImage: string };
    /** Namespace allowed to scrape port 6060. Default: `monitoring`. */
    monitoringNamespace: string;
    /** Node selector and tolerations of the builders (and binfmt). Default: none (any node). */
    placement: Placement;
    /** Address published to runners; one of the Service's names. Default: `tcp://buildkitd.buildkit.svc.cluster.local:1234`. */
    endpoint?: string;
    /** The server identity from {@link BuildkitPki}. Required. */
    serverTls: TlsMaterial;
}

/**
 * buildkitd as a StatefulSet behind a ClusterIP Service, reachable over TCP only with mutual TLS,
 * with a persistent cache per builder, a disruption budget, a NetworkPolicy and (optionally) QEMU
 * emulators for foreign platforms.
 */
export class BuildkitService extends pulumi.ComponentResource {
    /** `tcp://buildkitd.buildkit.svc.cluster.local:1234`. */
    public readonly endpoint: pulumi.Output<string>;
    /** The name clients verify the server certificate against. */
    public readonly serverName: pulumi.Output<string>;
    /** `tcp://` address of each builder through the headless Service, for pinning a build to a cache. */
    public readonly podEndpoints: pulumi.Output<string[]>;
    /** The rendered `buildkitd.toml`. */
    public readonly configToml: pulumi.Output<string>;
    public readonly namespace: pulumi.Output<string>;

    constructor(name: string, args: BuildkitServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("arc-buildkit:buildkit:BuildkitService", name, {}, opts);
        const child = { parent: this };

        const ns = namespaceWithPodSecurity(BUILDKIT_NAMESPACE, "privileged", child);
        const namespace = ns.metadata.name;
        const inNamespace = { parent: this, dependsOn: [ns] };

        const toml = renderBuildkitdToml(args);
        const config = new k8s.core.v1.ConfigMap(
            `${BUILDKITD_NAME}-config`,
            { metadata: { name: `${BUILDKITD_NAME}-config`, namespace, labels: { ...BUILDKITD_POD_LABELS } }, data: { [CONFIG_FILE]: toml } },
            inNamespace,
        );
        const serverSecret = tlsSecret(SERVER_TLS_SECRET, namespace, args.serverTls, inNamespace);

        // A new config or certificate only reaches buildkitd through a restart; hashing both into the
        // pod template makes `pulumi up` roll the builders exactly when either changes.
        const tlsChecksum = pulumi
            .all([args.serverTls.caCertPem, args.serverTls.certPem])
            .apply(([ca, cert]) => sha256(ca + cert));

        new k8s.apps.v1.StatefulSet(
            BUILDKITD_NAME,
            {
                metadata: { name: BUILDKITD_NAME, namespace, labels: { ...BUILDKITD_POD_LABELS } },
                spec: {
                    serviceName: BUILDKITD_HEADLESS_NAME,
                    replicas: args.replicas,
                    // Builders are independent: start and replace them in parallel.
                    podManagementPolicy: "Parallel",
                    selector: { matchLabels: { ...BUILDKITD_POD_LABELS } },
                    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Delete" },
                    template: {
                        metadata: {
                            labels: { ...BUILDKITD_POD_LABELS },
                            annotations: { "arc-buildkit/config-sha256": sha256(toml), "arc-buildkit/tls-sha256": tlsChecksum },
                        },
                        spec: daemonPodSpec({ ...args, configMapName: config.metadata.name }),
                    },
                    volumeClaimTemplates: [
                        {
                            metadata: { name: CACHE_VOLUME, labels: { ...BUILDKITD_POD_LABELS } },
                            spec: {
                                accessModes: ["ReadWriteOnce"],
                                storageClassName: args.storageClass,
                                resources: { requests: { storage: args.cacheSize } },
                            },
                        },
                    ],
                },
            },
            { parent: this, dependsOn: [ns, config, serverSecret] },
        );

        new k8s.core.v1.Service(
            BUILDKITD_NAME,
            {
                metadata: { name: BUILDKITD_NAME, namespace, labels: { ...BUILDKITD_POD_LABELS } },
                spec: {
                    type: "ClusterIP",
                    selector: { ...BUILDKITD_POD_LABELS },
                    // Only the mTLS port: metrics stay off the address runners are given.
                    ports: [{ name: "grpc", port: BUILDKIT_GRPC_PORT, targetPort: "grpc", protocol: "TCP" }],
                },
            },
            inNamespace,
        );
        new k8s.core.v1.Service(
            BUILDKITD_HEADLESS_NAME,
            {
                metadata: { name: BUILDKITD_HEADLESS_NAME, namespace, labels: { ...BUILDKITD_POD_LABELS } },
                spec: {
                    clusterIP: "None",
                    selector: { ...BUILDKITD_POD_LABELS },
                    ports: [
                        { name: "grpc", port: BUILDKIT_GRPC_PORT, targetPort: "grpc", protocol: "TCP" },
                        { name: "metrics", port: BUILDKIT_METRICS_PORT, targetPort: "metrics", protocol: "TCP" },
                    ],
                },
            },
            inNamespace,
        );
        new k8s.policy.v1.PodDisruptionBudget(
            BUILDKITD_NAME,
            {
                metadata: { name: BUILDKITD_NAME, namespace, labels: { ...BUILDKITD_POD_LABELS } },
                spec: { ...disruptionBudget(args.replicas), selector: { matchLabels: { ...BUILDKITD_POD_LABELS } } },
            },
            inNamespace,
        );
        new k8s.networking.v1.NetworkPolicy(
            BUILDKITD_NAME,
            { metadata: { name: BUILDKITD_NAME, namespace }, spec: buildkitdIngressPolicy(args.monitoringNamespace) },
            inNamespace,
        );
        new k8s.networking.v1.NetworkPolicy(
            "default-deny-ingress",
            { metadata: { name: "default-deny-ingress", namespace }, spec: DENY_ALL_INGRESS },
            inNamespace,
        );
        if (args.binfmt.enabled) {
            new k8s.apps.v1.DaemonSet(
                "binfmt",
                {
                    metadata: { name: "binfmt", namespace, labels: { "app.kubernetes.io/name": "binfmt" } },
                    spec: binfmtDaemonSetSpec(args.binfmt, args.platforms, args.placement),
                },
                inNamespace,
            );
        }

        this.namespace = namespace;
        this.configToml = pulumi.output(toml);
        this.endpoint = pulumi.output(args.endpoint ?? BUILDKIT_ENDPOINT);
        this.serverName = pulumi.output(BUILDKIT_SERVICE_FQDN);
        this.podEndpoints = pulumi.output(podHostnames(args.replicas).map((host) => `tcp://${host}:${BUILDKIT_GRPC_PORT}`));
        this.registerOutputs({ endpoint: this.endpoint, serverName: this.serverName, podEndpoints: this.podEndpoints, namespace: this.namespace });
    }
}

function sha256(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}
