// Which test files touch what changed: the selection behind `npm run test:quick` (`npm test -- --changed`).
//
//   tsx scripts/changed-tests.ts [--base <git ref>]   prints `changed <file>`, `root <file>` and
//                                                      `policy <file>` lines, then `why <test> <reason>`
//                                                      lines, for scripts/test.sh
//
// A test touches a changed file when it is that file, or when the file is among the modules the test
// imports, directly or through other modules (components/buildkit/gc.ts selects the tests that import
// gc.ts, and those that import toml.ts, which imports gc.ts; a change to config/sizing.ts reaches the
// tests of every component that uses it). A file that is not TypeScript touches the modules and tests
// that name it in a string (select-buildkit.sh is read by components/arc/selector.ts, so it selects the
// tests that import the selector; a bare name is the nearest file of that name up the tree). A module
// that reads files it does not name (a folder it walks, a name built from pieces) says so in a comment
// line `// test:quick reads: <glob> ...` (`*` within a folder, `**` across folders), and touches every
// file its globs match: the harness reads the stack files, the corpora's loaders their folders, the
// whole-tree checks (docs-drift, import-graph, test-script) what they walk. A change to what every test
// depends on (package.json, the lock file, tsconfig, .mocharc.json, the test harness's mocks and
// environment) selects all of them.
// The imports are not followed through the program's entry points (program.ts, index.ts): the tests
// that reach a component only through the whole program (the declared-resources snapshot, the schema
// and wiring tests) are left to `npm test`; this loop is for feedback while editing. A change to an
// entry point itself selects them, and a module only an entry point imports (a component's index.ts)
// selects the tests that import from its folder and run the program. The pack's tests judge through its runner
// (policy/run.ts), so a change anywhere in the pack selects each test that runs it.
// Everything that decides is a pure exported function (tests/test-script.test.ts).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** Module specifiers of `import ... from "x"`, `export ... from "x"`, `import "x"`, `require("x")` and `import("x")`. */
export function importSpecifiers(source: string, opts: { runtimeOnly?: boolean } = {}): string[] {
    // Comments first, so an example in a doc comment is not an import.
    let code = withoutComments(source);
    // `import type` and `export type` are erased from the JavaScript: what they name cannot change what a test does.
    if (opts.runtimeOnly) code = code.replace(/^\s*(?:import|export)\s+type\s[^;]*?\sfrom\s+["'][^"']+["']/gm, "");
    const patterns = [
        /^\s*(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["']/gm,
        /^\s*import\s+["']([^"']+)["']/gm,
        /\brequire\(\s*["']([^"']+)["']\s*\)/g,
        /\bimport\(\s*["']([^"']+)["']\s*\)/g,
    ];
    return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((m) => m[1]));
}

/** The source without block comments and whole-line `//` comments (a comment's example is not code). */
export function withoutComments(source: string): string {
    return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/** The globs of a module's `// test:quick reads: <glob> ...` lines. */
export function readsGlobs(source: string): string[] {
    return [...source.matchAll(/^\s*\/\/\s*test:quick reads:(.*)$/gm)].flatMap((m) => m[1].trim().split(/\s+/).filter(Boolean));
}

/** A glob as a regular expression over repository paths: `**` any folders, `*` and `?` within one. */
export function globPattern(glob: string): RegExp {
    let re = "";
    for (let i = 0; i < glob.length; i++) {
        const c = glob[i];
        if (c === "*" && glob[i + 1] === "*") {
            // `**/` matches no folder too; a trailing `**` anything.
            re += glob[i + 2] === "/" ? "(?:.*/)?" : ".*";
            i += glob[i + 2] === "/" ? 2 : 1;
        } else if (c === "*") re += "[^/]*";
        else if (c === "?") re += "[^/]";
        else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
    return new RegExp(`^${re}$`);
}

/**
 * Does `code` (of the module `reader`) name `file` in a string: the file's path, or a path ending in its
 * name (`"select-buildkit.sh"`, `".github/workflows/deploy.yml"`)? A bare name counts for the nearest file
 * of that name up the tree from the reader (so `"README.md"` in policy/ is policy/README.md), or for any
 * file of that name when none is up the tree (a test naming a component's script) and the name has an
 * extension.
 */
export function namesFile(code: string, reader: string, file: string, exists: (file: string) => boolean): boolean {
    const name = path.posix.basename(file);
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    for (const m of code.matchAll(new RegExp(`["'\`]((?:[^"'\`\\s]*/)?${escaped})["'\`]`, "g"))) {
        const named = m[1];
        if (named.includes("/")) {
            if (file === named || file.endsWith(`/${named}`) || path.posix.normalize(path.posix.join(path.posix.dirname(reader), named)) === file) return true;
            continue;
        }
        let nearest: string | undefined;
        for (let dir = path.posix.dirname(reader); ; dir = path.posix.dirname(dir)) {
            const candidate = dir === "." ? name : `${dir}/${name}`;
            if (exists(candidate)) {
                nearest = candidate;
                break;
            }
            if (dir === ".") break;
        }
        // With no file of that name up the tree, any file of that name; not for a name without an
        // extension (`"run"` is a word in many strings, not .ci/run).
        if (nearest === file || (nearest === undefined && name.includes("."))) return true;
    }
    return false;
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
    // Loaded by .mocharc.json before every test file.
    /^tests\/harness\/environment\.ts$/,
];

/** Entry points whose imports are not followed: everything is behind them (see the top of this file). */
export const ENTRY_POINTS: ReadonlySet<string> = new Set(["index.ts", "program.ts"]);

export interface SourceFile {
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

/**
 * The tests that touch any of `changed` (repository-relative paths), as described at the top of this
 * file. `sources` holds the repository's TypeScript files, tests among them; `exists` answers for any
 * file of the repository.
 */
export function selectTests(changed: readonly string[], sources: readonly SourceFile[], exists: (file: string) => boolean): Selection {
    const why = new Map<string, string>();
    const pick = (test: string, reason: string) => {
        if (!why.has(test)) why.set(test, reason);
    };
    const text = new Map(sources.map((s) => [s.file, withoutComments(s.source)]));
    const reads = new Map(sources.map((s) => [s.file, readsGlobs(s.source)]).filter(([, globs]) => globs.length > 0) as [string, string[]][]);
    const imports = new Map(
        sources.map((s) => [
            s.file,
            importSpecifiers(s.source, { runtimeOnly: true })
                .map((specifier) => resolveImport(s.file, specifier, exists))
                .filter((f): f is string => f !== undefined && text.has(f)),
        ]),
    );
    // Each test's modules: what it imports, and what those import, up to the entry points.
    const reach = (test: string, throughEntryPoints = false): Map<string, string> => {
        const via = new Map<string, string>([[test, test]]);
        const queue = [test];
        while (queue.length > 0) {
            const file = queue.shift()!;
            if (file !== test && !throughEntryPoints && ENTRY_POINTS.has(file)) continue;
            for (const next of imports.get(file) ?? []) {
                if (via.has(next)) continue;
                via.set(next, file);
                queue.push(next);
            }
        }
        return via;
    };
    const tests = sources.filter((s) => isTest(s.file)).map((s) => ({ file: s.file, source: s.source, via: reach(s.file) }));
    /** How a test reaches a module: `imports a.ts` or `imports b.ts, which imports a.ts`. */
    const chain = (via: Map<string, string>, test: string, module: string): string => {
        const steps = [module];
        while (via.get(steps[0]) !== test) steps.unshift(via.get(steps[0])!);
        return steps.length === 1 ? `imports ${module}` : `imports ${steps[0]}, which imports ${steps.slice(1).join(", which imports ")}`;
    };
    for (const file of changed) {
        if (EVERYTHING.some((re) => re.test(file))) {
            for (const t of tests) pick(t.file, `${file} is used by every test`);
            continue;
        }
        if (isTest(file) && tests.some((t) => t.file === file)) pick(file, "changed");
        const name = path.posix.basename(file);
        // Modules that read it without importing it: by a glob they declare, or (not TypeScript) by naming it.
        const readers = new Map<string, string>();
        for (const [reader, globs] of reads) {
            const glob = globs.find((g) => globPattern(g).test(file));
            if (glob !== undefined && reader !== file) readers.set(reader, `reads ${glob}`);
        }
        if (!file.endsWith(".ts") && !/^index\.\w+$/.test(name)) {
            for (const [reader, code] of text) {
                if (!readers.has(reader) && namesFile(code, reader, file, exists)) readers.set(reader, `names ${name}`);
            }
        }
        for (const t of tests) {
            const reader = readers.has(t.file) ? t.file : [...readers.keys()].find((r) => t.via.has(r));
            if (reader === t.file) pick(t.file, readers.get(reader)!);
            else if (reader !== undefined) pick(t.file, `${chain(t.via, t.file, reader)}, which ${readers.get(reader)}`);
        }
        if (file.endsWith(".ts")) {
            const reaching = tests.filter((t) => t.file !== file && t.via.has(file));
            for (const t of reaching) pick(t.file, chain(t.via, t.file, file));
            // A module only an entry point imports (a component's index.ts): the tests of its folder that run
            // it through the entry point (all of the folder's tests when none does).
            const folder = path.posix.dirname(file);
            if (reaching.length === 0 && !isTest(file)) {
                const ofFolder = tests.filter((t) => (imports.get(t.file) ?? []).some((f) => path.posix.dirname(f) === folder));
                const running = ofFolder.filter((t) => reach(t.file, true).has(file));
                const neighbours = running.length > 0 ? running : ofFolder;
                const reason =
                    running.length > 0
                        ? `imports from ${folder}/ and runs ${name} through the program`
                        : `imports from ${folder}/ (only an entry point imports ${name})`;
                for (const t of neighbours) pick(t.file, reason);
                // No test imports from its folder either: the tests that reach it through the entry points.
                if (neighbours.length === 0) {
                    for (const t of tests) {
                        const through = reach(t.file, true);
                        if (through.has(file)) pick(t.file, chain(through, t.file, file));
                    }
                }
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
    const sources = [...files].filter((f) => f.endsWith(".ts")).map((file) => ({ file, source: fs.readFileSync(path.join(root, file), "utf8") }));
    const selection = selectTests(changed, sources, (f) => files.has(f));
    for (const f of changed) console.log(`changed ${f}`);
    for (const f of selection.root) console.log(`root ${f}`);
    for (const f of selection.policy) console.log(`policy ${path.posix.relative("policy", f)}`);
    for (const [test, reason] of selection.why) console.log(`why ${test} ${reason}`);
    return 0;
}

if (require.main === module) {
    try {
        process.exitCode = main(process.argv.slice(2));
    } catch (err) {
        // A bad --base or a directory outside git: one line, not a stack trace.
        console.error(`npm run test:quick: ${(err as Error).message}`);
        process.exitCode = 2;
    }
}
