/**
 * BuildKit garbage collection derived from the size of the cache volume, with the thresholds
 * introduced in BuildKit 0.17 (`reservedSpace`, `maxUsedSpace`, `minFreeSpace`; `keepBytes` is
 * deprecated).
 *
 * GC runs between builds, not during them, so the volume must keep room for everything the builds
 * running at that moment write (pulled layers, snapshots, exports). The thresholds therefore keep a
 * fifth of the volume free and cap the cache at 70%, which leaves 30% of the volume for concurrent
 * builds before the disk can fill.
 */

import { GC_FRACTIONS } from "../../config/sizing";

const MIB = 2 ** 20;

/** The fractions of the volume that the thresholds are cut at (config/sizing.ts checks sizes against them too). */
export { GC_FRACTIONS };

export interface GcThresholds {
    reservedSpace: string;
    maxUsedSpace: string;
    minFreeSpace: string;
}

export interface GcPolicyRule extends Partial<GcThresholds> {
    all?: boolean;
    filters?: string[];
    keepDuration?: string;
}

export interface GcPlan {
    thresholds: GcThresholds;
    rules: GcPolicyRule[];
}

/** A whole number of MiB, in the `units.RAMInBytes` form BuildKit parses (binary multiples). */
export function mebibytes(bytes: number): string {
    return `${Math.floor(bytes / MIB)}MiB`;
}

export function gcPlan(volumeBytes: number): GcPlan {
    const thresholds: GcThresholds = {
        reservedSpace: mebibytes(volumeBytes * GC_FRACTIONS.reserved),
        maxUsedSpace: mebibytes(volumeBytes * GC_FRACTIONS.maxUsed),
        minFreeSpace: mebibytes(volumeBytes * GC_FRACTIONS.minFree),
    };
    return {
        thresholds,
        rules: [
            // Build contexts, git checkouts and cache mounts are cheap to re-create: drop them first.
            {
                filters: ["type==source.local", "type==exec.cachemount", "type==source.git.checkout"],
                keepDuration: "48h",
                maxUsedSpace: mebibytes(volumeBytes * GC_FRACTIONS.ephemeral),
            },
            // Anything unused for two weeks, while keeping the reserve.
            { keepDuration: "336h", ...thresholds },
            // Then the least recently used shared cache, down to the thresholds.
            { ...thresholds },
            // Finally BuildKit's internal records too, if the previous rules could not free enough.
            { all: true, ...thresholds },
        ],
    };
}
