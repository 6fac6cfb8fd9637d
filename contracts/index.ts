/**
 * Names fixed by ../shared/CONTRACTS.md. Workflows, runbooks and other teams depend on them, so they
 * live in one place and are never derived from config.
 *
 * Naming: `BUILDKITD_*` names the daemon's own Kubernetes objects and labels (the `buildkitd...`
 * StatefulSets, Services, pod labels); `BUILDKIT_*` everything else about the service (namespace,
 * ports, addresses, node pools).
 */

export const BUILDKIT_NAMESPACE = "buildkit";
export const ARC_CONTROLLER_NAMESPACE = "arc-systems";
export const RUNNER_NAMESPACE = "arc-runners";

export const BUILDKITD_NAME = "buildkitd";
/** Headless Service that gives every StatefulSet pod a stable DNS name. */
export const BUILDKITD_HEADLESS_NAME = "buildkitd-headless";
export const BUILDKITD_POD_LABELS = { "app.kubernetes.io/name": "buildkitd" } as const;

export const BUILDKIT_GRPC_PORT = 1234;
export const BUILDKIT_METRICS_PORT = 6060;

export const CLUSTER_DOMAIN = "cluster.local";
export const BUILDKIT_SERVICE_FQDN = `${BUILDKITD_NAME}.${BUILDKIT_NAMESPACE}.svc.${CLUSTER_DOMAIN}`;
export const BUILDKIT_ENDPOINT = `tcp://${BUILDKIT_SERVICE_FQDN}:${BUILDKIT_GRPC_PORT}`;

export const SERVER_TLS_SECRET = "buildkitd-server-tls";
export const CLIENT_TLS_SECRET = "buildkitd-client-tls";
/** The file names `buildctl --tlsdir` reads, used as the keys of both TLS secrets. */
export const TLS_KEYS = { ca: "ca.crt", cert: "tls.crt", key: "tls.key" } as const;

export const BUILDKIT_POOL_LABEL = { key: "ameide.io/pool", value: "buildkit" } as const;
export const BUILDKIT_POOL_TAINT = { key: "ameide.io/pool", value: "buildkit", effect: "NoSchedule" } as const;

/** Environment every runner pod exports, so workflows never hard-code the endpoint or TLS paths. */
export const RUNNER_ENV = {
    addr: "AMEIDE_BUILDKIT_ADDR",
    ca: "AMEIDE_BUILDKIT_TLS_CA",
    cert: "AMEIDE_BUILDKIT_TLS_CERT",
    key: "AMEIDE_BUILDKIT_TLS_KEY",
    serverName: "AMEIDE_BUILDKIT_TLS_SERVERNAME",
} as const;

/** GitHub organization variables. */
export const GITHUB_VARIABLES = { addr: "AMEIDE_BUILDKIT_ADDR", runsOn: "AMEIDE_RUNS_ON" } as const;

/**
 * Not in CONTRACTS.md: names this program adds for the optional native arm64 builders on AKS. The
 * contract names above stay the default (x86-64) path; these never replace them.
 */
export const BUILDKITD_ARM64_NAME = "buildkitd-arm64";
export const BUILDKITD_ARM64_HEADLESS_NAME = "buildkitd-arm64-headless";
export const BUILDKITD_ARM64_POD_LABELS = { "app.kubernetes.io/name": "buildkitd-arm64" } as const;
export const BUILDKIT_ARM64_SERVICE_FQDN = `${BUILDKITD_ARM64_NAME}.${BUILDKIT_NAMESPACE}.svc.${CLUSTER_DOMAIN}`;
export const BUILDKIT_ARM64_ENDPOINT = `tcp://${BUILDKIT_ARM64_SERVICE_FQDN}:${BUILDKIT_GRPC_PORT}`;
/** Node label the arm64 pool adds (next to the pool label), for operators' `kubectl get nodes -l`. */
export const BUILDKIT_ARCH_LABEL_KEY = "ameide.io/arch";
/** Not in CONTRACTS.md: the organization variable (and runner variable) naming the native arm64 builders. */
export const ARM64_ADDR_VARIABLE = "AMEIDE_BUILDKIT_ARM64_ADDR";

/**
 * Trust tiers (CONTRACTS.md, "Trust tiers"). The shared tier keeps every name above; every other
 * tier derives its names from its own by one rule, so the protected tier gets exactly the contract's
 * names (`buildkitd-protected`, `arc-runners-protected`, `AMEIDE_RUNS_ON_PROTECTED`, ...) and a
 * further tier needs no new constants.
 */
export const SHARED_TIER = "shared";
/** The tier the contract names beside the shared one. */
export const PROTECTED_TIER = "protected";
/** Pod (and node-pool) label naming a builder's tier. */
export const TIER_LABEL_KEY = "ameide.io/tier";

/** Every name one tier's objects take. */
export interface TierNames {
    readonly tier: string;
    /** StatefulSet, client Service and ConfigMap prefix of the x86-64 builders. */
    readonly statefulSet: string;
    readonly headless: string;
    readonly serviceFqdn: string;
    readonly endpoint: string;
    readonly serverTlsSecret: string;
    readonly runnerNamespace: string;
    /** Always the contract's `buildkitd-client-tls`, in the tier's own runner namespace. */
    readonly clientTlsSecret: string;
    /** Labels of every builder pod of the tier (what Services, budgets and policies select). */
    readonly podLabels: Readonly<Record<string, string>>;
    /**
     * The StatefulSet's own selector. Immutable in Kubernetes, so the shared tier keeps the selector it
     * always had (`app.kubernetes.io/name=buildkitd`): adding the tier label there would replace the
     * StatefulSet and delete every cache. New tiers select on their tier label as well.
     */
    readonly statefulSetSelector: Readonly<Record<string, string>>;
    readonly arm64: {
        readonly statefulSet: string;
        readonly headless: string;
        readonly serviceFqdn: string;
        readonly endpoint: string;
        readonly podLabels: Readonly<Record<string, string>>;
        readonly statefulSetSelector: Readonly<Record<string, string>>;
    };
    /** GitHub organization variables of the tier. */
    readonly variables: { readonly runsOn: string; readonly addr: string; readonly arm64Addr: string };
    /** AKS node label and taint value of the tier's pools (`ameide.io/pool=<value>`). */
    readonly poolValue: string;
    /** Prefix of the tier's Pulumi resource names: none for the shared tier, so its URNs never change. */
    readonly resourcePrefix: string;
}

export function tierNames(tier: string): TierNames {
    const shared = tier === SHARED_TIER;
    const suffix = shared ? "" : `-${tier}`;
    const upper = tier.toUpperCase().replace(/-/g, "_");
    // One builder set: its StatefulSet and Services, and the labels its pods carry (the contract's name
    // label plus the tier). The shared tier's StatefulSets keep the selector they were created with.
    const builderSet = (name: string, nameLabels: Readonly<Record<string, string>>) => {
        const serviceFqdn = `${name}.${BUILDKIT_NAMESPACE}.svc.${CLUSTER_DOMAIN}`;
        const podLabels = { ...nameLabels, [TIER_LABEL_KEY]: tier };
        return {
            statefulSet: name,
            headless: `${name}-headless`,
            serviceFqdn,
            endpoint: `tcp://${serviceFqdn}:${BUILDKIT_GRPC_PORT}`,
            podLabels,
            statefulSetSelector: shared ? { ...nameLabels } : podLabels,
        };
    };
    const x86 = builderSet(`${BUILDKITD_NAME}${suffix}`, BUILDKITD_POD_LABELS);
    return {
        tier,
        ...x86,
        serverTlsSecret: `${x86.statefulSet}-server-tls`,
        runnerNamespace: `${RUNNER_NAMESPACE}${suffix}`,
        clientTlsSecret: CLIENT_TLS_SECRET,
        arm64: builderSet(`${BUILDKITD_NAME}${suffix}-arm64`, BUILDKITD_ARM64_POD_LABELS),
        variables: shared
            ? { runsOn: GITHUB_VARIABLES.runsOn, addr: GITHUB_VARIABLES.addr, arm64Addr: ARM64_ADDR_VARIABLE }
            : { runsOn: `${GITHUB_VARIABLES.runsOn}_${upper}`, addr: `AMEIDE_BUILDKIT_${upper}_ADDR`, arm64Addr: `AMEIDE_BUILDKIT_${upper}_ARM64_ADDR` },
        poolValue: `${BUILDKIT_POOL_LABEL.value}${suffix}`,
        resourcePrefix: shared ? "" : `${tier}-`,
    };
}
