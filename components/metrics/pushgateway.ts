import type * as k8s from "@pulumi/kubernetes";
import { BUILDKIT_NAMESPACE, SHARED_TIER } from "../../contracts";
import { BUILD_RESULTS, builderLabelRegex, FALLBACK_REASONS, repositoryLabelRegex, seriesBound, type Tier } from "./labels";

/**
 * One Prometheus Pushgateway per trust tier, where `buildkit-report` adds each build's counters
 * (docs/cache-metrics.md says why a Pushgateway and what a runner pod can and cannot do to it).
 * Pure functions of their inputs; ./index.ts declares the objects.
 *
 * Facts relied on (prometheus/pushgateway, read at v1.11.3): the image runs `/bin/pushgateway` as
 * UID 65534 with WORKDIR /pushgateway (Dockerfile); `--persistence.file` keeps pushed groups across
 * restarts, written at most every `--persistence.interval`; the admin API (wipe everything) and the
 * lifecycle API (shutdown) are off unless `--web.enable-admin-api` / `--web.enable-lifecycle` are given
 * (main.go); label values containing `/` are pushed as `<label>@base64/<URL-safe base64>` (the Pushgateway's README).
 */

export const PUSHGATEWAY_PORT = 9091;
/** The job label (grouping key) buildkit-report pushes under. */
export const PUSH_JOB = "arc-buildkit-builds";
/** The series buildkit-report pushes. */
export const BUILD_METRICS = [
    "arc_buildkit_builds_total",
    "arc_buildkit_build_steps_total",
    "arc_buildkit_build_cached_steps_total",
    "arc_buildkit_build_seconds_total",
    "arc_buildkit_fallbacks_total",
] as const;
/** The Pushgateway's own per-group series, kept for "when did this repository last report". */
export const PUSH_TIME_METRICS = ["push_time_seconds", "push_failure_time_seconds"] as const;
/** Every label a kept series may carry; any other label is dropped at the scrape. */
export const KEPT_LABELS = ["__name__", "job", "instance", "tier", "repository", "builder", "result", "reason"] as const;

/** Name of the tier's Pushgateway Deployment, Service, NetworkPolicy and ServiceMonitor (the shared tier has the plain name, as its builders do). */
export function pushgatewayName(tier: Tier): string {
    return tier === SHARED_TIER ? "buildkit-metrics" : `buildkit-metrics-${tier}`;
}

export function pushgatewayLabels(tier: Tier): Record<string, string> {
    return { "app.kubernetes.io/name": pushgatewayName(tier), "app.kubernetes.io/part-of": "arc-buildkit", "ameide.io/tier": tier };
}

/** In-cluster URL runner pods push to (AMEIDE_BUILDKIT_METRICS_URL). */
export function pushgatewayUrl(tier: Tier, namespace: string = BUILDKIT_NAMESPACE): string {
    return `http://${pushgatewayName(tier)}.${namespace}.svc:${PUSHGATEWAY_PORT}`;
}

export interface PushgatewayPodInput {
    tier: Tier;
    /** prom/pushgateway pinned by digest (validated by the config schema). */
    image: string;
}

const PERSISTENCE_DIR = "/pushgateway";

export function pushgatewayDeploymentSpec(input: PushgatewayPodInput): k8s.types.input.apps.v1.DeploymentSpec {
    const labels = pushgatewayLabels(input.tier);
    return {
        // One replica: Pushgateways do not share state, and two behind one Service would each hold half the groups.
        replicas: 1,
        // Recreate: one gateway at a time (two would each hold half the pushes). The persistence file is on an
        // emptyDir, so it survives a container restart, not a new pod: a rollout starts the counters from zero.
        strategy: { type: "Recreate" },
        selector: { matchLabels: { "app.kubernetes.io/name": labels["app.kubernetes.io/name"] } },
        template: {
            metadata: { labels },
            spec: {
                automountServiceAccountToken: false,
                securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
                containers: [
                    {
                        name: "pushgateway",
                        image: input.image,
                        args: [
                            `--web.listen-address=:${PUSHGATEWAY_PORT}`,
                            // Survives a container restart (counters would otherwise reset and the
                            // groups of repositories that have not built since would vanish).
                            `--persistence.file=${PERSISTENCE_DIR}/groups.db`,
                            "--persistence.interval=1m",
                        ],
                        ports: [{ name: "http", containerPort: PUSHGATEWAY_PORT, protocol: "TCP" }],
                        readinessProbe: { httpGet: { path: "/-/ready", port: "http" }, periodSeconds: 10 },
                        livenessProbe: { httpGet: { path: "/-/healthy", port: "http" }, periodSeconds: 30 },
                        resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                        volumeMounts: [{ name: "data", mountPath: PERSISTENCE_DIR }],
                    },
                ],
                volumes: [{ name: "data", emptyDir: { sizeLimit: "64Mi" } }],
            },
        },
    };
}

export function pushgatewayServiceSpec(tier: Tier): k8s.types.input.core.v1.ServiceSpec {
    return {
        type: "ClusterIP",
        selector: { "app.kubernetes.io/name": pushgatewayName(tier) },
        ports: [{ name: "http", port: PUSHGATEWAY_PORT, targetPort: "http", protocol: "TCP" }],
    };
}

/**
 * Reach: the tier's own runner namespace (to push) and the monitoring namespace (to scrape), nothing
 * else. A shared-tier runner cannot reach the protected tier's Pushgateway.
 */
export function pushgatewayNetworkPolicySpec(
    tier: Tier,
    runnerNamespace: string,
    monitoringNamespace: string,
): k8s.types.input.networking.v1.NetworkPolicySpec {
    const from = (name: string) => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } } });
    return {
        podSelector: { matchLabels: { "app.kubernetes.io/name": pushgatewayName(tier) } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [from(runnerNamespace), from(monitoringNamespace)], ports: [{ protocol: "TCP", port: PUSHGATEWAY_PORT }] }],
    };
}

export interface BuilderSet {
    /** StatefulSet name: its pods are `<name>-<ordinal>`. */
    name: string;
    replicas: number;
}

/** The exact pod names of the sets, as one RE2 alternative (`buildkitd-(0|1|2)`), so an ordinal outside the sets is dropped. */
export function builderPods(sets: readonly BuilderSet[]): string[] {
    return sets.flatMap((s) => Array.from({ length: s.replicas }, (_, i) => `${s.name}-${i}`));
}

export interface ScrapeInput {
    tier: Tier;
    /** Lower-cased, validated repositories with their own label value (labels.ts listedRepositories). */
    repositories: readonly string[];
    /** The tier's builder sets. */
    builderSets: readonly BuilderSet[];
}

/**
 * metricRelabelings for the Pushgateway's scrape (Prometheus `metric_relabel_configs`, applied to every
 * scraped series before it is stored and before `sample_limit` counts it): only the five build counters
 * and the push times of the `arc-buildkit-builds` job, only known label names, only label values from
 * the closed sets of ./labels.ts, and `tier` forced to the gateway's own tier. Whatever a runner
 * pushes, at most `seriesBound` series per tier reach Prometheus.
 */
export function metricRelabelings(input: ScrapeInput): Record<string, unknown>[] {
    const keep = (label: string, regex: string) => ({ sourceLabels: [label], regex, action: "keep" });
    const pods = builderPods(input.builderSets);
    return [
        keep("__name__", [...BUILD_METRICS, ...PUSH_TIME_METRICS].join("|")),
        keep("job", PUSH_JOB),
        keep("repository", repositoryLabelRegex(input.repositories)),
        keep("builder", builderLabelRegex(pods)),
        // Empty when the label is absent: the step counters carry neither.
        keep("result", `(${BUILD_RESULTS.join("|")})?`),
        keep("reason", `(${FALLBACK_REASONS.join("|")})?`),
        { regex: KEPT_LABELS.join("|"), action: "labelkeep" },
        { targetLabel: "tier", replacement: input.tier, action: "replace" },
    ];
}

/** Upper bound of the series one tier's scrape stores: sampleLimit (a scrape above it is rejected whole). */
export function scrapeSampleLimit(input: ScrapeInput): number {
    return seriesBound({ listed: input.repositories.length, builders: builderPods(input.builderSets).length });
}

/** ServiceMonitor spec for the tier's Pushgateway. honorLabels: the pushed repository/builder/job win over the target's. */
export function pushgatewayServiceMonitorSpec(input: ScrapeInput, namespace: string = BUILDKIT_NAMESPACE): Record<string, unknown> {
    return {
        namespaceSelector: { matchNames: [namespace] },
        selector: { matchLabels: { "app.kubernetes.io/name": pushgatewayName(input.tier) } },
        sampleLimit: scrapeSampleLimit(input),
        endpoints: [{ port: "http", path: "/metrics", interval: "30s", honorLabels: true, metricRelabelings: metricRelabelings(input) }],
    };
}
