import { z } from "zod";
import { wholeNumber } from "./numbers";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

const labels = z.record(
    z.string().regex(LABEL_KEY, { error: "expected a Kubernetes label key" }),
    z.string().regex(LABEL_VALUE, { error: "expected a Kubernetes label value (at most 63 characters)" }),
);

/**
 * `arc-buildkit:monitoring`: objects for the Prometheus Operator (PodMonitor, PrometheusRule) and a
 * Grafana dashboard ConfigMap for the kube-prometheus-stack sidecar. Off by default, because the
 * objects need the operator's CRDs in the cluster; the aks stack turns it on.
 */
export const monitoringSchema = z.strictObject({
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
});

export type MonitoringSettings = z.output<typeof monitoringSchema>;
