import { Daemon, DaemonRun, judgeDaemonRun, loadConfig } from "./buildkitd";
import { WorkerSettings } from "./buildkitdToml";
import { mountFor } from "./container";
import { Finding, unverifiable, violation } from "./findings";
import { imageRepository } from "./kube";
import { Unknown, asRecord, isUnknown } from "./plain";
import { flagValues, isTcpAddress } from "./text";

/**
 * Rule 6 (issue 20): a build step is a sandbox. Read against moby/buildkit v0.31.2:
 * - `insecure-entitlements` (cmd/buildkitd/config/config.go) and `--allow-insecure-entitlement`, which
 *   replaces the TOML's list when given (cmd/buildkitd/main.go, `if c.IsSet("allow-insecure-entitlement")`);
 * - `[worker.oci] networkMode` / `--oci-worker-net` and `[worker.containerd] networkMode` /
 *   `--containerd-worker-net` (main_oci_worker.go, main_containerd_worker.go). An unset mode is "auto"
 *   (main.go setDefaultNetworkConfig), which util/network/netproviders/network.go resolves to bridge
 *   when BUILDKIT_NETWORK_BRIDGE_AUTO is true, to CNI when the CNI config file exists
 *   (`cniConfigPath`, default /etc/buildkit/cni.json, rootless ~/.config/buildkit/cni.json), and
 *   otherwise to the host network (network_unix.go getFallback: "using host network as the default");
 * - `[worker.oci] noProcessSandbox` / `--oci-worker-no-process-sandbox`.
 */
export const ISOLATION_FIX =
    'Give every build step its own sandbox: set networkMode = "bridge" (or "cni" with a CNI config) under [worker.oci] ' +
    '(or --oci-worker-net=bridge), never "host"; grant no insecure entitlements (no insecure-entitlements in buildkitd.toml, no ' +
    "--allow-insecure-entitlement) on a daemon other pods reach over TCP; and keep BuildKit's process sandbox (no noProcessSandbox / " +
    "--oci-worker-no-process-sandbox; rootless daemons use hostUsers: false with procMount: Unmasked instead, as BuildKit's " +
    "examples/kubernetes do).";

/** The last value of a boolean urfave-cli flag (`--x`, `--x=true`, `--x=false`), or undefined when absent. */
export function boolFlag(flags: (string | Unknown)[], name: string): boolean | "unknown" | undefined {
    let value: boolean | "unknown" | undefined;
    for (const token of flags) {
        if (isUnknown(token)) {
            continue;
        }
        for (const prefix of [`--${name}`, `-${name}`]) {
            if (token === prefix) {
                value = true;
            } else if (token.startsWith(`${prefix}=`)) {
                const text = token.slice(prefix.length + 1).toLowerCase();
                value = ["1", "t", "true"].includes(text) ? true : ["0", "f", "false"].includes(text) ? false : "unknown";
            }
        }
    }
    return value;
}

function last(values: (string | Unknown)[]): string | Unknown | undefined {
    return values[values.length - 1];
}

/**
 * Whether the daemon runs rootless: `rootless = true` in the TOML, `--rootless`, rootlesskit in its
 * command, a `-rootless` image (whose entrypoint is rootlesskit), or a non-root user in the container's
 * security context (buildkitd as a non-root user cannot run a rootful worker).
 */
function isRootless(daemon: Daemon, run: DaemonRun, oci: WorkerSettings): boolean {
    const { ctx } = daemon;
    if (oci.rootless === true || boolFlag(run.flags, "rootless") === true) {
        return true;
    }
    if (ctx.interpretation.invocations.some((i) => i.program === "rootlesskit") || /rootlesskit/.test(run.how)) {
        return true;
    }
    const image = ctx.container.image;
    if (typeof image === "string" && /rootless/i.test(image.split("@")[0].slice(imageRepository(image).length))) {
        return true;
    }
    const user = asRecord(ctx.container.record.securityContext).runAsUser ?? asRecord(ctx.template.spec.securityContext).runAsUser;
    return typeof user === "number" && user > 0;
}

/** One network-mode verdict per enabled worker. */
function networkFindings(daemon: Daemon, run: DaemonRun, worker: "oci" | "containerd", settings: WorkerSettings, shared: boolean, subject: string): Finding[] {
    const urn = daemon.ctx.template.resource.urn;
    const flagMode = last(flagValues(run.flags, `${worker}-worker-net`));
    if (isUnknown(flagMode)) {
        return [
            unverifiable(`${subject} sets --${worker}-worker-net to a value unknown during preview, so its build steps' network cannot be checked yet.`, urn),
        ];
    }
    const mode = (flagMode !== undefined && flagMode !== "" ? flagMode : (settings.networkMode ?? "auto")).trim().toLowerCase();
    if (mode === "host") {
        return [
            violation(
                `${subject} runs build steps in the daemon's own network namespace (${worker} worker network mode "host"${flagMode ? ` from --${worker}-worker-net` : ""}), so a RUN step reaches the daemon's loopback, other builds' listeners and the node's metadata endpoint. ${ISOLATION_FIX}`,
                urn,
            ),
        ];
    }
    if (mode !== "auto" && mode !== "") {
        return [];
    }
    // "auto": bridge when BUILDKIT_NETWORK_BRIDGE_AUTO is true, CNI when its config file exists, else host.
    const auto = daemon.ctx.env.get("BUILDKIT_NETWORK_BRIDGE_AUTO");
    if (typeof auto === "string" && ["1", "t", "true", "TRUE", "True", "T"].includes(auto.trim())) {
        return [];
    }
    const cniFlag = last(flagValues(run.flags, worker === "oci" ? "oci-cni-config-path" : "containerd-cni-config-path"));
    const cniPath = typeof cniFlag === "string" && cniFlag !== "" ? cniFlag : (settings.cniConfigPath ?? "/etc/buildkit/cni.json");
    if (daemon.ctx.read(cniPath) !== undefined || mountFor(daemon.ctx.mounts, cniPath)) {
        return [];
    }
    if (!shared) {
        return [];
    }
    return [
        unverifiable(
            `${subject} sets no ${worker} worker network mode, and BuildKit's "auto" falls back to the host network when no CNI config exists at ${cniPath} (none is mounted there; one baked into the image cannot be seen), so RUN steps may share the daemon's network namespace. Set networkMode = "bridge". ${ISOLATION_FIX}`,
            urn,
        ),
    ];
}

/** All isolation findings for one buildkitd. */
export function judgeIsolation(daemon: Daemon): Finding[] {
    const findings: Finding[] = [];
    const urn = daemon.ctx.template.resource.urn;
    const subject = `${daemon.ctx.template.where} container '${daemon.ctx.container.name}'`;
    for (const run of daemon.runs) {
        if (run.tcp === undefined) {
            judgeDaemonRun(daemon, run);
        }
        const tcpFromFlags = flagValues(run.flags, "addr").some((a) => typeof a === "string" && isTcpAddress(a));
        const loaded = loadConfig(daemon, run, tcpFromFlags);
        if ("finding" in loaded) {
            // The daemon rule reports a config it cannot read; isolation cannot be judged either.
            continue;
        }
        const isolation = loaded.parsed?.isolation;
        const from = loaded.source ? ` in ${loaded.source}` : "";
        // A daemon other pods reach (tcp:// listener, or one that cannot be ruled out) is shared between builds of many jobs.
        const shared = run.tcp !== false;
        const oci: WorkerSettings = isolation?.oci ?? {
            enabled: undefined,
            networkMode: undefined,
            cniConfigPath: undefined,
            rootless: undefined,
            noProcessSandbox: undefined,
        };
        const containerd: WorkerSettings = isolation?.containerd ?? { ...oci, enabled: undefined, networkMode: undefined, cniConfigPath: undefined };

        const flagEntitlements = flagValues(run.flags, "allow-insecure-entitlement");
        const entitlements = flagEntitlements.length > 0 ? flagEntitlements : (isolation?.entitlements ?? []);
        if (shared && entitlements.some(isUnknown)) {
            findings.push(unverifiable(`${subject} grants insecure entitlements unknown during preview, so they cannot be checked yet.`, urn));
        } else if (shared && entitlements.some((e) => typeof e === "string" && e.trim() !== "")) {
            const origin = flagEntitlements.length > 0 ? "--allow-insecure-entitlement" : `insecure-entitlements${from}`;
            findings.push(
                violation(
                    `${subject} serves other pods over TCP and grants the insecure entitlement(s) ${entitlements.filter((e) => typeof e === "string" && e !== "").join(", ")} (${origin}), so any client may run a build step with the host's network or as a privileged container. ${ISOLATION_FIX}`,
                    urn,
                ),
            );
        }

        if (shared && flagEntitlements.length === 0 && run.imageEntitlements) {
            // What the image's own config grants is read from its published source, not from the stack: reported, not blocked.
            findings.push(
                unverifiable(
                    `${subject} serves other pods over TCP, and ${run.imageEntitlements.source} grants the insecure entitlement(s) ${run.imageEntitlements.entitlements.join(", ")}, so any client with a certificate may run privileged build steps. ${ISOLATION_FIX}`,
                    urn,
                ),
            );
        }

        const sandboxFlag = boolFlag(run.flags, "oci-worker-no-process-sandbox");
        const noSandbox = sandboxFlag ?? oci.noProcessSandbox ?? false;
        if (shared && noSandbox === true) {
            findings.push(
                violation(
                    `${subject} serves other pods over TCP with the OCI worker's process sandbox off (${sandboxFlag !== undefined ? "--oci-worker-no-process-sandbox" : `noProcessSandbox = true${from}`}), so concurrent builds can read each other's processes, environment and secret mounts. ${ISOLATION_FIX}`,
                    urn,
                ),
            );
        } else if (shared && noSandbox === "unknown") {
            findings.push(unverifiable(`${subject} sets --oci-worker-no-process-sandbox to a value the pack cannot read.`, urn));
        }

        if (isRootless(daemon, run, oci)) {
            // Rootless steps share rootlesskit's network namespace, not the node's; issue 20 leaves it to the rootless mode's own checks.
            continue;
        }
        const ociFlag = boolFlag(run.flags, "oci-worker");
        const containerdFlag = boolFlag(run.flags, "containerd-worker");
        if ((ociFlag ?? oci.enabled) !== false) {
            findings.push(...networkFindings(daemon, run, "oci", oci, shared, subject));
        }
        if ((containerdFlag ?? containerd.enabled) === true) {
            findings.push(...networkFindings(daemon, run, "containerd", containerd, shared, subject));
        }
    }
    return findings;
}
