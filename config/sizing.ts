import type { z } from "zod";
import { ByteQuantity } from "./quantity";

/**
 * Sizing rules of thumb for one builder, checked before anything is deployed. BuildKit itself
 * publishes no per-build figures, so these are floors this project chose and documents
 * (docs/configuration.md, "Sizing rules"); they reject configurations that starve every build at once, not ones that are merely tight.
 *
 * Memory: every RUN step of every build runs inside the buildkitd container's cgroup (the daemon
 * starts the step's container as its child), so `resources.limits.memory` is shared by the daemon and
 * up to `maxParallelism` steps (BuildKit's `max-parallelism` caps concurrently running steps across all
 * builds). When the sum crosses the limit the kernel OOM-kills inside the pod and every build on that
 * builder fails together.
 *
 * Disk: GC (components/buildkit/gc.ts) runs between builds and lets the cache grow to `maxUsed` of the
 * volume, so only the rest is left for what running steps write (pulled layers, snapshots, exports).
 */

const MIB = 2 ** 20;
const GIB = 2 ** 30;

/**
 * The fractions of the cache volume BuildKit's GC thresholds are cut at (components/buildkit/gc.ts
 * renders them; the sizing rules below need them too, so they live here, below both).
 */
export const GC_FRACTIONS = {
    /** Cache that GC never touches, so a busy day never starts from a cold cache. */
    reserved: 0.1,
    /** Cache size above which GC deletes, oldest first. */
    maxUsed: 0.7,
    /** Free space GC tries to restore on every sweep. */
    minFree: 0.2,
    /** Cap on easily re-created data (local contexts, git checkouts, cache mounts). */
    ephemeral: 0.05,
} as const;

/** The daemon itself: solver state, cache metadata (bbolt), gRPC and the session streams. */
export const DAEMON_MEMORY_BYTES = 512 * MIB;
/** Memory each concurrently running step may need before the pod's limit is at risk. */
export const STEP_MEMORY_BYTES = 512 * MIB;
/** Scratch space each concurrently running step may write before GC can run again. */
export const STEP_DISK_BYTES = 1 * GIB;

export interface SizingInput {
    maxParallelism: number;
    cache: { size: ByteQuantity };
    resources: { limits: { memory: ByteQuantity } };
}

/** Smallest memory limit for `maxParallelism` concurrent steps. */
export function minimumMemoryBytes(maxParallelism: number): number {
    return DAEMON_MEMORY_BYTES + maxParallelism * STEP_MEMORY_BYTES;
}

/** Space GC leaves free for running builds on a cache volume of `volumeBytes`. */
export function buildHeadroomBytes(volumeBytes: number): number {
    return volumeBytes * (1 - GC_FRACTIONS.maxUsed);
}

/** Smallest cache volume whose GC headroom holds `maxParallelism` concurrent steps. */
export function minimumCacheBytes(maxParallelism: number): number {
    return Math.ceil((maxParallelism * STEP_DISK_BYTES) / (1 - GC_FRACTIONS.maxUsed));
}

const gib = (bytes: number) => `${Math.ceil((bytes / GIB) * 10) / 10}Gi`;

/** One issue per rule broken, each naming the keys involved (paths relative to the settings root). */
export function sizingIssues(buildkit: SizingInput): z.core.$ZodRawIssue[] {
    const issues: z.core.$ZodRawIssue[] = [];
    const memory = buildkit.resources.limits.memory.bytes;
    const cache = buildkit.cache.size.bytes;
    const n = buildkit.maxParallelism;
    if (memory < minimumMemoryBytes(n)) {
        issues.push({
            code: "custom",
            path: ["buildkit", "resources", "limits", "memory"],
            input: buildkit.resources.limits.memory.quantity,
            message: `expected at least ${gib(minimumMemoryBytes(n))} for buildkit.maxParallelism ${n} (512Mi for the daemon plus 512Mi per concurrent step, all in one cgroup: below that one OOM kill fails every running build); raise the limit or lower buildkit.maxParallelism`,
        });
    }
    if (cache < minimumCacheBytes(n)) {
        issues.push({
            code: "custom",
            path: ["buildkit", "cache", "size"],
            input: buildkit.cache.size.quantity,
            message: `expected at least ${gib(minimumCacheBytes(n))} for buildkit.maxParallelism ${n}: GC lets the cache fill ${GC_FRACTIONS.maxUsed * 100}% of the volume, and the other ${Math.round((1 - GC_FRACTIONS.maxUsed) * 100)}% must hold 1Gi per concurrent step; raise the size or lower buildkit.maxParallelism`,
        });
    }
    return issues;
}
