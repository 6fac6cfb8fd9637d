import { z } from "zod";
import { wholeNumber } from "./numbers";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

/** At most this many repositories get their own `repository` label value (components/metrics/labels.ts). */
export const MAX_LISTED_REPOSITORIES = 50;
/** GitHub's owner/name: owner [A-Za-z0-9-], name [A-Za-z0-9_.-]. */
export const REPOSITORY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9_.-]{1,100}$/;

const DIGEST_PINNED = /^[a-z0-9]+(?:[._\-/:][a-z0-9]+)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[a-f0-9]{64}$/;

const labels = z.record(
    z.string().regex(LABEL_KEY, { error: "expected a Kubernetes label key" }),
    z.string().regex(LABEL_VALUE, { error: "expected a Kubernetes label value (at most 63 characters)" }),
);

/**
 * `arc-buildkit:monitoring`: objects for the Prometheus Operator (PodMonitor, PrometheusRule) and a
 * Grafana dashboard ConfigMap for the kube-prometheus-stack sidecar. Off by default, because the
 * objects need the operator's CRDs in the cluster; the aks stack turns it on.
 */
export const monitoringSchema = z
    .strictObject({
        /** Declare the PodMonitor, PrometheusRule and dashboard. Needs the monitoring.coreos.com CRDs. Default: false. */
        enabled: z.boolean({ error: "expected true or false" }).default(false),
        /**
         * Labels the Prometheus resource selects PodMonitors and PrometheusRules by. kube-prometheus-stack
         * selects only `release: <its release name>` unless its `...SelectorNilUsesHelmValues` values are false.
         */
        selectorLabels: labels.default({ release: "kube-prometheus-stack" }),
        /** Namespace of Grafana: its dashboard sidecar searches only there unless `searchNamespace` is set. Default: `monitoring`. */
        dashboardNamespace: z.string().regex(DNS_LABEL, { error: "expected a Kubernetes namespace name" }).default("monitoring"),
        /** Label (key and value) the Grafana sidecar picks dashboards by (chart default `grafana_dashboard: "1"`). */
        dashboardLabel: labels.default({ grafana_dashboard: "1" }),
        /** Alert when a certificate has fewer days left than this. Default: 21 (the weekly up renews at 30). */
        certificateWarningDays: wholeNumber(1, 365, "days").default(21),
        /**
         * Per-repository build and cache series (docs/cache-metrics.md): a Pushgateway per tier that
         * buildkit-report adds each build's counters to, with a ServiceMonitor that bounds what reaches
         * Prometheus. Off unless `pushgatewayImage` is set (no default: pin the prom/pushgateway image you
         * mirror); needs `enabled`.
         */
        buildMetrics: z
            .strictObject({
                /** prom/pushgateway pinned by digest. Default: none (per-repository series off; the job summary still works). */
                pushgatewayImage: z
                    .string({ error: "expected an image reference string" })
                    .regex(DIGEST_PINNED, { error: "expected an image pinned by digest, such as prom/pushgateway:v1.11.1@sha256:<64 hex digits>" })
                    .optional(),
                /**
                 * Repositories (owner/name) that get their own `repository` label value, at most 50; every other
                 * one is counted in one of 16 buckets (other-0 .. other-f). Default: none.
                 */
                repositories: z
                    .array(z.string().regex(REPOSITORY_PATTERN, { error: "expected a GitHub repository as owner/name" }))
                    .max(MAX_LISTED_REPOSITORIES, { error: `expected at most ${MAX_LISTED_REPOSITORIES} repositories (the rest are counted in 16 buckets)` })
                    .refine((list) => new Set(list.map((r) => r.toLowerCase())).size === list.length, {
                        error: "expected each repository once (names are compared ignoring case)",
                    })
                    .default([]),
            })
            .prefault({}),
    })
    .refine((m) => m.enabled || m.buildMetrics.pushgatewayImage === undefined, {
        path: ["buildMetrics", "pushgatewayImage"],
        error: "per-repository build metrics need monitoring.enabled: true (they are scraped through a ServiceMonitor)",
    });

export type MonitoringSettings = z.output<typeof monitoringSchema>;
