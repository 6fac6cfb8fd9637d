import { BUILDKIT_NAMESPACE, BUILDKITD_NAME, SHARED_TIER, tierNames } from "../../contracts";
import { CACHE_VOLUME } from "../buildkit/workload";

/**
 * Alerting rules for the Prometheus Operator's PrometheusRule. Every metric is one the cluster's
 * standard exporters publish, so nothing here depends on BuildKit's own metrics:
 * - kubelet (`/metrics` of every node): `kubelet_volume_stats_{used,capacity}_bytes` per PVC;
 * - kube-state-metrics: `kube_pod_container_status_last_terminated_reason`,
 *   `kube_pod_container_status_restarts_total`, `kube_statefulset_status_replicas_ready`, `kube_job_status_failed`.
 * Certificate expiry cannot be scraped (buildkitd exports no certificate metric), so that rule is
 * rendered from the `notAfter` dates Pulumi issued: re-rendered on every `pulumi up` that renews,
 * and left stale (and so firing in time) exactly when the scheduled up stops renewing.
 */

export const PROBE_JOB_PREFIX = "buildkit-probe-";
/** StatefulSet PVC names: `<claim template>-<statefulset>-<ordinal>`. */
export const CACHE_PVC_PATTERN = `${CACHE_VOLUME}-${BUILDKITD_NAME}(-[a-z][a-z0-9]*)?(-arm64)?-[0-9]+`;
/** Cache volume use that fires the alert. */
export const CACHE_FULL_RATIO = 0.85;

export interface CertificateExpiry {
    /** Which certificate: `ca`, `server` or `client`. */
    certificate: string;
    /** Its notAfter (RFC 3339, as @pulumi/tls reports `validityEndTime`). */
    notAfter: string;
}

/** One tier's builder sets, as the program declares them. */
export interface TierBuilderSets {
    tier: string;
    /** Whether the tier has an arm64 builder set (`<statefulSet>-arm64`) beside its x86-64 one. */
    arm64: boolean;
}

export interface RuleInput {
    certificates: readonly CertificateExpiry[];
    /**
     * Every tier's builder sets: each gets its own no-ready-builder alert, and each tier's probe (in its
     * own runner namespace) is watched. Default: the shared tier's x86-64 set only.
     */
    tiers?: readonly TierBuilderSets[];
    /** Fire when fewer days are left. */
    warningDays: number;
}

export interface AlertRule {
    alert: string;
    expr: string;
    for?: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
}

export interface RuleGroup {
    name: string;
    rules: AlertRule[];
}

const builders = `namespace="${BUILDKIT_NAMESPACE}", container="buildkitd"`;
const runbook = 'See the arc-buildkit runbook, docs/runbook.md, "Triage".';

/** Seconds since the epoch of an RFC 3339 time; throws on anything else so a rule never compares with NaN. */
export function epochSeconds(rfc3339: string): number {
    const ms = Date.parse(rfc3339);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(rfc3339) || Number.isNaN(ms)) {
        throw new Error(`not an RFC 3339 time: ${rfc3339}`);
    }
    return Math.floor(ms / 1000);
}

export function alertRuleGroups(input: RuleInput): RuleGroup[] {
    const tiers = input.tiers ?? [{ tier: SHARED_TIER, arm64: false }];
    const builderSets = tiers.flatMap(({ tier, arm64 }) => {
        const names = tierNames(tier);
        return [names.statefulSet, ...(arm64 ? [names.arm64.statefulSet] : [])].map((statefulSet) => ({ tier, statefulSet }));
    });
    const runnerNamespaces = tiers.map(({ tier }) => tierNames(tier).runnerNamespace);
    const capacity = `kubelet_volume_stats_capacity_bytes{namespace="${BUILDKIT_NAMESPACE}", persistentvolumeclaim=~"${CACHE_PVC_PATTERN}"}`;
    const used = `kubelet_volume_stats_used_bytes{namespace="${BUILDKIT_NAMESPACE}", persistentvolumeclaim=~"${CACHE_PVC_PATTERN}"}`;
    return [
        {
            name: "arc-buildkit.builders",
            rules: [
                {
                    alert: "BuildkitCacheVolumeAlmostFull",
                    expr: `${used} / ${capacity} > ${CACHE_FULL_RATIO}`,
                    for: "15m",
                    labels: { severity: "warning" },
                    annotations: {
                        summary: `BuildKit cache volume {{ $labels.persistentvolumeclaim }} is more than ${CACHE_FULL_RATIO * 100}% full`,
                        description: `GC keeps the cache below 70% between builds; above ${CACHE_FULL_RATIO * 100}% running builds are close to failing with "no space left on device". ${runbook}`,
                    },
                },
                {
                    alert: "BuildkitBuilderOOMKilled",
                    expr:
                        `kube_pod_container_status_last_terminated_reason{${builders}, reason="OOMKilled"} == 1` +
                        ` and on (namespace, pod, container) increase(kube_pod_container_status_restarts_total{${builders}}[15m]) > 0`,
                    labels: { severity: "critical" },
                    annotations: {
                        summary: "buildkitd in {{ $labels.pod }} was OOM-killed",
                        description: `Every build running on that builder failed with it. Raise arc-buildkit:buildkit.resources.limits.memory or lower buildkit.maxParallelism. ${runbook}`,
                    },
                },
                {
                    alert: "BuildkitBuilderRestartLoop",
                    expr: `increase(kube_pod_container_status_restarts_total{${builders}}[30m]) >= 3`,
                    labels: { severity: "critical" },
                    annotations: {
                        summary: "buildkitd in {{ $labels.pod }} restarted at least 3 times in 30 minutes",
                        description: `A builder that keeps restarting drops the builds routed to it. ${runbook}`,
                    },
                },
                // One per builder set of every tier: each is its own Service, and a tier whose builders are all
                // gone fails every build of that tier's repositories even while the other tiers are healthy.
                ...builderSets.map(({ tier, statefulSet }) => ({
                    alert: "BuildkitNoReadyEndpoints",
                    // The Service's endpoints are exactly the ready pods of the StatefulSet it selects; no series at
                    // all (the StatefulSet deleted by hand, kube-state-metrics not seeing it) counts as none ready.
                    expr: `(sum(kube_statefulset_status_replicas_ready{namespace="${BUILDKIT_NAMESPACE}", statefulset="${statefulSet}"}) or on () vector(0)) == 0`,
                    for: "5m",
                    labels: { severity: "critical", tier, statefulset: statefulSet },
                    annotations: {
                        summary: `Service ${statefulSet} has no ready builder`,
                        description: `Every image build of the ${tier} tier's repositories that uses ${statefulSet} fails. ${runbook}`,
                    },
                })),
                {
                    alert: "BuildkitProbeFailed",
                    // Each tier's probe runs in its own runner namespace, with that tier's client identity.
                    expr: `kube_job_status_failed{namespace=~"${runnerNamespaces.join("|")}", job_name=~"${PROBE_JOB_PREFIX}.*"} > 0`,
                    labels: { severity: "critical" },
                    annotations: {
                        summary: "BuildKit probe {{ $labels.job_name }} in {{ $labels.namespace }} failed",
                        description: `The runners' mTLS path, a platform or a certificate's remaining lifetime failed the probe: kubectl -n {{ $labels.namespace }} logs job/{{ $labels.job_name }}. ${runbook}`,
                    },
                },
            ],
        },
        {
            name: "arc-buildkit.certificates",
            rules: input.certificates.map(({ certificate, notAfter }) => ({
                alert: "BuildkitCertificateExpiresSoon",
                // notAfter as Pulumi last issued it; time() is the evaluation time, so days left falls by itself.
                expr: `vector((${epochSeconds(notAfter)} - time()) / 86400) < ${input.warningDays}`,
                labels: { severity: "warning", certificate },
                annotations: {
                    summary: `The BuildKit ${certificate} certificate expires at ${notAfter}`,
                    description: `Fewer than ${input.warningDays} days left. The scheduled pulumi up (renew workflow) re-issues it 30 days before expiry by default; check that workflow's last runs. ${runbook}`,
                },
            })),
        },
    ];
}
