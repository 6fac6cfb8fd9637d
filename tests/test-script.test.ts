// scripts/test.sh (`npm test`) and its inner loop (`npm run test:quick`, scripts/changed-tests.ts): the part
// names its header promises work, the split of the mocha suite loses no file, the npm scripts keep the
// caches the gate relies on, every skipped test says why, and the change selection picks what it says.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { importSpecifiers, selectTests, TestFile } from "../scripts/changed-tests";

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
    const tests: TestFile[] = [
        { file: "tests/probe.test.ts", source: 'import { probeScript } from "../components/probe";\n' },
        { file: "tests/cache-size.test.ts", source: 'import { gcPolicy } from "../components/buildkit/gc";\nimport { x } from "./harness/program";\n' },
        { file: "tests/rollout.test.ts", source: 'import { rollout } from "../components/buildkit/rollout";\n' },
        { file: "tests/select-buildkit.test.ts", source: 'import { SELECTOR_SCRIPT_PATH } from "../components/arc/selector"; // runs select-buildkit.sh\n' },
        { file: "tests/docs-drift.test.ts", source: 'const README = "README.md";\n' },
        { file: "tests/wiring.test.ts", source: 'import { evaluate } from "./harness/program";\n' },
        { file: "policy/tests/pack.test.ts", source: 'import { policies } from "../policies";\n' },
    ];
    const files = new Set([
        "components/probe/index.ts",
        "components/buildkit/gc.ts",
        "components/buildkit/rollout.ts",
        "components/buildkit/workload.ts",
        "components/arc/selector.ts",
        "components/arc/select-buildkit.sh",
        "tests/harness/program.ts",
        "policy/policies.ts",
        "policy/policies/tls.ts",
    ]);
    const select = (changed: string[]) => selectTests(changed, tests, (f) => files.has(f));

    it("a component file selects the tests that import from its folder, not those that reach it only through the program", () => {
        const s = select(["components/buildkit/workload.ts"]);
        assert.deepEqual(s.root, ["tests/cache-size.test.ts", "tests/rollout.test.ts"]);
        assert.equal(s.why.get("tests/rollout.test.ts"), "imports from components/buildkit/");
        assert.deepEqual(select(["components/probe/index.ts"]).root, ["tests/probe.test.ts"]);
    });

    it("a non-TypeScript file selects the tests that name it; a Markdown page the docs-drift test; a test itself", () => {
        assert.deepEqual(select(["components/arc/select-buildkit.sh"]).root, ["tests/select-buildkit.test.ts"]);
        assert.deepEqual(select(["docs/local.md"]).root, ["tests/docs-drift.test.ts"]);
        assert.deepEqual(select(["README.md"]).root, ["tests/docs-drift.test.ts"]);
        assert.deepEqual(select(["tests/wiring.test.ts"]).root, ["tests/wiring.test.ts"]);
        assert.deepEqual(select(["LICENSE"]).root, []);
    });

    it("policy files select the pack's tests, run from policy/; a shared input (lock file, tsconfig, mocks) selects everything", () => {
        const s = select(["policy/policies.ts"]);
        assert.deepEqual([s.root, s.policy], [[], ["policy/tests/pack.test.ts"]]);
        for (const f of ["package-lock.json", "tsconfig.json", "tests/harness/mocks.ts", "policy/.mocharc.json"]) {
            const all = select([f]);
            assert.equal(all.root.length + all.policy.length, tests.length, f);
        }
    });

    it("parses the imports it follows, and not an example in a comment", () => {
        assert.deepEqual(
            importSpecifiers('// import { a } from "./nope";\nimport { b } from "./yes";\nconst c = require("./req");\nexport * from "./re";\n').sort(),
            ["./re", "./req", "./yes"],
        );
    });
});
