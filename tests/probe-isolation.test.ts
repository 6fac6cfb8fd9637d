import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HOST_UID_MAP, ISOLATION_STEP_FILE, isolationStepScript, probeScript, RUNBOOK } from "../components/probe";
import { RUNNER_ENV } from "../contracts";

/**
 * The deploy-time proof that a build step is sandboxed (docs/build-sandbox.md), run for real under
 * the POSIX shells of this machine (dash; BusyBox sh, the BuildKit image's shell, when installed)
 * against stand-ins: `nc` that reaches what a test says is open, a /proc with the route table and
 * uid_map of each situation, and a `buildctl` that runs the step script as a build step would.
 */

/**
 * True when `shell` runs an `nc` found on PATH. A BusyBox built as a "standalone shell" (Debian's
 * busybox-static) runs its own applets first, so the stand-in would be bypassed and the step would
 * open real connections to the metadata endpoint: such a shell is left out.
 */
function usesPathNc(shell: string, args: string[]): boolean {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nc-on-path-"));
    try {
        fs.writeFileSync(path.join(dir, "nc"), "#!/bin/sh\necho stand-in\n", { mode: 0o755 });
        const result = spawnSync(shell, [...args, "-c", "nc -w 1 127.0.0.1 9"], { encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin` }, timeout: 5000 });
        return result.stdout.trim() === "stand-in";
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const SHELLS = [
    ["/bin/sh", []],
    ["/bin/dash", []],
    ["/bin/busybox", ["sh"]],
]
    .filter(([shell]) => fs.existsSync(shell as string))
    .map(([shell, args]) => ({ shell: shell as string, args: args as string[] }))
    .filter(({ shell, args }) => usesPathNc(shell, args));

/** A bridged step: its default route goes through the bridge's address 10.10.0.1 (little-endian hex). */
const BRIDGED_ROUTES = [
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
    "eth0\t00000A0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0",
    "eth0\t00000000\t01000A0A\t0003\t0\t0\t0\t00000000\t0\t0\t0",
].join("\n");
/** A pod's user namespace as the kubelet maps it (a range of 65536 IDs above the host's). */
const POD_UID_MAP = "         0 1879048192      65536";
const HOST_MAP_LINE = "         0          0 4294967295";

interface Situation {
    /** `host:port` pairs a TCP connection reaches (the stand-in answers like an HTTP server). */
    open?: string[];
    /** `host:port` pairs that answer, but where `nc` exits non-zero (a reset after the response). */
    answersThenFails?: string[];
    routes?: string;
    uidMap?: string;
}

function withFakes<T>(situation: Situation, use: (dir: string, env: NodeJS.ProcessEnv) => T): T {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "isolation-"));
    try {
        const bin = path.join(dir, "bin");
        const proc = path.join(dir, "proc");
        fs.mkdirSync(bin);
        fs.mkdirSync(path.join(proc, "net"), { recursive: true });
        fs.mkdirSync(path.join(proc, "self"));
        fs.writeFileSync(path.join(proc, "net", "route"), (situation.routes ?? BRIDGED_ROUTES) + "\n");
        fs.writeFileSync(path.join(proc, "self", "uid_map"), (situation.uidMap ?? POD_UID_MAP) + "\n");
        // BusyBox nc's interface as the step uses it: nc -w SECONDS HOST PORT, request on stdin.
        const nc = [
            "#!/bin/sh",
            '[ "$1" = -w ] || { echo "nc: expected -w" >&2; exit 2; }',
            'target="$3:$4"; cat >/dev/null',
            'case " $FAKE_OPEN " in *" $target "*) printf "HTTP/1.0 404 Not Found\\r\\n\\r\\n"; exit 0 ;; esac',
            'case " $FAKE_ANSWERS_THEN_FAILS " in *" $target "*) printf "HTTP/1.0 400 Bad Request\\r\\n\\r\\n"; exit 1 ;; esac',
            "exit 1",
        ].join("\n");
        fs.writeFileSync(path.join(bin, "nc"), nc, { mode: 0o755 });
        const env = {
            PATH: `${bin}:${process.env.PATH}`,
            PROBE_PROC: proc,
            FAKE_OPEN: (situation.open ?? []).join(" "),
            FAKE_ANSWERS_THEN_FAILS: (situation.answersThenFails ?? []).join(" "),
        };
        return use(dir, env);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function runStep(shell: { shell: string; args: string[] }, situation: Situation): Record<string, string> {
    return withFakes(situation, (dir, env) => {
        const step = path.join(dir, ISOLATION_STEP_FILE);
        fs.writeFileSync(step, isolationStepScript());
        const result = spawnSync(shell.shell, [...shell.args, step], { encoding: "utf8", env });
        assert.strictEqual(result.status, 0, result.stderr);
        return Object.fromEntries(
            result.stdout
                .trim()
                .split("\n")
                .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
        );
    });
}

for (const shell of SHELLS) {
    const label = [shell.shell, ...shell.args].join(" ");
    describe(`isolation step script under ${label}`, () => {
        it("reports everything closed for a sandboxed step, with its gateway and uid_map", () => {
            assert.deepStrictEqual(runStep(shell, {}), {
                gateway: "10.10.0.1",
                metadata: "closed",
                wireserver: "closed",
                debug_loopback: "closed",
                debug_gateway: "closed",
                uid_map: "0 1879048192 65536",
            });
        });
        it("reports each reachable target as open, including a server that answers before the connection fails", () => {
            const result = runStep(shell, { open: ["169.254.169.254:80", "127.0.0.1:6060"], answersThenFails: ["10.10.0.1:6060", "168.63.129.16:80"] });
            assert.deepStrictEqual([result.metadata, result.wireserver, result.debug_loopback, result.debug_gateway], ["open", "open", "open", "open"]);
        });
        it("reports no gateway (and so no gateway check) when the step has no default route, and the host's uid_map", () => {
            const result = runStep(shell, { routes: BRIDGED_ROUTES.split("\n").slice(0, 2).join("\n"), uidMap: HOST_MAP_LINE });
            assert.strictEqual(result.gateway, "none");
            assert.strictEqual(result.debug_gateway, "closed");
            assert.strictEqual(result.uid_map, HOST_UID_MAP);
        });
    });
}

describe("probe script: the isolation build on every builder", () => {
    const ADDRESSES = ["tcp://buildkitd.buildkit.svc.cluster.local:1234", "tcp://buildkitd-0.buildkitd-headless.buildkit.svc.cluster.local:1234"];
    const IMAGE = "moby/buildkit:v0.31.2@sha256:" + "a".repeat(64);

    /**
     * buildctl as the probe calls it: `debug workers` answers only with a client certificate; a
     * `build` of the isolation context runs its step script (as the step would, with this shell and
     * the fakes) and exports its output; a platform build exports `uname -m` of that platform.
     */
    const FAKE_BUILDCTL = [
        "#!/bin/sh",
        'cert=""; context=""; dest=""; platform=""; cmd=""',
        'while [ $# -gt 0 ]; do case "$1" in',
        '  --tlscert) cert="$2"; shift ;; --addr|--tlscacert|--tlskey|--tlsservername|--timeout|--frontend|--progress) shift ;;',
        '  --local) case "$2" in context=*) context="${2#context=}" ;; esac; shift ;;',
        '  --output) dest="${2#type=local,dest=}"; shift ;; --opt) platform="${2#platform=}"; shift ;;',
        '  debug|build) cmd="$1" ;;',
        "esac; shift; done",
        '[ -n "$cert" ] || { echo "error: remote error: tls: certificate required" >&2; exit 1; }',
        'if [ "$cmd" = debug ]; then printf "ID:\\tw1\\nPlatforms:\\tlinux/amd64,linux/arm64\\n"; exit 0; fi',
        'mkdir -p "$dest"',
        'if [ -f "$context/isolation-step.sh" ]; then',
        '  grep -q "^RUN sh /isolation-step.sh > /probe-isolation$" "$context/Dockerfile" || { echo "unexpected Dockerfile" >&2; exit 1; }',
        '  $FAKE_SHELL "$context/isolation-step.sh" > "$dest/probe-isolation"; exit 0',
        "fi",
        'case "$platform" in linux/amd64) echo x86_64 ;; linux/arm64) echo aarch64 ;; esac > "$dest/probe-arch"',
    ].join("\n");

    function runProbe(shell: { shell: string; args: string[] }, situation: Situation, expectUserNamespace: boolean) {
        return withFakes(situation, (dir, env) => {
            fs.writeFileSync(path.join(dir, "bin", "buildctl"), FAKE_BUILDCTL, { mode: 0o755 });
            const log = path.join(dir, "termination-log");
            const script = probeScript({
                addresses: ADDRESSES,
                platforms: ["linux/amd64", "linux/arm64"],
                build: { image: IMAGE },
                isolation: { expectUserNamespace },
            });
            const result = spawnSync(shell.shell, [...shell.args, "-c", script], {
                encoding: "utf8",
                env: {
                    ...env,
                    FAKE_SHELL: [shell.shell, ...shell.args].join(" "),
                    TMPDIR: dir,
                    TERMINATION_LOG: log,
                    [RUNNER_ENV.ca]: "/tls/ca.crt",
                    [RUNNER_ENV.cert]: "/tls/tls.crt",
                    [RUNNER_ENV.key]: "/tls/tls.key",
                    [RUNNER_ENV.serverName]: "buildkitd.buildkit.svc.cluster.local",
                },
            });
            return { ...result, terminationLog: fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "" };
        });
    }

    for (const shell of SHELLS) {
        const label = [shell.shell, ...shell.args].join(" ");
        describe(`under ${label}`, () => {
            it("passes when no step reaches anything and runs in a user namespace", () => {
                const r = runProbe(shell, {}, true);
                assert.strictEqual(r.status, 0, r.stderr + r.terminationLog);
                assert.strictEqual(
                    (r.stdout.match(/reached neither the metadata endpoint, the WireServer nor the daemon \(uid_map: 0 1879048192 65536\)/g) ?? []).length,
                    ADDRESSES.length,
                );
            });

            const failures: [string, Situation, boolean, RegExp][] = [
                ["the metadata endpoint", { open: ["169.254.169.254:80"] }, true, /reached the instance metadata endpoint 169\.254\.169\.254:80/],
                ["the WireServer", { answersThenFails: ["168.63.129.16:80"] }, true, /reached Azure's WireServer 168\.63\.129\.16:80/],
                [
                    "the debug port on the step's loopback (host network)",
                    { open: ["127.0.0.1:6060"] },
                    true,
                    /reached the daemon's debug port on 127\.0\.0\.1:6060: build steps share the daemon's network namespace/,
                ],
                [
                    "the debug port through the bridge gateway",
                    { open: ["10.10.0.1:6060"] },
                    true,
                    /through the bridge gateway 10\.10\.0\.1:6060: the sandbox-firewall init container's rule is missing/,
                ],
                [
                    "the node's own user IDs",
                    { uidMap: HOST_MAP_LINE },
                    true,
                    /runs with the node's own user IDs \(uid_map '0 0 4294967295'\): the daemon pod has no user namespace/,
                ],
            ];
            for (const [what, situation, expectUserNamespace, message] of failures) {
                it(`fails the deploy when a step reaches ${what}`, () => {
                    const r = runProbe(shell, situation, expectUserNamespace);
                    assert.notStrictEqual(r.status, 0, r.stdout);
                    assert.match(r.terminationLog, message);
                    assert.match(r.terminationLog, new RegExp(`on ${ADDRESSES[0].replace(/[.]/g, "\\.")}`), "names the first address checked");
                    assert.ok(r.terminationLog.includes(RUNBOOK));
                });
            }

            it("accepts the node's user IDs where no user namespace is configured (the local stack)", () => {
                const r = runProbe(shell, { uidMap: HOST_MAP_LINE }, false);
                assert.strictEqual(r.status, 0, r.stderr + r.terminationLog);
            });
        });
    }
});
