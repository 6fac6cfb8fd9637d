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

/**
 * The part that decides how build steps are isolated (cmd/buildkitd/config/config.go at v0.31.2):
 * top-level `insecure-entitlements`, and per worker `networkMode`, `cniConfigPath`, `rootless`,
 * `noProcessSandbox` and `enabled`. Undefined fields are not set by the file.
 */
export interface IsolationSettings {
    entitlements: string[] | undefined;
    oci: WorkerSettings;
    containerd: WorkerSettings;
}

export interface WorkerSettings {
    enabled: boolean | undefined;
    networkMode: string | undefined;
    cniConfigPath: string | undefined;
    rootless: boolean | undefined;
    noProcessSandbox: boolean | undefined;
}

export type ParsedToml = { ok: true; grpc: GrpcSettings; isolation: IsolationSettings } | { ok: false; error: string };

function worker(value: unknown): WorkerSettings {
    const record = asRecord(value);
    const bool = (v: unknown) => (typeof v === "boolean" ? v : undefined);
    return {
        enabled: bool(record.enabled),
        networkMode: asString(record.networkMode),
        cniConfigPath: nonEmpty(record.cniConfigPath),
        rootless: bool(record.rootless),
        noProcessSandbox: bool(record.noProcessSandbox),
    };
}

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
    const workers = asRecord(document.worker);
    const entitlements = document["insecure-entitlements"];
    return {
        ok: true,
        isolation: {
            entitlements:
                entitlements === undefined
                    ? undefined
                    : (Array.isArray(entitlements) ? entitlements : [entitlements]).filter((e): e is string => typeof e === "string" && e.trim() !== ""),
            oci: worker(workers.oci),
            containerd: worker(workers.containerd),
        },
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
