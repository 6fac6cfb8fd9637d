import { z } from "zod";
import { wholeNumber } from "./numbers";

/**
 * Settings of the build sandbox (docs/build-sandbox.md): where builders and runners may connect,
 * the build-step bridge network, the daemon's user namespace and build history. Pure: no Pulumi
 * calls, tested directly. Defaults live here and only here.
 */

/** An IPv4 network in CIDR notation, parsed: base address as a 32-bit number and prefix length. */
export interface Ipv4Cidr {
    text: string;
    base: number;
    prefix: number;
}

const IPV4_CIDR = /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}\/([0-9]|[12][0-9]|3[0-2])$/;

/** Parses `a.b.c.d/n`; undefined unless it is a canonical network (no host bits set), as NetworkPolicy ipBlock expects. */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
    if (!IPV4_CIDR.test(text)) {
        return undefined;
    }
    const [address, length] = text.split("/");
    const prefix = Number(length);
    const base = address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const size = 2 ** (32 - prefix);
    if (base % size !== 0) {
        return undefined;
    }
    return { text, base, prefix };
}

/** True when the two networks share at least one address. */
export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
    const end = (c: Ipv4Cidr) => c.base + 2 ** (32 - c.prefix) - 1;
    return a.base <= end(b) && b.base <= end(a);
}

/** True when `outer` contains every address of `inner`. */
export function cidrContains(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
    return outer.prefix <= inner.prefix && outer.base <= inner.base && inner.base + 2 ** (32 - inner.prefix) <= outer.base + 2 ** (32 - outer.prefix);
}

export const cidr = z.string({ error: "expected an IPv4 network in CIDR notation such as 10.244.0.0/16" }).refine((text) => parseIpv4Cidr(text) !== undefined, {
    error: "expected an IPv4 network in CIDR notation with no host bits set, such as 10.244.0.0/16",
    abort: true,
});

/**
 * Addresses no build step and no runner may reach, whatever the cluster: link-local (the instance
 * metadata endpoint 169.254.169.254, and anything else a node exposes there) and Azure's WireServer
 * 168.63.129.16, which answers every VM in Azure (a pod's packets leave through its node's NIC).
 */
export const ALWAYS_DENIED_CIDRS = ["169.254.0.0/16", "168.63.129.16/32"] as const;

/**
 * The cluster ranges of a k3d cluster when `network.clusterCidrs` is not set: k3s's default pod
 * (`--cluster-cidr`) and Service (`--service-cidr`) ranges, and Docker's default address pools,
 * where the k3d node containers (and the laptop's other containers) get their addresses.
 */
export const K3D_DEFAULT_CLUSTER_CIDRS = ["10.42.0.0/16", "10.43.0.0/16", "172.16.0.0/12", "192.168.0.0/16"] as const;

/**
 * AKS's documented defaults, for the comment in Pulumi.aks.yaml and docs/build-sandbox.md: pod
 * range 10.244.0.0/16 (kubenet, Azure CNI Overlay), Service range 10.0.0.0/16, and the node VNet
 * 10.224.0.0/12 of a cluster whose VNet AKS created. A cluster in an existing VNet has its own.
 */
export const AKS_DEFAULT_CLUSTER_CIDRS = ["10.244.0.0/16", "10.0.0.0/16", "10.224.0.0/12"] as const;

/** BuildKit's default `bridgeSubnet` (moby/buildkit v0.31.2 util/appdefaults/appdefaults.go). */
export const BUILDKIT_DEFAULT_BRIDGE_SUBNET = "10.10.0.0/16";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

export const podLabels = z
    .record(
        z.string().regex(LABEL_KEY, { error: "expected a Kubernetes label key such as app.kubernetes.io/name" }),
        z.string().regex(LABEL_VALUE, { error: "expected a Kubernetes label value (at most 63 letters, digits, '-', '_' or '.')" }),
    )
    .refine((labels) => Object.keys(labels).length > 0, { error: "expected at least one label: an empty selector would select every pod" });

const port = z.strictObject({
    port: wholeNumber(1, 65535),
    protocol: z.enum(["TCP", "UDP"], { error: 'expected "TCP" or "UDP"' }).default("TCP"),
});

/**
 * One named destination builders may reach although it is inside the cluster ranges: pods of a
 * namespace (a registry mirror) or an address range (a private endpoint). Each becomes its own
 * NetworkPolicy `buildkitd-egress-<name>`, so `kubectl get networkpolicy` lists every exception.
 */
const egressException = z
    .strictObject({
        /** Names the exception's NetworkPolicy. */
        name: z.string().regex(DNS_LABEL, { error: "expected a lower-case name of letters, digits and '-', such as registry-mirror" }).max(40),
        /** Namespace of the destination pods (with `podLabels`). */
        namespace: z.string().regex(DNS_LABEL, { error: "expected a Kubernetes namespace name" }).optional(),
        /** Labels of the destination pods (with `namespace`). */
        podLabels: podLabels.optional(),
        /** A destination address range instead of pods. */
        cidr: cidr.optional(),
        /** Ports allowed to the destination; at least one. */
        ports: z.array(port).min(1, { error: "expected at least one port" }),
    })
    .check((ctx) => {
        const { namespace, podLabels: labels, cidr: range } = ctx.value;
        const pods = namespace !== undefined && labels !== undefined;
        if (pods === (range !== undefined) || (namespace === undefined) !== (labels === undefined)) {
            ctx.issues.push({
                code: "custom",
                path: [],
                input: ctx.value,
                message: "expected either namespace and podLabels (pods in the cluster) or cidr (an address range), not both",
            });
        }
        if (range && ALWAYS_DENIED_CIDRS.some((denied) => cidrsOverlap(parseIpv4Cidr(range)!, parseIpv4Cidr(denied)!))) {
            ctx.issues.push({
                code: "custom",
                path: ["cidr"],
                input: range,
                message: `expected a range outside ${ALWAYS_DENIED_CIDRS.join(" and ")}: the metadata endpoint and the WireServer are never an exception`,
            });
        }
    });

export type EgressException = z.output<typeof egressException>;

/** `arc-buildkit:network`. */
export const networkSchema = z
    .strictObject({
        /** Namespace of the Prometheus pods that may scrape the metrics port 6060. Default `monitoring`. */
        monitoringNamespace: z
            .string()
            .regex(DNS_LABEL, { error: "expected a Kubernetes namespace name (lower-case letters, digits and '-')" })
            .default("monitoring"),
        /**
         * Labels of the Prometheus pods (in `monitoringNamespace`) that may scrape port 6060; no other pod
         * of that namespace may. Default: `app.kubernetes.io/name: prometheus`, the label prometheus-operator
         * (kube-prometheus-stack) puts on every Prometheus pod it runs.
         */
        prometheusPodLabels: podLabels.default({ "app.kubernetes.io/name": "prometheus" }),
        /**
         * The cluster's pod, Service and node address ranges: builders and runners may not open
         * connections there (except DNS, the BuildKit port for runners, and `builderEgressExceptions`).
         * Required on AKS (Pulumi.aks.yaml; the preflight checks them against the cluster's network
         * profile); default on k3d: k3s's pod and Service ranges and Docker's address pools.
         */
        clusterCidrs: z.array(cidr).min(1, { error: "expected at least one range" }).optional(),
        /** Named in-cluster destinations builders may reach (a registry mirror). Default: none. */
        builderEgressExceptions: z
            .array(egressException)
            .refine((list) => new Set(list.map((e) => e.name)).size === list.length, { error: "expected every exception name once" })
            .default([]),
    })
    .check((ctx) => {
        const ranges = ctx.value.clusterCidrs ?? [];
        for (const [i, range] of ranges.entries()) {
            for (const denied of ALWAYS_DENIED_CIDRS) {
                if (cidrsOverlap(parseIpv4Cidr(range)!, parseIpv4Cidr(denied)!)) {
                    ctx.issues.push({
                        code: "custom",
                        path: ["clusterCidrs", i],
                        input: range,
                        message: `expected a cluster range outside ${denied} (always denied on its own)`,
                    });
                }
            }
        }
    });

export type NetworkSandboxSettings = z.output<typeof networkSchema>;

/** The cluster ranges the egress policies exclude: configured, or k3d's defaults. */
export function effectiveClusterCidrs(network: { clusterCidrs?: readonly string[] }, clusterKind: string): string[] {
    if (network.clusterCidrs) {
        return [...network.clusterCidrs];
    }
    if (clusterKind === "k3d") {
        return [...K3D_DEFAULT_CLUSTER_CIDRS];
    }
    throw new Error(`network.clusterCidrs is required on ${clusterKind}; config validation should have said so`);
}

/**
 * BuildKit's `[history]` for one tier: how long and how many finished builds' records (logs,
 * provenance, exported traces) a daemon keeps. Shorter on the shared tier, which any repository's
 * jobs use: a record names the repository, its Dockerfile steps and their output.
 */
const historySchema = z.strictObject({
    /** Hours a finished build's record is kept. */
    maxAgeHours: wholeNumber(1, 24 * 90, "hours"),
    /** Most finished builds kept. */
    maxEntries: wholeNumber(1, 10000),
});
export type HistorySettings = z.output<typeof historySchema>;

export const DEFAULT_HISTORY = {
    shared: { maxAgeHours: 24, maxEntries: 50 },
    protected: { maxAgeHours: 24 * 7, maxEntries: 200 },
} as const;

/** `arc-buildkit:buildkit.history`: per tier. */
export const historyByTierSchema = z.strictObject({
    shared: historySchema.prefault({ ...DEFAULT_HISTORY.shared }),
    protected: historySchema.prefault({ ...DEFAULT_HISTORY.protected }),
});

/**
 * `arc-buildkit:buildkit.sandbox`: how a build step is isolated from the daemon and the node.
 */
export const buildkitSandboxSchema = z.strictObject({
    /**
     * Run the daemon pod in a Kubernetes user namespace (`hostUsers: false`): root in the pod is an
     * unprivileged UID on the node. Needs Kubernetes 1.33+ (UserNamespacesSupport on by default),
     * containerd 2.0+, runc 1.2+ and Linux 6.3+ on the nodes. Default true.
     */
    userNamespace: z.boolean().default(true),
    /**
     * Subnet of the bridge BuildKit puts build steps on (each step its own network namespace);
     * must not overlap the cluster ranges. Default BuildKit's own, 10.10.0.0/16.
     */
    bridgeSubnet: cidr.default(BUILDKIT_DEFAULT_BRIDGE_SUBNET),
});
export type BuildkitSandboxSettings = z.output<typeof buildkitSandboxSchema>;

type ConfigIssue = { code: "custom"; path: (string | number)[]; input: unknown; message: string };

/** Rules across keys: AKS names its ranges; the bridge subnet overlaps none; rootless keeps its process sandbox. */
export function sandboxIssues(value: {
    cluster: { kind: string };
    network: NetworkSandboxSettings;
    buildkit: { rootless: boolean; sandbox: BuildkitSandboxSettings };
}): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    if (value.cluster.kind === "aks" && !value.network.clusterCidrs) {
        issues.push({
            code: "custom",
            path: ["network", "clusterCidrs"],
            input: undefined,
            message: `expected the cluster's pod, Service and node address ranges (AKS defaults: ${AKS_DEFAULT_CLUSTER_CIDRS.join(", ")}; see \`az aks show --query networkProfile\` and the node pools' subnets)`,
        });
    }
    const bridge = parseIpv4Cidr(value.buildkit.sandbox.bridgeSubnet);
    const ranges = value.network.clusterCidrs ?? (value.cluster.kind === "k3d" ? K3D_DEFAULT_CLUSTER_CIDRS : []);
    for (const range of ranges) {
        const parsed = parseIpv4Cidr(range);
        if (bridge && parsed && cidrsOverlap(bridge, parsed)) {
            issues.push({
                code: "custom",
                path: ["buildkit", "sandbox", "bridgeSubnet"],
                input: value.buildkit.sandbox.bridgeSubnet,
                message: `expected a subnet that overlaps no cluster range (it overlaps ${range}): the daemon would route that part of the cluster into its build-step bridge`,
            });
        }
    }
    if (value.buildkit.rootless && !value.buildkit.sandbox.userNamespace) {
        issues.push({
            code: "custom",
            path: ["buildkit", "sandbox", "userNamespace"],
            input: false,
            message:
                "expected true with rootless: the rootless daemon keeps BuildKit's process sandbox, which needs an unmasked /proc (procMount: Unmasked), and Kubernetes allows that only in a user namespace",
        });
    }
    return issues;
}
