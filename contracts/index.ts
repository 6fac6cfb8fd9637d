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
