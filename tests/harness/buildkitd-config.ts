import { parse } from "smol-toml";

/**
 * A strict decoder of `buildkitd.toml` into BuildKit's config struct, as of moby/buildkit v0.31.2:
 * `cmd/buildkitd/config/config.go` (Config and its nested structs, with GCConfig and NetworkConfig
 * embedded in the worker structs), `util/resolver/config/config.go` (RegistryConfig), and the text
 * forms `Duration.UnmarshalText` and `DiskSpace.UnmarshalText` accept (config.go, gcpolicy.go).
 *
 * BuildKit itself decodes with go-toml v2 (v2.3.1 vendored) without DisallowUnknownFields, so a
 * misspelled key is silently ignored there: `networkmode = "bridge"` would leave the default,
 * which falls back to host networking. This decoder is stricter on purpose: every key must be a
 * field of the struct, spelled as its `toml` tag, with a value of the field's Go type.
 */

type Field =
    | "bool"
    | "string"
    | "int"
    | "strings"
    | "stringMap"
    | "duration"
    | "diskSpace"
    | "anyMap"
    | { struct: Struct }
    | { structs: Struct }
    | { structMap: Struct }
    | { opaque: string };
type Struct = Readonly<Record<string, Field>>;

const TLS_CONFIG: Struct = { cert: "string", key: "string", ca: "string" };
const GRPC_CONFIG: Struct = {
    address: "strings",
    debugAddress: "string",
    uid: "int",
    gid: "int",
    securityDescriptor: "string",
    tls: { struct: TLS_CONFIG },
};
const GC_POLICY: Struct = {
    all: "bool",
    filters: "strings",
    keepDuration: "duration",
    keepBytes: "diskSpace",
    reservedSpace: "diskSpace",
    maxUsedSpace: "diskSpace",
    minFreeSpace: "diskSpace",
};
/** GCConfig, embedded in OCIConfig and ContainerdConfig. */
const GC_CONFIG: Struct = {
    gc: "bool",
    gckeepstorage: "diskSpace",
    reservedSpace: "diskSpace",
    maxUsedSpace: "diskSpace",
    minFreeSpace: "diskSpace",
    gcpolicy: { structs: GC_POLICY },
};
/** NetworkConfig, embedded in OCIConfig and ContainerdConfig. */
const NETWORK_CONFIG: Struct = {
    networkMode: "string",
    cniConfigPath: "string",
    cniBinaryPath: "string",
    cniPoolSize: "int",
    bridgeName: "string",
    bridgeSubnet: "string",
};
const OCI_CONFIG: Struct = {
    enabled: "bool",
    labels: "stringMap",
    platforms: "strings",
    snapshotter: "string",
    rootless: "bool",
    noProcessSandbox: "bool",
    ...GC_CONFIG,
    ...NETWORK_CONFIG,
    userRemapUnsupported: "string",
    binary: "string",
    proxySnapshotterPath: "string",
    defaultCgroupParent: "string",
    stargzSnapshotter: "anyMap",
    "apparmor-profile": "string",
    selinux: "bool",
    "max-parallelism": "int",
};
const CONTAINERD_CONFIG: Struct = {
    address: "string",
    enabled: "bool",
    labels: "stringMap",
    platforms: "strings",
    namespace: "string",
    runtime: { struct: { name: "string", path: "string", options: "anyMap" } },
    ...GC_CONFIG,
    ...NETWORK_CONFIG,
    snapshotter: "string",
    "apparmor-profile": "string",
    selinux: "bool",
    "max-parallelism": "int",
    defaultCgroupParent: "string",
    rootless: "bool",
};
const REGISTRY_CONFIG: Struct = {
    mirrors: "strings",
    http: "bool",
    insecure: "bool",
    ca: "strings",
    keypair: { structs: { key: "string", cert: "string" } },
    tlsconfigdir: "strings",
};

/** `config.Config` of moby/buildkit v0.31.2. */
export const BUILDKITD_CONFIG: Struct = {
    debug: "bool",
    trace: "bool",
    root: "string",
    "insecure-entitlements": "strings",
    proxyNetwork: "bool",
    log: { struct: { format: "string", level: "string" } },
    grpc: { struct: GRPC_CONFIG },
    otel: { struct: { socketPath: "string" } },
    cdi: { struct: { disabled: "bool", specDirs: "strings", autoAllowed: "strings" } },
    worker: { struct: { oci: { struct: OCI_CONFIG }, containerd: { struct: CONTAINERD_CONFIG } } },
    registry: { structMap: REGISTRY_CONFIG },
    dns: { struct: { nameservers: "strings", options: "strings", searchDomains: "strings" } },
    history: { struct: { maxAge: "duration", maxEntries: "int" } },
    frontend: {
        struct: {
            "dockerfile.v0": { struct: { enabled: "bool" } },
            "gateway.v0": { struct: { enabled: "bool", allowedRepositories: "strings" } },
        },
    },
    system: { struct: { platformsCacheMaxAge: "duration", maxRegistryConcurrency: "int" } },
    provenanceEnvDir: "string",
    // ghatypes.CacheConfig embeds sigstore's certificate.Summary; the program never renders it.
    cache: { struct: { gha: { opaque: "cache.gha (sigstore certificate policy) is not modelled here" } } },
};

/** Go's time.ParseDuration forms (`90s`, `1h30m`, `1.5h`). */
const GO_DURATION = /^[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$|^0$/;
/** docker/go-units RAMInBytes: `512MiB`, `10GB`, `1024` (binary multiples either way). */
const RAM_IN_BYTES = /^[0-9]+(\.[0-9]+)* ?([kKmMgGtTpP])?[iI]?[bB]?$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);

function decodeField(field: Field, value: unknown, path: string, problems: string[]): void {
    const bad = (expected: string) =>
        problems.push(`${path}: expected ${expected}, got ${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? `${v}` : v))}`);
    if (typeof field === "string") {
        switch (field) {
            case "bool":
                if (typeof value !== "boolean") bad("a boolean");
                return;
            case "string":
                if (typeof value !== "string") bad("a string");
                return;
            case "int":
                if (typeof value !== "bigint") bad("an integer");
                return;
            case "strings":
                if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) bad("an array of strings");
                return;
            case "stringMap":
                if (!isRecord(value) || Object.values(value).some((v) => typeof v !== "string")) bad("a table of strings");
                return;
            case "anyMap":
                if (!isRecord(value)) bad("a table");
                return;
            case "duration":
                // Duration.UnmarshalText: time.ParseDuration, else an integer number of seconds.
                if (!(typeof value === "bigint" || (typeof value === "string" && (GO_DURATION.test(value) || /^[0-9]+$/.test(value))))) {
                    bad("a duration (integer seconds or a Go duration string such as 24h)");
                }
                return;
            case "diskSpace":
                // DiskSpace.UnmarshalText: "N%", else units.RAMInBytes.
                if (!(typeof value === "bigint" || (typeof value === "string" && (/^[0-9]+%$/.test(value) || RAM_IN_BYTES.test(value))))) {
                    bad("a disk space (bytes, such as 10GiB, or a percentage such as 10%)");
                }
                return;
        }
    }
    if ("opaque" in field) {
        problems.push(`${path}: ${field.opaque}`);
        return;
    }
    if ("struct" in field) {
        if (!isRecord(value)) return void bad("a table");
        decodeStruct(field.struct, value, path, problems);
        return;
    }
    if ("structs" in field) {
        if (!Array.isArray(value) || value.some((v) => !isRecord(v))) return void bad("an array of tables");
        value.forEach((v, i) => decodeStruct(field.structs, v as Record<string, unknown>, `${path}[${i}]`, problems));
        return;
    }
    if (!isRecord(value)) return void bad("a table of tables");
    for (const [key, v] of Object.entries(value)) {
        if (!isRecord(v)) {
            problems.push(`${path}.${key}: expected a table`);
            continue;
        }
        decodeStruct(field.structMap, v, `${path}.${key}`, problems);
    }
}

function decodeStruct(struct: Struct, table: Record<string, unknown>, path: string, problems: string[]): void {
    for (const [key, value] of Object.entries(table)) {
        const field = struct[key];
        const where = path ? `${path}.${key}` : key;
        if (!field) {
            problems.push(`${where}: no such field in BuildKit's config (v0.31.2)`);
            continue;
        }
        decodeField(field, value, where, problems);
    }
}

/**
 * Decodes `text` strictly; returns one line per problem (empty: the file decodes into the struct
 * with every key known and every value of its field's type) and the parsed document.
 */
export function decodeBuildkitdToml(text: string): { problems: string[]; document: Record<string, unknown> } {
    let document: Record<string, unknown>;
    try {
        document = parse(text, { integersAsBigInt: true }) as Record<string, unknown>;
    } catch (error) {
        return { problems: [`not TOML: ${(error as Error).message.split("\n")[0]}`], document: {} };
    }
    const problems: string[] = [];
    decodeStruct(BUILDKITD_CONFIG, document, "", problems);
    return { problems, document };
}
