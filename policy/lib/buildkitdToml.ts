import { parse } from "smol-toml";
import { asArray, asRecord, asString } from "./plain";

/** The part of a `buildkitd.toml` that decides who can reach the gRPC API. */
export interface GrpcSettings {
    /** `[grpc] address`; undefined when the file does not set it (buildkitd then keeps its default or flags). */
    addresses: string[] | undefined;
    cert: string | undefined;
    key: string | undefined;
    ca: string | undefined;
}

export type ParsedToml = { ok: true; grpc: GrpcSettings } | { ok: false; error: string };

/** Parses buildkitd.toml text; never throws (a syntax error is returned so the policy can report it). */
export function parseBuildkitdToml(text: string): ParsedToml {
    let document: Record<string, unknown>;
    try {
        document = parse(text) as Record<string, unknown>;
    } catch (error) {
        const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
        return { ok: false, error: message };
    }
    const grpc = asRecord(document.grpc);
    const tls = asRecord(grpc.tls);
    const address = grpc.address;
    return {
        ok: true,
        grpc: {
            addresses:
                address === undefined ? undefined : (Array.isArray(address) ? asArray(address) : [address]).filter((a): a is string => typeof a === "string"),
            cert: nonEmpty(tls.cert),
            key: nonEmpty(tls.key),
            ca: nonEmpty(tls.ca),
        },
    };
}

function nonEmpty(value: unknown): string | undefined {
    const text = asString(value);
    return text && text.trim() !== "" ? text : undefined;
}

/** True when a ConfigMap entry is plausibly a buildkitd config: a `.toml` or buildkit key, or text with a grpc table or key. */
export function looksLikeBuildkitdToml(key: string, text: string): boolean {
    return /\.toml$/i.test(key) || /buildkit/i.test(key) || /^\s*(\[\s*grpc\b|grpc\s*[.=])/m.test(text);
}
