/**
 * What a check concludes about one problem it found.
 * - "violation": the resource definitely breaks the rule.
 * - "unverifiable": the rule could not be judged (a value unknown during preview, a ConfigMap that is
 *   not in this stack). The mandatory policies stay silent about these; the advisory policy
 *   `buildkit-unverifiable-values` reports them, so nothing is waved through without a word.
 */
export type Verdict = "violation" | "unverifiable";

export interface Finding {
    verdict: Verdict;
    message: string;
    /** The resource the finding is about (stack policies report it; resource policies ignore it). */
    urn?: string;
    /** The finding needed another resource of the stack (a ConfigMap, a Secret, the pods a Service selects). */
    crossed?: boolean;
}

/** A resource as both the engine and tests hand it over: only these four fields are relied on. */
export interface ResourceLike {
    type: string;
    name: string;
    urn: string;
    props: Record<string, unknown>;
    /** What was cut off when copying the props within the budget, if anything. */
    overflow?: string;
    /** Whether what was read mentions BuildKit, TCP, Docker or privilege. */
    relevant?: boolean;
}

export function violation(message: string, urn?: string): Finding {
    return { verdict: "violation", message, urn };
}

export function unverifiable(message: string, urn?: string): Finding {
    return { verdict: "unverifiable", message, urn };
}
