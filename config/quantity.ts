/**
 * Kubernetes resource quantities, restricted to the spellings a platform engineer writes by hand.
 * Kubernetes itself accepts more (exponents, fractions), but a stack file that says `64GB` almost
 * certainly meant `64Gi`, so anything unusual is rejected rather than silently reinterpreted.
 */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

const BYTES_PATTERN = /^([1-9][0-9]*)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const CPU_PATTERN = /^(?:[1-9][0-9]*m|[0-9]+(?:\.[0-9]{1,3})?)$/;

/** Bytes of a quantity such as `64Gi`, `500M` or `1073741824`; undefined when it is not one. */
export function parseByteQuantity(quantity: string): number | undefined {
    const match = BYTES_PATTERN.exec(quantity);
    if (!match) {
        return undefined;
    }
    const [, digits, suffix] = match;
    const multiplier = suffix ? (BINARY[suffix] ?? DECIMAL[suffix]) : 1;
    return Number(digits) * multiplier;
}

declare const PARSED: unique symbol;

/**
 * A byte quantity parsed once: the Kubernetes form as written (for manifests) and its bytes (for
 * arithmetic), carried together so no consumer can pair one with a different other. Only
 * {@link byteQuantity} makes one (the brand keeps object literals out).
 */
export interface ByteQuantity {
    /** As written in config, such as `64Gi`: what Kubernetes objects get. */
    readonly quantity: string;
    readonly bytes: number;
    readonly [PARSED]: true;
}

/** Parses `quantity`; throws on anything {@link isByteQuantity} rejects (config validation runs first). */
export function byteQuantity(quantity: string): ByteQuantity {
    const bytes = parseByteQuantity(quantity);
    if (bytes === undefined) {
        throw new Error(`not a byte quantity: ${JSON.stringify(quantity)}`);
    }
    return Object.freeze({ quantity, bytes }) as ByteQuantity;
}

export function isByteQuantity(quantity: string): boolean {
    return parseByteQuantity(quantity) !== undefined;
}

/** CPU as millicores (`500m`) or cores (`2`, `1.5`), greater than zero. */
export function isCpuQuantity(quantity: string): boolean {
    return CPU_PATTERN.test(quantity) && Number(quantity.replace(/m$/, "")) > 0;
}

/** Millicores of a CPU quantity accepted by {@link isCpuQuantity}. */
export function cpuMillicores(quantity: string): number {
    return quantity.endsWith("m") ? Number(quantity.slice(0, -1)) : Math.round(Number(quantity) * 1000);
}
