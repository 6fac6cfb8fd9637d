import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import type { ByteQuantity } from "../../config/quantity";
import {
    BUILDKIT_GRPC_PORT,
    BUILDKIT_METRICS_PORT,
    BUILDKIT_NAMESPACE,
    CLUSTER_DOMAIN,
    BUILDKITD_ARM64_HEADLESS_NAME,
    BUILDKITD_ARM64_NAME,
    BUILDKITD_ARM64_POD_LABELS,
    BUILDKITD_HEADLESS_NAME,
    BUILDKITD_NAME,
    BUILDKITD_POD_LABELS,
    SERVER_TLS_SECRET,
} from "../../contracts";
import { namespaceWithPodSecurity } from "../kubernetes/namespace";
import { tlsSecret } from "../kubernetes/tls-secret";
import { podHostnames, TlsMaterial } from "../pki";
import { binfmtDaemonSetSpec } from "./binfmt";
import { CONFIG_FILE } from "./layout";
import { type BuilderPods, builderEgressExceptionPolicy, builderEgressPolicy, buildkitdIngressPolicy, DENY_ALL_INGRESS } from "./network";
import type { EgressException } from "../../config/sandbox";
import { renderBuildkitdToml } from "./toml";
import { rolloutTimeouts } from "./rollout";
import { zoneRedundantStorageClass } from "./storage";
import type { Placement } from "../kubernetes/placement";
import { CACHE_VOLUME, DaemonResources, daemonPodSpec, disruptionBudget } from "./workload";

export { renderBuildkitdToml } from "./toml";
export { gcPlan } from "./gc";
export { rolloutSeconds, rolloutTimeouts } from "./rollout";
export type { Placement } from "../kubernetes/placement";

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
    /**
     * Cache volume per builder, parsed once by config: the claim requests `cacheSize.quantity` and the
     * garbage-collection thresholds are cut from `cacheSize.bytes`, so the two cannot disagree. Required.
     */
    cacheSize: ByteQuantity;
    /** StorageClass of the cache volumes. Required (`local-path` on k3d, `buildkit-premium-zrs` on AKS). */
    storageClass: string;
    /** Declare `storageClass` as a Premium_ZRS class of the Azure Disk CSI driver (AKS). Default: false (it must exist). */
    declareZoneRedundantStorageClass?: boolean;
    /** Container resources. Default: requests 500m / 1Gi, memory limit 4Gi, no CPU limit. */
    resources: DaemonResources;
    /** Seconds a stopping builder waits for running builds. Default: 900. */
    drainTimeoutSeconds: number;
    /** Registry host → mirror hosts. Default: none. */
    registryMirrors: Readonly<Record<string, readonly string[]>>;
    /** QEMU emulators on the builders' nodes. Default: enabled, tonistiigi/binfmt pinned by digest. */
    binfmt: { enabled: boolean; image: string; pauseImage: string };
    /** Namespace of the Prometheus pods allowed to scrape port 6060. Default: `monitoring`. */
    monitoringNamespace: string;
    /** Labels of those Prometheus pods; no other pod may scrape. Default: `app.kubernetes.io/name: prometheus`. */
    prometheusPodLabels: Readonly<Record<string, string>>;
    /** Build-step isolation: user namespace for the daemon pod, subnet of the build-step bridge. Required. */
    sandbox: { userNamespace: boolean; bridgeSubnet: string };
    /** `[history]` of this service's trust tier. Required (config `buildkit.history.shared` for the contract builders). */
    buildHistory: { maxAgeHours: number; maxEntries: number };
    /** The cluster's pod, Service and node ranges, which builders may not reach. Required. */
    clusterCidrs: readonly string[];
    /** Named in-cluster destinations builders may reach anyway (a registry mirror). Default: none. */
    builderEgressExceptions: readonly EgressException[];
    /** Node selector and tolerations of the builders (and binfmt). Default: none (any node). */
    placement: Placement;
    /** Where the binfmt DaemonSet runs when it differs from the builders (AKS: every BuildKit pool node). Default: `placement`. */
    binfmtPlacement?: Placement;
    /** Native arm64 builders (AKS arm64 pool): replicas and placement. Default: none. */
    arm64?: { replicas: number; placement: Placement };
    /** Node pools the builders and binfmt are scheduled on; those workloads wait for them. Default: none. */
    nodePools?: pulumi.Resource[];
    /** Address published to runners; one of the Service's names. Default: `tcp://buildkitd.buildkit.svc.cluster.local:1234`. */
    endpoint?: string;
    /** The server identity from {@link BuildkitPki}. Required. */
    serverTls: TlsMaterial;
}

/**
 * buildkitd as a StatefulSet behind a ClusterIP Service, reachable over TCP only with mutual TLS,
 * with a persistent cache per builder, a disruption budget, a NetworkPolicy and (optionally) QEMU
 * emulators for foreign platforms. On AKS with an arm64 pool, a second set (`buildkitd-arm64`)
 * builds arm64 natively next to the contract set.
 */
export class BuildkitService extends pulumi.ComponentResource {
    /** `tcp://buildkitd.buildkit.svc.cluster.local:1234`. */
    public readonly endpoint: pulumi.Output<string>;
    /** The name clients verify the server certificate against. */
    public readonly serverName: pulumi.Output<string>;
    /** `tcp://buildkitd-arm64.buildkit.svc.cluster.local:1234` when native arm64 builders exist, else undefined. */
    public readonly arm64Endpoint: pulumi.Output<string | undefined>;
    /** `tcp://` address of each builder through its headless Service, for pinning a build to a cache. */
    public readonly podEndpoints: pulumi.Output<string[]>;
    /** Each x86-64 builder's stable DNS name (also its TLS server name), known at declaration. */
    public readonly builderHosts: string[];
    /** The native arm64 builders' Service address and server name, and their pod DNS names, when they exist. */
    public readonly arm64Builders?: { endpoint: pulumi.Output<string>; serverName: pulumi.Output<string>; hosts: string[] };
    /** The rendered `buildkitd.toml`. */
    public readonly configToml: pulumi.Output<string>;
    /** Namespace and pod labels of every builder set: what the runners' NetworkPolicy lets them reach. */
    public readonly builderPods: BuilderPods;
    public readonly namespace: pulumi.Output<string>;

    constructor(name: string, args: BuildkitServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("arc-buildkit:buildkit:BuildkitService", name, {}, opts);
        const child = { parent: this };

        const ns = namespaceWithPodSecurity(BUILDKIT_NAMESPACE, "privileged", child);
        const namespace = ns.metadata.name;
        // Namespaced objects take their namespace from `ns.metadata.name`, which orders them after it.
        const inNamespace = { parent: this };

        const serverSecret = tlsSecret(SERVER_TLS_SECRET, namespace, args.serverTls, inNamespace);

        // A new config or certificate only reaches buildkitd through a restart; hashing both into the
        // pod template makes `pulumi up` roll the builders exactly when either changes.
        const tlsChecksum = pulumi.all([args.serverTls.caCertPem, args.serverTls.certPem]).apply(([ca, cert]) => sha256(ca + cert));
        // Cluster-scoped, so it needs no namespace; the builders' claims wait for it.
        const storageClass = args.declareZoneRedundantStorageClass
            ? new k8s.storage.v1.StorageClass(args.storageClass, zoneRedundantStorageClass(args.storageClass), child)
            : undefined;
        const builders = (set: BuilderSet) => declareBuilderSet(this, set, args, { ns, serverSecret, tlsChecksum, storageClass });

        // The contract path: StatefulSet, Services and ConfigMap named `buildkitd`.
        const tomlInput = { ...args, bridgeSubnet: args.sandbox.bridgeSubnet, history: args.buildHistory };
        const toml = renderBuildkitdToml(tomlInput);
        const contract = builders({
            name: BUILDKITD_NAME,
            headless: BUILDKITD_HEADLESS_NAME,
            labels: BUILDKITD_POD_LABELS,
            replicas: args.replicas,
            placement: args.placement,
            toml,
        });
        // Native arm64 builders (AKS with an arm64 pool): a second, independent set with its own
        // Service, so the contract Service keeps routing to x86-64 builders and their caches only.
        const arm64 = args.arm64 && {
            replicas: args.arm64.replicas,
            declared: builders({
                name: BUILDKITD_ARM64_NAME,
                headless: BUILDKITD_ARM64_HEADLESS_NAME,
                labels: BUILDKITD_ARM64_POD_LABELS,
                replicas: args.arm64.replicas,
                placement: args.arm64.placement,
                toml: renderBuildkitdToml({ ...tomlInput, platforms: nativeFirst(args.platforms, "linux/arm64") }),
            }),
        };

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
                    spec: binfmtDaemonSetSpec({ ...args.binfmt, verifyImage: args.image }, args.platforms, args.binfmtPlacement ?? args.placement),
                },
                // No value of the node pools reaches the DaemonSet: the order is explicit.
                { ...inNamespace, dependsOn: [...(args.nodePools ?? [])] },
            );
        }

        this.namespace = namespace;
        this.configToml = pulumi.output(toml);
        this.builderPods = {
            namespace: BUILDKIT_NAMESPACE,
            podSelectors: [BUILDKITD_POD_LABELS, ...(arm64 ? [BUILDKITD_ARM64_POD_LABELS] : [])].map((labels) => ({ matchLabels: { ...labels } })),
        };
        // Addresses come from the declared Services and StatefulSets (by reference, not by name): whatever
        // uses them waits for those objects, and renaming one cannot leave a stale address behind.
        this.endpoint = args.endpoint === undefined ? serviceEndpoint(contract.service) : pulumi.output(args.endpoint);
        this.serverName = serviceFqdn(contract.service);
        this.arm64Endpoint = arm64 ? serviceEndpoint(arm64.declared.service) : pulumi.output(undefined);
        // Known at declaration: they go into the server certificate and the runners' selector.
        this.builderHosts = podHostnames(args.replicas);
        this.arm64Builders = arm64
            ? {
                  endpoint: serviceEndpoint(arm64.declared.service),
                  serverName: serviceFqdn(arm64.declared.service),
                  hosts: podHostnames(arm64.replicas, BUILDKITD_ARM64_NAME, BUILDKITD_ARM64_HEADLESS_NAME),
              }
            : undefined;
        this.podEndpoints = pulumi
            .all([podEndpoints(contract, args.replicas), arm64 ? podEndpoints(arm64.declared, arm64.replicas) : []])
            .apply(([x86, arm]) => [...x86, ...arm]);
        this.registerOutputs({
            endpoint: this.endpoint,
            arm64Endpoint: this.arm64Endpoint,
            serverName: this.serverName,
            podEndpoints: this.podEndpoints,
            namespace: this.namespace,
        });
    }
}

/** One set of builders: a StatefulSet with its ConfigMap, Services, disruption budget and NetworkPolicy. */
interface BuilderSet {
    name: string;
    headless: string;
    labels: Readonly<Record<string, string>>;
    replicas: number;
    placement: Placement;
    toml: string;
}

/** The platform list with `native` first: BuildKit's default platform is the first one a worker lists. */
export function nativeFirst(platforms: readonly string[], native: string): string[] {
    return [native, ...platforms.filter((p) => p !== native)];
}

/** What callers address of one builder set. */
interface DeclaredBuilderSet {
    statefulSet: k8s.apps.v1.StatefulSet;
    service: k8s.core.v1.Service;
    headless: k8s.core.v1.Service;
}

/** `name.namespace.svc.cluster.local` of a declared Service: the name clients dial and verify. */
function serviceFqdn(service: k8s.core.v1.Service): pulumi.Output<string> {
    return pulumi.interpolate`${service.metadata.name}.${service.metadata.namespace}.svc.${CLUSTER_DOMAIN}`;
}

function serviceEndpoint(service: k8s.core.v1.Service): pulumi.Output<string> {
    return pulumi.interpolate`tcp://${serviceFqdn(service)}:${BUILDKIT_GRPC_PORT}`;
}

/** `tcp://` address of each StatefulSet pod through the headless Service. */
function podEndpoints(set: DeclaredBuilderSet, replicas: number): pulumi.Output<string[]> {
    return pulumi
        .all([set.statefulSet.metadata.name, set.headless.metadata.name, set.headless.metadata.namespace])
        .apply(([statefulSet, headless, namespace]) =>
            Array.from(
                { length: replicas },
                (_, ordinal) => `tcp://${statefulSet}-${ordinal}.${headless}.${namespace}.svc.${CLUSTER_DOMAIN}:${BUILDKIT_GRPC_PORT}`,
            ),
        );
}

function declareBuilderSet(
    parent: pulumi.Resource,
    set: BuilderSet,
    args: BuildkitServiceArgs,
    shared: {
        ns: k8s.core.v1.Namespace;
        serverSecret: k8s.core.v1.Secret;
        tlsChecksum: pulumi.Output<string>;
        storageClass?: k8s.storage.v1.StorageClass;
    },
): DeclaredBuilderSet {
    const namespace = shared.ns.metadata.name;
    const inNamespace = { parent };
    const config = new k8s.core.v1.ConfigMap(
        `${set.name}-config`,
        { metadata: { name: `${set.name}-config`, namespace, labels: { ...set.labels } }, data: { [CONFIG_FILE]: set.toml } },
        inNamespace,
    );
    const statefulSet = new k8s.apps.v1.StatefulSet(
        set.name,
        {
            metadata: { name: set.name, namespace, labels: { ...set.labels } },
            spec: {
                serviceName: set.headless,
                replicas: set.replicas,
                // Builders are independent: start and replace them in parallel.
                podManagementPolicy: "Parallel",
                selector: { matchLabels: { ...set.labels } },
                persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Delete" },
                template: {
                    metadata: {
                        labels: { ...set.labels },
                        annotations: { "arc-buildkit/config-sha256": sha256(set.toml), "arc-buildkit/tls-sha256": shared.tlsChecksum },
                    },
                    spec: daemonPodSpec({
                        ...args,
                        userNamespace: args.sandbox.userNamespace,
                        bridgeSubnet: args.sandbox.bridgeSubnet,
                        placement: set.placement,
                        podLabels: set.labels,
                        configMapName: config.metadata.name,
                        serverTlsSecretName: shared.serverSecret.metadata.name,
                    }),
                },
                volumeClaimTemplates: [
                    {
                        metadata: { name: CACHE_VOLUME, labels: { ...set.labels } },
                        spec: {
                            accessModes: ["ReadWriteOnce"],
                            storageClassName: shared.storageClass?.metadata.name ?? args.storageClass,
                            resources: { requests: { storage: args.cacheSize.quantity } },
                        },
                    },
                ],
            },
        },
        {
            parent,
            // The namespace, ConfigMap, server Secret and (declared) StorageClass are ordered by the
            // references above; no value of the node pools reaches the StatefulSet, so that is explicit.
            dependsOn: [...(args.nodePools ?? [])],
            // A drain may hold each builder for drainTimeoutSeconds, far beyond the provider's 10 minutes.
            customTimeouts: rolloutTimeouts({ replicas: set.replicas, drainTimeoutSeconds: args.drainTimeoutSeconds }),
            // volumeClaimTemplates are immutable, so a new cache size replaces the StatefulSet; its name
            // is fixed, so the old one must go first (the provider asks for this too; stated here so
            // the replacement is explicit and tested).
            deleteBeforeReplace: true,
        },
    );
    // The client Service is awaited until it has ready endpoints (the headless one is not): created
    // after the builders are ready, it never waits for a node pool that is still being created.
    // Explicit: a Service selects pods by label, so no value of the StatefulSet reaches it.
    const afterBuilders = { parent, dependsOn: [statefulSet, ...(args.nodePools ?? [])] };

    const service = new k8s.core.v1.Service(
        set.name,
        {
            metadata: { name: set.name, namespace, labels: { ...set.labels } },
            spec: {
                type: "ClusterIP",
                selector: { ...set.labels },
                // Only the mTLS port: metrics stay off the address runners are given.
                ports: [{ name: "grpc", port: BUILDKIT_GRPC_PORT, targetPort: "grpc", protocol: "TCP" }],
            },
        },
        afterBuilders,
    );
    const headless = new k8s.core.v1.Service(
        set.headless,
        {
            metadata: { name: set.headless, namespace, labels: { ...set.labels } },
            spec: {
                clusterIP: "None",
                selector: { ...set.labels },
                ports: [
                    { name: "grpc", port: BUILDKIT_GRPC_PORT, targetPort: "grpc", protocol: "TCP" },
                    { name: "metrics", port: BUILDKIT_METRICS_PORT, targetPort: "metrics", protocol: "TCP" },
                ],
            },
        },
        afterBuilders,
    );
    new k8s.policy.v1.PodDisruptionBudget(
        set.name,
        {
            metadata: { name: set.name, namespace, labels: { ...set.labels } },
            spec: { ...disruptionBudget(set.replicas), selector: { matchLabels: { ...set.labels } } },
        },
        inNamespace,
    );
    new k8s.networking.v1.NetworkPolicy(
        set.name,
        {
            metadata: { name: set.name, namespace },
            spec: buildkitdIngressPolicy({ namespace: args.monitoringNamespace, podLabels: args.prometheusPodLabels }, { matchLabels: { ...set.labels } }),
        },
        inNamespace,
    );
    // Egress of the builders and so of every build step (they leave through the pod's address).
    new k8s.networking.v1.NetworkPolicy(
        `${set.name}-egress`,
        { metadata: { name: `${set.name}-egress`, namespace }, spec: builderEgressPolicy({ matchLabels: { ...set.labels } }, args.clusterCidrs) },
        inNamespace,
    );
    for (const exception of args.builderEgressExceptions) {
        const name = `${set.name}-egress-${exception.name}`;
        new k8s.networking.v1.NetworkPolicy(
            name,
            { metadata: { name, namespace }, spec: builderEgressExceptionPolicy({ matchLabels: { ...set.labels } }, exception) },
            inNamespace,
        );
    }
    return { statefulSet, service, headless };
}

function sha256(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}
