// A small run of `npm run bench:routing`'s simulation (scripts/routing-sim.ts), asserting the goal:
// select-buildkit's hit rate within 5% of one builder's at every N, and the share of keys each scale event moves.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { DEFAULT_WORKLOAD, LruCache, population, scaleEvents, seededRandom, steadyState } from "../scripts/routing-sim";
import { importSpecifiers, resolveImport } from "../scripts/changed-tests";

/** sha256 of Node's version and every repository file `entry` imports, transitively (paths and contents). */
function sourcesKey(root: string, entry: string): { key: string; files: string[] } {
    const isFile = (f: string) => fs.existsSync(path.join(root, f)) && fs.statSync(path.join(root, f)).isFile();
    const seen = new Set<string>();
    const todo = [entry];
    while (todo.length > 0) {
        const file = todo.pop()!;
        if (seen.has(file)) continue;
        seen.add(file);
        for (const specifier of importSpecifiers(fs.readFileSync(path.join(root, file), "utf8"))) {
            const target = resolveImport(file, specifier, isFile);
            if (target) todo.push(target);
        }
    }
    const files = [...seen].sort();
    const hash = createHash("sha256").update(process.version);
    for (const file of files) hash.update(`\0${file}\0`).update(fs.readFileSync(path.join(root, file)));
    return { key: hash.digest("hex"), files };
}

describe("bench:routing simulation (small run)", function () {
    this.timeout(120_000);
    const pop = population({ ...DEFAULT_WORKLOAD, repositories: 200 });
    const steady = steadyState(pop, { warmup: 10_000, builds: 20_000, maxBuilders: 8, seed: 7 });

    it("select-buildkit keeps at least 95% of one builder's hit rate at every N = 1..8; random routing falls behind", () => {
        assert.deepEqual(
            steady.map((r) => r.builders),
            [1, 2, 3, 4, 5, 6, 7, 8],
        );
        for (const r of steady) {
            assert.ok(r.selectorVsSingle >= 0.95, `N=${r.builders}: ${r.selector} vs one builder's ${r.single}`);
            if (r.builders >= 2) assert.ok(r.service < r.selector, `N=${r.builders}: random ${r.service} >= selector ${r.selector}`);
        }
        // With one builder, both routings are the same builder.
        assert.equal(steady[0].service, steady[0].single);
        assert.equal(steady[0].selector, steady[0].single);
        // Random routing loses hits as N grows: a changed cache is warm on one builder only.
        assert.ok(steady[7].service < steady[1].service);
    });

    it("scale events move about 1/(N+1) of the keys (hash mod N moves most of them); a restart moves one builder's keys and back", () => {
        const events = scaleEvents(pop, { warmup: 10_000, window: 5_000, maxBuilders: 8, restartAt: 4, seed: 7 });
        for (const e of events) {
            const m = /(\d+) -> (\d+)/.exec(e.event);
            const share = m ? 1 / Math.max(Number(m[1]), Number(m[2])) : 1 / 4;
            const sd = Math.sqrt((share * (1 - share)) / pop.keys.length);
            assert.ok(Math.abs(e.keysMovedSelector - share) < 4 * sd, `${e.event}: moved ${e.keysMovedSelector}, expected about ${share}`);
            if (m && Math.max(Number(m[1]), Number(m[2])) >= 3) assert.ok(e.keysMovedModulo > 2 * e.keysMovedSelector, e.event);
        }
        const down = events.find((e) => e.event.endsWith("while down"))!;
        const back = events.find((e) => e.event.endsWith("back, cache kept"))!;
        assert.ok(back.selector > down.selector, "the restarted builder comes back with its cache");
    });

    it("is deterministic: the same seed gives the same figures", () => {
        assert.deepEqual(
            steadyState(pop, { warmup: 2_000, builds: 4_000, maxBuilders: 3, seed: 11 }),
            steadyState(pop, { warmup: 2_000, builds: 4_000, maxBuilders: 3, seed: 11 }),
        );
        const a = seededRandom(1);
        const b = seededRandom(1);
        assert.deepEqual([a(), a(), a()], [b(), b(), b()]);
    });

    it("LRU cache: evicts the least recently used entry past its capacity", () => {
        const cache = new LruCache(10);
        assert.equal(cache.access(1, 4), false);
        assert.equal(cache.access(2, 4), false);
        assert.equal(cache.access(1, 4), true); // 1 is now the most recent
        assert.equal(cache.access(3, 4), false); // 12 > 10: evicts 2
        assert.equal(cache.access(1, 4), true);
        assert.equal(cache.access(2, 4), false);
    });
});

describe("bench:routing figures in docs/benchmarks.md", function () {
    this.timeout(180_000);
    it("reuses a run only for the same sources: the key covers every file the simulation imports, transitively", () => {
        const root = path.join(__dirname, "..");
        const { key, files } = sourcesKey(root, "scripts/bench-routing.ts");
        assert.match(key, /^[0-9a-f]{64}$/);
        // gc.ts and rendezvous.ts reach the simulation only through routing-sim.ts.
        for (const f of ["scripts/bench-routing.ts", "scripts/routing-sim.ts", "components/buildkit/gc.ts", "components/arc/rendezvous.ts"]) {
            assert.ok(files.includes(f), f);
        }
        assert.notEqual(sourcesKey(root, "scripts/routing-sim.ts").key, key, "another entry, another key");
    });

    it("match a fresh run of npm run bench:routing (defaults, fixed seed)", () => {
        const root = path.join(__dirname, "..");
        const env = Object.fromEntries(
            Object.entries(process.env).filter(([k]) => !["SEED", "REPOSITORIES", "ZIPF", "CHANGE", "VOLUME_GIB", "BUILDS", "WARMUP", "WINDOW"].includes(k)),
        );
        // The run is a pure function of its sources (seeded) and Node's version: a run of the same sources is
        // reused from node_modules/.cache (a fresh clone, or any change to the simulation, runs it again).
        const cache = path.join(root, "node_modules", ".cache", "bench-routing", `${sourcesKey(root, "scripts/bench-routing.ts").key}.out`);
        let stdout = fs.existsSync(cache) ? fs.readFileSync(cache, "utf8") : undefined;
        if (stdout === undefined) {
            const run = spawnSync(
                process.execPath,
                [path.join(root, "node_modules", "tsx", "dist", "cli.mjs"), path.join(root, "scripts", "bench-routing.ts")],
                {
                    cwd: root,
                    env,
                    encoding: "utf8",
                },
            );
            assert.equal(run.status, 0, run.stderr);
            stdout = run.stdout;
            fs.mkdirSync(path.dirname(cache), { recursive: true });
            fs.writeFileSync(cache, stdout);
        }
        const r = { stdout };
        const readme = fs.readFileSync(path.join(root, "docs", "benchmarks.md"), "utf8");
        const rows = r.stdout.split("\n").filter((l) => l.startsWith("| ") && /\d/.test(l));
        assert.ok(rows.length >= 8 + 16, `expected the steady-state and scale-event rows, got ${rows.length}`);
        for (const row of rows) assert.ok(readme.includes(row), `docs/benchmarks.md lacks the bench row:\n${row}`);
        assert.match(r.stdout, /Goal \(.*\): met/);
    });
});
