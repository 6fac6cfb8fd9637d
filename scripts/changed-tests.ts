// Which test files touch what changed: the selection behind `npm run test:quick` (`npm test -- --changed`).
//
//   tsx scripts/changed-tests.ts [--base <git ref>]   prints `root <file>` and `policy <file>` lines, then
//                                                      `why <test> <reason>` lines, for scripts/test.sh
//
// A test touches a changed file when it is that file, when it imports a module of the changed file's
// folder directly (components/buildkit/gc.ts selects every test that imports anything from
// components/buildkit/), or when its text names the file (select-buildkit.sh, README.md, a workflow).
// Markdown pages select the docs-drift test, which reads every page. A change to what every test depends
// on (package.json, the lock file, tsconfig, .mocharc.json, the test harness's mocks) selects all of them.
// Tests that reach a file only through program.ts (the whole-program snapshot, schema and wiring tests)
// are not selected for a component change: `npm test` runs them; this loop is for feedback while editing.
// Everything that decides is a pure exported function (tests/changed-tests.test.ts).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** Module specifiers of `import ... from "x"`, `export ... from "x"`, `import "x"`, `require("x")` and `import("x")`. */
export function importSpecifiers(source: string): string[] {
    // Comments first, so an example in a doc comment is not an import.
    const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    const patterns = [
        /^\s*(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["']/gm,
        /^\s*import\s+["']([^"']+)["']/gm,
        /\brequire\(\s*["']([^"']+)["']\s*\)/g,
        /\bimport\(\s*["']([^"']+)["']\s*\)/g,
    ];
    return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((m) => m[1]));
}

/** A relative specifier resolved against the importing file, among the repository's files (posix paths). */
export function resolveImport(from: string, specifier: string, exists: (file: string) => boolean): string | undefined {
    if (!specifier.startsWith(".")) return undefined;
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
    return [`${base}.ts`, `${base}/index.ts`, base].find(exists);
}

/** Changes that every test depends on: any of them selects the whole suite. */
const EVERYTHING = [
    /^package(-lock)?\.json$/,
    /^policy\/package\.json$/,
    /(^|\/)tsconfig[\w.]*\.json$/,
    /(^|\/)\.mocharc\.json$/,
    /^tests\/harness\/mocks\.ts$/,
];

export interface TestFile {
    /** repository-relative path */
    file: string;
    /** the file's text */
    source: string;
}

export interface Selection {
    /** tests under tests/, run from the repository root */
    root: string[];
    /** tests under policy/tests/, run from policy/ */
    policy: string[];
    /** test → the first reason it was selected */
    why: Map<string, string>;
}

const isTest = (f: string) => /^(policy\/)?tests\/.*\.test\.ts$/.test(f);

/** The tests that touch any of `changed` (repository-relative paths), as described at the top of this file. */
export function selectTests(changed: readonly string[], tests: readonly TestFile[], exists: (file: string) => boolean): Selection {
    const why = new Map<string, string>();
    const pick = (test: string, reason: string) => {
        if (!why.has(test)) why.set(test, reason);
    };
    const folders = new Map(
        tests.map((t) => [
            t.file,
            new Set(
                importSpecifiers(t.source)
                    .map((s) => resolveImport(t.file, s, exists))
                    .filter((f): f is string => f !== undefined)
                    .map((f) => path.posix.dirname(f)),
            ),
        ]),
    );
    for (const file of changed) {
        if (EVERYTHING.some((re) => re.test(file))) {
            for (const t of tests) pick(t.file, `${file} is used by every test`);
            continue;
        }
        if (isTest(file) && tests.some((t) => t.file === file)) pick(file, "changed");
        const name = path.posix.basename(file);
        for (const t of tests) {
            if (file.endsWith(".ts") && folders.get(t.file)!.has(path.posix.dirname(file)) && t.file !== file) {
                pick(t.file, `imports from ${path.posix.dirname(file)}/`);
            } else if (!/^index\.\w+$/.test(name) && !file.endsWith(".ts") && t.source.includes(name)) {
                pick(t.file, `names ${name}`);
            } else if (file.endsWith(".md") && t.file === "tests/docs-drift.test.ts") {
                pick(t.file, "reads every Markdown page");
            }
        }
    }
    const selected = [...why.keys()].sort();
    return { root: selected.filter((f) => f.startsWith("tests/")), policy: selected.filter((f) => f.startsWith("policy/")), why };
}

// ---------------------------------------------------------------------------------------------------
// Side effects below this line.

function git(root: string, args: string[]): string[] {
    const r = spawnSync("git", args, { cwd: root, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.trim()}`);
    return r.stdout.split("\n").filter(Boolean);
}

function main(argv: string[]): number {
    const root = path.resolve(__dirname, "..");
    const baseAt = argv.indexOf("--base");
    const base = baseAt >= 0 ? argv[baseAt + 1] : "HEAD";
    // Committed since base, staged, unstaged and new files: what a developer would call "what I changed".
    const changed = [...new Set([...git(root, ["diff", "--name-only", base, "--"]), ...git(root, ["ls-files", "--others", "--exclude-standard"])])];
    const files = new Set(
        [...git(root, ["ls-files"]), ...git(root, ["ls-files", "--others", "--exclude-standard"])].filter((f) => fs.existsSync(path.join(root, f))),
    );
    const tests = [...files].filter(isTest).map((file) => ({ file, source: fs.readFileSync(path.join(root, file), "utf8") }));
    const selection = selectTests(changed, tests, (f) => files.has(f));
    for (const f of changed) console.log(`changed ${f}`);
    for (const f of selection.root) console.log(`root ${f}`);
    for (const f of selection.policy) console.log(`policy ${path.posix.relative("policy", f)}`);
    for (const [test, reason] of selection.why) console.log(`why ${test} ${reason}`);
    return 0;
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2));
}
