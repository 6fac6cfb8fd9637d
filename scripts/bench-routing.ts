/**
 * `npm run bench:routing`: cache-hit rates of the BuildKit Service's random routing and of
 * select-buildkit's rendezvous hashing, over a simulated workload (scripts/routing-sim.ts), and the
 * share of repositories each scale event moves. Deterministic: the same SEED prints the same figures.
 *
 *   npm run bench:routing
 *   SEED=7 REPOSITORIES=3000 npm run bench:routing
 */
import { performance } from "perf_hooks";
import { DEFAULT_WORKLOAD, population, scaleEvents, steadyState, Workload } from "./routing-sim";

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const numberFromEnv = (name: string, fallback: number) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const workload: Workload = {
    ...DEFAULT_WORKLOAD,
    repositories: numberFromEnv("REPOSITORIES", DEFAULT_WORKLOAD.repositories),
    zipfExponent: numberFromEnv("ZIPF", DEFAULT_WORKLOAD.zipfExponent),
    changeProbability: numberFromEnv("CHANGE", DEFAULT_WORKLOAD.changeProbability),
    volumeGiB: numberFromEnv("VOLUME_GIB", DEFAULT_WORKLOAD.volumeGiB),
    seed: numberFromEnv("SEED", DEFAULT_WORKLOAD.seed),
};
const BUILDS = numberFromEnv("BUILDS", 100_000);
const WARMUP = numberFromEnv("WARMUP", 50_000);
const WINDOW = numberFromEnv("WINDOW", 20_000);

const row = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;

const started = performance.now();
const pop = population(workload);
const totalGiB = pop.footprints.reduce((a, b) => a + b, 0) / 2 ** 30;

console.log(
    `Workload: ${workload.repositories} repositories, build frequency ~ 1/rank^${workload.zipfExponent}, warm-cache footprint log-normal ` +
        `(median ${workload.medianFootprintGiB} GiB, sigma ${DEFAULT_WORKLOAD.footprintSigma}, ${workload.minFootprintGiB}-${workload.maxFootprintGiB} GiB; ${totalGiB.toFixed(0)} GiB in all), ` +
        `${pct(workload.changeProbability)} of builds change their repository's cached layers, ` +
        `cache per builder ${(pop.capacityBytes / 2 ** 30).toFixed(1)} GiB (GC maxUsedSpace of a ${workload.volumeGiB}Gi volume), LRU eviction, seed ${workload.seed}.`,
);
console.log(`Steady state: ${WARMUP} warm-up builds, then ${BUILDS} measured builds per N.\n`);
console.log(
    row([
        "builders N",
        "one builder",
        "Service (random)",
        "select-buildkit",
        "select-buildkit / one builder",
        "busiest builder's share: Service",
        "select-buildkit",
    ]),
);
console.log(row(["---:", "---:", "---:", "---:", "---:", "---:", "---:"]));
const steady = steadyState(pop, { warmup: WARMUP, builds: BUILDS, maxBuilders: 8, seed: workload.seed });
for (const r of steady) {
    console.log(
        row([r.builders, pct(r.single), pct(r.service), pct(r.selector), r.selectorVsSingle.toFixed(3), pct(r.serviceBusiest), pct(r.selectorBusiest)]),
    );
}

console.log(`\nScale events (each followed by ${WINDOW} measured builds; hit rate over those builds):\n`);
console.log(row(["event", "keys moved: select-buildkit", "hash mod N", "expected", "hit rate: Service (random)", "select-buildkit"]));
console.log(row(["---", "---:", "---:", "---:", "---:", "---:"]));
for (const e of scaleEvents(pop, { warmup: WARMUP, window: WINDOW, maxBuilders: 8, restartAt: 4, seed: workload.seed })) {
    const m = /(\d+) -> (\d+)/.exec(e.event);
    // Rendezvous: scale-out N -> N+1 moves 1/(N+1) of the keys, scale-in N -> N-1 moves 1/N (the removed builder's).
    const expected = m ? 1 / Math.max(Number(m[1]), Number(m[2])) : 1 / 4;
    console.log(row([e.event, pct(e.keysMovedSelector), pct(e.keysMovedModulo), pct(expected), pct(e.service), pct(e.selector)]));
}
const worst = Math.min(...steady.map((r) => r.selectorVsSingle));
console.log(`\nGoal (select-buildkit within 5% of one builder's hit rate at every N): ${worst >= 0.95 ? "met" : "NOT met"}, worst ratio ${worst.toFixed(3)}.`);
console.log(`Ran in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
