// select-buildkit run for real under dash and bash, with only the tools GitHub's runner image has
// (coreutils, sed, getent) and fake `buildctl`/`getent` executables whose builders answer, hang,
// refuse or are missing from DNS. Its choices are compared with the TypeScript rendezvous definition.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { podHostnames } from "../components/pki";
import { rankBuilders, rendezvousWeight, selectBuilder } from "../components/arc/rendezvous";
import { SELECTOR_SCRIPT_PATH } from "../components/arc/selector";
import { needTool } from "./harness/skip";

/** Where `tool` is on this machine's PATH ("" if absent), looked up once per tool: every run of the script needs its shell's path. */
const whichCache = new Map<string, string>();
const which = (tool: string): string => {
    if (!whichCache.has(tool)) whichCache.set(tool, spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim());
    return whichCache.get(tool)!;
};
const SHELLS = ["dash", "bash"].filter((s) => which(s) !== "");

const SERVICE = "tcp://buildkitd.buildkit.svc.cluster.local:1234";
const SERVICE_NAME = "buildkitd.buildkit.svc.cluster.local";

type Behaviour = "ok" | "hang" | "refuse" | "no-workers" | "no-dns" | "dns-hang";

/**
 * A PATH with exactly what the runner image provides to the script (coreutils' sha256sum, sort,
 * timeout; sed; getent from libc-bin) plus fake buildctl/getent, so a dependency on anything else
 * fails here. `getent: false` leaves getent out, to prove the script works without it too.
 */
function sandbox(behaviours: Record<string, Behaviour>, opts: { getent?: boolean } = {}): { bin: string; dir: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "select-buildkit-"));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    for (const tool of ["sha256sum", "sort", "timeout", "sed"]) fs.symlinkSync(which(tool), path.join(bin, tool));
    fs.mkdirSync(path.join(dir, "state"));
    for (const [host, behaviour] of Object.entries(behaviours)) fs.writeFileSync(path.join(dir, "state", host), behaviour);
    // buildctl --addr tcp://HOST:1234 --tlscacert .. --tlscert .. --tlskey .. --tlsservername HOST debug workers
    fs.writeFileSync(
        path.join(bin, "buildctl"),
        `#!/bin/sh
state=${dir}/state
addr=""; servername=""
while [ $# -gt 0 ]; do
  case "$1" in
    --addr) addr="$2"; shift ;;
    --tlsservername) servername="$2"; shift ;;
  esac
  shift
done
host="\${addr#tcp://}"; host="\${host%:*}"
echo "$addr $servername" >> ${dir}/calls
behaviour="$(/bin/cat "$state/$host" 2>/dev/null || echo refuse)"
case "$behaviour" in
  ok|no-dns) printf 'ID\\tPLATFORMS\\nw0\\tlinux/amd64,linux/arm64\\n' ;;
  no-workers) printf 'ID\\tPLATFORMS\\n' ;;
  hang) exec /bin/sleep 30 ;;
  *) echo "error: connection refused" >&2; exit 1 ;;
esac
`,
        { mode: 0o755 },
    );
    if (opts.getent !== false) {
        fs.writeFileSync(
            path.join(bin, "getent"),
            `#!/bin/sh\n[ "$1" = hosts ] || exit 2\nstate="$(/bin/cat "${dir}/state/$2" 2>/dev/null)"\n[ "$state" = no-dns ] && exit 2\n[ "$state" = dns-hang ] && exec /bin/sleep 30\necho "10.0.0.1 $2"\n`,
            { mode: 0o755 },
        );
    }
    return { bin, dir };
}

function selectorEnv(bin: string, builders: string[], extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
        PATH: bin,
        GITHUB_REPOSITORY: "ameideio/app",
        AMEIDE_BUILDKIT_ADDR: SERVICE,
        AMEIDE_BUILDKIT_TLS_SERVERNAME: SERVICE_NAME,
        AMEIDE_BUILDKIT_TLS_CA: "/etc/buildkit/tls/ca.crt",
        AMEIDE_BUILDKIT_TLS_CERT: "/etc/buildkit/tls/tls.crt",
        AMEIDE_BUILDKIT_TLS_KEY: "/etc/buildkit/tls/tls.key",
        AMEIDE_BUILDKIT_BUILDERS: builders.join(" "),
        AMEIDE_BUILDKIT_SELECT_TIMEOUT: "1",
        ...extra,
    };
}

function select(shell: string, env: NodeJS.ProcessEnv, args: string[] = []) {
    const started = Date.now();
    const r = spawnSync(which(shell), [SELECTOR_SCRIPT_PATH, ...args], { env, encoding: "utf8", timeout: 60_000 });
    const out = Object.fromEntries(
        r.stdout
            .split("\n")
            .filter((l) => l.includes("="))
            .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, out, seconds: (Date.now() - started) / 1000 };
}

const builders = (n: number) => podHostnames(n);

describe("select-buildkit: the script", () => {
    it("passes shellcheck as POSIX sh and as bash", function () {
        needTool(this, "shellcheck");
        for (const dialect of ["sh", "bash"]) {
            const r = spawnSync("shellcheck", ["--norc", "-s", dialect, SELECTOR_SCRIPT_PATH], { encoding: "utf8" });
            assert.equal(r.status, 0, r.stdout + r.stderr);
        }
    });

    it("is executable and starts with #!/bin/sh", () => {
        assert.match(fs.readFileSync(SELECTOR_SCRIPT_PATH, "utf8"), /^#!\/bin\/sh\n/);
        assert.ok(fs.statSync(SELECTOR_SCRIPT_PATH).mode & 0o111);
    });
});

for (const shell of SHELLS) {
    describe(`select-buildkit under ${shell}`, function () {
        this.timeout(120_000);

        it("ranks builders exactly as the rendezvous definition (sha256 of key and pod name, highest first)", () => {
            const { bin } = sandbox({});
            for (const n of [1, 2, 3, 5, 8]) {
                for (const key of ["ameideio/app", "ameideio/api", "ameideio/web", "other/Repo.With-Dots", "a key with spaces", "ünïcode/ключ"]) {
                    const r = select(shell, selectorEnv(bin, builders(n), { GITHUB_REPOSITORY: key }), ["--rank"]);
                    assert.equal(r.status, 0, r.stderr);
                    assert.deepEqual(r.stdout.trim().split("\n"), rankBuilders(key, builders(n)), `${key} over ${n}`);
                }
            }
        });

        it("picks the top-ranked builder when every builder answers, with its own name as TLS server name", () => {
            const hosts = builders(4);
            const { bin, dir } = sandbox(Object.fromEntries(hosts.map((h) => [h, "ok"])));
            for (const key of ["ameideio/app", "ameideio/api", "ameideio/web", "ameideio/docs"]) {
                const r = select(shell, selectorEnv(bin, hosts, { GITHUB_REPOSITORY: key }));
                const expected = selectBuilder(key, hosts)!;
                assert.equal(r.status, 0, r.stderr);
                assert.deepEqual(r.out, {
                    addr: `tcp://${expected}:1234`,
                    "server-name": expected,
                    builder: expected.split(".")[0],
                    rank: "1",
                    fallback: "false",
                    "fallback-reason": "none",
                });
                assert.equal(r.stderr, "");
            }
            // The probe dials the pod by its own name and verifies that name: one buildctl call per choice.
            const calls = fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
            assert.equal(calls.length, 4);
            for (const call of calls) {
                const [addr, servername] = call.split(" ");
                assert.equal(addr, `tcp://${servername}:1234`);
            }
        });

        it("--key (and AMEIDE_BUILDKIT_KEY) overrides the repository", () => {
            const hosts = builders(8);
            const { bin } = sandbox(Object.fromEntries(hosts.map((h) => [h, "ok"])));
            const byFlag = select(shell, selectorEnv(bin, hosts), ["--key", "ameideio/monorepo:frontend"]);
            assert.equal(byFlag.out["server-name"], selectBuilder("ameideio/monorepo:frontend", hosts));
            const byEnv = select(shell, selectorEnv(bin, hosts, { AMEIDE_BUILDKIT_KEY: "ameideio/monorepo:backend" }));
            assert.equal(byEnv.out["server-name"], selectBuilder("ameideio/monorepo:backend", hosts));
        });

        it("falls back in rank order past builders that refuse, have no workers, hang or are not in DNS", () => {
            const hosts = builders(5);
            const key = "ameideio/app";
            const ranked = rankBuilders(key, hosts);
            // reason: what the first-ranked builder did, the code buildkit-report counts fallbacks by.
            const cases: { states: Behaviour[]; rank: number; reason: string; maxSeconds: number; minSeconds?: number }[] = [
                { states: ["refuse", "ok", "ok", "ok", "ok"], rank: 2, reason: "refused", maxSeconds: 2 },
                { states: ["no-dns", "no-workers", "ok", "ok", "ok"], rank: 3, reason: "not-ready", maxSeconds: 2 },
                { states: ["no-workers", "ok", "ok", "ok", "ok"], rank: 2, reason: "no-workers", maxSeconds: 2 },
                // A hanging builder costs the timeout (1 s here), no more.
                { states: ["hang", "refuse", "no-dns", "ok", "ok"], rank: 4, reason: "timeout", minSeconds: 0.9, maxSeconds: 4 },
                // A DNS lookup that never returns (a resolver timing out) is bounded by the same timeout.
                { states: ["dns-hang", "ok", "ok", "ok", "ok"], rank: 2, reason: "not-ready", minSeconds: 0.9, maxSeconds: 4 },
            ];
            for (const c of cases) {
                const { bin } = sandbox(Object.fromEntries(ranked.map((h, i) => [h, c.states[i]])));
                const r = select(shell, selectorEnv(bin, hosts));
                const answering = (h: string) => c.states[ranked.indexOf(h)] === "ok";
                assert.equal(r.status, 0, r.stderr);
                assert.equal(r.out["server-name"], selectBuilder(key, hosts, answering), c.states.join(","));
                assert.equal(r.out["server-name"], ranked[c.rank - 1]);
                assert.equal(r.out.rank, String(c.rank));
                assert.equal(r.out.fallback, "true");
                assert.equal(r.out["fallback-reason"], c.reason, c.states.join(","));
                assert.match(r.stderr, /^::warning title=BuildKit cache fallback::/);
                assert.ok(r.seconds <= c.maxSeconds, `${c.states.join(",")} took ${r.seconds}s`);
                if (c.minSeconds) assert.ok(r.seconds >= c.minSeconds, `${r.seconds}s: the hang was not waited for`);
            }
        });

        it("works without getent (the DNS pre-check is skipped; buildctl decides)", () => {
            const hosts = builders(3);
            const ranked = rankBuilders("ameideio/app", hosts);
            const { bin } = sandbox({ [ranked[0]]: "refuse", [ranked[1]]: "ok", [ranked[2]]: "ok" }, { getent: false });
            const r = select(shell, selectorEnv(bin, hosts));
            assert.equal(r.out["server-name"], ranked[1]);
        });

        it("returns the Service address, with a warning, when no builder answers", () => {
            const hosts = builders(3);
            const { bin } = sandbox({ [hosts[0]]: "refuse", [hosts[1]]: "no-dns", [hosts[2]]: "hang" });
            const r = select(shell, selectorEnv(bin, hosts));
            assert.equal(r.status, 0);
            assert.deepEqual(r.out, {
                addr: SERVICE,
                "server-name": SERVICE_NAME,
                builder: "",
                rank: "0",
                fallback: "true",
                "fallback-reason": "all-unavailable",
            });
            assert.match(r.stderr, /no builder answered .*using the Service/);
        });

        it("--export output evals in the same shell; a second run still falls back to the Service", () => {
            const hosts = builders(3);
            const key = "ameideio/app";
            const [first, second] = rankBuilders(key, hosts);
            const { bin, dir } = sandbox(Object.fromEntries(hosts.map((h) => [h, "ok"])));
            const script = `eval "$(${which(shell)} ${SELECTOR_SCRIPT_PATH} --export)" || exit 9
printf '%s|%s|%s|%s\\n' "$AMEIDE_BUILDKIT_ADDR" "$AMEIDE_BUILDKIT_TLS_SERVERNAME" "$AMEIDE_BUILDKIT_BUILDER" "$AMEIDE_BUILDKIT_SERVICE_ADDR"
echo refuse > ${dir}/state/${first}; echo refuse > ${dir}/state/${second}; echo refuse > ${dir}/state/${hosts.find((h) => h !== first && h !== second)}
eval "$(${which(shell)} ${SELECTOR_SCRIPT_PATH} --export 2>/dev/null)"
printf '%s|%s\\n' "$AMEIDE_BUILDKIT_ADDR" "$AMEIDE_BUILDKIT_TLS_SERVERNAME"`;
            const r = spawnSync(which(shell), ["-c", script], { env: selectorEnv(bin, hosts), encoding: "utf8" });
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(r.stdout.trim().split("\n"), [`tcp://${first}:1234|${first}|${first.split(".")[0]}|${SERVICE}`, `${SERVICE}|${SERVICE_NAME}`]);
        });

        it("--github-env appends NAME=value lines for later steps and still prints the outputs", () => {
            const hosts = builders(2);
            const { bin, dir } = sandbox(Object.fromEntries(hosts.map((h) => [h, "ok"])));
            const githubEnv = path.join(dir, "github-env");
            fs.writeFileSync(githubEnv, "EARLIER=1\n");
            const r = select(shell, selectorEnv(bin, hosts, { GITHUB_ENV: githubEnv }), ["--github-env"]);
            const chosen = selectBuilder("ameideio/app", hosts)!;
            assert.equal(r.out.addr, `tcp://${chosen}:1234`);
            assert.equal(
                fs.readFileSync(githubEnv, "utf8"),
                `EARLIER=1\nAMEIDE_BUILDKIT_SERVICE_ADDR=${SERVICE}\nAMEIDE_BUILDKIT_SERVICE_TLS_SERVERNAME=${SERVICE_NAME}\n` +
                    `AMEIDE_BUILDKIT_ADDR=tcp://${chosen}:1234\nAMEIDE_BUILDKIT_TLS_SERVERNAME=${chosen}\nAMEIDE_BUILDKIT_BUILDER=${chosen.split(".")[0]}\nAMEIDE_BUILDKIT_FALLBACK=false\n` +
                    `AMEIDE_BUILDKIT_FALLBACK_REASON=none\nAMEIDE_BUILDKIT_FALLBACK_DETAIL=\n`,
            );
        });

        it("--arm64 chooses among the arm64 builders and exports the ARM64 names", () => {
            const arm = podHostnames(2, "buildkitd-arm64", "buildkitd-arm64-headless");
            const { bin } = sandbox(Object.fromEntries(arm.map((h) => [h, "ok"])));
            const env = selectorEnv(bin, builders(3), {
                AMEIDE_BUILDKIT_ARM64_BUILDERS: arm.join(" "),
                AMEIDE_BUILDKIT_ARM64_ADDR: "tcp://buildkitd-arm64.buildkit.svc.cluster.local:1234",
                AMEIDE_BUILDKIT_ARM64_TLS_SERVERNAME: "buildkitd-arm64.buildkit.svc.cluster.local",
            });
            const chosen = selectBuilder("ameideio/app", arm)!;
            const r = select(shell, env, ["--arm64", "--export"]);
            assert.match(r.stdout, new RegExp(`^export AMEIDE_BUILDKIT_ARM64_ADDR='tcp://${chosen.replace(/\./g, "\\.")}:1234'$`, "m"));
            assert.match(r.stdout, new RegExp(`^export AMEIDE_BUILDKIT_ARM64_TLS_SERVERNAME='${chosen.replace(/\./g, "\\.")}'$`, "m"));
            assert.doesNotMatch(r.stdout, /AMEIDE_BUILDKIT_ADDR=/);
            // Without arm64 builders the flag is an error, not a silent amd64 choice.
            const none = select(shell, selectorEnv(bin, builders(3)), ["--arm64"]);
            assert.equal(none.status, 2);
            assert.match(none.stderr, /AMEIDE_BUILDKIT_ARM64_BUILDERS is empty/);
        });

        it("refuses bad input with exit status 2 and a message", () => {
            const { bin } = sandbox({});
            const cases: [NodeJS.ProcessEnv, string[], RegExp][] = [
                [selectorEnv(bin, builders(2), { GITHUB_REPOSITORY: "" }), [], /no key/],
                [selectorEnv(bin, builders(2)), ["--timeout", "0"], /positive number/],
                [selectorEnv(bin, builders(2)), ["--timeout", "5s"], /positive number/],
                [selectorEnv(bin, builders(2)), ["--bogus"], /unknown argument/],
                [selectorEnv(bin, []), [], /AMEIDE_BUILDKIT_BUILDERS is empty/],
            ];
            for (const [env, args, message] of cases) {
                const r = select(shell, env, args);
                assert.equal(r.status, 2, `${args.join(" ")}: ${r.stdout}`);
                assert.match(r.stderr, message);
            }
            assert.equal(select(shell, selectorEnv(bin, builders(2)), ["--timeout", "0.5", "--rank"]).status, 0);
        });
    });
}

describe("select-buildkit: keys moved by scale events", function () {
    this.timeout(300_000);

    /** Each key's first choice over `n` builders, computed by the script under dash (one run per key). */
    function shellChoices(keys: string[], n: number): string[] {
        const { bin } = sandbox({});
        const script = `for k in ${keys.map((k) => `'${k}'`).join(" ")}; do ${SELECTOR_SCRIPT_PATH} --key "$k" --rank | sed -n 1p; done`;
        const r = spawnSync(which("dash") || which("sh"), ["-c", script], { env: selectorEnv(bin, builders(n)), encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        return r.stdout.trim().split("\n");
    }

    /** Checks one scale-out from n to n+1 builders (read backwards, the scale-in from n+1 to n). */
    function checkScaleOut(keys: string[], before: string[], after: string[], n: number): number {
        const newBuilder = builders(n + 1)[n];
        let moved = 0;
        for (let i = 0; i < keys.length; i++) {
            if (before[i] === after[i]) continue;
            moved++;
            // Scale-out: a moved key goes to the new builder. Scale-in: only the removed builder's keys move.
            assert.equal(after[i], newBuilder, `${keys[i]} moved between old builders`);
        }
        const share = moved / keys.length;
        // Binomial(keys, 1/(N+1)): within four standard deviations.
        const p = 1 / (n + 1);
        const sd = Math.sqrt((p * (1 - p)) / keys.length);
        assert.ok(Math.abs(share - p) < 4 * sd, `N=${n}->${n + 1}: moved ${share}, expected about ${p}`);
        return share;
    }

    it("under the script: 3 -> 4 builders moves about 1/4 of the keys, all onto the new one (and 4 -> 3 only its own)", () => {
        // One process per key is slow on a loaded machine: a sample here, the full sweep below on the TS definition it matches.
        const keys = Array.from({ length: 120 }, (_, i) => `ameideio/repo-${i}`);
        const before = shellChoices(keys, 3);
        const after = shellChoices(keys, 4);
        assert.deepEqual(
            before,
            keys.map((k) => selectBuilder(k, builders(3))),
        );
        assert.deepEqual(
            after,
            keys.map((k) => selectBuilder(k, builders(4))),
        );
        checkScaleOut(keys, before, after, 3);
    });

    it("under the definition: every N -> N+1 for N = 1..7 moves about 1/(N+1) of 5000 keys", () => {
        const keys = Array.from({ length: 5000 }, (_, i) => `org-${i % 37}/repo-${i}`);
        for (let n = 1; n <= 7; n++) {
            checkScaleOut(
                keys,
                keys.map((k) => selectBuilder(k, builders(n))!),
                keys.map((k) => selectBuilder(k, builders(n + 1))!),
                n,
            );
        }
    });

    it("losing any one builder moves only the keys it held", () => {
        const keys = Array.from({ length: 400 }, (_, i) => `ameideio/repo-${i}`);
        const hosts = builders(6);
        for (const down of hosts) {
            for (const key of keys) {
                const full = selectBuilder(key, hosts);
                const without = selectBuilder(key, hosts, (h) => h !== down);
                if (full !== down) assert.equal(without, full);
                else assert.equal(without, rankBuilders(key, hosts)[1]);
            }
        }
    });

    it("weights are independent per builder (the TS definition itself)", () => {
        assert.equal(rendezvousWeight("k", "buildkitd-0.buildkitd-headless.buildkit.svc.cluster.local"), rendezvousWeight("k", "buildkitd-0"));
        assert.match(rendezvousWeight("k", "buildkitd-0"), /^[0-9a-f]{64}$/);
    });
});
