import { BUILDKIT_NAMESPACE, BUILDKITD_NAME } from "../../contracts";
import { fleetPanels } from "../metrics/fleet";
import { CACHE_PVC_PATTERN } from "./rules";

/**
 * A Grafana dashboard (JSON model, schemaVersion 39) for the builders. BuildKit's own series come
 * from its debug address (`/metrics`, OpenTelemetry's Prometheus exporter): `buildkit_builds_total`
 * (counter `buildkit.builds`, label `status`) and `buildkit_build_duration_seconds` (histogram
 * `buildkit.build.duration`, unit s), defined in moby/buildkit solver/llbsolver/metrics.go.
 */
export function buildkitDashboard(): Record<string, unknown> {
    const ns = `namespace="${BUILDKIT_NAMESPACE}"`;
    const panel = (id: number, title: string, exprs: { expr: string; legend: string }[], unit: string, x: number, y: number) => ({
        id,
        type: "timeseries",
        title,
        datasource: { type: "prometheus", uid: "${datasource}" },
        gridPos: { h: 8, w: 12, x, y },
        fieldConfig: { defaults: { unit }, overrides: [] },
        targets: exprs.map((e, i) => ({ refId: String.fromCharCode(65 + i), expr: e.expr, legendFormat: e.legend })),
    });
    return {
        uid: "arc-buildkit",
        title: "arc-buildkit: BuildKit builders",
        tags: ["arc-buildkit", "buildkit"],
        schemaVersion: 39,
        time: { from: "now-24h", to: "now" },
        refresh: "1m",
        templating: { list: [{ name: "datasource", type: "datasource", query: "prometheus", label: "Data source" }] },
        panels: [
            panel(
                1,
                "Builds per minute by status",
                [{ expr: `sum by (status) (rate(buildkit_builds_total{${ns}}[5m])) * 60`, legend: "{{status}}" }],
                "short",
                0,
                0,
            ),
            panel(
                2,
                "Build duration (p50, p95)",
                [
                    { expr: `histogram_quantile(0.5, sum by (le) (rate(buildkit_build_duration_seconds_bucket{${ns}}[15m])))`, legend: "p50" },
                    { expr: `histogram_quantile(0.95, sum by (le) (rate(buildkit_build_duration_seconds_bucket{${ns}}[15m])))`, legend: "p95" },
                ],
                "s",
                12,
                0,
            ),
            panel(
                3,
                "Cache volume used",
                [
                    {
                        expr: `kubelet_volume_stats_used_bytes{${ns}, persistentvolumeclaim=~"${CACHE_PVC_PATTERN}"} / kubelet_volume_stats_capacity_bytes{${ns}, persistentvolumeclaim=~"${CACHE_PVC_PATTERN}"}`,
                        legend: "{{persistentvolumeclaim}}",
                    },
                ],
                "percentunit",
                0,
                8,
            ),
            panel(
                4,
                "buildkitd memory (working set) and limit",
                [
                    { expr: `sum by (pod) (container_memory_working_set_bytes{${ns}, container="buildkitd"})`, legend: "{{pod}}" },
                    { expr: `max(kube_pod_container_resource_limits{${ns}, container="buildkitd", resource="memory"})`, legend: "limit" },
                ],
                "bytes",
                12,
                8,
            ),
            panel(
                5,
                "Ready builders and restarts",
                [
                    { expr: `kube_statefulset_status_replicas_ready{${ns}, statefulset=~"${BUILDKITD_NAME}(-.+)?"}`, legend: "ready {{statefulset}}" },
                    { expr: `increase(kube_pod_container_status_restarts_total{${ns}, container="buildkitd"}[1h])`, legend: "restarts/h {{pod}}" },
                ],
                "short",
                0,
                16,
            ),
            // Per repository and builder: cache hit rate, builds, fallbacks, saturation (docs/cache-metrics.md).
            ...fleetPanels(6, 24),
        ],
    };
}
