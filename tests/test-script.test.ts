// scripts/test.sh (`npm test`) and its inner loop (`npm run test:quick`, scripts/changed-tests.ts): the part
// names its header promises work, the split of the mocha suite loses no file, the npm scripts keep the
// caches the gate relies on, every skipped test says why, and the change selection picks what it says.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { globPattern, importSpecifiers, readsGlobs, selectTests, type SourceFile } from "../scripts/changed-tests";
// test:quick reads: tests/** policy/tests/** scripts/test.sh package.json

const root = path.join(__dirname, "..");
const testSh = (args: string[]) => spawnSync("bash", [path.join(root, "scripts", "test.sh"), ...args], { cwd: root, encoding: "utf8" });
const list = (args: string[]) => {
    const r = testSh(["--list", ...args]);
    assert.equal(r.status, 0, r.stderr);
    return Object.fromEntries(
        r.stdout
            .trim()
            .split("\n")
            .map((l) => [l.slice(0, l.indexOf(": ")), l.slice(l.indexOf(": ") + 2)]),
    );
};

describe("npm test (scripts/test.sh)", () => {
    it("accepts every part and group name its header and the docs use (npm test -- policy, -- unit, -- static)", () => {
        assert.deepEqual(Object.keys(list(["policy"])), ["unit:policy"]);
        assert.deepEqual(Object.keys(list(["unit"])), ["unit:main", "unit:tools", "unit:select"]);
        assert.deepEqual(Object.keys(list(["static"])), ["typecheck", "lint", "format"]);
        assert.deepEqual(Object.keys(list(["unit:policy", "policy"])), ["unit:policy"], "a part named twice runs once");
        assert.deepEqual(Object.keys(list([])).sort(), ["format", "lint", "typecheck", "unit:main", "unit:policy", "unit:select", "unit:tools"]);
        const header = fs.readFileSync(path.join(root, "scripts", "test.sh"), "utf8").split("\n\n")[0];
        const examples = [...header.matchAll(/^#\s+npm test -- ([a-z: -]+?)(?: \[.*?\])?(?:\s{2,}|$)/gm)].map((m) => m[1]);
        assert.ok(examples.length >= 3, `the header's examples: ${examples.join(", ")}`);
        for (const args of examples) assert.equal(testSh(["--list", ...args.split(" ").filter((a) => a !== "--list")]).status, 0, args);
    });

    it("without the dependencies installed, says once to run npm ci, and runs nothing", () => {
        const clone = fs.mkdtempSync(path.join(os.tmpdir(), "test-sh-"));
        try {
            fs.mkdirSync(path.join(clone, "scripts"));
            fs.copyFileSync(path.join(root, "scripts", "test.sh"), path.join(clone, "scripts", "test.sh"));
            const r = spawnSync("bash", [path.join(clone, "scripts", "test.sh")], { cwd: clone, encoding: "utf8" });
            assert.equal(r.status, 2);
            assert.equal(r.stdout, "");
            assert.match(r.stderr, /^npm test: node_modules\/\.bin\/tsc is missing: run `npm ci` first/);
            assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
        } finally {
            fs.rmSync(clone, { recursive: true, force: true });
        }
    });

    it("test:quick refuses a --base that is not a commit in one line, before starting anything", () => {
        const r = testSh(["--changed", "--base", "no-such-ref-anywhere"]);
        assert.equal(r.status, 2);
        assert.equal(r.stdout, "");
        assert.equal(r.stderr, "npm run test:quick: 'no-such-ref-anywhere' is not a commit (--base takes a branch, a tag or a commit)\n");
    });

    it("runs every test file in exactly one mocha part, with the project's .mocharc.json (which names no files)", () => {
        const parts = list([]);
        const ignored = [...parts["unit:main"].matchAll(/--ignore (\S+)/g)].map((m) => m[1]);
        assert.match(parts["unit:main"], / 'tests\/\*\*\/\*\.test\.ts'$/);
        assert.match(parts["unit:select"], / tests\/select-buildkit\.test\.ts$/);
        const named = (part: string) => parts[part].split(" ").filter((w: string) => /^tests\/.*\.test\.ts$/.test(w));
        // What unit:main leaves out, the other two parts run, each file once and every one of them a test file that exists.
        assert.deepEqual([...named("unit:select"), ...named("unit:tools")].sort(), [...ignored].sort());
        for (const f of ignored) assert.ok(fs.existsSync(path.join(root, f)), f);
        assert.match(parts["unit:policy"], /^cd policy && .* mocha 'tests\/\*\*\/\*\.test\.ts'$/);
        // No spec in the config files: `npx mocha tests/one.test.ts` runs that one file, not the whole suite as well.
        for (const rc of [".mocharc.json", "policy/.mocharc.json"]) assert.equal(JSON.parse(fs.readFileSync(path.join(root, rc), "utf8")).spec, undefined, rc);
    });

    it("keeps the caches: the npm scripts use the same Prettier and ESLint caches as the gate, where a bare prettier run cannot delete them", () => {
        const scripts = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).scripts;
        const parts = list([]);
        // One explicit location: a bare `npx prettier --write <file>` deletes only Prettier's default cache file.
        const prettierCache = "--cache --cache-strategy content --cache-location node_modules/.cache/prettier/gate.json";
        for (const name of ["format", "format:check"]) {
            assert.equal(scripts[name], `prettier ${prettierCache} --${name === "format" ? "write" : "check"} .`, name);
        }
        assert.ok(parts.format.startsWith(`prettier ${prettierCache} --check`), parts.format);
        assert.match(scripts.lint, /--cache --cache-strategy content --cache-location node_modules\/\.cache\/eslint\/ \.$/);
        assert.match(parts.lint, /--cache --cache-strategy content --cache-location "[^"]*\/node_modules\/\.cache\/eslint\/" \.$/);
        // tsc -b trusts its build info; the build info is dropped when the lock file (so node_modules) changes.
        assert.match(parts.typecheck, /lock\.sha256.*rm -f "[^"]*\/all\.tsbuildinfo".*tsc -b tsconfig\.all\.json$/);
        assert.equal(scripts["test:quick"], "bash scripts/test.sh --changed");
    });

    it("every skipped test says why: tests skip only through tests/harness/skip.ts", () => {
        const offenders: string[] = [];
        for (const dir of ["tests", "policy/tests"]) {
            const walk = (d: string): string[] =>
                fs
                    .readdirSync(path.join(root, d), { withFileTypes: true })
                    .flatMap((e) => (e.isDirectory() ? walk(`${d}/${e.name}`) : e.name.endsWith(".ts") ? [`${d}/${e.name}`] : []));
            for (const f of walk(dir)) {
                if (f === "tests/harness/skip.ts") continue;
                const text = fs.readFileSync(path.join(root, f), "utf8");
                if (/\b(this|ctx|context)\.skip\(\)|\b(it|describe)\.skip\(|\bx(it|describe)\(/.test(text)) offenders.push(f);
            }
        }
        assert.deepEqual(offenders, []);
    });
});

describe("npm run test:quick (scripts/changed-tests.ts)", () => {
    // A small repository: what each module imports, and the tests.
    const sources: SourceFile[] = [
        { file: "tests/probe.test.ts", source: 'import { probeScript } from "../components/probe";\n' },
        { file: "tests/cache-size.test.ts", source: 'import { gcPolicy } from "../components/buildkit/gc";\nimport { x } from "./harness/program";\n' },
        { file: "tests/rollout.test.ts", source: 'import { rollout } from "../components/buildkit/rollout";\n' },
        { file: "tests/toml.test.ts", source: 'import { render } from "../components/buildkit/toml";\n' },
        { file: "tests/select-buildkit.test.ts", source: 'import { SELECTOR_SCRIPT_PATH } from "../components/arc/selector";\n' },
        { file: "tests/arc.test.ts", source: 'import { arcValues } from "../components/arc/values";\n' },
        { file: "tests/docs-drift.test.ts", source: '// test:quick reads: **/*.md\nconst pages = walk("docs");\n' },
        { file: "tests/wiring.test.ts", source: 'import { evaluate } from "./harness/program";\n' },
        { file: "tests/types-only.test.ts", source: 'import type { Settings } from "../config/sizing";\n' },
        { file: "policy/tests/pack.test.ts", source: 'import { policies } from "../policies";\n' },
        { file: "policy/tests/relays.test.ts", source: 'import { runPolicies } from "../run";\n' },
        { file: "components/probe/index.ts", source: "export const probeScript = 1;\n" },
        { file: "components/buildkit/gc.ts", source: 'import { GC } from "../../config/sizing";\n' },
        { file: "components/buildkit/toml.ts", source: 'import { gcPolicy } from "./gc";\n' },
        { file: "components/buildkit/rollout.ts", source: "export const rollout = 1;\n" },
        { file: "components/buildkit/index.ts", source: 'import { render } from "./toml";\nimport { rollout } from "./rollout";\n' },
        // The script's name in a comment is not a read of it.
        {
            file: "components/arc/selector.ts",
            source: '// see select-buildkit.sh\nexport const SELECTOR_SCRIPT_PATH = path.join(__dirname, "select-buildkit.sh");\n',
        },
        { file: "components/arc/values.ts", source: 'import { SELECTOR_SCRIPT_PATH } from "./selector";\n' },
        { file: "scripts/notes.ts", source: "// select-buildkit.sh is read by the selector\n" },
        { file: "config/sizing.ts", source: "export const GC = 1;\n" },
        { file: "program.ts", source: 'import { Builders } from "./components/buildkit";\nimport { probe } from "./components/probe";\n' },
        { file: "tests/harness/program.ts", source: 'import { createStack } from "../../program";\n' },
        { file: "policy/policies.ts", source: 'import { relays } from "./lib/relays";\n' },
        { file: "policy/run.ts", source: 'import { policies } from "./policies";\n' },
        { file: "policy/lib/relays.ts", source: "export const relays = 1;\n" },
        // Modules that read files they do not name: a folder they walk, a name built from pieces.
        { file: "tests/harness/stack.ts", source: "// test:quick reads: Pulumi.*.yaml\nexport const read = (s) => fs.readFileSync(`Pulumi.${s}.yaml`);\n" },
        { file: "tests/stack.test.ts", source: 'import { read } from "./harness/stack";\n' },
        { file: "tests/tree.test.ts", source: "// test:quick reads: **/*.ts\nwalk(root);\n" },
        { file: "policy/tests/fixtures/loader.ts", source: "// test:quick reads: policy/tests/fixtures/corpus*/**\nreaddirSync(dir);\n" },
        {
            file: "policy/tests/corpus.test.ts",
            source: 'import { load } from "./fixtures/loader";\nconst counts = readFileSync(join(__dirname, "..", "README.md"));\n',
        },
        { file: "tests/runbook.test.ts", source: 'const scripts = [".ci/run"];\nspawnSync("npm", ["run", "x"]);\n' },
    ];
    const files = new Set([
        ...sources.map((s) => s.file),
        "components/arc/select-buildkit.sh",
        "Pulumi.aks.yaml",
        "policy/tests/fixtures/corpus5/cases.json",
        "policy/README.md",
        "README.md",
        ".ci/run",
    ]);
    const select = (changed: string[]) => selectTests(changed, sources, (f) => files.has(f));

    it("a module selects the tests that import it, directly or through other modules, and says how", () => {
        const s = select(["components/buildkit/gc.ts"]);
        assert.deepEqual(s.root, ["tests/cache-size.test.ts", "tests/toml.test.ts", "tests/tree.test.ts"]);
        assert.equal(s.why.get("tests/tree.test.ts"), "reads **/*.ts");
        assert.equal(s.why.get("tests/cache-size.test.ts"), "imports components/buildkit/gc.ts");
        assert.equal(s.why.get("tests/toml.test.ts"), "imports components/buildkit/toml.ts, which imports components/buildkit/gc.ts");
        // A sibling in the same folder that does not use gc.ts is not selected.
        assert.ok(!s.root.includes("tests/rollout.test.ts"));
        // The bottom layer reaches the tests of everything built on it, but not through a type-only import.
        assert.deepEqual(select(["config/sizing.ts"]).root, ["tests/cache-size.test.ts", "tests/toml.test.ts", "tests/tree.test.ts"]);
        assert.deepEqual(select(["components/probe/index.ts"]).root, ["tests/probe.test.ts", "tests/tree.test.ts"]);
    });

    it("a file read without being named (a folder walked, a name built from pieces) selects the tests of the module that declares the glob", () => {
        const stack = select(["Pulumi.aks.yaml"]);
        assert.deepEqual(stack.root, ["tests/stack.test.ts"]);
        assert.equal(stack.why.get("tests/stack.test.ts"), "imports tests/harness/stack.ts, which reads Pulumi.*.yaml");
        assert.deepEqual(select(["policy/tests/fixtures/corpus5/cases.json"]).policy, ["policy/tests/corpus.test.ts"]);
        // A bare name in a string is the nearest file of that name up the tree: policy/README.md, not the root's.
        assert.deepEqual(select(["policy/README.md"]).policy, ["policy/tests/corpus.test.ts"]);
        assert.deepEqual(select(["README.md"]).policy, []);
        // A path names its file; a word without an extension ("run") names no file.
        assert.deepEqual(select([".ci/run"]).root, ["tests/runbook.test.ts"]);
        assert.equal(globPattern("tests/**/*.ts").test("tests/a.ts"), true);
        assert.equal(globPattern("tests/**/*.ts").test("tests/harness/a.ts"), true);
        assert.equal(globPattern("Pulumi.*.yaml").test("Pulumi.aks.yaml"), true);
        assert.equal(globPattern("Pulumi.*.yaml").test("x/Pulumi.aks.yaml"), false);
        assert.equal(globPattern("**").test(".github/workflows/renew.yml"), true);
        assert.deepEqual(readsGlobs("// test:quick reads: a/** b/*.json\n// test:quick reads: c\n// reads: d\n"), ["a/**", "b/*.json", "c"]);
    });

    it("does not follow the program's entry point: its own change selects the tests that run it; a module only it imports, the tests of its folder that run it", () => {
        assert.deepEqual(select(["program.ts"]).root, ["tests/cache-size.test.ts", "tests/tree.test.ts", "tests/wiring.test.ts"]);
        const s = select(["components/buildkit/index.ts"]);
        // Of the folder's tests, those that run it through the program (cache-size, through the harness), not the pure ones.
        assert.deepEqual(s.root, ["tests/cache-size.test.ts", "tests/tree.test.ts"]);
        assert.equal(s.why.get("tests/cache-size.test.ts"), "imports from components/buildkit/ and runs index.ts through the program");
    });

    it("a file that is not TypeScript selects the tests that name it in a string or import a module that does; a Markdown page the docs-drift test; a test itself", () => {
        const s = select(["components/arc/select-buildkit.sh"]);
        assert.deepEqual(s.root, ["tests/arc.test.ts", "tests/select-buildkit.test.ts"]);
        assert.equal(
            s.why.get("tests/arc.test.ts"),
            "imports components/arc/values.ts, which imports components/arc/selector.ts, which names select-buildkit.sh",
        );
        assert.deepEqual(select(["docs/local.md"]).root, ["tests/docs-drift.test.ts"]);
        assert.deepEqual(select(["README.md"]).root, ["tests/docs-drift.test.ts"]);
        // A test is a TypeScript file too: whatever reads every one runs with it.
        assert.deepEqual(select(["tests/wiring.test.ts"]).root, ["tests/tree.test.ts", "tests/wiring.test.ts"]);
        assert.deepEqual(select(["LICENSE"]).root, []);
    });

    it("policy files select the pack's tests that run it, from policy/; a shared input (lock file, tsconfig, mocks, environment) selects everything", () => {
        const s = select(["policy/lib/relays.ts"]);
        assert.deepEqual([s.root, s.policy], [["tests/tree.test.ts"], ["policy/tests/pack.test.ts", "policy/tests/relays.test.ts"]]);
        assert.equal(s.why.get("policy/tests/relays.test.ts"), "imports policy/run.ts, which imports policy/policies.ts, which imports policy/lib/relays.ts");
        const tests = sources.filter((t) => t.file.endsWith(".test.ts"));
        for (const f of ["package-lock.json", "tsconfig.json", "tests/harness/mocks.ts", "tests/harness/environment.ts", "policy/.mocharc.json"]) {
            const all = select([f]);
            assert.equal(all.root.length + all.policy.length, tests.length, f);
        }
    });

    it("parses the imports it follows, and not an example in a comment; type-only imports only when asked for every import", () => {
        const source =
            '// import { a } from "./nope";\nimport { b } from "./yes";\nconst c = require("./req");\nexport * from "./re";\nimport type { T } from "./types";\n';
        assert.deepEqual(importSpecifiers(source).sort(), ["./re", "./req", "./types", "./yes"]);
        assert.deepEqual(importSpecifiers(source, { runtimeOnly: true }).sort(), ["./re", "./req", "./yes"]);
    });
});
