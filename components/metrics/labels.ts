import { createHash } from "crypto";
import { MAX_LISTED_REPOSITORIES, REPOSITORY_PATTERN } from "../../config/monitoring";

export { MAX_LISTED_REPOSITORIES, REPOSITORY_PATTERN };

/**
 * The label values of the per-build series, as a closed set. `buildkit-report.sh` computes them on the
 * runner; the Pushgateway's scrape keeps only series whose values are in this set (see
 * ./pushgateway.ts, `metricRelabelings`), so a runner that pushes anything else adds nothing to
 * Prometheus. Both sides are tested against each other.
 */

/** A tier of CONTRACTS.md "Trust tiers" (contracts `tierNames`): `shared`, `protected`, or another configured tier. */
export type Tier = string;

/** `arc_buildkit_builds_total{result}`: how the build ended (buildkit-report's status). */
export const BUILD_RESULTS = ["success", "failed", "cancelled"] as const;

/**
 * `arc_buildkit_fallbacks_total{reason}`: select-buildkit's FALLBACK_REASON codes (what the
 * first-ranked builder did), `all-unavailable` when no builder answered, and `unknown` for anything a
 * runner reports that is not one of them.
 */
export const FALLBACK_REASONS = ["not-ready", "timeout", "refused", "no-workers", "all-unavailable", "unknown"] as const;

/** Buckets for repositories that are not listed: `other-0` .. `other-f`, by the first hex digit of sha256(name). */
export const REPOSITORY_BUCKETS = Array.from({ length: 16 }, (_, i) => `other-${i.toString(16)}`);

/** ASCII lower case, as the script's `LC_ALL=C tr '[:upper:]' '[:lower:]'` (GitHub names are ASCII). */
function asciiLower(text: string): string {
    return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * The `repository` label value of a build of `repository`: the name itself (lower case) when it is
 * listed, otherwise its bucket. Pure; the definition buildkit-report.sh implements.
 */
export function repositoryLabel(repository: string, listed: readonly string[]): string {
    const name = asciiLower(repository);
    if (listed.some((l) => asciiLower(l) === name)) return name;
    const first = createHash("sha256").update(name).digest("hex")[0];
    return `other-${first}`;
}

/**
 * Validates the configured list (`arc-buildkit:monitoring.buildMetrics.repositories`): owner/name
 * entries, no duplicates ignoring case, at most MAX_LISTED_REPOSITORIES. Returns them lower-cased.
 */
export function listedRepositories(list: readonly string[], where: string): string[] {
    if (list.length > MAX_LISTED_REPOSITORIES) {
        throw new Error(
            `${where}: at most ${MAX_LISTED_REPOSITORIES} repositories get their own label value (got ${list.length}); the rest are counted in 16 buckets`,
        );
    }
    const seen = new Set<string>();
    return list.map((entry) => {
        if (!REPOSITORY_PATTERN.test(entry)) throw new Error(`${where}: "${entry}" is not a GitHub repository (owner/name)`);
        const lower = asciiLower(entry);
        if (seen.has(lower)) throw new Error(`${where}: "${entry}" is listed twice`);
        seen.add(lower);
        return lower;
    });
}

/** Escapes a literal for a Prometheus (RE2, fully anchored) regular expression. */
export function regexLiteral(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, (c) => `\\${c}`);
}

/** The `repository` values the scrape keeps: the listed names and the 16 buckets. */
export function repositoryLabelRegex(listed: readonly string[]): string {
    return [...listed.map(regexLiteral), "other-[0-9a-f]"].join("|");
}

/** The `builder` values the scrape keeps for a tier: exactly its pod names, and `service` (no builder answered; the Service chose). */
export function builderLabelRegex(pods: readonly string[]): string {
    return [...pods.map(regexLiteral), "service"].join("|");
}

export interface SeriesBoundInput {
    listed: number;
    /** Pods that can appear in `builder` (replicas of every builder set of the tier). */
    builders: number;
}

/**
 * The most series one tier's Pushgateway can contribute after the scrape's relabelling: per
 * (repository, builder) group, one series per result, three step/time counters, one per fallback
 * reason, and the Pushgateway's own push_time_seconds and push_failure_time_seconds.
 */
export function seriesBound(input: SeriesBoundInput): number {
    const groups = (input.listed + REPOSITORY_BUCKETS.length) * (input.builders + 1);
    const perGroup = BUILD_RESULTS.length + 3 + FALLBACK_REASONS.length + 2;
    return groups * perGroup;
}
