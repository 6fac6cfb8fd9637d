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
    /** Subnet of the bridge every build step gets its own network namespace on (config: `buildkit.sandbox.bridgeSubnet`). */
    bridgeSubnet: string;
    /** `[history]` of this daemon's trust tier (config: `buildkit.history.<tier>`). */
    history: { maxAgeHours: number; maxEntries: number };
}

/**
 * BuildKit's network provider for build steps. `bridge`: each step gets its own network namespace
 * on a bridge BuildKit creates with the CNI plugins its image ships (`buildkit-cni-bridge`,
 * `-loopback`, `-host-local`, `-firewall` in /usr/bin; moby/buildkit v0.31.2 Dockerfile,
 * `cni-plugins-export`), and leaves through the pod's own address (ipMasq), so the pod's egress
 * NetworkPolicy covers every step. Never `auto`: with no CNI config file it silently falls back to
 * the host network, the daemon pod's own namespace (util/network/netproviders/network.go).
 */
export const BUILD_STEP_NETWORK_MODE = "bridge";

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
                // Rootless keeps the process sandbox (a PID namespace and a fresh /proc per step): the pod
                // runs in a user namespace with an unmasked /proc instead (workload.ts). noProcessSandbox
                // would let concurrent steps read each other's /proc/<pid>/environ and kill the daemon.
                ...(input.rootless ? { rootless: true } : {}),
                networkMode: BUILD_STEP_NETWORK_MODE,
                bridgeSubnet: input.bridgeSubnet,
                platforms: [...input.platforms],
                "max-parallelism": input.maxParallelism,
                gc: true,
                ...gc.thresholds,
                gcpolicy: gc.rules,
            },
            containerd: { enabled: false },
        },
        ...(Object.keys(registry).length > 0 ? { registry } : {}),
        // Finished builds' records (logs, provenance, traces) kept for `buildctl debug histories`;
        // maxAge in seconds, the form BuildKit's docs/buildkitd.toml.md uses.
        history: { maxAge: input.history.maxAgeHours * 3600, maxEntries: input.history.maxEntries },
    };
    return `# Rendered by arc-buildkit from stack config; edit the stack config, not this file.\n${stringify(document)}\n`;
}
