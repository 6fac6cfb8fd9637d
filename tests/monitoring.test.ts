import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { alertRuleGroups, AlertRule, RuleGroup } from "../components/monitoring/rules";
import { buildkitDashboard } from "../components/monitoring/dashboard";
import { podMonitorSpec } from "../components/monitoring";
import { allEdits, setConfigPath } from "./harness/config-edit";
import { ProgramRun, reveal, runStack, valueOf } from "./harness/program";
import { declaredObjectProblems } from "./harness/kubernetes-schema";
import { needTool } from "./harness/skip";

/**
 * The alerting rules are checked and unit-tested with Prometheus's own `promtool` (Debian package
 * `prometheus`): `check rules` parses every expression, `test rules` evaluates each alert over
 * synthetic series that must fire it and series that must not. Without promtool the tests skip,
 * except in CI (CI=true), where a missing promtool is a failure.
 */

const promtool = spawnSync("promtool", ["--version"]).status === 0;
function needPromtool(ctx: Mocha.Context): void {
    if (promtool) return;
    needTool(ctx, "promtool");
}

function runPromtool(args: string[], files: Record<string, string>): { status: number | null; output: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arc-buildkit-promtool-"));
    try {
        for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
        const r = spawnSync("promtool", args, { cwd: dir, encoding: "utf8" });
        return { status: r.status, output: `${r.stdout}${r.stderr}` };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const KINDS = {
    podMonitor: "kubernetes:monitoring.coreos.com/v1:PodMonitor",
    rule: "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
    configMap: "kubernetes:core/v1:ConfigMap",
};
const ofType = (run: ProgramRun, type: string) => run.resources.filter((r) => r.type === type).map((r) => reveal(r.inputs));

/** 30 days after the epoch: promtool's test clock starts at 0, so time() is the eval time. */
const TEST_NOT_AFTER = "1970-01-31T00:00:00Z";
const testGroups = alertRuleGroups({ certificates: [{ certificate: "server", notAfter: TEST_NOT_AFTER }], warningDays: 21 });
const rule = (alert: string): AlertRule => testGroups.flatMap((g) => g.rules).find((r) => r.alert === alert)!;

/** What promtool expects for a firing alert: the rule's labels plus the series', annotations with $labels filled in. */
function expected(alert: string, seriesLabels: Record<string, string>) {
    const r = rule(alert);
    const labels = { ...seriesLabels, ...r.labels };
    const annotations = Object.fromEntries(
        Object.entries(r.annotations).map(([k, v]) => [k, v.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name) => labels[name] ?? "")]),
    );
    return { exp_labels: labels, exp_annotations: annotations };
}

const series = (name: string, labels: Record<string, string>) =>
    `${name}{${Object.entries(labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(",")}}`;
const pvc = { namespace: "buildkit", persistentvolumeclaim: "cache-buildkitd-0" };
const builder = { namespace: "buildkit", pod: "buildkitd-0", container: "buildkitd" };
const oom = { ...builder, reason: "OOMKilled" };
const probeJob = { namespace: "arc-runners", job_name: "buildkit-probe-0123456789" };

interface Case {
    name: string;
    alert: string;
    input: { series: string; values: string }[];
    evalTime: string;
    fires?: Record<string, string>;
    /**
     * How often promtool evaluates the rules up to evalTime (default 1m, the scrape interval the
     * `for:` clauses assume). Cases days long under a rule without `for:` use a coarser step:
     * promtool evaluates every rule at every step, and 10 days at 1m is 14400 steps (over 30 s).
     */
    evaluationInterval?: string;
}

/** Each alert once with series that fire it and once with series that must not. */
const CASES: Case[] = [
    {
        name: "cache 90% full for 20m",
        alert: "BuildkitCacheVolumeAlmostFull",
        evalTime: "20m",
        fires: pvc,
        input: [
            { series: series("kubelet_volume_stats_used_bytes", pvc), values: "90x30" },
            { series: series("kubelet_volume_stats_capacity_bytes", pvc), values: "100x30" },
        ],
    },
    {
        name: "cache 80% full",
        alert: "BuildkitCacheVolumeAlmostFull",
        evalTime: "20m",
        input: [
            { series: series("kubelet_volume_stats_used_bytes", pvc), values: "80x30" },
            { series: series("kubelet_volume_stats_capacity_bytes", pvc), values: "100x30" },
        ],
    },
    {
        name: "another namespace's volume 95% full",
        alert: "BuildkitCacheVolumeAlmostFull",
        evalTime: "20m",
        input: [
            { series: series("kubelet_volume_stats_used_bytes", { ...pvc, namespace: "other" }), values: "95x30" },
            { series: series("kubelet_volume_stats_capacity_bytes", { ...pvc, namespace: "other" }), values: "100x30" },
        ],
    },
    {
        name: "OOM kill with a fresh restart",
        alert: "BuildkitBuilderOOMKilled",
        evalTime: "10m",
        fires: oom,
        input: [
            { series: series("kube_pod_container_status_last_terminated_reason", oom), values: "1x20" },
            { series: series("kube_pod_container_status_restarts_total", builder), values: "0 0 0 0 0 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1" },
        ],
    },
    {
        name: "an old OOM kill without new restarts",
        alert: "BuildkitBuilderOOMKilled",
        evalTime: "30m",
        input: [
            { series: series("kube_pod_container_status_last_terminated_reason", oom), values: "1x40" },
            { series: series("kube_pod_container_status_restarts_total", builder), values: "2x40" },
        ],
    },
    {
        name: "four restarts in 20 minutes",
        alert: "BuildkitBuilderRestartLoop",
        evalTime: "25m",
        fires: builder,
        input: [{ series: series("kube_pod_container_status_restarts_total", builder), values: "0+1x4 4x30" }],
    },
    {
        name: "one restart",
        alert: "BuildkitBuilderRestartLoop",
        evalTime: "25m",
        input: [{ series: series("kube_pod_container_status_restarts_total", builder), values: "0 1x30" }],
    },
    {
        name: "no ready builder for 10m",
        alert: "BuildkitNoReadyEndpoints",
        evalTime: "10m",
        fires: {},
        input: [{ series: series("kube_statefulset_status_replicas_ready", { namespace: "buildkit", statefulset: "buildkitd" }), values: "0x20" }],
    },
    {
        name: "no data for the StatefulSet at all",
        alert: "BuildkitNoReadyEndpoints",
        evalTime: "10m",
        fires: {},
        input: [{ series: series("kube_statefulset_status_replicas_ready", { namespace: "other", statefulset: "x" }), values: "1x20" }],
    },
    {
        name: "one ready builder",
        alert: "BuildkitNoReadyEndpoints",
        evalTime: "10m",
        input: [{ series: series("kube_statefulset_status_replicas_ready", { namespace: "buildkit", statefulset: "buildkitd" }), values: "1x20" }],
    },
    {
        name: "a failed probe Job",
        alert: "BuildkitProbeFailed",
        evalTime: "2m",
        fires: probeJob,
        input: [{ series: series("kube_job_status_failed", probeJob), values: "1x5" }],
    },
    {
        name: "a succeeded probe Job",
        alert: "BuildkitProbeFailed",
        evalTime: "2m",
        input: [{ series: series("kube_job_status_failed", probeJob), values: "0x5" }],
    },
    {
        name: "a failed Job that is not the probe",
        alert: "BuildkitProbeFailed",
        evalTime: "2m",
        input: [{ series: series("kube_job_status_failed", { ...probeJob, job_name: "other-job" }), values: "1x5" }],
    },
    // notAfter is 30 days after the epoch and the warning 21 days: it fires from day 9 on.
    // The rule has no `for:`, so a coarse step gives the same verdict at evalTime.
    {
        name: "a certificate 20 days before expiry",
        alert: "BuildkitCertificateExpiresSoon",
        evalTime: "10d",
        evaluationInterval: "12h",
        fires: { certificate: "server" },
        input: [],
    },
    { name: "a certificate 22 days before expiry", alert: "BuildkitCertificateExpiresSoon", evalTime: "8d", evaluationInterval: "12h", input: [] },
];

function promtoolTest(groups: RuleGroup[], cases: Case[]): { status: number | null; output: string } {
    // One test file per evaluation interval (promtool sets it per file), all in one promtool run.
    const byInterval = new Map<string, Case[]>();
    for (const c of cases) {
        const interval = c.evaluationInterval ?? "1m";
        byInterval.set(interval, [...(byInterval.get(interval) ?? []), c]);
    }
    const files: Record<string, string> = { "rules.yml": yaml.dump({ groups }) };
    for (const [interval, group] of byInterval) {
        const tests = group.map((c) => ({
            name: c.name,
            interval: "1m",
            input_series: c.input,
            alert_rule_test: [{ eval_time: c.evalTime, alertname: c.alert, exp_alerts: c.fires ? [expected(c.alert, c.fires)] : [] }],
        }));
        files[`tests-${interval}.yml`] = yaml.dump({ rule_files: ["rules.yml"], evaluation_interval: interval, tests });
    }
    return runPromtool(["test", "rules", ...Object.keys(files).filter((f) => f.startsWith("tests-"))], files);
}

describe("monitoring: objects for the Prometheus Operator", () => {
    let aks: ProgramRun;
    before(async () => {
        aks = await runStack("aks");
    });

    it("is off for local (no CRDs assumed) and on for aks", async () => {
        const local = await runStack("local");
        assert.deepStrictEqual([...ofType(local, KINDS.podMonitor), ...ofType(local, KINDS.rule)], []);
        assert.strictEqual(ofType(aks, KINDS.podMonitor).length, 1);
        assert.strictEqual(ofType(aks, KINDS.rule).length, 1);
    });

    it("validates against the monitoring.coreos.com CRD schemas, and the schemas catch a wrong field", () => {
        for (const type of [KINDS.podMonitor, KINDS.rule]) {
            const [object] = ofType(aks, type);
            assert.deepStrictEqual(declaredObjectProblems(type, object), [], type);
        }
        const [monitor] = ofType(aks, KINDS.podMonitor);
        const broken = { ...monitor, spec: { ...monitor.spec, podMetricsEndpoints: [{ port: 6060 }] } };
        assert.notDeepStrictEqual(declaredObjectProblems(KINDS.podMonitor, broken), []);
    });

    it("PodMonitor scrapes the builders' named metrics port in the BuildKit namespace, selected by the Prometheus labels", () => {
        const [monitor] = ofType(aks, KINDS.podMonitor);
        assert.strictEqual(monitor.metadata.namespace, "buildkit");
        assert.strictEqual(monitor.metadata.labels.release, "kube-prometheus-stack");
        assert.deepStrictEqual(monitor.spec, podMonitorSpec());
        const statefulSet = ofType(aks, "kubernetes:apps/v1:StatefulSet").find((s) => s.metadata.name === "buildkitd")!;
        const ports = statefulSet.spec.template.spec.containers.find((c: any) => c.name === "buildkitd").ports;
        assert.deepStrictEqual(
            ports.find((p: any) => p.name === (monitor.spec as any).podMetricsEndpoints[0].port),
            { name: "metrics", containerPort: 6060, protocol: "TCP" },
        );
        const labels = statefulSet.spec.template.metadata.labels["app.kubernetes.io/name"];
        assert.ok((monitor.spec as any).selector.matchExpressions[0].values.includes(labels));
        // Only the Prometheus pods of the monitoring namespace may reach 6060, so Prometheus must run there.
        const policy = ofType(aks, "kubernetes:networking.k8s.io/v1:NetworkPolicy").find((p) => p.metadata.name === "buildkitd")!;
        const metricsRule = policy.spec.ingress.find((r: any) => r.ports[0].port === 6060);
        assert.deepStrictEqual(metricsRule.from[0].namespaceSelector.matchLabels, { "kubernetes.io/metadata.name": "monitoring" });
        assert.deepStrictEqual(metricsRule.from[0].podSelector.matchLabels, { "app.kubernetes.io/name": "prometheus" });
    });

    it("Prometheus's namespace (network.monitoringNamespace) reaches the metrics port, Grafana's (monitoring.dashboardNamespace) gets the dashboard", async () => {
        // Different namespaces, so a program that took one for the other is caught (the committed stacks use "monitoring" for both).
        const run = await runStack(
            "aks",
            allEdits(setConfigPath("network", ["monitoringNamespace"], "prometheus"), setConfigPath("monitoring", ["dashboardNamespace"], "grafana")),
        );
        const policies = ofType(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy").filter(
            (p) => p.metadata.name.startsWith("buildkitd") && p.spec.policyTypes.includes("Ingress"),
        );
        assert.ok(policies.length > 0);
        for (const policy of policies) {
            const metricsRule = policy.spec.ingress.find((r: any) => r.ports[0].port === 6060);
            assert.deepStrictEqual(metricsRule.from[0].namespaceSelector.matchLabels, { "kubernetes.io/metadata.name": "prometheus" }, policy.metadata.name);
        }
        assert.strictEqual(ofType(run, KINDS.configMap).find((c) => c.metadata.name === "arc-buildkit-dashboard")!.metadata.namespace, "grafana");
    });

    it("with native arm64 builders, the PodMonitor selects every builder set's pods", async () => {
        const run = await runStack("aks", setConfigPath("cluster", ["arm64", "enabled"], true));
        const [monitor] = ofType(run, KINDS.podMonitor);
        const statefulSets = ofType(run, "kubernetes:apps/v1:StatefulSet");
        assert.deepStrictEqual(statefulSets.map((s) => s.metadata.name).sort(), ["buildkitd", "buildkitd-arm64", "buildkitd-protected"]);
        const [selector] = monitor.spec.selector.matchExpressions;
        // The cache alert watches every builder's claim (volumeClaimTemplate "cache", pod <set>-<n>).
        const [rules] = ofType(run, KINDS.rule);
        const cacheAlert = rules.spec.groups.flatMap((g: RuleGroup) => g.rules).find((r: AlertRule) => r.alert === "BuildkitCacheVolumeAlmostFull");
        const claimPattern = new RegExp(`^(?:${/persistentvolumeclaim=~"([^"]+)"/.exec(cacheAlert.expr)![1]})$`);
        for (const sts of statefulSets) {
            const claim = `${sts.spec.volumeClaimTemplates[0].metadata.name}-${sts.metadata.name}-0`;
            assert.match(claim, claimPattern, `${claim} is not watched by the cache alert`);
            assert.strictEqual(selector.key, "app.kubernetes.io/name");
            assert.ok(selector.values.includes(sts.spec.template.metadata.labels["app.kubernetes.io/name"]), `${sts.metadata.name} is not scraped`);
        }
        // The dashboard's ready-builders panel shows every builder set, the protected tier's included.
        const readyExpr = (buildkitDashboard().panels as any[])
            .flatMap((p) => p.targets.map((t: any) => t.expr as string))
            .find((e) => e.startsWith("kube_statefulset_status_replicas_ready"))!;
        const readyPattern = new RegExp(`^(?:${/statefulset=~"([^"]+)"/.exec(readyExpr)![1]})$`);
        for (const sts of statefulSets) assert.match(sts.metadata.name, readyPattern, `${sts.metadata.name} is missing from the ready-builders panel`);
    });

    it("each certificate's expiry alert is that certificate's own notAfter (distinct dates, so a mix-up shows)", async () => {
        const run = await runStack("aks", undefined, { realTls: false });
        const notAfter = {
            ca: await valueOf(run.outputs.caNotAfter),
            server: await valueOf(run.outputs.serverCertNotAfter),
            client: await valueOf(run.outputs.clientCertNotAfter),
        };
        assert.strictEqual(new Set(Object.values(notAfter)).size, 3, JSON.stringify(notAfter));
        const [rules] = ofType(run, KINDS.rule);
        const expiry = rules.spec.groups.flatMap((g: RuleGroup) => g.rules).filter((r: AlertRule) => r.alert === "BuildkitCertificateExpiresSoon");
        for (const [certificate, date] of Object.entries(notAfter)) {
            const alert = expiry.find((r: AlertRule) => r.labels.certificate === certificate);
            assert.ok(alert.expr.includes(`vector((${Date.parse(date as string) / 1000} - time())`), `${certificate}: ${alert.expr}`);
        }
    });

    it("the dashboard is a ConfigMap in Grafana's namespace with the sidecar's label, and its JSON parses", () => {
        const dashboard = ofType(aks, KINDS.configMap).find((c) => c.metadata.name === "arc-buildkit-dashboard")!;
        assert.strictEqual(dashboard.metadata.namespace, "monitoring");
        assert.strictEqual(dashboard.metadata.labels.grafana_dashboard, "1");
        const json = JSON.parse(dashboard.data["arc-builders.json"]);
        assert.strictEqual(json.uid, "arc-buildkit");
        assert.ok(json.panels.length >= 5);
    });

    it("every rule of the aks stack passes promtool check rules, with one expiry alert per certificate", function () {
        needPromtool(this);
        const [rules] = ofType(aks, KINDS.rule);
        const alerts = rules.spec.groups.flatMap((g: RuleGroup) => g.rules.map((r) => r.alert));
        for (const alert of [
            "BuildkitCacheVolumeAlmostFull",
            "BuildkitBuilderOOMKilled",
            "BuildkitBuilderRestartLoop",
            "BuildkitNoReadyEndpoints",
            "BuildkitProbeFailed",
        ]) {
            assert.ok(alerts.includes(alert), alert);
        }
        const expiry = rules.spec.groups.flatMap((g: RuleGroup) => g.rules).filter((r: AlertRule) => r.alert === "BuildkitCertificateExpiresSoon");
        assert.deepStrictEqual(
            expiry.map((r: AlertRule) => r.labels.certificate),
            ["ca", "server", "client", "protected-ca", "protected-server", "protected-client"],
        );
        const r = runPromtool(["check", "rules", "rules.yml"], { "rules.yml": yaml.dump({ groups: rules.spec.groups }) });
        assert.strictEqual(r.status, 0, r.output);
        assert.match(r.output, /SUCCESS: \d+ rules found/);
    });

    it("every builder set of every tier has its own no-ready-builder alert, and every tier's probe namespace is watched", () => {
        const [rules] = ofType(aks, KINDS.rule);
        const all: AlertRule[] = rules.spec.groups.flatMap((g: RuleGroup) => g.rules);
        const declared = ofType(aks, "kubernetes:apps/v1:StatefulSet")
            .filter((s) => s.metadata.namespace === "buildkit")
            .map((s) => s.metadata.name)
            .sort();
        assert.ok(declared.includes("buildkitd-protected"), declared.join(","));
        const watched = all.filter((r) => r.alert === "BuildkitNoReadyEndpoints").map((r) => r.labels.statefulset);
        assert.deepStrictEqual([...watched].sort(), declared);
        const probe = all.find((r) => r.alert === "BuildkitProbeFailed")!;
        const namespaces = new RegExp(`^(?:${/namespace=~"([^"]+)"/.exec(probe.expr)![1]})$`);
        const jobs = ofType(aks, "kubernetes:batch/v1:Job").filter((j) => String(j.metadata.name ?? "").startsWith("buildkit-probe-"));
        assert.ok(jobs.length >= 2, "one probe per tier");
        for (const job of jobs) assert.match(job.metadata.namespace, namespaces, job.metadata.name);
    });

    it("under promtool: a tier whose builder set has no ready pod fires for that set only; a protected probe failure fires", function () {
        needPromtool(this);
        const groups = alertRuleGroups({
            certificates: [],
            warningDays: 21,
            tiers: [
                { tier: "shared", arm64: true },
                { tier: "protected", arm64: false },
            ],
        });
        const rules = groups.flatMap((g) => g.rules);
        const ready = (statefulset: string, values: string) => ({
            series: series("kube_statefulset_status_replicas_ready", { namespace: "buildkit", statefulset }),
            values,
        });
        const firing = (statefulset: string) => {
            const r = rules.find((x) => x.alert === "BuildkitNoReadyEndpoints" && x.labels.statefulset === statefulset)!;
            return { exp_labels: r.labels, exp_annotations: r.annotations };
        };
        const probe = rules.find((r) => r.alert === "BuildkitProbeFailed")!;
        const protectedJob = { namespace: "arc-runners-protected", job_name: "buildkit-probe-0123456789" };
        const tests = [
            {
                name: "protected builders all gone, the shared ones ready",
                interval: "1m",
                input_series: [ready("buildkitd", "2x20"), ready("buildkitd-arm64", "1x20"), ready("buildkitd-protected", "0x20")],
                alert_rule_test: [{ eval_time: "10m", alertname: "BuildkitNoReadyEndpoints", exp_alerts: [firing("buildkitd-protected")] }],
            },
            {
                name: "the arm64 set has no series at all",
                interval: "1m",
                input_series: [ready("buildkitd", "2x20"), ready("buildkitd-protected", "1x20")],
                alert_rule_test: [{ eval_time: "10m", alertname: "BuildkitNoReadyEndpoints", exp_alerts: [firing("buildkitd-arm64")] }],
            },
            {
                name: "the protected tier's probe failed",
                interval: "1m",
                input_series: [{ series: series("kube_job_status_failed", protectedJob), values: "1x5" }],
                alert_rule_test: [
                    {
                        eval_time: "2m",
                        alertname: "BuildkitProbeFailed",
                        exp_alerts: [
                            {
                                exp_labels: { ...protectedJob, ...probe.labels },
                                exp_annotations: Object.fromEntries(
                                    Object.entries(probe.annotations).map(([k, v]) => [
                                        k,
                                        v.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, n: string) => (protectedJob as Record<string, string>)[n] ?? ""),
                                    ]),
                                ),
                            },
                        ],
                    },
                ],
            },
        ];
        const r = runPromtool(["test", "rules", "tests.yml"], {
            "rules.yml": yaml.dump({ groups }),
            "tests.yml": yaml.dump({ rule_files: ["rules.yml"], evaluation_interval: "1m", tests }),
        });
        assert.strictEqual(r.status, 0, r.output);
    });

    it("the expiry rule is the notAfter the stack issued (stack output serverCertNotAfter)", async () => {
        const [rules] = ofType(aks, KINDS.rule);
        const serverNotAfter = await new Promise<string>((resolve) => aks.outputs.serverCertNotAfter.apply(resolve));
        const server = rules.spec.groups.flatMap((g: RuleGroup) => g.rules).find((r: AlertRule) => r.labels.certificate === "server");
        assert.ok(server.expr.includes(String(Math.floor(Date.parse(serverNotAfter) / 1000))), server.expr);
    });

    it("promtool check rules accepts every dashboard query (as recording rules)", function () {
        needPromtool(this);
        const exprs = (buildkitDashboard().panels as any[]).flatMap((p) => p.targets.map((t: any) => t.expr));
        const groups = [{ name: "dashboard", rules: exprs.map((expr: string, i: number) => ({ record: `arc_buildkit:dashboard_${i}`, expr })) }];
        const r = runPromtool(["check", "rules", "rules.yml"], { "rules.yml": yaml.dump({ groups }) });
        assert.strictEqual(r.status, 0, r.output);
    });

    it("promtool test rules: every alert fires on its series and stays quiet on the others", function () {
        needPromtool(this);
        for (const alert of new Set(testGroups.flatMap((g) => g.rules.map((r) => r.alert)))) {
            assert.ok(
                CASES.some((c) => c.alert === alert && c.fires),
                `${alert} has a firing case`,
            );
            assert.ok(
                CASES.some((c) => c.alert === alert && !c.fires),
                `${alert} has a quiet case`,
            );
        }
        const r = promtoolTest(testGroups, CASES);
        assert.strictEqual(r.status, 0, r.output);
        assert.match(r.output, /SUCCESS/);
    });

    it("promtool test rules fails when a rule is wrong (the test is live)", function () {
        needPromtool(this);
        const broken = testGroups.map((g) => ({
            ...g,
            rules: g.rules.map((r) => (r.alert === "BuildkitCacheVolumeAlmostFull" ? { ...r, expr: r.expr.replace("> 0.85", "> 0.95") } : r)),
        }));
        const r = promtoolTest(
            broken,
            CASES.filter((c) => c.alert === "BuildkitCacheVolumeAlmostFull"),
        );
        assert.notStrictEqual(r.status, 0, r.output);
    });
});
