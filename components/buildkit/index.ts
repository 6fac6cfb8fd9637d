import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import type { ByteQuantity } from "../../config/quantity";
import {
    BUILDKIT_GRPC_PORT,
    BUILDKIT_METRICS_PORT,
    BUILDKIT_NAMESPACE,
    CLUSTER_DOMAIN,
    SHARED_TIER,
    TIER_LABEL_KEY,
    TierNames,
    tierNames,
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
import { CacheGrowth, cacheClaimNames, cacheClaimPatch, cacheStatefulSetOptions } from "./cache";
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
    /**
     * How a new `cacheSize` reaches the builders: `expand` patches every cache claim in place (needs a
     * StorageClass with `allowVolumeExpansion`, as on AKS), `replace` replaces the StatefulSet and its
     * caches (k3d's local-path cannot expand). See ./cache.ts. Default: `replace`.
     */
    cacheGrowth?: CacheGrowth;
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
    /** The shared tier's server identity from {@link BuildkitPki}. Required. */
    serverTls: TlsMaterial;
    /**
     * Trust tiers beside the shared one: each gets its own builder sets, server Secret, Services,
     * budgets, NetworkPolicies and binfmt installer, on its own nodes. Default: none.
     */
    tiers?: readonly BuilderTierArgs[];
}

/** One tier beside the shared one, as {@link BuildkitService} declares it. */
export interface BuilderTierArgs {
    /** The tier's names (`tierNames(tier)`). */
    names: TierNames;
    /** Builders of the tier's x86-64 set. */
    replicas: number;
    /** The tier's own nodes (AKS: its own tainted pool). */
    placement: Placement;
    /** Where the tier's binfmt installer runs (every node of the tier's pools). Default: `placement`. */
    binfmtPlacement?: Placement;
    /** The tier's native arm64 builders, on its own arm64 pool. Default: none. */
    arm64?: { replicas: number; placement: Placement };
    /** The tier's node pools; its workloads wait for them. */
    nodePools?: pulumi.Resource[];
    /** The tier's server identity (its own CA). */
    serverTls: TlsMaterial;
    /** The tier's `[history]`. Default: the service's `buildHistory`. */
    buildHistory?: { maxAgeHours: number; maxEntries: number };
}

/** What callers address of one tier's builders. */
export interface TierBuilders {
    readonly tier: string;
    /** `tcp://buildkitd[-<tier>].buildkit.svc.cluster.local:1234`. */
    readonly endpoint: pulumi.Output<string>;
    readonly serverName: pulumi.Output<string>;
    readonly podEndpoints: pulumi.Output<string[]>;
    /** Each x86-64 builder's stable DNS name, known at declaration. */
    readonly builderHosts: string[];
    readonly arm64Builders?: { endpoint: pulumi.Output<string>; serverName: pulumi.Output<string>; hosts: string[] };
    readonly configToml: pulumi.Output<string>;
    /** The tier's builder pods, for its runners' egress policy. */
    readonly builderPods: BuilderPods;
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
    /** Every tier's builders, the shared tier first. */
    public readonly tiers: readonly TierBuilders[];

    constructor(name: string, args: BuildkitServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("arc-buildkit:buildkit:BuildkitService", name, {}, opts);
        const child = { parent: this };

        const ns = namespaceWithPodSecurity(BUILDKIT_NAMESPACE, "privileged", child);
        const namespace = ns.metadata.name;
        // Namespaced objects take their namespace from `ns.metadata.name`, which orders them after it.
        const inNamespace = { parent: this };

        // Cluster-scoped, so it needs no namespace; the builders' claims wait for it.
        const storageClass = args.declareZoneRedundantStorageClass
            ? new k8s.storage.v1.StorageClass(args.storageClass, zoneRedundantStorageClass(args.storageClass), child)
            : undefined;

        const sharedTier: BuilderTierArgs = {
            names: tierNames(SHARED_TIER),
            replicas: args.replicas,
            placement: args.placement,
            binfmtPlacement: args.binfmtPlacement,
            arm64: args.arm64,
            nodePools: args.nodePools,
            serverTls: args.serverTls,
        };
        const otherTiers = args.tiers ?? [];
        const declared = [sharedTier, ...otherTiers].map((tier) =>
            declareTier(this, tier, args, {
                ns,
                storageClass,
                otherTiers: [sharedTier, ...otherTiers].map((t) => t.names.tier).filter((t) => t !== tier.names.tier),
            }),
        );

        new k8s.networking.v1.NetworkPolicy(
            "default-deny-ingress",
            { metadata: { name: "default-deny-ingress", namespace }, spec: DENY_ALL_INGRESS },
            inNamespace,
        );

        const shared = declared[0];
        this.namespace = namespace;
        this.tiers = declared;
        this.configToml = shared.configToml;
        this.endpoint = args.endpoint === undefined ? shared.endpoint : pulumi.output(args.endpoint);
        this.serverName = shared.serverName;
        this.arm64Endpoint = shared.arm64Builders ? shared.arm64Builders.endpoint : pulumi.output(undefined);
        this.builderHosts = shared.builderHosts;
        this.arm64Builders = shared.arm64Builders;
        this.podEndpoints = shared.podEndpoints;
        this.builderPods = shared.builderPods;
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
    /** Labels of the set's pods: what its Services select. */
    labels: Readonly<Record<string, string>>;
    /** The StatefulSet's (immutable) selector: a subset of `labels`. */
    selector: Readonly<Record<string, string>>;
    /** What the budget and the NetworkPolicy select: the set's pods and no other tier's. */
    policySelector: k8s.types.input.meta.v1.LabelSelector;
    /** Namespaces whose pods may open the gRPC port (the tier's runners, and the BuildKit namespace for the shared tier). */
    clientNamespaces: string[];
    replicas: number;
    placement: Placement;
    toml: string;
}

/**
 * The pods of one builder set and of no other tier. The shared tier's pods took their tier label only
 * with this version, so its selector says "not another tier's" instead of "the shared tier's": pods
 * that have not rolled yet stay admitted and covered by the budget during the upgrade.
 */
export function builderPolicySelector(
    selector: Readonly<Record<string, string>>,
    names: TierNames,
    otherTiers: readonly string[],
): k8s.types.input.meta.v1.LabelSelector {
    if (names.tier !== SHARED_TIER) {
        return { matchLabels: { ...names.podLabels, ...selector } };
    }
    return otherTiers.length === 0
        ? { matchLabels: { ...selector } }
        : { matchLabels: { ...selector }, matchExpressions: [{ key: TIER_LABEL_KEY, operator: "NotIn", values: [...otherTiers].sort() }] };
}

/** One tier's builders: its server Secret, its x86-64 (and arm64) sets and its binfmt installer. */
function declareTier(
    parent: BuildkitService,
    tier: BuilderTierArgs,
    args: BuildkitServiceArgs,
    shared: { ns: k8s.core.v1.Namespace; storageClass?: k8s.storage.v1.StorageClass; otherTiers: string[] },
): TierBuilders {
    const { names } = tier;
    const namespace = shared.ns.metadata.name;
    const inNamespace = { parent };
    const serverSecret = tlsSecret(names.serverTlsSecret, namespace, tier.serverTls, inNamespace);
    // A new config or certificate only reaches buildkitd through a restart; hashing both into the
    // pod template makes `pulumi up` roll the builders exactly when either changes.
    const tlsChecksum = pulumi.all([tier.serverTls.caCertPem, tier.serverTls.certPem]).apply(([ca, cert]) => sha256(ca + cert));
    // The shared tier's runners, and BuildKit's own namespace (CONTRACTS.md invariant 2); any other
    // tier's builders admit only their own runners.
    const clientNamespaces = names.tier === SHARED_TIER ? [names.runnerNamespace, BUILDKIT_NAMESPACE] : [names.runnerNamespace];
    const tierArgs = { ...args, nodePools: tier.nodePools };
    const builders = (set: Omit<BuilderSet, "policySelector" | "clientNamespaces">) =>
        declareBuilderSet(parent, { ...set, policySelector: builderPolicySelector(set.selector, names, shared.otherTiers), clientNamespaces }, tierArgs, {
            ns: shared.ns,
            serverSecret,
            tlsChecksum,
            storageClass: shared.storageClass,
        });

    const tomlInput = { ...args, bridgeSubnet: args.sandbox.bridgeSubnet, history: tier.buildHistory ?? args.buildHistory };
    const toml = renderBuildkitdToml(tomlInput);
    const x86 = builders({
        name: names.statefulSet,
        headless: names.headless,
        labels: names.podLabels,
        selector: names.statefulSetSelector,
        replicas: tier.replicas,
        placement: tier.placement,
        toml,
    });
    // Native arm64 builders (AKS with an arm64 pool): a second, independent set with its own
    // Service, so the tier's main Service keeps routing to x86-64 builders and their caches only.
    const arm64 = tier.arm64 && {
        replicas: tier.arm64.replicas,
        declared: builders({
            name: names.arm64.statefulSet,
            headless: names.arm64.headless,
            labels: names.arm64.podLabels,
            selector: names.arm64.statefulSetSelector,
            replicas: tier.arm64.replicas,
            placement: tier.arm64.placement,
            toml: renderBuildkitdToml({ ...tomlInput, platforms: nativeFirst(args.platforms, "linux/arm64") }),
        }),
    };
    if (args.binfmt.enabled) {
        // `binfmt` for the shared tier (the name it always had), `binfmt-<tier>` for the others.
        const binfmtName = names.tier === SHARED_TIER ? "binfmt" : `binfmt-${names.tier}`;
        const tierLabel: Record<string, string> = names.tier === SHARED_TIER ? {} : { [TIER_LABEL_KEY]: names.tier };
        new k8s.apps.v1.DaemonSet(
            binfmtName,
            {
                metadata: { name: binfmtName, namespace, labels: { "app.kubernetes.io/name": "binfmt", ...tierLabel } },
                spec: binfmtDaemonSetSpec({ ...args.binfmt, verifyImage: args.image }, args.platforms, tier.binfmtPlacement ?? tier.placement, tierLabel),
            },
            // No value of the node pools reaches the DaemonSet: the order is explicit.
            { ...inNamespace, dependsOn: [...(tier.nodePools ?? [])] },
        );
    }
    return {
        tier: names.tier,
        // Addresses come from the declared Services and StatefulSets (by reference, not by name): whatever
        // uses them waits for those objects, and renaming one cannot leave a stale address behind.
        endpoint: serviceEndpoint(x86.service),
        serverName: serviceFqdn(x86.service),
        podEndpoints: pulumi.all([podEndpoints(x86, tier.replicas), arm64 ? podEndpoints(arm64.declared, arm64.replicas) : []]).apply(([a, b]) => [...a, ...b]),
        // Known at declaration: they go into the server certificate and the runners' selector.
        builderHosts: podHostnames(tier.replicas, names.statefulSet, names.headless),
        arm64Builders: arm64
            ? {
                  endpoint: serviceEndpoint(arm64.declared.service),
                  serverName: serviceFqdn(arm64.declared.service),
                  hosts: podHostnames(arm64.replicas, names.arm64.statefulSet, names.arm64.headless),
              }
            : undefined,
        configToml: pulumi.output(toml),
        builderPods: {
            namespace: BUILDKIT_NAMESPACE,
            podSelectors: [x86.policySelector, ...(arm64 ? [arm64.declared.policySelector] : [])],
        },
    };
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
    /** What selects the set's pods and no other tier's. */
    policySelector: k8s.types.input.meta.v1.LabelSelector;
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
                selector: { matchLabels: { ...set.selector } },
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
                        // The selector's labels, not the pod's: claim templates are immutable, and the shared
                        // tier's pods gained their tier label after its StatefulSet was created.
                        metadata: { name: CACHE_VOLUME, labels: { ...set.selector } },
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
            // What still replaces the StatefulSet (an immutable field; a cache size with cacheGrowth
            // `replace`) deletes the old one first: its name is fixed (the provider asks for this too;
            // stated here so the replacement is explicit and tested).
            deleteBeforeReplace: true,
            // With cacheGrowth `expand`, a new cache size goes to the claims below instead (./cache.ts).
            ...cacheStatefulSetOptions(args.cacheGrowth ?? "replace", args.storageClass),
        },
    );
    if (args.cacheGrowth === "expand") {
        for (const claim of cacheClaimNames(set.name, set.replicas)) {
            new k8s.core.v1.PersistentVolumeClaimPatch(
                claim,
                // The namespace by reference from the StatefulSet: patched after it is ready, when every claim exists.
                cacheClaimPatch(claim, statefulSet.metadata.namespace, args.cacheSize.quantity, set.labels),
                { parent, dependsOn: [statefulSet], retainOnDelete: true },
            );
        }
    }
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
            spec: { ...disruptionBudget(), selector: set.policySelector },
        },
        inNamespace,
    );
    new k8s.networking.v1.NetworkPolicy(
        set.name,
        {
            metadata: { name: set.name, namespace },
            spec: buildkitdIngressPolicy(
                { namespace: args.monitoringNamespace, podLabels: args.prometheusPodLabels },
                set.policySelector,
                set.clientNamespaces,
            ),
        },
        inNamespace,
    );
    // Egress of the builders and so of every build step (they leave through the pod's address).
    new k8s.networking.v1.NetworkPolicy(
        `${set.name}-egress`,
        { metadata: { name: `${set.name}-egress`, namespace }, spec: builderEgressPolicy(set.policySelector, args.clusterCidrs) },
        inNamespace,
    );
    for (const exception of args.builderEgressExceptions) {
        const name = `${set.name}-egress-${exception.name}`;
        new k8s.networking.v1.NetworkPolicy(
            name,
            { metadata: { name, namespace }, spec: builderEgressExceptionPolicy(set.policySelector, exception) },
            inNamespace,
        );
    }
    return { statefulSet, service, headless, policySelector: set.policySelector };
}

function sha256(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}
