import { stringify } from "smol-toml";
import type { ByteQuantity } from "../../config/quantity";
import { BUILDKIT_GRPC_PORT, BUILDKIT_METRICS_PORT, TLS_KEYS } from "../../contracts";
import { gcPlan } from "./gc";
import { daemonLayout, SERVER_TLS_DIR } from "./layout";

export interface BuildkitdConfigInput {
    rootless: boolean;
    platforms: readonly string[];
    maxParallelism: number;
    /** The cache volume's size, parsed once by config; GC thresholds are derived from it. */
    cacheSize: ByteQuantity;
    /** Registry host → mirror hosts, for example `{ "docker.io": ["mirror.gcr.io"] }`. */
    registryMirrors: Readonly<Record<string, readonly string[]>>;
}

/**
 * `buildkitd.toml`. The TCP listener and its TLS (cert, key **and** client CA, so a client
 * certificate is required) are declared here and nowhere else: the daemon gets no `--addr` flags,
 * so there is a single place to audit and the policy pack reads exactly this.
 */
export function renderBuildkitdToml(input: BuildkitdConfigInput): string {
    const layout = daemonLayout(input.rootless);
    const gc = gcPlan(input.cacheSize.bytes);
    const registry = Object.fromEntries(
        Object.keys(input.registryMirrors)
            .sort()
            .map((host) => [host, { mirrors: [...input.registryMirrors[host]] }]),
    );
    const document = {
        root: layout.stateDir,
        grpc: {
            address: [layout.socket, `tcp://0.0.0.0:${BUILDKIT_GRPC_PORT}`],
            debugAddress: `0.0.0.0:${BUILDKIT_METRICS_PORT}`,
            tls: {
                cert: `${SERVER_TLS_DIR}/${TLS_KEYS.cert}`,
                key: `${SERVER_TLS_DIR}/${TLS_KEYS.key}`,
                ca: `${SERVER_TLS_DIR}/${TLS_KEYS.ca}`,
            },
        },
        worker: {
            oci: {
                enabled: true,
                // Rootless pods cannot create PID namespaces without extra privileges.
                ...(input.rootless ? { rootless: true, noProcessSandbox: true } : {}),
                platforms: [...input.platforms],
                "max-parallelism": input.maxParallelism,
                gc: true,
                ...gc.thresholds,
                gcpolicy: gc.rules,
            },
            containerd: { enabled: false },
        },
        ...(Object.keys(registry).length > 0 ? { registry } : {}),
    };
    return `# Rendered by arc-buildkit from stack config; edit the stack config, not this file.\n${stringify(document)}\n`;
}
