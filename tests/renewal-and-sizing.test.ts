import * as assert from "assert";
import { execFileSync } from "child_process";
import { ConfigError } from "../config";
import { buildHeadroomBytes, minimumCacheBytes, minimumMemoryBytes, sizingIssues } from "../config/sizing";
import { certificateExpiryLines } from "../components/probe";
import { gcPlan } from "../components/buildkit/gc";
import { parseByteQuantity } from "../config/quantity";
import { reveal, runStack, stackSettings, valueOf } from "./harness/program";
import { editConfig } from "./harness/config-edit";

type Edit = (config: Record<string, string>) => void;

/** Merges `patch` into the structured key `key`, as `pulumi config set --path` would. */
const merge = (key: string, patch: (doc: any) => void): Edit => editConfig(key, patch);

function problemFor(stack: string, edit: Edit, key: string): string {
    try {
        stackSettings(stack, edit);
    } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        const line = err.problems.find((p) => p.startsWith(`${key}:`));
        assert.ok(line, `no problem names ${key}:\n${err.message}`);
        return line;
    }
    assert.fail(`stack ${stack} accepted the edit; expected a problem for ${key}`);
}

describe("config: scheduled renewal and certificate thresholds", () => {
    it("both committed stacks are valid as they are", () => {
        for (const stack of ["local", "aks"]) stackSettings(stack);
    });

    it("rejects a renewal interval that leaves fewer than two runs inside the early-renewal window", () => {
        const line = problemFor(
            "aks",
            merge("tls", (t) => (t.renewalIntervalHours = 400)),
            "arc-buildkit:tls.renewalIntervalHours",
        );
        assert.match(line, /at most half of the early-renewal window \(720 hours/);
        assert.match(line, /renew\.yml/);
        // Exactly half is still two runs.
        // (then 15 days is the lowest a healthy stack reaches, so the alert threshold must come down too)
        stackSettings("aks", (c) => {
            merge("tls", (t) => (t.renewalIntervalHours = 360))(c);
            merge("monitoring", (m) => (m.certificateWarningDays = 14))(c);
        });
    });

    it("the CA's window counts too (caValidityHours - 1 when it is shorter than earlyRenewalHours)", () => {
        const line = problemFor(
            "aks",
            merge("tls", (t) => Object.assign(t, { caValidityHours: 100, validityHours: 90, earlyRenewalHours: 80, renewalIntervalHours: 60 })),
            "arc-buildkit:tls.renewalIntervalHours",
        );
        assert.match(line, /\(80 hours/);
    });

    it("rejects a probe minimum a healthy stack reaches between two scheduled runs", () => {
        // 720 h window - 168 h interval = 552 h = 23 days.
        stackSettings(
            "aks",
            merge("probe", (p) => (p.minCertificateDays = 23)),
        );
        const line = problemFor(
            "aks",
            merge("probe", (p) => (p.minCertificateDays = 24)),
            "arc-buildkit:probe.minCertificateDays",
        );
        assert.match(line, /at most 23 days/);
    });

    it("the certificate alert threshold follows the same rule, when monitoring is on", () => {
        const line = problemFor(
            "aks",
            merge("monitoring", (m) => (m.certificateWarningDays = 30)),
            "arc-buildkit:monitoring.certificateWarningDays",
        );
        assert.match(line, /at most 23 days/);
        stackSettings(
            "local",
            merge("monitoring", (m) => Object.assign(m, { enabled: false, certificateWarningDays: 30 })),
        );
    });

    it("CA slots: the signer must be trusted, each slot at most once, at most two", () => {
        assert.match(
            problemFor(
                "aks",
                merge("tls", (t) => Object.assign(t, { caSlots: ["a"], caSigner: "b" })),
                "arc-buildkit:tls.caSigner",
            ),
            /expected one of caSlots \(a\)/,
        );
        assert.match(
            problemFor(
                "aks",
                merge("tls", (t) => (t.caSlots = ["a", "a"])),
                "arc-buildkit:tls.caSlots",
            ),
            /each CA slot once/,
        );
        assert.match(
            problemFor(
                "aks",
                merge("tls", (t) => (t.caSlots = ["c"])),
                "arc-buildkit:tls.caSlots[0]",
            ),
            /expected CA slots from: a, b/,
        );
        assert.match(
            problemFor(
                "aks",
                merge("tls", (t) => (t.caSlots = [])),
                "arc-buildkit:tls.caSlots",
            ),
            /at least one/,
        );
    });

    it("monitoring defaults: off, kube-prometheus-stack's release label, the sidecar's label", () => {
        const local = stackSettings("local");
        assert.deepStrictEqual(local.monitoring, {
            enabled: false,
            selectorLabels: { release: "kube-prometheus-stack" },
            dashboardNamespace: "monitoring",
            dashboardLabel: { grafana_dashboard: "1" },
            certificateWarningDays: 21,
            buildMetrics: { repositories: [] },
        });
        assert.strictEqual(stackSettings("aks").monitoring.enabled, true);
        assert.match(
            problemFor(
                "aks",
                merge("monitoring", (m) => (m.selectorLabels = { release: "x".repeat(64) })),
                "arc-buildkit:monitoring.selectorLabels.release",
            ),
            /label value/,
        );
    });
});

describe("config: sizing rules", () => {
    it("rule of thumb: 512Mi daemon + 512Mi per concurrent step; 1Gi of GC headroom per step", () => {
        assert.strictEqual(minimumMemoryBytes(4), 2.5 * 2 ** 30);
        assert.strictEqual(minimumCacheBytes(4), Math.ceil((4 * 2 ** 30) / 0.3));
        // The headroom is what the renderer's GC thresholds leave: the volume above maxUsedSpace.
        const volume = parseByteQuantity("64Gi")!;
        const maxUsed = parseInt(gcPlan(volume).thresholds.maxUsedSpace, 10) * 2 ** 20;
        assert.ok(Math.abs(volume - maxUsed - buildHeadroomBytes(volume)) < 2 ** 20);
    });

    it("the committed stacks pass", () => {
        assert.deepStrictEqual(sizingIssues(stackSettings("aks").buildkit), []);
        assert.deepStrictEqual(sizingIssues(stackSettings("local").buildkit), []);
    });

    it("rejects a memory limit too small for maxParallelism, naming both keys", () => {
        const line = problemFor(
            "aks",
            merge("buildkit", (b) => Object.assign(b, { maxParallelism: 16, resources: { requests: { cpu: "2", memory: "4Gi" }, limits: { memory: "6Gi" } } })),
            "arc-buildkit:buildkit.resources.limits.memory",
        );
        assert.match(line, /at least 8.5Gi for buildkit\.maxParallelism 16/);
        assert.match(line, /got "6Gi"/);
    });

    it("rejects a cache volume whose GC headroom cannot hold maxParallelism steps, naming both keys", () => {
        const line = problemFor(
            "local",
            merge("buildkit", (b) => (b.maxParallelism = 8)),
            "arc-buildkit:buildkit.cache.size",
        );
        assert.match(line, /at least 26.7Gi for buildkit\.maxParallelism 8/);
        assert.match(line, /70% of the volume/);
    });
});

describe("probe: certificate days left, run under sh", () => {
    const run = (notAfterEpoch: number, minDays: number) => {
        const script = [
            `fail() { printf 'FAILED: %s\\n' "$1"; exit 1; }`,
            ...certificateExpiryLines([{ certificate: "server", notAfterEpoch }], minDays),
            "echo ok",
        ].join("\n");
        try {
            return { ok: true, out: execFileSync("sh", ["-c", script], { encoding: "utf8" }) };
        } catch (err: any) {
            return { ok: false, out: String(err.stdout) };
        }
    };
    const now = Math.floor(Date.now() / 1000);

    it("reports the days left and passes above the minimum", () => {
        const r = run(now + 30 * 86400 + 600, 14);
        assert.ok(r.ok, r.out);
        assert.match(r.out, /certificate server: 30 days left \(probe minimum 14\)/);
    });

    it("fails below the minimum, naming the certificate", () => {
        const r = run(now + 5 * 86400 + 600, 14);
        assert.ok(!r.ok);
        assert.match(r.out, /FAILED: the server certificate expires in 5 days \(minimum 14\)/);
    });

    it("fails for an expired certificate", () => {
        assert.ok(!run(now - 86400, 1).ok);
    });
});

describe("probe: the deployed Job checks the stack's own certificates", () => {
    it("its script carries the notAfter of the CA, server and client certificates and the configured minimum", async () => {
        const run = await runStack("aks");
        const job = run.resources.find((r) => r.type === "kubernetes:batch/v1:Job")!;
        const script: string = reveal(job.inputs).spec.template.spec.containers[0].command[2];
        for (const [certificate, output] of [
            ["ca", run.outputs.caNotAfter],
            ["server", run.outputs.serverCertNotAfter],
            ["client", run.outputs.clientCertNotAfter],
        ] as const) {
            const epoch = Math.floor(Date.parse(await valueOf(output)) / 1000);
            assert.ok(script.includes(`days_left=$(( (${epoch} - $(date +%s)) / 86400 ))`), `${certificate}: ${epoch}`);
            assert.ok(script.includes(`certificate ${certificate}: $days_left days left (probe minimum 14)`));
        }
    });
});
