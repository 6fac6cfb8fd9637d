import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { BUILDKIT_NAMESPACE, BUILDKITD_ARM64_POD_LABELS, BUILDKITD_POD_LABELS } from "../../contracts";
import { buildkitDashboard } from "./dashboard";
import { fleetRuleGroup } from "../metrics/fleet";
import { alertRuleGroups, CertificateExpiry, TierBuilderSets } from "./rules";
import { KubeTarget, monitoringSkippedMessage, preflightMonitoring } from "./preflight";

export { alertRuleGroups, epochSeconds, CACHE_FULL_RATIO, PROBE_JOB_PREFIX } from "./rules";
export type { TierBuilderSets } from "./rules";
export { buildkitDashboard } from "./dashboard";
export { MONITORING_CRDS, monitoringSkippedMessage, preflightMonitoring, setCrdLister } from "./preflight";
export type { CrdLister, KubeTarget } from "./preflight";

export const POD_MONITOR_NAME = "buildkitd";
export const PROMETHEUS_RULE_NAME = "arc-buildkit";
export const DASHBOARD_CONFIGMAP_NAME = "arc-buildkit-dashboard";

/** PodMonitor spec: the `metrics` port (6060, `/metrics`) of both builder sets, in the BuildKit namespace only. */
export function podMonitorSpec(namespace: string = BUILDKIT_NAMESPACE): Record<string, unknown> {
    return {
        namespaceSelector: { matchNames: [namespace] },
        selector: {
            matchExpressions: [
                {
                    key: "app.kubernetes.io/name",
                    operator: "In",
                    values: [BUILDKITD_POD_LABELS["app.kubernetes.io/name"], BUILDKITD_ARM64_POD_LABELS["app.kubernetes.io/name"]],
                },
            ],
        },
        // Plain HTTP is all the debug address speaks; the NetworkPolicy lets only the monitoring namespace reach it.
        podMetricsEndpoints: [{ port: "metrics", path: "/metrics", interval: "30s" }],
    };
}

export interface BuildkitMonitoringArgs {
    /**
     * The builders' namespace, from the declared Namespace (`metadata.name`): the PodMonitor and the
     * rules live there, and the reference orders them after it. Required.
     */
    namespace: pulumi.Input<string>;
    /** Labels the Prometheus resource selects PodMonitors and PrometheusRules by. Required. */
    selectorLabels: Record<string, string>;
    /** Grafana's namespace, where its sidecar looks for dashboards. Required. */
    dashboardNamespace: string;
    /** The sidecar's label (key and value). Required. */
    dashboardLabel: Record<string, string>;
    /** notAfter of each certificate, from the PKI. Required. */
    certificates: { certificate: string; notAfter: pulumi.Input<string> }[];
    /** Alert when fewer days are left. Required. */
    certificateWarningDays: number;
    /** Every tier's builder sets (the shared tier's included): each set gets its own no-ready-builder alert. Required. */
    tiers: readonly TierBuilderSets[];
}

/**
 * Monitoring as code for the Prometheus Operator: a PodMonitor for the builders' metrics port, a
 * PrometheusRule with the alerts of ./rules.ts, and the dashboard of ./dashboard.ts as a ConfigMap
 * the kube-prometheus-stack Grafana sidecar loads. Needs the monitoring.coreos.com CRDs.
 */
export class BuildkitMonitoring extends pulumi.ComponentResource {
    constructor(name: string, args: BuildkitMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("arc-buildkit:monitoring:BuildkitMonitoring", name, {}, opts);
        const labels = { "app.kubernetes.io/part-of": "arc-buildkit", ...args.selectorLabels };
        new k8s.apiextensions.CustomResource(
            `${name}-podmonitor`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "PodMonitor",
                metadata: { name: POD_MONITOR_NAME, namespace: args.namespace, labels },
                spec: pulumi.output(args.namespace).apply(podMonitorSpec),
            },
            { parent: this },
        );
        const certificates = pulumi
            .all(args.certificates.map((c) => pulumi.output(c.notAfter).apply((notAfter): CertificateExpiry => ({ certificate: c.certificate, notAfter }))))
            .apply((list) => list);
        new k8s.apiextensions.CustomResource(
            `${name}-rules`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "PrometheusRule",
                metadata: { name: PROMETHEUS_RULE_NAME, namespace: args.namespace, labels },
                // arc-buildkit.cache: per-repository hit rate and fallbacks, builder saturation (docs/cache-metrics.md).
                spec: certificates.apply((list) => ({
                    groups: [...alertRuleGroups({ certificates: list, warningDays: args.certificateWarningDays, tiers: args.tiers }), fleetRuleGroup()],
                })),
            },
            { parent: this },
        );
        new k8s.core.v1.ConfigMap(
            `${name}-dashboard`,
            {
                metadata: {
                    name: DASHBOARD_CONFIGMAP_NAME,
                    namespace: args.dashboardNamespace,
                    labels: { "app.kubernetes.io/part-of": "arc-buildkit", ...args.dashboardLabel },
                },
                data: { "arc-builders.json": JSON.stringify(buildkitDashboard(), null, 2) },
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}

/**
 * Runs `declare` (which declares {@link BuildkitMonitoring}) only when the cluster has the Prometheus
 * Operator's CRDs, and warns otherwise (./preflight.ts): monitoring never blocks a deployment or the
 * scheduled certificate renewal. Nothing may depend on what `declare` creates.
 */
export function whenMonitoringInstalled(target: pulumi.Input<KubeTarget>, declare: () => void): void {
    pulumi.output(target).apply((t) => {
        const missing = preflightMonitoring(t);
        if (missing.length > 0) {
            pulumi.log.warn(monitoringSkippedMessage(pulumi.getStack(), missing));
            return;
        }
        declare();
    });
}
