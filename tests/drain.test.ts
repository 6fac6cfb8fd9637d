// The builder's drain, run for real: the preStop script and the readiness command under sh and dash,
// with a stand-in buildctl whose build history the test controls. What must hold: a builder that starts
// draining fails readiness at once (its endpoint stops being `serving`, so kube-proxy sends it no new
// build), while a build in flight runs to its end before the hook returns and Kubernetes sends SIGTERM.
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DRAIN_SETTLE_SECONDS, drainMarkPath, drainScript, READINESS_CHECK, readinessCommand } from "../components/buildkit/drain";
import { rolloutSeconds } from "../components/buildkit/rollout";
import { daemonContainer, daemonPodSpec, SHUTDOWN_MARGIN_SECONDS } from "../components/buildkit/workload";
import { byteQuantity } from "../config/quantity";

const SHELLS = ["sh", "dash"].filter((s) => spawnSync("which", [s]).status === 0);

/** A container-like directory: a socket path, and a buildctl that reports a running build while `build-running` exists. */
function sandbox() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drain-"));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.mkdirSync(path.join(dir, "run"));
    fs.writeFileSync(
        path.join(bin, "buildctl"),
        [
            "#!/bin/sh",
            `[ -e '${dir}/daemon-down' ] && { echo 'connection refused' >&2; exit 1; }`,
            'case "$*" in',
            `  *"debug histories"*) echo COMPLETE; [ -e '${dir}/build-running' ] && echo STARTED; exit 0 ;;`,
            '  *"debug workers"*) echo "ID PLATFORMS"; exit 0 ;;',
            "esac",
            "exit 2",
        ].join("\n"),
        { mode: 0o755 },
    );
    const socket = `unix://${dir}/run/buildkitd.sock`;
    const env = { PATH: `${bin}:/usr/bin:/bin` };
    return { dir, socket, env, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

function ready(shell: string, box: ReturnType<typeof sandbox>): boolean {
    const [, flag, script] = readinessCommand(box.socket);
    return spawnSync(shell, [flag, script], { env: box.env }).status === 0;
}

type Outcome = { code: number | null; ms: number; stderr: string };

function startDrain(shell: string, box: ReturnType<typeof sandbox>, timeoutSeconds: number): { child: ChildProcess; done: Promise<Outcome> } {
    const started = Date.now();
    const child = spawn(shell, ["-c", drainScript({ socket: box.socket, timeoutSeconds, settleSeconds: 1, pollSeconds: 1 })], { env: box.env });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    // The time is taken when the process exits, the outcome when its output is closed: 'exit' can come
    // before the last stderr chunk (the "stopping anyway" line was lost that way on a loaded machine).
    let exited = 0;
    child.on("exit", () => (exited = Date.now()));
    const done = new Promise<Outcome>((resolve) => child.on("close", (code) => resolve({ code, ms: (exited || Date.now()) - started, stderr })));
    return { child, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the first scenario saw, asserted by its test (the scenario runs concurrently with the others). */
interface InFlight {
    readyBefore: boolean;
    markMs: number;
    markWritten: boolean;
    readyAtMark: boolean;
    runningAfterWait: boolean;
    readyDuringDrain: boolean;
    result: Outcome;
}

async function buildInFlight(shell: string): Promise<InFlight> {
    const box = sandbox();
    try {
        fs.writeFileSync(path.join(box.dir, "build-running"), "");
        const readyBefore = ready(shell, box);
        const drain = startDrain(shell, box, 20);
        // The mark is the hook's first write: it appears well inside one readiness period (2 s), even on a busy machine.
        const started = Date.now();
        while (!fs.existsSync(drainMarkPath(box.socket)) && Date.now() - started < 2000) await sleep(20);
        const markMs = Date.now() - started;
        const markWritten = fs.existsSync(drainMarkPath(box.socket));
        const readyAtMark = ready(shell, box);
        await sleep(2500);
        const runningAfterWait = drain.child.exitCode === null;
        const readyDuringDrain = ready(shell, box);
        fs.rmSync(path.join(box.dir, "build-running"));
        return { readyBefore, markMs, markWritten, readyAtMark, runningAfterWait, readyDuringDrain, result: await drain.done };
    } finally {
        box.cleanup();
    }
}

async function neverEnding(shell: string) {
    const box = sandbox();
    try {
        fs.writeFileSync(path.join(box.dir, "build-running"), "");
        return await startDrain(shell, box, 3).done;
    } finally {
        box.cleanup();
    }
}

async function nothingRunning(shell: string, down: boolean) {
    const box = sandbox();
    try {
        if (down) fs.writeFileSync(path.join(box.dir, "daemon-down"), "");
        return await startDrain(shell, box, 60).done;
    } finally {
        box.cleanup();
    }
}

describe("builder drain, run for real (components/buildkit/drain.ts)", function () {
    this.timeout(30000);
    it("has shells to run it in", () => assert.ok(SHELLS.includes("sh") && SHELLS.includes("dash"), SHELLS.join(",")));

    // Each scenario mostly waits (a settle time, a drain bound, a build in flight), so all of them start
    // together when this block starts (not at load time, while mocha still blocks the event loop loading
    // other files) and each test awaits its own: the block takes the longest scenario's time, not their
    // sum. Every scenario has its own directory, stand-in buildctl and mark, so they cannot see each other.
    type Scenarios = { inFlight: Promise<InFlight>; neverEnding: Promise<Outcome>; idle: Promise<Outcome>; down: Promise<Outcome> };
    const scenarios = new Map<string, Scenarios>();
    before(() => {
        for (const shell of SHELLS) {
            const s: Scenarios = {
                inFlight: buildInFlight(shell),
                neverEnding: neverEnding(shell),
                idle: nothingRunning(shell, false),
                down: nothingRunning(shell, true),
            };
            // A scenario that fails before its test awaits it must not be an unhandled rejection.
            for (const p of Object.values(s)) (p as Promise<unknown>).catch(() => undefined);
            scenarios.set(shell, s);
        }
    });

    for (const shell of SHELLS) {
        it(`${shell}: readiness fails at once when draining starts, while the build in flight finishes before the hook returns`, async () => {
            const seen = await scenarios.get(shell)!.inFlight;
            assert.strictEqual(seen.readyBefore, true, "ready before the drain");
            assert.ok(seen.markWritten, `the drain mark is written first (${seen.markMs} ms)`);
            assert.strictEqual(seen.readyAtMark, false, "not ready as soon as the drain started");
            assert.strictEqual(seen.runningAfterWait, true, "the hook waits while a build is running");
            assert.strictEqual(seen.readyDuringDrain, false, "stays not ready through the drain");
            assert.strictEqual(seen.result.code, 0, seen.result.stderr);
            assert.ok(seen.result.ms < 10000, `returned ${seen.result.ms} ms after start, soon after the build ended`);
            assert.match(seen.result.stderr, /marked draining/);
        });

        it(`${shell}: gives up at the drain bound when a build never ends, and says so`, async () => {
            const result = await scenarios.get(shell)!.neverEnding;
            assert.strictEqual(result.code, 0);
            // The deadline is counted in whole seconds (`date +%s`), so the wait ends between 2 and 3 s
            // after a start late in a second: never past the bound, never more than a second short.
            assert.ok(result.ms >= 1900 && result.ms < 10000, `${result.ms} ms for a 3 s bound`);
            assert.match(result.stderr, /builds still running after 3s; stopping anyway/);
        });

        it(`${shell}: returns right after the settle time when nothing runs, or when the daemon no longer answers`, async () => {
            for (const result of [await scenarios.get(shell)!.idle, await scenarios.get(shell)!.down]) {
                assert.strictEqual(result.code, 0);
                assert.ok(result.ms >= 900 && result.ms < 8000, `${result.ms} ms: the settle time, then no build to wait for`);
            }
        });

        it(`${shell}: readiness fails when the daemon does not answer, and passes again once it does`, () => {
            const box = sandbox();
            try {
                fs.writeFileSync(path.join(box.dir, "daemon-down"), "");
                assert.strictEqual(ready(shell, box), false);
                fs.rmSync(path.join(box.dir, "daemon-down"));
                assert.strictEqual(ready(shell, box), true);
            } finally {
                box.cleanup();
            }
        });
    }

    it("puts the mark next to the socket, rootful and rootless", () => {
        assert.strictEqual(drainMarkPath("unix:///run/buildkit/buildkitd.sock"), "/run/buildkit/arc-buildkit-draining");
        assert.strictEqual(drainMarkPath("unix:///run/user/1000/buildkit/buildkitd.sock"), "/run/user/1000/buildkit/arc-buildkit-draining");
        assert.throws(() => drainMarkPath("tcp://x:1234"), /absolute unix/);
    });
});

describe("drain bound, grace period, readiness and awaits agree", () => {
    const input = (drainTimeoutSeconds: number, rootless = false) => ({
        image: "moby/buildkit:v0.31.2@sha256:" + "0".repeat(64),
        rootless,
        resources: { requests: { cpu: "1", memory: byteQuantity("1Gi") }, limits: { memory: byteQuantity("2Gi") } },
        drainTimeoutSeconds,
        configMapName: "c",
        serverTlsSecretName: "s",
        placement: {},
        userNamespace: true,
        bridgeSubnet: "10.10.0.0/16",
    });
    for (const drain of [0, 120, 900]) {
        for (const rootless of [false, true]) {
            it(`drain ${drain}s${rootless ? ", rootless" : ""}: the kubelet lets the hook run its whole bound, readiness runs the drain check, and the await allows it per pod`, () => {
                const container = daemonContainer(input(drain, rootless)) as any;
                const pod = daemonPodSpec(input(drain, rootless)) as any;
                const script: string = container.lifecycle.preStop.exec.command[2];
                assert.match(script, new RegExp(`\\+ ${drain} \\)\\)`));
                // The settle time is inside the bound, so the hook never outlives the grace period.
                assert.match(script, new RegExp(`sleep ${Math.min(DRAIN_SETTLE_SECONDS, drain)}\\n`));
                assert.strictEqual(pod.terminationGracePeriodSeconds, drain + SHUTDOWN_MARGIN_SECONDS);
                assert.deepStrictEqual(
                    container.readinessProbe.exec.command,
                    readinessCommand(rootless ? "unix:///run/user/1000/buildkit/buildkitd.sock" : "unix:///run/buildkit/buildkitd.sock"),
                );
                assert.strictEqual(container.readinessProbe.failureThreshold, 1);
                assert.ok(container.readinessProbe.periodSeconds * container.readinessProbe.failureThreshold <= 2, "out of the Service within 2 s");
                const s = rolloutSeconds({ replicas: 2, drainTimeoutSeconds: drain });
                assert.ok(s.perPod >= pod.terminationGracePeriodSeconds + READINESS_CHECK.periodSeconds, "one pod's turn covers its whole grace period");
                assert.ok(s.update >= 2 * s.perPod && s.delete >= pod.terminationGracePeriodSeconds);
            });
        }
    }
});
