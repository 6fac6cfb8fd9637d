/**
 * `npm run bench:cache -- plan` and `npm run bench:cache -- report DIR`: the measured side of the
 * routing figures (docs/cache-metrics.md "Measured, not simulated").
 *
 * plan: the routing simulator's build sequence (scripts/routing-sim.ts: Zipf-skewed repositories, a
 * share of builds that change their dependency layer), one line per build, for scripts/bench-cache.sh
 * to replay as real builds through select-buildkit.
 *
 * report: reads bench-cache.sh's results.csv and each build's recorded progress stream, and prints
 * what the builds measured (a build "hits" when its dependency step came from the cache, the
 * simulator's notion of a hit; and the share of all steps cached, what the metrics show) next to the
 * simulator's prediction for that very sequence, with the same number of builders, for select-buildkit
 * and for the Service's random choice.
 *
 * Environment (both): SEED, REPOSITORIES, ZIPF, CHANGE, BUILDS as in bench:routing. The simulator runs
 * with a cache large enough never to evict, as the bench's tiny images never are.
 */
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_WORKLOAD, population, sample, seededRandom, simulate, type Workload } from "./routing-sim";

export function benchWorkload(env: NodeJS.ProcessEnv = process.env): Workload & { builds: number } {
    const num = (name: string, fallback: number) => (env[name] === undefined ? fallback : Number(env[name]));
    return {
        ...DEFAULT_WORKLOAD,
        seed: num("SEED", DEFAULT_WORKLOAD.seed),
        repositories: num("REPOSITORIES", 8),
        zipfExponent: num("ZIPF", DEFAULT_WORKLOAD.zipfExponent),
        changeProbability: num("CHANGE", DEFAULT_WORKLOAD.changeProbability),
        // Far above the bench's total footprint: the simulator evicts nothing, like the real daemons here.
        volumeGiB: 1_000_000,
        builds: num("BUILDS", 40),
    };
}

export interface PlannedBuild {
    n: number;
    repository: string;
    version: number;
}

/** The first `builds` builds of simulate()'s sequence for this workload (same draws, same order). */
export function plan(w: Workload & { builds: number }): PlannedBuild[] {
    const pop = population(w);
    const draws = seededRandom(w.seed);
    const versions = new Array<number>(pop.keys.length).fill(0);
    return Array.from({ length: w.builds }, (_, i) => {
        const repository = sample(pop.cdf, draws());
        if (draws() < pop.changeProbability) versions[repository]++;
        return { n: i + 1, repository: pop.keys[repository], version: versions[repository] };
    });
}

export interface MeasuredBuild {
    n: number;
    repository: string;
    builder: string;
    fallback: boolean;
    status: string;
    cached: number;
    total: number;
    /** The dependency step came from the cache. */
    hit: boolean;
}

/** Whether the build's dependency step (its name holds "dependencies of") was cached, from the recorded stream. */
export function dependencyStepCached(progress: string): boolean {
    const cached = new Set<string>();
    const names = new Map<string, string>();
    for (const line of progress.split("\n")) {
        if (!line.trim()) continue;
        const status = JSON.parse(line) as Record<string, unknown>;
        const vertexes = (status.vertexes ?? status.Vertexes ?? []) as Record<string, unknown>[];
        for (const v of vertexes) {
            const digest = String(v.digest ?? v.Digest);
            const name = String(v.name ?? v.Name ?? "");
            if (name) names.set(digest, name);
            if (v.cached ?? v.Cached) cached.add(digest);
        }
    }
    return [...names].some(([digest, name]) => name.includes("dependencies of") && cached.has(digest));
}

export function readResults(dir: string): MeasuredBuild[] {
    const [header, ...rows] = fs.readFileSync(path.join(dir, "results.csv"), "utf8").trim().split("\n");
    const columns = header.split(",");
    return rows.map((row) => {
        const cell = Object.fromEntries(row.split(",").map((value, i) => [columns[i], value]));
        const progress = path.join(dir, `${cell.n}.progress.json`);
        return {
            n: Number(cell.n),
            repository: cell.repository,
            builder: cell.builder,
            fallback: cell.fallback === "true",
            status: cell.status,
            cached: Number(cell.cached || 0),
            total: Number(cell.total || 0),
            hit: fs.existsSync(progress) && dependencyStepCached(fs.readFileSync(progress, "utf8")),
        };
    });
}

/** Steps cached over steps, summed over every arc_buildkit group of a Pushgateway's /metrics text: what the dashboard shows. */
export function metricsHitRate(exposition: string): { cached: number; total: number } {
    const sum = (name: string) =>
        exposition
            .split("\n")
            .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
            .reduce((a, l) => a + Number(l.split(" ").pop()), 0);
    return { cached: sum("arc_buildkit_build_cached_steps_total"), total: sum("arc_buildkit_build_steps_total") };
}

export function reportTable(measured: MeasuredBuild[], w: Workload & { builds: number }, metrics?: { cached: number; total: number }): string {
    const builders = new Set(measured.map((m) => m.builder).filter((b) => b !== "service")).size;
    const ordinals = Array.from({ length: builders }, (_, i) => i);
    const phase = [{ label: "bench", existing: ordinals, ready: ordinals, builds: measured.length, measured: true }];
    const pop = population(w);
    const [selector] = simulate(pop, "selector", phase, w.seed);
    const [service] = simulate(pop, "service", phase, w.seed);
    const ok = measured.filter((m) => m.status === "success");
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    const stepRate =
        measured.reduce((a, m) => a + m.cached, 0) /
        Math.max(
            1,
            measured.reduce((a, m) => a + m.total, 0),
        );
    const perBuilder = [...new Set(measured.map((m) => m.builder))]
        .sort()
        .map((b) => `${b} ${measured.filter((m) => m.builder === b).length}`)
        .join(", ");
    return [
        `| builds | builders | measured: dependency step cached | simulated: select-buildkit | simulated: Service (random) | measured: steps cached | metrics: steps cached | fallbacks | builds per builder |`,
        `| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |`,
        `| ${measured.length} (${ok.length} succeeded) | ${builders} | ${pct(ok.filter((m) => m.hit).length / Math.max(1, ok.length))} | ${pct(selector.hitRate)} | ${pct(service.hitRate)} | ${pct(stepRate)} | ${metrics ? `${pct(metrics.cached / Math.max(1, metrics.total))} (${metrics.cached}/${metrics.total})` : "not pushed"} | ${measured.filter((m) => m.fallback).length} | ${perBuilder} |`,
    ].join("\n");
}

async function main(): Promise<void> {
    const [command, dir] = process.argv.slice(2);
    const w = benchWorkload();
    if (command === "plan") {
        for (const b of plan(w)) console.log(`${b.n} ${b.repository} ${b.version}`);
    } else if (command === "report" && dir) {
        // PUSHGATEWAY_URL: where the bench's builds were pushed; the table then shows what the metrics say.
        const url = process.env.PUSHGATEWAY_URL;
        const metrics = url ? metricsHitRate(await (await fetch(`${url}/metrics`)).text()) : undefined;
        console.log(reportTable(readResults(dir), w, metrics));
    } else {
        console.error("usage: bench:cache -- plan | report DIR   (SEED, REPOSITORIES, ZIPF, CHANGE, BUILDS as for the plan; PUSHGATEWAY_URL)");
        process.exit(2);
    }
}

if (require.main === module) void main();
