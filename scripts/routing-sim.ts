/**
 * A deterministic simulation of build routing over per-builder caches, for `npm run bench:routing`
 * (scripts/bench-routing.ts) and its test. Pure: the same parameters and seed give the same figures.
 *
 * Model (stated in docs/benchmarks.md next to the figures):
 * - Repositories build with a Zipf-like skew: the r-th most active builds with weight 1/r^s.
 * - Each repository's warm cache (base layers, dependency layers, intermediate stages) has a fixed
 *   footprint, drawn once from a log-normal distribution. Some builds change it (a lockfile or
 *   base-image bump): such a build misses everywhere and writes a new version; the old one stays
 *   until evicted. A build is a hit when its repository's current cache is on the builder it lands
 *   on; a miss stores it there (evicting least recently used caches past the capacity), as
 *   BuildKit's garbage collection does, oldest first.
 * - Capacity per builder is what the program's GC plan lets the cache use on one volume
 *   (`maxUsedSpace`, 70% of it); a single builder has the same per-pod capacity.
 * - Routing: `service` picks a ready builder uniformly at random per build (kube-proxy's choice for
 *   a new connection); `selector` is rendezvous hashing over the ready builders (select-buildkit).
 * - Scale-in deletes the highest ordinal and its cache (the StatefulSet's PVC retention policy is
 *   `whenScaled: Delete`); scale-out adds an empty builder. A restart takes one builder out of the
 *   ready set for a while and brings it back with its cache intact (the PVC outlives the pod).
 */
import { createHash } from "crypto";
import { rankBuilders } from "../components/arc/rendezvous";
import { gcPlan } from "../components/buildkit/gc";
import { podHostnames } from "../components/pki/names";

const GIB = 2 ** 30;

export interface Workload {
    /** Number of repositories building on the service. */
    repositories: number;
    /** Zipf exponent of their build frequency. */
    zipfExponent: number;
    /** Median warm-cache footprint of one repository, GiB, and the log-normal spread (sigma of ln). */
    medianFootprintGiB: number;
    footprintSigma: number;
    /** Chance that a build changes its repository's cached layers (dependencies, base image). */
    changeProbability: number;
    /** Bounds of a footprint, GiB. */
    minFootprintGiB: number;
    maxFootprintGiB: number;
    /** Cache volume per builder (Kubernetes `Gi`), as in `buildkit.cache.size`. */
    volumeGiB: number;
    seed: number;
}

/** The bench's default: the repositories of a mid-sized organization that build in a week, on the `aks` stack's 64Gi volumes. */
export const DEFAULT_WORKLOAD: Workload = {
    repositories: 300,
    zipfExponent: 1.1,
    medianFootprintGiB: 1,
    footprintSigma: 1,
    changeProbability: 0.1,
    minFootprintGiB: 0.05,
    maxFootprintGiB: 16,
    volumeGiB: 64,
    seed: 20261121,
};

/** mulberry32: a small, seeded, well-distributed 32-bit PRNG. */
export function seededRandom(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** Least recently used cache of repository footprints, bounded in bytes. */
export class LruCache {
    private readonly entries = new Map<number, number>();
    private used = 0;
    constructor(readonly capacityBytes: number) {}

    /** True on a hit; on a miss, stores the entry (a repository's cache version), evicting the least recently used. */
    access(entry: number, bytes: number): boolean {
        const size = this.entries.get(entry);
        if (size !== undefined) {
            this.entries.delete(entry);
            this.entries.set(entry, size);
            return true;
        }
        this.entries.set(entry, bytes);
        this.used += bytes;
        for (const [oldest, oldestBytes] of this.entries) {
            if (this.used <= this.capacityBytes || oldest === entry) break;
            this.entries.delete(oldest);
            this.used -= oldestBytes;
        }
        return false;
    }
}

export interface Population {
    keys: string[];
    footprints: number[];
    /** Cumulative build probability by repository, for sampling. */
    cdf: Float64Array;
    capacityBytes: number;
    /** Each repository's builder ordinals (0..7) in select-buildkit's preference order. */
    rankings: number[][];
    changeProbability: number;
}

export const MAX_BUILDERS = 8;

export function population(w: Workload): Population {
    const random = seededRandom(w.seed);
    const keys = Array.from({ length: w.repositories }, (_, i) => `ameideio/repo-${String(i).padStart(4, "0")}`);
    const footprints = keys.map(() => {
        // Box-Muller normal draw for the log-normal footprint.
        const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
        const gib = Math.min(w.maxFootprintGiB, Math.max(w.minFootprintGiB, w.medianFootprintGiB * Math.exp(w.footprintSigma * z)));
        return Math.round(gib * GIB);
    });
    const weights = keys.map((_, r) => 1 / Math.pow(r + 1, w.zipfExponent));
    const total = weights.reduce((a, b) => a + b, 0);
    const cdf = new Float64Array(keys.length);
    let sum = 0;
    weights.forEach((weight, i) => (cdf[i] = sum += weight / total));
    const hosts = podHostnames(MAX_BUILDERS);
    const rankings = keys.map((key) => rankBuilders(key, hosts).map((host) => hosts.indexOf(host)));
    const capacityBytes = parseMiB(gcPlan(w.volumeGiB * GIB).thresholds.maxUsedSpace);
    return { keys, footprints, cdf, capacityBytes, rankings, changeProbability: w.changeProbability };
}

function parseMiB(quantity: string): number {
    return Number(/^(\d+)MiB$/.exec(quantity)![1]) * 2 ** 20;
}

/** The repository a uniform draw `u` picks (the CDF's first index at or above u). */
export function sample(cdf: Float64Array, u: number): number {
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid] < u) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

export type Routing = "service" | "selector";

/** Cache versions are told apart modulo this (a version this old was evicted long ago). */
const VERSIONS = 1 << 20;

/** Where one build of `repository` lands, given the ready builder ordinals. */
function route(routing: Routing, pop: Population, repository: number, ready: readonly number[], random: () => number): number {
    if (routing === "service") return ready[Math.floor(random() * ready.length)];
    return pop.rankings[repository].find((ordinal) => ready.includes(ordinal))!;
}

/** One stretch of builds with a fixed set of builders: `ready` serve, `existing` keep their caches. */
export interface Phase {
    label: string;
    /** Builder ordinals that exist (have a volume); others' caches are deleted. */
    existing: number[];
    /** Builder ordinals that take builds (a restarting one exists but is not ready). */
    ready: number[];
    builds: number;
    /** Count this phase's hits (warm-up phases do not). */
    measured: boolean;
}

export interface PhaseResult {
    label: string;
    builds: number;
    hitRate: number;
    /** Share of this phase's builds that the busiest builder took. */
    busiestShare: number;
}

/**
 * Runs the phases in order with one routing. The build sequence (which repository builds when)
 * comes from `seed` alone, so both routings see the very same builds.
 */
export function simulate(pop: Population, routing: Routing, phases: Phase[], seed: number): PhaseResult[] {
    const builds = seededRandom(seed);
    const choices = seededRandom(seed ^ 0x5bd1e995);
    const caches = new Map<number, LruCache>();
    const versions = new Array<number>(pop.keys.length).fill(0);
    const results: PhaseResult[] = [];
    for (const phase of phases) {
        for (const ordinal of [...caches.keys()]) if (!phase.existing.includes(ordinal)) caches.delete(ordinal);
        for (const ordinal of phase.existing) if (!caches.has(ordinal)) caches.set(ordinal, new LruCache(pop.capacityBytes));
        let hits = 0;
        const load = new Map<number, number>();
        for (let i = 0; i < phase.builds; i++) {
            const repository = sample(pop.cdf, builds());
            if (builds() < pop.changeProbability) versions[repository]++;
            const ordinal = route(routing, pop, repository, phase.ready, choices);
            load.set(ordinal, (load.get(ordinal) ?? 0) + 1);
            if (caches.get(ordinal)!.access(repository * VERSIONS + (versions[repository] % VERSIONS), pop.footprints[repository])) hits++;
        }
        if (phase.measured) {
            results.push({ label: phase.label, builds: phase.builds, hitRate: hits / phase.builds, busiestShare: Math.max(...load.values()) / phase.builds });
        }
    }
    return results;
}

const ordinals = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Share of repositories whose builder differs between two ready sets, for rendezvous and for hash-mod-N. */
export function keysMoved(pop: Population, before: readonly number[], after: readonly number[]): { selector: number; modulo: number } {
    let selector = 0;
    let modulo = 0;
    pop.keys.forEach((key, r) => {
        const ranking = pop.rankings[r];
        if (ranking.find((o) => before.includes(o)) !== ranking.find((o) => after.includes(o))) selector++;
        // The naive alternative: a fixed hash of the key modulo the number of builders.
        const h = parseInt(createHash("sha256").update(key).digest("hex").slice(0, 8), 16);
        if (before[h % before.length] !== after[h % after.length]) modulo++;
    });
    return { selector: selector / pop.keys.length, modulo: modulo / pop.keys.length };
}

export interface SteadyRow {
    builders: number;
    single: number;
    service: number;
    selector: number;
    /** selector / single: the goal is at least 0.95. */
    selectorVsSingle: number;
    serviceBusiest: number;
    selectorBusiest: number;
}

/** Hit rates with N = 1..maxBuilders builders in steady state (after a warm-up), and one builder's. */
export function steadyState(pop: Population, opts: { warmup: number; builds: number; maxBuilders: number; seed: number }): SteadyRow[] {
    const phases = (n: number): Phase[] => [
        { label: "warm-up", existing: ordinals(n), ready: ordinals(n), builds: opts.warmup, measured: false },
        { label: `N=${n}`, existing: ordinals(n), ready: ordinals(n), builds: opts.builds, measured: true },
    ];
    const [single] = simulate(pop, "selector", phases(1), opts.seed);
    return ordinals(opts.maxBuilders).map((i) => {
        const n = i + 1;
        const [service] = simulate(pop, "service", phases(n), opts.seed);
        const [selector] = simulate(pop, "selector", phases(n), opts.seed);
        return {
            builders: n,
            single: single.hitRate,
            service: service.hitRate,
            selector: selector.hitRate,
            selectorVsSingle: selector.hitRate / single.hitRate,
            serviceBusiest: service.busiestShare,
            selectorBusiest: selector.busiestShare,
        };
    });
}

export interface EventRow {
    event: string;
    keysMovedSelector: number;
    keysMovedModulo: number;
    /** Hit rate over the builds right after the event. */
    service: number;
    selector: number;
}

/**
 * Scale-out 1 -> maxBuilders, then scale-in back to 1, one step at a time, each followed by
 * `window` measured builds; then, at `restartAt` builders, one builder restarting (not ready for
 * `window` builds, then back with its cache) and the `window` builds after its return.
 */
export function scaleEvents(pop: Population, opts: { warmup: number; window: number; maxBuilders: number; restartAt: number; seed: number }): EventRow[] {
    const phases: Phase[] = [{ label: "warm-up", existing: [0], ready: [0], builds: opts.warmup, measured: false }];
    const moved: { selector: number; modulo: number }[] = [];
    const step = (label: string, before: number[], after: number[]) => {
        moved.push(keysMoved(pop, before, after));
        phases.push({ label, existing: after, ready: after, builds: opts.window, measured: true });
    };
    for (let n = 1; n < opts.maxBuilders; n++) step(`scale-out ${n} -> ${n + 1}`, ordinals(n), ordinals(n + 1));
    for (let n = opts.maxBuilders; n > opts.restartAt; n--) step(`scale-in ${n} -> ${n - 1}`, ordinals(n), ordinals(n - 1));
    // Settle at restartAt, then restart its builder 1: down for a window, then back warm.
    phases.push({ label: "settle", existing: ordinals(opts.restartAt), ready: ordinals(opts.restartAt), builds: opts.warmup, measured: false });
    const all = ordinals(opts.restartAt);
    const withoutOne = all.filter((o) => o !== 1);
    moved.push(keysMoved(pop, all, withoutOne));
    phases.push({ label: `restart of builder 1 of ${opts.restartAt}: while down`, existing: all, ready: withoutOne, builds: opts.window, measured: true });
    moved.push(keysMoved(pop, withoutOne, all));
    phases.push({ label: `restart of builder 1 of ${opts.restartAt}: back, cache kept`, existing: all, ready: all, builds: opts.window, measured: true });
    for (let n = opts.restartAt; n > 1; n--) step(`scale-in ${n} -> ${n - 1}`, ordinals(n), ordinals(n - 1));

    const service = simulate(pop, "service", phases, opts.seed);
    const selector = simulate(pop, "selector", phases, opts.seed);
    return service.map((row, i) => ({
        event: row.label,
        keysMovedSelector: moved[i].selector,
        keysMovedModulo: moved[i].modulo,
        service: row.hitRate,
        selector: selector[i].hitRate,
    }));
}
