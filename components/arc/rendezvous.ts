import { createHash } from "crypto";

/**
 * Rendezvous (highest-random-weight) hashing, the definition `select-buildkit` implements in POSIX
 * sh. Every builder gets the weight sha256("<key>\n<pod name>") (the pod name is the first DNS label
 * of the builder's address); a key goes to the builder of highest weight among those that answer.
 * Because each weight depends only on the key and that one builder, adding a builder moves exactly
 * the keys it now outranks everyone for (about 1/(N+1)), and removing one moves only the keys it held.
 */

/** The weight of `builder` for `key`, as 64 lower-case hex digits (compared as strings, like `sort -r`). */
export function rendezvousWeight(key: string, builder: string): string {
    return createHash("sha256")
        .update(`${key}\n${podName(builder)}`)
        .digest("hex");
}

/** `buildkitd-1.buildkitd-headless.buildkit.svc.cluster.local` -> `buildkitd-1`. */
export function podName(builder: string): string {
    return builder.split(".")[0];
}

/** The builders in preference order for `key`: highest weight first (what `select-buildkit --rank` prints). */
export function rankBuilders(key: string, builders: readonly string[]): string[] {
    return builders
        .map((builder) => ({ builder, weight: rendezvousWeight(key, builder) }))
        .sort((a, b) => (a.weight < b.weight ? 1 : a.weight > b.weight ? -1 : 0))
        .map((entry) => entry.builder);
}

/** The builder `key` lands on when only `answering` builders respond; undefined when none does. */
export function selectBuilder(key: string, builders: readonly string[], answering: (builder: string) => boolean = () => true): string | undefined {
    return rankBuilders(key, builders).find(answering);
}
