import { isUnknown as isPulumiUnknown } from "@pulumi/pulumi";
import { Secret, UnknownValueError } from "@pulumi/policy";

/**
 * Marker for a value that is not known yet (during `pulumi preview`, a value computed from another
 * resource's output). Policies compare against it instead of letting the engine's proxy throw, so one
 * unknown field never stops the rest of a resource from being checked.
 */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");
export type Unknown = typeof UNKNOWN;

/** The sentinels Pulumi uses on the wire for unknown booleans, numbers, strings, arrays, assets, archives, objects. */
const UNKNOWN_SENTINELS = new Set([
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58",
    "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
]);

export function isUnknown(value: unknown): value is Unknown {
    return value === UNKNOWN;
}

/** Fixed work limits: whatever the input, a policy copies and reads at most this much. */
export const LIMITS = {
    /** Values visited while copying one resource (aliases and shared objects count every time they are reached). */
    nodes: 100_000,
    /** Nesting depth of objects and arrays. */
    depth: 64,
    /** Characters of one string that are read; the rest is cut off. */
    stringChars: 1_000_000,
    /** Characters of YAML text that are parsed at all. */
    yamlChars: 1_000_000,
};

/**
 * The work left for one resource. `overflow` says what was cut off; `relevant` records whether what was
 * read mentions BuildKit, TCP, Docker or privilege, so a cut-off input is blocked only when it could
 * hide a violation.
 */
export interface Budget {
    nodes: number;
    overflow?: string;
    relevant: boolean;
}

export function newBudget(nodes: number = LIMITS.nodes): Budget {
    return { nodes, relevant: false };
}

export const RELEVANT = /buildkit|buildctl|buildx|tcp:\/\/|privileged|dind|dockerd|docker\.sock|DOCKER_HOST|runner/i;

/**
 * A deep, plain copy of resource properties. Whatever the engine or a test hands us (the engine's
 * unknown-checking proxy, raw unknown sentinels, `pulumi.Output`s, policy `Secret`s, cycles, YAML alias
 * bombs), the copy holds only JSON-like data and `UNKNOWN`, and its size is bounded by `budget`: past
 * the budget, values are dropped and `budget.overflow` says why.
 */
export function toPlain(value: unknown, budget: Budget = newBudget(), depth = 0, ancestors: Set<object> = new Set()): unknown {
    if (value === UNKNOWN) {
        return UNKNOWN;
    }
    if (budget.nodes <= 0) {
        budget.overflow ??= `more than ${LIMITS.nodes} values`;
        return undefined;
    }
    budget.nodes--;
    if (typeof value === "string") {
        if (UNKNOWN_SENTINELS.has(value)) {
            return UNKNOWN;
        }
        let text = value;
        if (text.length > LIMITS.stringChars) {
            budget.overflow ??= `a string of ${text.length} characters (limit ${LIMITS.stringChars})`;
            text = text.slice(0, LIMITS.stringChars);
        }
        if (!budget.relevant && RELEVANT.test(text)) {
            budget.relevant = true;
        }
        return text;
    }
    if (value === null || typeof value !== "object") {
        return typeof value === "function" || typeof value === "symbol" ? undefined : value;
    }
    if (isPulumiUnknown(value) || (value as { __pulumiOutput?: unknown }).__pulumiOutput === true) {
        return UNKNOWN;
    }
    if (value instanceof Secret) {
        return toPlain(value.value, budget, depth, ancestors);
    }
    // Wire-format values a harness may pass without the SDK's deserialization: secrets and output values.
    const sig = readSig(value);
    if (sig === SECRET_SIG) {
        return toPlain(readField(value, "value"), budget, depth, ancestors);
    }
    if (sig === OUTPUT_SIG) {
        return readField(value, "known") === false ? UNKNOWN : toPlain(readField(value, "value"), budget, depth, ancestors);
    }
    if (ancestors.has(value)) {
        return undefined;
    }
    if (depth >= LIMITS.depth) {
        budget.overflow ??= `nesting deeper than ${LIMITS.depth} levels`;
        return undefined;
    }
    ancestors.add(value);
    try {
        if (Array.isArray(value)) {
            const length = readField(value, "length");
            if (isUnknown(length) || typeof length !== "number") {
                return UNKNOWN;
            }
            const copy: unknown[] = [];
            for (let i = 0; i < length && budget.nodes > 0; i++) {
                copy.push(toPlain(readField(value, i), budget, depth + 1, ancestors));
            }
            if (copy.length < length) {
                budget.overflow ??= `more than ${LIMITS.nodes} values`;
            }
            return copy;
        }
        const copy: Record<string, unknown> = {};
        for (const key of Object.keys(value)) {
            if (budget.nodes <= 0) {
                budget.overflow ??= `more than ${LIMITS.nodes} values`;
                break;
            }
            if (!budget.relevant && RELEVANT.test(key)) {
                budget.relevant = true;
            }
            copy[key] = toPlain(readField(value, key), budget, depth + 1, ancestors);
        }
        return copy;
    } finally {
        ancestors.delete(value);
    }
}

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";

function readSig(value: object): unknown {
    try {
        return Array.isArray(value) ? undefined : (value as Record<string, unknown>)[SIG_KEY];
    } catch {
        return undefined;
    }
}

/** Reads one field; the engine's proxy throws `UnknownValueError` for unknown values, we record UNKNOWN instead. */
function readField(container: object, key: string | number): unknown {
    try {
        return (container as Record<string | number, unknown>)[key];
    } catch (error) {
        if (error instanceof UnknownValueError) {
            return UNKNOWN;
        }
        throw error;
    }
}

/** Plain-object view of a value: anything that is not a non-array object becomes `{}`. */
export function asRecord(value: unknown): Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Array view of a value: anything that is not an array becomes `[]`. */
export function asArray(value: unknown): unknown[] {
    return Array.isArray(value) ? value : [];
}

/** String view of a value, or undefined when it is not a string. */
export function asString(value: unknown): string | undefined {
    return typeof value === "string" ? value : undefined;
}

/** Reads a dotted path through plain data; stops at the first missing or odd-typed step. */
export function at(value: unknown, ...path: string[]): unknown {
    let current = value;
    for (const key of path) {
        if (isUnknown(current)) {
            return UNKNOWN;
        }
        current = asRecord(current)[key];
    }
    return current;
}

/** `leaf` nested under `path`: `nest(["a", "b"], 1)` is `{ a: { b: 1 } }` (a `--set a.b=1` or a Flux `targetPath`). */
export function nest(path: readonly string[], leaf: unknown): unknown {
    return path.reduceRight<unknown>((inner, part) => ({ [part]: inner }), leaf);
}
