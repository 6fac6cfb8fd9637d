import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { BUILDKIT_GRPC_PORT, BUILDKIT_METRICS_PORT, BUILDKITD_POD_LABELS } from "../../contracts";
import { CONFIG_DIR, CONFIG_FILE, daemonLayout, SERVER_TLS_DIR } from "./layout";
import { drainCommand, READINESS_CHECK, readinessCommand } from "./drain";
import type { ByteQuantity } from "../../config/quantity";
import type { Placement } from "../kubernetes/placement";

type PodSpec = k8s.types.input.core.v1.PodSpec;
type Container = k8s.types.input.core.v1.Container;

/** Where builders may run: on AKS the dedicated, tainted pool; on k3d anywhere. */
export type { Placement };

/** buildkitd's container resources, memory parsed once by the config schema (the sizing rules use its bytes). */
export interface DaemonResources {
    requests: { cpu: string; memory: ByteQuantity };
    limits: { cpu?: string; memory: ByteQuantity };
}

export interface DaemonPodInput {
    image: string;
    rootless: boolean;
    resources: DaemonResources;
    /** How long a stopping pod waits for running builds before buildkitd is told to stop. */
    drainTimeoutSeconds: number;
    configMapName: pulumi.Input<string>;
    /** The server TLS Secret's name: the declared Secret's `metadata.name`, so the StatefulSet waits for it. */
    serverTlsSecretName: pulumi.Input<string>;
    placement: Placement;
    /** Labels of this builder set's pods (spread constraint). Default: `app.kubernetes.io/name=buildkitd`. */
    podLabels?: Readonly<Record<string, string>>;
    /** Run the pod in a Kubernetes user namespace (`hostUsers: false`; config `buildkit.sandbox.userNamespace`). */
    userNamespace: boolean;
    /** The build-step bridge's subnet (config `buildkit.sandbox.bridgeSubnet`): the firewall init container shuts it out of the daemon. */
    bridgeSubnet: string;
}

/** Extra time after the drain for buildkitd's own graceful stop. */
export const SHUTDOWN_MARGIN_SECONDS = 30;
// The kubelet's health checks of buildkitd (the container's startupProbe, readinessProbe and
// livenessProbe fields). Called "checks" here: in this program "the probe" is the deploy-time Job.
/** Startup check: buildkitd has `periodSeconds × failureThreshold` seconds to answer before the kubelet restarts it. */
export const STARTUP_CHECK = { periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 60 } as const;
/** Readiness check: fails at once when the pod drains (./drain.ts). */
export { READINESS_CHECK } from "./drain";
/** Liveness check: a daemon that stops answering for 2.5 minutes is restarted. */
export const LIVENESS_CHECK = { periodSeconds: 30, timeoutSeconds: 10, failureThreshold: 5 } as const;
export const CACHE_VOLUME = "cache";

/** The health checks' command: asks the daemon itself, over its local socket, whether it has a usable worker. */
export function workerCheckCommand(socket: string): string[] {
    return ["buildctl", "--addr", socket, "debug", "workers"];
}

/** preStop hook: see ./drain.ts (mark draining, so readiness fails at once; wait for running builds). */
export { drainCommand } from "./drain";

/** Name of the init container that keeps build steps off the daemon's own ports. */
export const SANDBOX_FIREWALL_CONTAINER = "sandbox-firewall";

/**
 * What the firewall init container runs, in the pod's network namespace (shared by every container
 * of the pod): drop every packet from the build-step bridge that is addressed to the pod itself.
 * A bridged step reaches the pod's namespace through its gateway (the bridge's address) and the pod
 * IP, where buildkitd listens on 0.0.0.0 (gRPC 1234, debug 6060); NetworkPolicy never sees that
 * traffic, which does not leave the pod. Forwarded traffic (the steps' egress) is not INPUT, so it
 * is unaffected. Idempotent: `-C` first, as a restarted pod keeps its network namespace.
 */
export function sandboxFirewallCommand(bridgeSubnet: string): string[] {
    if (!/^[0-9.]+\/[0-9]+$/.test(bridgeSubnet)) {
        throw new Error(`bridge subnet ${bridgeSubnet} is not an IPv4 CIDR`);
    }
    const rule = `INPUT -s ${bridgeSubnet} -j DROP`;
    // buildkitd's listeners on 0.0.0.0 are dual-stack (Go listens on AF_INET6 with IPV6_V6ONLY off for a
    // wildcard address: favoriteAddrFamily in net/ipsock_posix.go), so a step could also reach them over
    // the bridge's IPv6 link-local address. Nothing legitimate reaches the daemon over link-local TCP
    // (probes are exec, Prometheus and clients use the pod's IPv4 address): drop it, where the pod has IPv6.
    const rule6 = "INPUT -p tcp -s fe80::/10 -j DROP";
    // -e: the container fails (and the daemon never starts) if either rule cannot be set: fail closed.
    return [
        "/bin/sh",
        "-ec",
        `iptables -w -C ${rule} 2>/dev/null || iptables -w -I ${rule}; ` +
            `[ ! -e /proc/net/if_inet6 ] || ip6tables -w -C ${rule6} 2>/dev/null || ip6tables -w -I ${rule6}`,
    ];
}

/**
 * The rootful daemon's firewall init container: the BuildKit image itself (it ships iptables: the
 * moby/buildkit v0.31.2 Dockerfile installs it in `buildkit-export-alpine`), root with only the
 * network capabilities iptables needs. The rootless image ships no iptables; see docs/build-sandbox.md.
 */
export function sandboxFirewallContainer(image: string, bridgeSubnet: string): Container {
    return {
        name: SANDBOX_FIREWALL_CONTAINER,
        image,
        command: sandboxFirewallCommand(bridgeSubnet),
        securityContext: {
            runAsUser: 0,
            runAsNonRoot: false,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"], add: ["NET_ADMIN", "NET_RAW"] },
        },
        resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
    };
}

export function daemonContainer(input: DaemonPodInput): Container {
    const layout = daemonLayout(input.rootless);
    const check = { exec: { command: workerCheckCommand(layout.socket) } };
    return {
        name: "buildkitd",
        image: input.image,
        args: ["--config", `${CONFIG_DIR}/${CONFIG_FILE}`],
        ports: [
            { name: "grpc", containerPort: BUILDKIT_GRPC_PORT, protocol: "TCP" },
            { name: "metrics", containerPort: BUILDKIT_METRICS_PORT, protocol: "TCP" },
        ],
        securityContext: input.rootless
            ? {
                  // What rootlesskit needs to create its user namespace; see BuildKit's docs/rootless.md.
                  runAsUser: 1000,
                  runAsGroup: 1000,
                  runAsNonRoot: true,
                  seccompProfile: { type: "Unconfined" },
                  appArmorProfile: { type: "Unconfined" },
                  // BuildKit's process sandbox mounts a fresh /proc for each step, which a masked /proc
                  // forbids (BuildKit's docs/rootless.md, "systempaths=unconfined"); Kubernetes allows Unmasked
                  // only with hostUsers: false, which config validation requires with rootless.
                  procMount: "Unmasked",
              }
            : { privileged: true },
        resources: {
            requests: { cpu: input.resources.requests.cpu, memory: input.resources.requests.memory.quantity },
            limits: { ...(input.resources.limits.cpu ? { cpu: input.resources.limits.cpu } : {}), memory: input.resources.limits.memory.quantity },
        },
        startupProbe: { ...check, ...STARTUP_CHECK },
        readinessProbe: { exec: { command: readinessCommand(layout.socket) }, ...READINESS_CHECK },
        livenessProbe: { ...check, ...LIVENESS_CHECK },
        lifecycle: { preStop: { exec: { command: drainCommand(layout.socket, input.drainTimeoutSeconds) } } },
        volumeMounts: [
            { name: "config", mountPath: CONFIG_DIR, readOnly: true },
            { name: "server-tls", mountPath: SERVER_TLS_DIR, readOnly: true },
            { name: CACHE_VOLUME, mountPath: layout.stateDir },
        ],
    };
}

export function daemonPodSpec(input: DaemonPodInput): PodSpec {
    return {
        // buildkitd never talks to the Kubernetes API.
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        // Root in the pod (the rootful daemon, or the rootless one's user namespace) is an
        // unprivileged UID range on the node: a runc-class escape is not root on the node.
        ...(input.userNamespace ? { hostUsers: false } : {}),
        terminationGracePeriodSeconds: input.drainTimeoutSeconds + SHUTDOWN_MARGIN_SECONDS,
        // The rootless user must own the cache volume and be able to read the mounted key.
        ...(input.rootless ? { securityContext: { fsGroup: 1000, fsGroupChangePolicy: "OnRootMismatch" } } : {}),
        ...(input.placement.nodeSelector ? { nodeSelector: { ...input.placement.nodeSelector } } : {}),
        ...(input.placement.tolerations ? { tolerations: input.placement.tolerations.map((t) => ({ ...t })) } : {}),
        // Spread builders over nodes so one node loss does not take every builder and its cache.
        topologySpreadConstraints: [
            {
                maxSkew: 1,
                topologyKey: "kubernetes.io/hostname",
                whenUnsatisfiable: "ScheduleAnyway",
                labelSelector: { matchLabels: { ...(input.podLabels ?? BUILDKITD_POD_LABELS) } },
            },
        ],
        ...(input.rootless ? {} : { initContainers: [sandboxFirewallContainer(input.image, input.bridgeSubnet)] }),
        containers: [daemonContainer(input)],
        volumes: [
            { name: "config", configMap: { name: input.configMapName } },
            // 0440: readable by the owner and, in rootless mode, by fsGroup 1000; never world-readable.
            { name: "server-tls", secret: { secretName: input.serverTlsSecretName, defaultMode: 0o440 } },
        ],
    };
}

/**
 * One builder at a time may be voluntarily disrupted (a node drain, an AKS upgrade), matching the
 * StatefulSet's rolling update (one pod at a time): every other builder keeps serving and keeps its
 * cache, and each eviction waits for that pod's drain (terminationGracePeriodSeconds). With one
 * builder (k3d) it still lets the pod move; `minAvailable: 1` would block every node drain forever.
 */
export function disruptionBudget(): { maxUnavailable: number } {
    return { maxUnavailable: 1 };
}

/** QEMU architecture names `tonistiigi/binfmt --install` takes for BuildKit platforms. */
export function emulatorArchitectures(platforms: readonly string[]): string[] {
    const arch = (platform: string) => {
        const [, cpu] = platform.split("/");
        return cpu === "arm" ? "arm" : cpu;
    };
    return [...new Set(platforms.map(arch))].sort();
}
