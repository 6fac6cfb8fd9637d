import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "./harness/program";
// The one reading of a file's imports, shared with the inner loop's test selection.
import { importSpecifiers } from "../scripts/changed-tests";
// test:quick reads: **/*.ts

/**
 * The layers, drawn from the source itself: contracts/ at the bottom (imports nothing of ours),
 * config/ above it, components/ above config, program.ts and index.ts on top; tests and scripts
 * may import anything. Every relative import of every .ts file outside node_modules is an edge.
 */

function sourceFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            return entry.name === "node_modules" || entry.name.startsWith(".") ? [] : sourceFiles(full);
        }
        return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [full] : [];
    });
}

function resolve(from: string, specifier: string): string | undefined {
    if (!specifier.startsWith(".")) {
        return undefined;
    }
    const base = path.resolve(path.dirname(from), specifier);
    return [`${base}.ts`, path.join(base, "index.ts"), base].find((candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile());
}

const rel = (file: string) => path.relative(REPO_ROOT, file).split(path.sep).join("/");

function importGraph(): Map<string, string[]> {
    const graph = new Map<string, string[]>();
    for (const file of sourceFiles(REPO_ROOT)) {
        const targets = importSpecifiers(fs.readFileSync(file, "utf8"))
            .map((specifier) => resolve(file, specifier))
            .filter((target): target is string => target !== undefined && target.endsWith(".ts"));
        graph.set(rel(file), [...new Set(targets.map(rel))]);
    }
    return graph;
}

function cycles(graph: Map<string, string[]>): string[][] {
    const found: string[][] = [];
    const state = new Map<string, "visiting" | "done">();
    const stack: string[] = [];
    const visit = (node: string) => {
        state.set(node, "visiting");
        stack.push(node);
        for (const next of graph.get(node) ?? []) {
            if (state.get(next) === "visiting") {
                found.push([...stack.slice(stack.indexOf(next)), next]);
            } else if (!state.has(next)) {
                visit(next);
            }
        }
        stack.pop();
        state.set(node, "done");
    };
    for (const node of graph.keys()) {
        if (!state.has(node)) {
            visit(node);
        }
    }
    return found;
}

describe("import graph: layers point one way", () => {
    const graph = importGraph();
    const edges = [...graph].flatMap(([from, tos]) => tos.map((to) => ({ from, to })));

    it("reads the real tree (a parser that finds nothing would pass everything)", () => {
        assert.ok(graph.size > 100, `only ${graph.size} files`);
        assert.ok(edges.some((e) => e.from === "program.ts" && e.to === "components/buildkit/index.ts"));
        assert.ok(edges.some((e) => e.from === "config/schema.ts" && e.to === "contracts/index.ts"));
        assert.deepStrictEqual(importSpecifiers('import type { A } from "./a";\nexport * from "./b";\nimport c = require("./c");\n// import "./d";'), [
            "./a",
            "./b",
            "./c",
        ]);
    });

    it("has no cycles", () => {
        assert.deepStrictEqual(cycles(graph), []);
    });

    it("contracts/ imports nothing of the project", () => {
        assert.deepStrictEqual(
            edges.filter((e) => e.from.startsWith("contracts/") && !e.to.startsWith("contracts/")),
            [],
        );
    });

    it("config/ imports only config/ and contracts/ (never components/ or the program)", () => {
        assert.deepStrictEqual(
            edges.filter((e) => e.from.startsWith("config/") && !/^(config|contracts)\//.test(e.to)),
            [],
        );
    });

    it("components/ never import program.ts or index.ts", () => {
        assert.deepStrictEqual(
            edges.filter((e) => e.from.startsWith("components/") && /^(program|index)\.ts$/.test(e.to)),
            [],
        );
    });

    it("the program's layers never import tests, scripts or the policy pack", () => {
        assert.deepStrictEqual(
            edges.filter((e) => /^(contracts|config|components)\/|^(program|index)\.ts$/.test(e.from) && /^(tests|scripts|policy|smoke)\//.test(e.to)),
            [],
        );
    });

    it("the policy pack's rules never import the test-and-tooling runner (policy/run.ts)", () => {
        assert.deepStrictEqual(
            edges.filter((e) => /^policy\/(index|policies)\.ts$|^policy\/(policies|lib)\//.test(e.from) && e.to === "policy/run.ts"),
            [],
        );
    });
});
