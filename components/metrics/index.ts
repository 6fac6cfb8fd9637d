import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import type { Tier } from "./labels";
import type { MetricsGateway } from "../buildkit/network";
import { BUILDKIT_NAMESPACE } from "../../contracts";
import {
    type BuilderSet,
    pushgatewayDeploymentSpec,
    pushgatewayLabels,
    pushgatewayName,
    pushgatewayNetworkPolicySpec,
    pushgatewayServiceMonitorSpec,
    pushgatewayServiceSpec,
    pushgatewayUrl,
    PUSHGATEWAY_PORT,
} from "./pushgateway";

export * from "./labels";
export * from "./pushgateway";
export { fleetPanels, fleetRuleGroup, type FleetRuleInput } from "./fleet";

/** buildkit-report, the per-build summary and counter producer (POSIX sh, run for real under dash in tests). */
export const REPORT_SCRIPT_PATH = path.join(__dirname, "buildkit-report.sh");

/** Environment buildkit-report reads in a runner pod of the tier (besides what select-buildkit exports). */
export const METRICS_ENV = {
    url: "AMEIDE_BUILDKIT_METRICS_URL",
    repositories: "AMEIDE_BUILDKIT_METRICS_REPOSITORIES",
    tier: "AMEIDE_BUILDKIT_TIER",
} as const;

/** The runner pod env for one tier: where to push, which repositories are named, and the tier itself. */
export function runnerMetricsEnv(tier: Tier, repositories: readonly string[], url: string | undefined): { name: string; value: string }[] {
    return [
        { name: METRICS_ENV.tier, value: tier },
        { name: METRICS_ENV.repositories, value: repositories.join(" ") },
        ...(url ? [{ name: METRICS_ENV.url, value: url }] : []),
    ];
}

export interface BuildMetricsArgs {
    /** Which tier's runners push here; names and the scrape's `tier` label follow it. Required. */
    tier: Tier;
    /** The builders' namespace, from the declared Namespace (`metadata.name`), so it is created first. Required. */
    namespace: pulumi.Input<string>;
    /** prom/pushgateway pinned by digest. Required. */
    image: string;
    /** The tier's runner namespace: the only one allowed to push. Required. */
    runnerNamespace: string;
    /** Prometheus' namespace: allowed to scrape. Required. */
    monitoringNamespace: string;
    /** Labels the Prometheus resource selects ServiceMonitors by. Required. */
    selectorLabels: Record<string, string>;
    /** Repositories with their own label value, validated and lower-cased (listedRepositories). Default: none. */
    repositories?: readonly string[];
    /** The tier's builder StatefulSets and replica counts: the only `builder` values kept. Required. */
    builderSets: readonly BuilderSet[];
}

/**
 * The per-tier Pushgateway that keeps per-build counters after the ephemeral runner pod is gone, and
 * its NetworkPolicy (the tier's runners push, Prometheus scrapes). Its scrape, a ServiceMonitor, is
 * {@link BuildMetricsScrape}: that one needs the Prometheus Operator's CRDs, this one does not, so a
 * cluster without them still gets the runners' URL (and the job summaries) without a failed up.
 */
export class BuildMetrics extends pulumi.ComponentResource {
    /** The URL runner pods of this tier push to. */
    public readonly url: string;
    /** Environment for this tier's runner pods (runnerMetricsEnv). */
    public readonly runnerEnv: { name: string; value: string }[];
    /** Where the tier's runners push: the Pushgateway's pods, for their egress policy. */
    public readonly gateway: MetricsGateway;
    /** What the tier's BuildMetricsScrape needs. */
    public readonly scrape: { args: BuildMetricsArgs; service: k8s.core.v1.Service };

    constructor(name: string, args: BuildMetricsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("arc-buildkit:metrics:BuildMetrics", name, {}, opts);
        const objectName = pushgatewayName(args.tier);
        const labels = pushgatewayLabels(args.tier);
        const repositories = args.repositories ?? [];
        const metadata = { name: objectName, namespace: args.namespace, labels };
        new k8s.networking.v1.NetworkPolicy(
            `${name}-ingress`,
            { metadata, spec: pushgatewayNetworkPolicySpec(args.tier, args.runnerNamespace, args.monitoringNamespace) },
            { parent: this },
        );
        const deployment = new k8s.apps.v1.Deployment(
            `${name}-pushgateway`,
            { metadata, spec: pushgatewayDeploymentSpec({ tier: args.tier, image: args.image }) },
            { parent: this },
        );
        const service = new k8s.core.v1.Service(
            `${name}-pushgateway`,
            { metadata, spec: pushgatewayServiceSpec(args.tier) },
            { parent: this, dependsOn: [deployment] },
        );
        this.url = pushgatewayUrl(args.tier);
        this.runnerEnv = runnerMetricsEnv(args.tier, repositories, this.url);
        // The builders' namespace is the contract's `buildkit` (args.namespace is that Namespace's name, as an Output).
        this.gateway = { namespace: BUILDKIT_NAMESPACE, podLabels: labels, port: PUSHGATEWAY_PORT };
        this.scrape = { args, service };
        this.registerOutputs({});
    }
}

/**
 * The ServiceMonitor whose relabelling bounds what reaches Prometheus from one tier's Pushgateway.
 * Needs the monitoring.coreos.com CRDs (declare it where the monitoring objects are declared).
 */
export class BuildMetricsScrape extends pulumi.ComponentResource {
    constructor(name: string, metrics: BuildMetrics, opts?: pulumi.ComponentResourceOptions) {
        super("arc-buildkit:metrics:BuildMetricsScrape", name, {}, opts);
        const { args, service } = metrics.scrape;
        new k8s.apiextensions.CustomResource(
            `${name}-servicemonitor`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "ServiceMonitor",
                metadata: {
                    name: pushgatewayName(args.tier),
                    namespace: service.metadata.namespace,
                    labels: { ...pushgatewayLabels(args.tier), ...args.selectorLabels },
                },
                spec: pulumi
                    .output(args.namespace)
                    .apply((ns) =>
                        pushgatewayServiceMonitorSpec({ tier: args.tier, repositories: args.repositories ?? [], builderSets: args.builderSets }, ns),
                    ),
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
