import { BUILDKIT_NAMESPACE } from "../../contracts";

/**
 * Alerts and dashboard panels over the per-build series (./pushgateway.ts) and the daemons' own
 * counters. Two sources, two kinds of trust:
 * - `arc_buildkit_*` come from runner pods (buildkit-report): per repository, but a runner pod could
 *   have pushed anything within the closed label sets, so they are advisory;
 * - `buildkit_builds_steps_total{kind}` (counter `buildkit.builds.steps`) and `buildkit_builds_total`
 *   come from each buildkitd's debug address (moby/buildkit v0.31.2 solver/llbsolver/metrics.go:
 *   one increment per finished build, kinds completed/cached/total/warnings, from the history record),
 *   scraped by the builders' PodMonitor with the pod label: per builder and not forgeable by a client.
 *   BuildkitBuildReportsExceedDaemon compares the two.
 */

type AlertRule = { alert: string; expr: string; for?: string; labels: Record<string, string>; annotations: Record<string, string> };

export interface FleetRuleInput {
    /** Window of the current hit rate. Default 6h. */
    recentWindow?: string;
    /** Window of the baseline it is compared with. Default 7d. */
    baselineWindow?: string;
    /** Fire when the recent hit rate is below this fraction of the baseline. Default 0.5. */
    dropRatio?: number;
    /** Only repositories with at least this many builds in the recent window. Default 5. */
    minBuilds?: number;
    /** Fallbacks of one repository within 1h that fire. Default 3. */
    fallbacksPerHour?: number;
    /** CPU used over the limit that counts as saturated (for 15m). Default 0.9. */
    saturationRatio?: number;
}

const runbook = "See docs/cache-metrics.md.";

/** The rule group `arc-buildkit.cache`. Pure; defaults documented on FleetRuleInput. */
export function fleetRuleGroup(input: FleetRuleInput = {}): { name: string; rules: AlertRule[] } {
    const recent = input.recentWindow ?? "6h";
    const baseline = input.baselineWindow ?? "7d";
    const dropRatio = input.dropRatio ?? 0.5;
    const minBuilds = input.minBuilds ?? 5;
    const fallbacks = input.fallbacksPerHour ?? 3;
    const saturation = input.saturationRatio ?? 0.9;
    const by = "sum by (tier, repository)";
    const hitRate = (w: string) => `(${by} (increase(arc_buildkit_build_cached_steps_total[${w}])) / ${by} (increase(arc_buildkit_build_steps_total[${w}])))`;
    const ns = `namespace="${BUILDKIT_NAMESPACE}"`;
    return {
        name: "arc-buildkit.cache",
        rules: [
            {
                alert: "BuildkitRepositoryCacheHitRateDropped",
                expr:
                    `${hitRate(recent)} < ${dropRatio} * ${hitRate(baseline)}` + ` and ${by} (increase(arc_buildkit_builds_total[${recent}])) >= ${minBuilds}`,
                for: "30m",
                labels: { severity: "warning" },
                annotations: {
                    summary: `Cache hit rate of {{ $labels.repository }} ({{ $labels.tier }} tier) fell below ${dropRatio * 100}% of its ${baseline} level`,
                    description:
                        `Over the last ${recent} its builds took {{ $value | humanizePercentage }} of their steps from the cache, less than ${dropRatio} times the ${baseline} rate. ` +
                        `Usual causes: its builder was replaced or its cache volume was garbage-collected, builds fall back (see BuildkitRepositoryKeepsFallingBack), or the Dockerfile now invalidates an early layer. ${runbook}`,
                },
            },
            {
                alert: "BuildkitRepositoryKeepsFallingBack",
                expr: `sum by (tier, repository, reason) (increase(arc_buildkit_fallbacks_total[1h])) >= ${fallbacks}`,
                labels: { severity: "warning" },
                annotations: {
                    summary: `Builds of {{ $labels.repository }} ({{ $labels.tier }} tier) keep falling back: {{ $labels.reason }}`,
                    description: `At least ${fallbacks} builds in the last hour did not get this repository's first-ranked builder (reason {{ $labels.reason }}), so they ran with a colder cache. timeout points at a saturated builder, not-ready at a builder that is down or restarting. ${runbook}`,
                },
            },
            {
                alert: "BuildkitBuilderSaturated",
                // Against the CPU limit when the builder has one; without one (the committed stacks set only a
                // request, so builds may burst) against the allocatable CPU of the node it runs on. kube_pod_info
                // carries the pod's `node` (kube-state-metrics docs/metrics/workload/pod-metrics.md, STABLE), which
                // joins it to kube_node_status_allocatable.
                expr:
                    `sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{${ns}, container="buildkitd"}[5m]))` +
                    ` / (sum by (namespace, pod) (kube_pod_container_resource_limits{${ns}, container="buildkitd", resource="cpu"})` +
                    ` or sum by (namespace, pod) (kube_pod_info{${ns}} * on (node) group_left () kube_node_status_allocatable{resource="cpu"}))` +
                    ` > ${saturation}`,
                for: "15m",
                labels: { severity: "warning" },
                annotations: {
                    summary: `Builder {{ $labels.pod }} has used more than ${saturation * 100}% of the CPU it can have (its limit, or its node's allocatable CPU) for 15 minutes`,
                    description: `Its builds queue and the selector's probe times out, so the repositories it owns fall back to other builders with colder caches. Add builders, or give them larger nodes or a higher CPU limit. ${runbook}`,
                },
            },
            {
                alert: "BuildkitBuildReportsExceedDaemon",
                // The daemon counts every build it ran; runner reports can only be fewer (builds without
                // a report). More cached steps reported than the daemon served is a forged or misattributed report.
                expr:
                    `sum by (builder) (increase(arc_buildkit_build_cached_steps_total{builder!="service"}[1h]))` +
                    ` > on (builder) (sum by (builder) (label_replace(increase(buildkit_builds_steps_total{${ns}, kind="cached"}[1h]), "builder", "$1", "pod", "(.*)")) * 1.1 + 10)`,
                labels: { severity: "warning" },
                annotations: {
                    summary: "Runner reports claim more cached steps on {{ $labels.builder }} than the daemon served",
                    description: `Per-repository cache series are pushed by runner pods, which a pull request's code can also do. The daemon's own counter (buildkit_builds_steps_total) is lower: treat the repository figures for this builder as untrustworthy and check the Pushgateway's groups. ${runbook}`,
                },
            },
        ],
    };
}

type Target = { expr: string; legend: string };

/** Panels for the builders' dashboard (JSON model, schemaVersion 39), placed from row `y` down. */
export function fleetPanels(firstId: number, y: number): Record<string, unknown>[] {
    const ns = `namespace="${BUILDKIT_NAMESPACE}"`;
    const panel = (
        id: number,
        title: string,
        description: string,
        targets: Target[],
        unit: string,
        x: number,
        row: number,
        extra: Record<string, unknown> = {},
    ) => ({
        id,
        type: "timeseries",
        title,
        description,
        datasource: { type: "prometheus", uid: "${datasource}" },
        gridPos: { h: 8, w: 12, x, y: y + row * 8 },
        fieldConfig: { defaults: { unit }, overrides: [] },
        targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), expr: t.expr, legendFormat: t.legend })),
        ...extra,
    });
    const by = "sum by (tier, repository)";
    return [
        panel(
            firstId,
            "Cache hit rate by repository (cached / total steps, 6h)",
            "From each build's BuildKit progress stream, reported by buildkit-report. Repositories not listed in monitoring.buildMetrics.repositories share the buckets other-0 .. other-f. Runner-reported: advisory.",
            [
                {
                    expr: `topk(20, ${by} (increase(arc_buildkit_build_cached_steps_total[6h])) / ${by} (increase(arc_buildkit_build_steps_total[6h])))`,
                    legend: "{{repository}} ({{tier}})",
                },
            ],
            "percentunit",
            0,
            0,
        ),
        panel(
            firstId + 1,
            "Cache hit rate by builder, as the daemon counts it (6h)",
            "buildkit_builds_steps_total from each buildkitd (BuildKit v0.31.2+): every build the builder ran, reported or not. Not forgeable by a runner.",
            [
                {
                    expr: `sum by (pod) (increase(buildkit_builds_steps_total{${ns}, kind="cached"}[6h])) / sum by (pod) (increase(buildkit_builds_steps_total{${ns}, kind="total"}[6h]))`,
                    legend: "{{pod}}",
                },
            ],
            "percentunit",
            12,
            0,
        ),
        panel(
            firstId + 2,
            "Builds per hour by builder and result",
            "Runner-reported builds; builder=service means no builder answered the selector.",
            [{ expr: `sum by (tier, builder, result) (increase(arc_buildkit_builds_total[1h]))`, legend: "{{builder}} {{result}}" }],
            "short",
            0,
            1,
        ),
        panel(
            firstId + 3,
            "Fallbacks per hour by reason",
            "Builds that did not get their repository's first-ranked builder, by what that builder did (select-buildkit's reason codes).",
            [{ expr: `sum by (tier, reason) (increase(arc_buildkit_fallbacks_total[1h]))`, legend: "{{reason}} ({{tier}})" }],
            "short",
            12,
            1,
        ),
        panel(
            firstId + 4,
            "Builder saturation: CPU used / limit",
            "cAdvisor CPU use over the container's CPU limit; near 1 the builder queues work and its probes time out (fallback reason timeout).",
            [
                {
                    expr:
                        `sum by (pod) (rate(container_cpu_usage_seconds_total{${ns}, container="buildkitd"}[5m]))` +
                        ` / sum by (pod) (kube_pod_container_resource_limits{${ns}, container="buildkitd", resource="cpu"})`,
                    legend: "{{pod}}",
                },
            ],
            "percentunit",
            0,
            2,
        ),
        panel(
            firstId + 5,
            "Repositories that stopped reporting",
            "Seconds since each repository group last pushed (Pushgateway push_time_seconds).",
            [{ expr: `time() - max by (tier, repository) (push_time_seconds{job="arc-buildkit-builds"})`, legend: "{{repository}} ({{tier}})" }],
            "s",
            12,
            2,
        ),
    ];
}
