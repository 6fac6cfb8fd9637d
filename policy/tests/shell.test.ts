import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { UNKNOWN } from "../lib/plain";
import { Env, FileReader, Interpretation, interpretArgv, shellParserReady } from "../lib/shell";

/** The interpreter over tree-sitter-bash's syntax tree: pure functions, real parser, no mocks. */

const none: FileReader = () => undefined;

function sh(script: string, env: Env = new Map(), read: FileReader = none, ...rest: string[]): Interpretation {
    return interpretArgv(["sh", "-c", script, ...rest], env, read);
}

/** The programs run after the outer `sh`, as `program arg arg` lines (UNKNOWN shown as `?`). */
function runs(result: Interpretation): string[] {
    return result.invocations.slice(1).map((i) => [i.program || "?", ...i.args.map((a) => (typeof a === "string" ? a : "?"))].join(" "));
}

describe("shell scripts read through tree-sitter-bash", () => {
    before(() => shellParserReady());

    it("quoting: single, double, backslashes, $'...', and words joined from parts", () => {
        const result = sh(`A='x y'; printf '%s|' 'a b' "c $A" d\\ e "q\\"\\$A" $'l\\tm' pre"$A"post`);
        assert.deepEqual(runs(result), ['printf %s| a b c x y d e q"$A l\tm prex ypost']);
        // The same words under a real shell.
        assert.equal(
            execFileSync("bash", ["-c", `A='x y'; printf '%s|' 'a b' "c $A" d\\ e "q\\"\\$A" $'l\\tm' pre"$A"post`]).toString(),
            'a b|c x y|d e|q"$A|l\tm|prex ypost|',
        );
    });

    it("unquoted expansions are split into words, quoted ones are not", () => {
        const env: Env = new Map([["FLAGS", "--addr tcp://0.0.0.0:1234  --debug"]]);
        assert.deepEqual(runs(sh(`buildkitd $FLAGS`, env)), ["buildkitd --addr tcp://0.0.0.0:1234 --debug"]);
        assert.deepEqual(runs(sh(`buildkitd "$FLAGS"`, env)), ["buildkitd --addr tcp://0.0.0.0:1234  --debug"]);
    });

    it("heredocs: unquoted delimiters expand, quoted ones do not, <<- strips leading tabs", () => {
        const result = sh(
            [
                "ADDR=tcp://0.0.0.0:1234",
                "cat > /a.toml <<EOF",
                '[grpc]\naddress = ["$ADDR"]',
                "EOF",
                "cat <<'EOF' > /b.toml",
                'x = "$ADDR"',
                "EOF",
                'cat >/c <<-"END"',
                "\t\tindented $ADDR",
                "\tEND",
                "tee /d <<EOF >/dev/null",
                "t \\$ADDR ${ADDR}",
                "EOF",
            ].join("\n"),
        );
        assert.equal(result.files.get("/a.toml"), '[grpc]\naddress = ["tcp://0.0.0.0:1234"]\n');
        assert.equal(result.files.get("/b.toml"), 'x = "$ADDR"\n');
        assert.equal(result.files.get("/c"), "indented $ADDR\n");
        assert.equal(result.files.get("/d"), "t $ADDR tcp://0.0.0.0:1234\n");
    });

    it("redirections: echo/printf to a file, >> appends, stderr and descriptor copies are not files", () => {
        const result = sh(`echo '[grpc]' > /f; echo 'address = ["tcp://x"]' >> /f; echo ignored 2>/g; echo dup >&2; printf '%s\\n' a b > /p`);
        assert.equal(result.files.get("/f"), '[grpc]\naddress = ["tcp://x"]\n');
        assert.equal(result.files.has("/g"), false);
        assert.equal(result.files.has("2"), false);
        assert.equal(result.files.get("/p"), "a\nb\n");
    });

    it("lists, pipelines, subshells and compound commands: every command on every path is read, in order", () => {
        const result = sh(
            [
                "a && b || c; d | e &",
                "(f; X=sub) ; { g; }",
                "if h; then i; elif j; then k; else l ${X-unset}; fi",
                'case "$1" in start) m ;; *) n ;; esac',
                "while o; do p; done; until q; do r; done",
                "for s in one two; do t $s; done",
                "! u",
            ].join("\n"),
        );
        assert.deepEqual(runs(result), ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l unset", "m", "n", "o", "p", "q", "r", "t one", "t two", "u"]);
    });

    it("exec, env and tini wrappers name the real program; per-command assignments reach only its environment", () => {
        const result = sh(`A=1 exec tini -- env B=2 buildkitd --addr tcp://0.0.0.0:1234; C=3 other; plain`);
        const [daemon, other, plain] = result.invocations.slice(1);
        assert.equal(daemon.program, "buildkitd");
        assert.deepEqual(daemon.args, ["--addr", "tcp://0.0.0.0:1234"]);
        assert.equal(daemon.env.get("A"), "1");
        assert.equal(daemon.env.get("B"), "2");
        assert.equal(other.env.get("C"), "3");
        assert.equal(plain.env.has("C"), false);
    });

    it("set -- and shift replace the positional parameters; sh -c takes $0 and $@ from its arguments", () => {
        const result = sh(`echo "$0" "$@"; set -- --addr tcp://x:1; buildkitd "$@"; shift; echo "$1"`, new Map(), none, "name", "a b", "c");
        assert.deepEqual(runs(result), ["echo name a b c", "buildkitd --addr tcp://x:1", "echo tcp://x:1"]);
    });

    it("set -a exports every later assignment, also from a sourced env file, until set +a (POSIX allexport)", () => {
        const read: FileReader = (path) => (path === "/etc/ci/buildkit.env" ? { text: "BUILDKIT_HOST=tcp://buildkitd:1234\n" } : undefined);
        const envOf = (r: Interpretation, program: string) => r.invocations.find((i) => i.program === program)?.env;
        const sourced = sh(`set -a; . /etc/ci/buildkit.env; set +a; LATER=1; buildctl build`, new Map(), read);
        assert.equal(envOf(sourced, "buildctl")?.get("BUILDKIT_HOST"), "tcp://buildkitd:1234");
        assert.equal(envOf(sourced, "buildctl")?.has("LATER"), false, "set +a ends it");
        // The long option, combined flags, and without set -a nothing is exported.
        assert.equal(envOf(sh(`set -o allexport; X=1; buildctl`), "buildctl")?.get("X"), "1");
        assert.equal(envOf(sh(`set -eua; X=1; buildctl`), "buildctl")?.get("X"), "1");
        assert.equal(envOf(sh(`. /etc/ci/buildkit.env; buildctl build`, new Map(), read), "buildctl")?.has("BUILDKIT_HOST"), false);
        // What a real shell does with the same script.
        assert.equal(execFileSync("sh", ["-c", "set -a; X=1; set +a; Y=2; env | grep -E '^(X|Y)=' | sort"]).toString(), "X=1\n");
    });

    it("export, per-variable export and unset decide what a program's environment holds", () => {
        const result = sh(`BUILDKIT_HOST=tcp://a:1; buildctl; export BUILDKIT_HOST; buildctl; export B=2 C; C=3; local -x D=4; unset B; buildctl`);
        const [first, second, third] = result.invocations.slice(1);
        assert.equal(first.env.has("BUILDKIT_HOST"), false);
        assert.equal(second.env.get("BUILDKIT_HOST"), "tcp://a:1");
        assert.equal(third.env.get("C"), "3");
        assert.equal(third.env.get("D"), "4");
        assert.equal(third.env.has("B"), false);
    });

    it("${X:-d}, ${X-d}, ${X:=d}, ${X:+w}; pattern operators are unknown, never guessed", () => {
        const env: Env = new Map([["EMPTY", ""]]);
        const result = sh(`echo \${EMPTY:-d1} \${EMPTY-d2} \${UNSET:=d3} $UNSET \${EMPTY:+w1} \${UNSET:+w2} "\${NONE:-tcp://$UNSET:1}" \${UNSET%3}`, env);
        const [echo] = result.invocations.slice(1);
        assert.deepEqual(echo.args, ["d1", "d3", "d3", "w2", "tcp://d3:1", UNKNOWN]);
    });

    it("$(...) and backquotes: output unknown, the commands inside still run; $(cat FILE) reads a mounted or written file", () => {
        const read: FileReader = (path) => (path === "/etc/addr" ? { text: "tcp://mounted:1234\n" } : undefined);
        const result = sh(
            `ADDR=$(hostname); buildctl --addr "$ADDR" \`buildkitd --addr tcp://0.0.0.0:1\`; buildctl --addr "$(cat /etc/addr)"; echo $((1 + 2))`,
            new Map(),
            read,
        );
        assert.deepEqual(runs(result), ["hostname", "buildkitd --addr tcp://0.0.0.0:1", "buildctl --addr ? ?", "buildctl --addr tcp://mounted:1234", "echo ?"]);
    });

    it("functions run where they are called, with their arguments; one never called is read once with unknown arguments", () => {
        const result = sh(`start() { exec buildkitd --addr "$1"; }\nnever() { dockerd; }\nstart tcp://0.0.0.0:1234`);
        assert.deepEqual(runs(result), ["buildkitd --addr tcp://0.0.0.0:1234", "dockerd"]);
    });

    it('Bash arrays: "${a[@]}" gives one word per item, += appends', () => {
        const result = interpretArgv(["bash", "-c", `flags=(--addr "tcp://0.0.0.0:1234"); flags+=(--debug); exec buildkitd "\${flags[@]}"`], new Map(), none);
        assert.deepEqual(runs(result), ["buildkitd --addr tcp://0.0.0.0:1234 --debug"]);
    });

    it("script files: mounted ones are read with their arguments, unmounted ones are reported", () => {
        const read: FileReader = (path) =>
            path === "/scripts/start.sh" ? { text: 'exec buildkitd --addr "$1"' } : { unreadable: `${path} (from an emptyDir volume)` };
        const result = interpretArgv(["/scripts/start.sh", "tcp://0.0.0.0:1234"], new Map(), read);
        assert.deepEqual(
            result.invocations.map((i) => `${i.program} ${i.args.join(" ")}`),
            ["start.sh tcp://0.0.0.0:1234", "buildkitd --addr tcp://0.0.0.0:1234"],
        );
        assert.deepEqual(interpretArgv(["sh", "/other.sh"], new Map(), read).unreadScripts, ["/other.sh (from an emptyDir volume)"]);
    });

    it("eval and nested sh -c are read again as scripts", () => {
        const result = sh(`F="--addr tcp://0.0.0.0:1234"; eval "buildkitd $F"; sh -c 'buildctl --addr "$0"' tcp://b:1`);
        assert.deepEqual(runs(result), [
            "eval buildkitd --addr tcp://0.0.0.0:1234",
            "buildkitd --addr tcp://0.0.0.0:1234",
            'sh -c buildctl --addr "$0" tcp://b:1',
            "buildctl --addr tcp://b:1",
        ]);
    });

    it("a syntax error is reported (a shell stops there) and what the parser recovered is still read", () => {
        const result = sh(`buildkitd --addr tcp://0.0.0.0:1234\nif then fi (`);
        assert.deepEqual(runs(result).slice(0, 1), ["buildkitd --addr tcp://0.0.0.0:1234"]);
        assert.equal(result.unreadScripts.length, 1);
        assert.match(result.unreadScripts[0], /^the script given to sh -c \(a syntax error at line 2, column \d+: .*; the shell stops there\)$/);
        // dash refuses it too.
        assert.throws(() => execFileSync("dash", ["-n", "-c", "buildkitd\nif then fi ("], { stdio: "pipe" }));
    });

    it("bounded: deep nesting, huge scripts and command floods end within budget, unknown rather than wrong", () => {
        const started = process.cpuUsage();
        const deep = sh(`${"$(".repeat(100_000)}buildkitd${")".repeat(100_000)}`);
        const flood = sh("true;".repeat(50_000));
        const used = process.cpuUsage(started);
        assert.ok(deep.invocations.length >= 1);
        assert.ok(flood.invocations.length <= 5_001, `${flood.invocations.length} invocations`);
        assert.ok((used.user + used.system) / 1000 < 3000, `took ${(used.user + used.system) / 1000} ms`);
    });
});
