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

/**
 * A deep, plain copy of resource properties. Whatever the engine or a test hands us (the engine's
 * unknown-checking proxy, raw unknown sentinels, `pulumi.Output`s, policy `Secret`s, cycles), the copy
 * holds only JSON-like data and `UNKNOWN`, so the checks can read any path without throwing.
 */
export function toPlain(value: unknown, seen: WeakSet<object> = new WeakSet()): unknown {
    if (value === UNKNOWN) {
        return UNKNOWN;
    }
    if (typeof value === "string") {
        return UNKNOWN_SENTINELS.has(value) ? UNKNOWN : value;
    }
    if (value === null || typeof value !== "object") {
        return typeof value === "function" || typeof value === "symbol" ? undefined : value;
    }
    if (isPulumiUnknown(value) || (value as { __pulumiOutput?: unknown }).__pulumiOutput === true) {
        return UNKNOWN;
    }
    if (value instanceof Secret) {
        return toPlain(value.value, seen);
    }
    if (seen.has(value)) {
        return undefined;
    }
    seen.add(value);
    if (Array.isArray(value)) {
        const length = readField(value, "length");
        if (isUnknown(length) || typeof length !== "number") {
            return UNKNOWN;
        }
        return Array.from({ length }, (_, i) => toPlain(readField(value, i), seen));
    }
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
        copy[key] = toPlain(readField(value, key), seen);
    }
    return copy;
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
