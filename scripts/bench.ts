/**
 * `npm run bench`: how long the program takes to evaluate under Pulumi's mocks (the same mocks the
 * tests use, real certificates included), per stack and as the deployment grows. Not a test: it
 * prints figures and never fails on them.
 *
 *   RUNS=9 npm run bench
 */
import { performance } from "perf_hooks";
import type { Settings } from "../config";
import { runStack } from "../tests/harness/program";

const RUNS = Number(process.env.RUNS ?? 7);

interface Row {
    label: string;
    resources: number;
    coldMs: number;
    medianMs: number;
    minMs: number;
    maxMs: number;
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function measure(label: string, stack: string, settings?: (s: Settings) => Settings): Promise<Row> {
    const times: number[] = [];
    let resources = 0;
    let coldMs = 0;
    // The first evaluation of a configuration also generates its keys and certificates; later ones
    // reuse them (memoized per inputs), as a second `pulumi preview` would reuse state.
    for (let i = 0; i <= RUNS; i++) {
        const start = performance.now();
        // fresh: the harness caches a run per config for the tests; a benchmark must evaluate every time.
        const run = await runStack(stack, undefined, { settings, fresh: true });
        const ms = performance.now() - start;
        resources = run.resources.length;
        if (i === 0) {
            coldMs = ms;
        } else {
            times.push(ms);
        }
    }
    return { label, resources, coldMs, medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times) };
}

function table(rows: Row[]): string {
    const header = ["case", "resources", "cold ms", `median ms (${RUNS} runs)`, "min ms", "max ms"];
    const lines = rows.map((r) => [r.label, String(r.resources), r.coldMs.toFixed(1), r.medianMs.toFixed(1), r.minMs.toFixed(1), r.maxMs.toFixed(1)]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
    return [fmt(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...lines.map(fmt)].join("\n");
}

async function main(): Promise<void> {
    const rows: Row[] = [];
    for (const stack of ["local", "aks"]) {
        rows.push(await measure(`stack ${stack} (committed config)`, stack));
    }
    // 50 exceeds the config limit (20 replicas), so the replica count is set on the validated
    // settings: this measures how the program scales, not a deployable config.
    for (const replicas of [1, 10, 50]) {
        rows.push(await measure(`aks, ${replicas} BuildKit replica(s)`, "aks", (s) => ({ ...s, buildkit: { ...s.buildkit, replicas } })));
    }
    // Likewise one scale set per label, up to 50: each adds one Helm release with its runner pod values.
    for (const count of [1, 10, 50]) {
        rows.push(
            await measure(`aks, ${count} runner scale set(s)`, "aks", (s) => ({
                ...s,
                arc: { ...s.arc, scaleSets: Array.from({ length: count }, (_, i) => ({ ...s.arc.scaleSets[0], name: `${s.arc.scaleSets[0].name}-${i}` })) },
            })),
        );
    }
    console.log(table(rows));
    console.log(`\nNode ${process.version}, ${process.platform}/${process.arch}`);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
