import { ParsedToml, parseBuildkitdToml } from "./buildkitdToml";
import { ContainerContext, buildContext, isBuildkitImage, mountFor, mountedTexts } from "./container";
import { Finding, unverifiable, violation } from "./findings";
import { PodTemplate, containersOf, imageRepository, podTemplates } from "./kube";
import { View } from "./objects";
import { UNKNOWN, Unknown, asArray, asRecord, isUnknown } from "./plain";
import { ResourceLike } from "./findings";
import { flagValues, isTcpAddress, shellWords } from "./text";

export { isBuildkitImage };

/** One buildkitd a container ends up running, with the flags it gets and the environment it sees. */
export interface DaemonRun {
    flags: (string | Unknown)[];
    how: string;
    /** Set by `judgeDaemonRun`: whether this buildkitd has a tcp:// listener ("unknown" when it cannot tell). */
    tcp?: boolean | "unknown";
    /** Insecure entitlements the image's own config grants (read from its published source, not from the stack). */
    imageEntitlements?: { entitlements: string[]; source: string };
}

export interface Daemon {
    ctx: ContainerContext;
    runs: DaemonRun[];
    /** The container may run buildkitd, but what it runs is unknown or unreadable. */
    unclear?: string;
}

/**
 * Every buildkitd the container starts: a `buildkitd` command word anywhere in what it runs (directly,
 * after wrappers such as `exec`, `tini --` or `rootlesskit`, in `sh -c` scripts and in script files mounted
 * from ConfigMaps or Secrets), the BuildKit image's own entrypoint, and `buildctl-daemonless.sh`, which
 * starts buildkitd with `$BUILDKITD_FLAGS` plus a unix socket. Naming something `buildkitd` in an argument
 * (`buildctl build --opt target=buildkitd`, `docker build -t buildkitd`) does not make a daemon.
 */
export function daemonOf(ctx: ContainerContext): Daemon | undefined {
    const runs: DaemonRun[] = [];
    let unclear: string | undefined;
    const earthly = earthlyRun(ctx);
    if (earthly) {
        return { ctx, runs: [earthly] };
    }
    for (const invocation of ctx.interpretation.invocations) {
        if (invocation.program !== "buildkitd" && invocation.program !== "buildctl" && hasBuildkitdOnlyFlags(invocation.args)) {
            // A renamed or wrapped buildkitd binary: --addr together with flags only buildkitd takes.
            runs.push({ flags: invocation.args, how: `'${invocation.program}' (buildkitd by its flags)` });
        } else if (invocation.program === "buildkitd") {
            // buildkitd itself does not read BUILDKITD_FLAGS, but the image's buildctl-daemonless.sh does and
            // anyone exec-ing into the pod may: flags declared there count too (erring on the safe side).
            const extra = invocation.env.get("BUILDKITD_FLAGS");
            runs.push({ flags: [...invocation.args, ...(isUnknown(extra) ? [extra as Unknown] : shellWords(extra ?? ""))], how: "buildkitd" });
        } else if (invocation.program === "buildctl-daemonless.sh") {
            const flags = invocation.env.get("BUILDKITD_FLAGS");
            runs.push({
                flags: [...(isUnknown(flags) ? [flags as Unknown] : shellWords(flags ?? "")), "--addr=unix:///run/buildkit/buildkitd.sock"],
                how: "buildctl-daemonless.sh with BUILDKITD_FLAGS",
            });
        } else if (invocation.program === "" && isBuildkitImage(ctx.container.image)) {
            unclear = "its command is unknown during preview";
        }
    }
    if (runs.length === 0 && ctx.interpretation.unreadScripts.length > 0 && (isBuildkitImage(ctx.container.image) || /buildkit/i.test(ctx.container.name))) {
        unclear = `it runs ${ctx.interpretation.unreadScripts.join(", ")}, which the policy pack cannot read`;
    }
    if (runs.length === 0) {
        runs.push(...mountedCommandLines(ctx));
    }
    if (runs.length === 0 && !unclear) {
        return undefined;
    }
    return { ctx, runs, unclear };
}

/** `--addr` together with a flag only buildkitd has (its worker flags): buildctl and other clients take neither. */
function hasBuildkitdOnlyFlags(args: (string | Unknown)[]): boolean {
    const words = args.filter((a): a is string => typeof a === "string");
    const worker = words.some((w) => /^--?(oci-worker|containerd-worker)[a-z-]*(=|$)/.test(w));
    const addr = words.some((w) => /^--?addr(=|$)/.test(w));
    return worker && addr;
}

/**
 * earthly/buildkitd (Earthly's BuildKit image) is configured by environment: its entrypoint adds a TCP
 * listener on port 8372 when BUILDKIT_TCP_TRANSPORT_ENABLED is exactly "true", and the [grpc.tls]
 * section (server certificate, key and client CA under /etc/.earthly/certs) only when
 * BUILDKIT_TLS_ENABLED is exactly "true" (earthly/earthly buildkitd/entrypoint.sh; docs/docker-images/
 * buildkit-standalone.md).
 */
function earthlyRun(ctx: ContainerContext): DaemonRun | undefined {
    const image = ctx.container.image;
    if (typeof image !== "string" || !/(^|\/)(earthly|earthbuild)\/buildkitd$/.test(imageRepository(image)) || !ctx.imageEntrypoint) {
        return undefined;
    }
    const tcp = ctx.env.get("BUILDKIT_TCP_TRANSPORT_ENABLED");
    const tls = ctx.env.get("BUILDKIT_TLS_ENABLED");
    if (isUnknown(tcp) || isUnknown(tls)) {
        return { flags: ["--addr", UNKNOWN], how: "earthly/buildkitd's entrypoint (BUILDKIT_TCP_TRANSPORT_ENABLED/BUILDKIT_TLS_ENABLED unknown)" };
    }
    if (tcp !== "true") {
        return { flags: ["--addr", "unix:///run/buildkit/buildkitd.sock"], how: "earthly/buildkitd's entrypoint" };
    }
    const certs = "/etc/.earthly/certs";
    const tlsFlags =
        tls === "true" ? ["--tlscert", `${certs}/buildkit_cert.pem`, "--tlskey", `${certs}/buildkit_key.pem`, "--tlscacert", `${certs}/ca_cert.pem`] : [];
    // Its buildkitd.toml.template sets `networkMode = "${NETWORK_MODE}"` (the image defaults to cni, with the
    // CNI config its entrypoint writes) and always `insecure-entitlements = [ "security.insecure" ]`.
    const network = ctx.env.get("NETWORK_MODE");
    const networkFlags: (string | Unknown)[] = isUnknown(network)
        ? ["--oci-worker-net", UNKNOWN]
        : ["--oci-worker-net", typeof network === "string" && network !== "" ? network : "cni"];
    return {
        flags: ["--addr", "tcp://0.0.0.0:8372", ...tlsFlags, ...networkFlags],
        imageEntitlements: { entitlements: ["security.insecure"], source: "earthly/buildkitd's buildkitd.toml.template" },
        how: `earthly/buildkitd's entrypoint (BUILDKIT_TCP_TRANSPORT_ENABLED=true, BUILDKIT_TLS_ENABLED=${tls === undefined ? "unset" : `'${tls}'`})`,
    };
}

/**
 * A buildkitd command line with a tcp:// address in a ConfigMap or Secret the container mounts (a
 * supervisord `command=`, a runit or s6 run file, a Procfile): the pack cannot know what reads that
 * file, so it is taken as a daemon the container runs (erring on the safe side).
 */
function mountedCommandLines(ctx: ContainerContext): DaemonRun[] {
    const runs: DaemonRun[] = [];
    for (const { text, source } of mountedTexts(ctx)) {
        const joined = text.slice(0, 256_000).replace(/\\\r?\n/g, " ");
        for (const line of joined.split("\n").slice(0, 5_000)) {
            const match = /(?:^|[\s="'/])buildkitd(?:\s+(.*))?$/.exec(line);
            if (match && /tcp:\/\//i.test(match[1] ?? "")) {
                runs.push({ flags: shellWords(match[1] ?? ""), how: `buildkitd as written in ${source}` });
            }
        }
    }
    return runs;
}

/** Every pod template and container of the view, with their resolved contexts. */
const contextCache = new WeakMap<View, { template: PodTemplate; contexts: ContainerContext[]; unknownContainers: boolean }[]>();

export function containerContexts(view: View, helm: ResourceLike[]): { template: PodTemplate; contexts: ContainerContext[]; unknownContainers: boolean }[] {
    const cached = contextCache.get(view);
    if (cached) {
        return cached;
    }
    const computed = podTemplates(view, helm).map((template) => {
        const containers = containersOf(template.spec);
        if (isUnknown(containers)) {
            return { template, contexts: [], unknownContainers: true };
        }
        return { template, contexts: containers.slice(0, 200).map((c) => buildContext(template, c, view)), unknownContainers: false };
    });
    contextCache.set(view, computed);
    return computed;
}

export function daemonsOf(view: View, helm: ResourceLike[]): Daemon[] {
    return containerContexts(view, helm).flatMap((t) => t.contexts.map(daemonOf).filter((d): d is Daemon => d !== undefined));
}

const DEFAULT_ADDRESS = "unix:///run/buildkit/buildkitd.sock";

export const DAEMON_FIX =
    "BuildKit's TCP API must require mutual TLS: give buildkitd a server certificate, its key and a client CA " +
    "(flags --tlscert, --tlskey and --tlscacert, or cert, key and ca under [grpc.tls] in the buildkitd.toml it reads), " +
    "with the files mounted from a Kubernetes Secret; or listen only on the unix socket.";

/** Where buildkitd reads its config: `--config` (last one wins), else its default paths (rootful and rootless). */
function configPaths(ctx: ContainerContext, flags: (string | Unknown)[]): { paths: string[]; explicit: boolean } | Unknown {
    const values = flagValues(flags, "config");
    const last = values[values.length - 1];
    if (isUnknown(last)) {
        return last;
    }
    if (last !== undefined && last !== "") {
        return { paths: [last], explicit: true };
    }
    const home = ctx.env.get("HOME");
    const xdg = ctx.env.get("XDG_CONFIG_HOME");
    const paths = ["/etc/buildkit/buildkitd.toml", "/home/user/.config/buildkit/buildkitd.toml"];
    if (typeof home === "string" && home !== "") {
        paths.push(`${home}/.config/buildkit/buildkitd.toml`);
    }
    if (typeof xdg === "string" && xdg !== "") {
        paths.push(`${xdg}/buildkit/buildkitd.toml`);
    }
    return { paths, explicit: false };
}

/**
 * Judges one buildkitd the way it merges its settings: `--addr` flags replace the TOML's `[grpc] address`
 * (default: the unix socket only), and each TLS flag that is set replaces the matching `[grpc.tls]` field.
 * Every `tcp://` listener needs cert, key and CA (without the CA buildkitd accepts any client).
 */
export function judgeDaemonRun(daemon: Daemon, run: DaemonRun): Finding[] {
    const { ctx } = daemon;
    const urn = ctx.template.resource.urn;
    const subject = `${ctx.template.where} container '${ctx.container.name}'`;
    const flags = run.flags;
    const rawAddresses = flagValues(flags, "addr");
    if (rawAddresses.some(isUnknown) || hasUnknownFlag(flags)) {
        run.tcp = "unknown";
        return [
            unverifiable(
                `${subject} runs ${run.how} with arguments that are unknown during preview (possibly an --addr), so its listeners cannot be checked yet.`,
                urn,
            ),
        ];
    }
    const flagAddresses = rawAddresses as string[];
    const flagTls = { cert: flagValues(flags, "tlscert"), key: flagValues(flags, "tlskey"), ca: flagValues(flags, "tlscacert") };
    const tcpFromFlags = flagAddresses.some(isTcpAddress);
    const flagsDecide = flagAddresses.length > 0 && (!tcpFromFlags || [flagTls.cert, flagTls.key, flagTls.ca].every((v) => lastValue(v) !== undefined));
    run.tcp = tcpFromFlags ? true : flagAddresses.length > 0 ? false : "unknown";
    if (flagsDecide) {
        return [];
    }
    const loaded = loadConfig(daemon, run, tcpFromFlags);
    if ("finding" in loaded) {
        return loaded.finding ? [loaded.finding] : [];
    }
    const toml: { addresses?: string[]; cert?: string; key?: string; ca?: string } = loaded.parsed?.grpc ?? {};
    const source = loaded.source;
    const addresses = flagAddresses.length > 0 ? flagAddresses : (toml.addresses ?? [DEFAULT_ADDRESS]);
    const tcp = addresses.filter(isTcpAddress);
    run.tcp = tcp.length > 0;
    if (tcp.length === 0) {
        return [];
    }
    const effective = {
        "server certificate (--tlscert / [grpc.tls] cert)": pick(flagTls.cert, toml.cert),
        "server key (--tlskey / [grpc.tls] key)": pick(flagTls.key, toml.key),
        "client CA (--tlscacert / [grpc.tls] ca)": pick(flagTls.ca, toml.ca),
    };
    const missing = Object.entries(effective)
        .filter(([, value]) => value === undefined)
        .map(([what]) => what);
    if (missing.length === 0) {
        return [];
    }
    const origin = flagAddresses.length > 0 ? `--addr of ${run.how}` : `[grpc] address in ${source}`;
    return [violation(`${subject} listens on ${tcp.join(", ")} (from ${origin}) without a ${missing.join(", a ")}. ${DAEMON_FIX}`, urn)];
}

/** What `loadConfig` found: the parsed buildkitd.toml buildkitd reads (undefined when it reads none), or why it cannot be judged. */
export type LoadedConfig = { parsed: Extract<ParsedToml, { ok: true }> | undefined; source: string } | { finding: Finding | undefined };

const loadedConfigs = new WeakMap<DaemonRun, LoadedConfig>();

/**
 * The buildkitd.toml one buildkitd reads: the file `--config` names (the last one wins) or, without
 * `--config`, the first of buildkitd's default paths that is mounted or written by a script. A config
 * that cannot be read is a finding (a violation when it does not parse and mentions tcp://).
 */
export function loadConfig(daemon: Daemon, run: DaemonRun, tcpFromFlags: boolean): LoadedConfig {
    const cached = loadedConfigs.get(run);
    if (cached) {
        return cached;
    }
    const { ctx } = daemon;
    const urn = ctx.template.resource.urn;
    const subject = `${ctx.template.where} container '${ctx.container.name}'`;
    const located = configPaths(ctx, run.flags);
    let result: LoadedConfig = { parsed: undefined, source: "" };
    if (isUnknown(located)) {
        result = {
            finding: unverifiable(
                `${subject} runs buildkitd with a --config path that is unknown during preview, so its listeners cannot be checked yet.`,
                urn,
            ),
        };
    } else {
        for (const path of located.paths) {
            const written = ctx.interpretation.files.get(path) ?? writtenBySibling(ctx, path);
            const file = written !== undefined ? { text: written } : ctx.read(path);
            if (file === undefined) {
                if (located.explicit && !tcpFromFlags) {
                    // A config baked into the image (or missing): its listeners cannot be seen.
                    result = {
                        finding: unverifiable(
                            `${subject} runs buildkitd with --config ${path}, which is not mounted from a ConfigMap or Secret (baked into the image?), so its listeners cannot be checked.`,
                            urn,
                        ),
                    };
                    break;
                }
                continue;
            }
            if ("unreadable" in file) {
                result = {
                    finding: unverifiable(
                        `${subject} runs buildkitd with its config at ${file.unreadable}, which the policy pack cannot read, so its listeners and TLS cannot be checked.`,
                        urn,
                    ),
                };
                break;
            }
            const parsed = parseBuildkitdToml(file.text);
            if (!parsed.ok) {
                const message = `${subject} runs buildkitd with config ${path}, which does not parse as TOML (${parsed.error}), so its gRPC listeners and TLS cannot be verified.`;
                result = {
                    finding: /tcp:\/\//i.test(file.text) ? violation(`${message} Fix the TOML syntax. ${DAEMON_FIX}`, urn) : unverifiable(message, urn),
                };
                break;
            }
            const source =
                written !== undefined ? `${path} (written by its script)` : "source" in file && file.source ? `${file.source} (mounted at ${path})` : path;
            result = { parsed, source };
            break;
        }
    }
    loadedConfigs.set(run, result);
    return result;
}

/**
 * A file in an emptyDir that another container of the pod (typically an init container) writes with its
 * script (`cat > /cfg/buildkitd.toml <<EOF`, `printf ... > ...`): what buildkitd reads there.
 */
function writtenBySibling(ctx: ContainerContext, path: string): string | undefined {
    const mount = mountFor(ctx.mounts, path);
    if (!mount || !("emptyDir" in mount.volume)) {
        return undefined;
    }
    const containers = containersOf(ctx.template.spec);
    if (isUnknown(containers)) {
        return undefined;
    }
    for (const sibling of containers.slice(0, 50)) {
        if (sibling.record === ctx.container.record) {
            continue;
        }
        const siblingMount = asArray(sibling.record.volumeMounts)
            .map(asRecord)
            .find((m) => m.name === mount.volume.name && typeof m.mountPath === "string" && m.subPath === undefined);
        if (!siblingMount) {
            continue;
        }
        const siblingPath = `${String(siblingMount.mountPath).replace(/\/+$/, "")}/${mount.relative}`;
        const text = buildContext(ctx.template, sibling, ctx.view).interpretation.files.get(siblingPath);
        if (text !== undefined) {
            return text;
        }
    }
    return undefined;
}

/** Whether any buildkitd of the container listens on tcp:// (true also when that cannot be told). */
export function mayListenOnTcp(daemon: Daemon): boolean {
    if (daemon.runs.length === 0) {
        return true;
    }
    return daemon.runs.some((run) => {
        if (run.tcp === undefined) {
            judgeDaemonRun(daemon, run);
        }
        return run.tcp !== false;
    });
}

/** All findings about one daemon container. */
export function judgeDaemon(daemon: Daemon): Finding[] {
    const subject = `${daemon.ctx.template.where} container '${daemon.ctx.container.name}'`;
    const findings: Finding[] = [];
    if (daemon.unclear && daemon.runs.length === 0) {
        findings.push(
            unverifiable(`${subject} may run buildkitd, but ${daemon.unclear}, so its listeners cannot be checked yet.`, daemon.ctx.template.resource.urn),
        );
    }
    for (const run of daemon.runs) {
        findings.push(...judgeDaemonRun(daemon, run));
    }
    for (const reason of daemon.ctx.unknowns) {
        if (findings.length === 0) {
            findings.push(unverifiable(`${subject} runs buildkitd, but ${reason}, so it cannot be fully checked.`, daemon.ctx.template.resource.urn));
        }
    }
    return findings;
}

/**
 * True when an unknown token could itself be a flag such as `--addr=tcp://...`. An unknown token right
 * after a flag name (`--tlscert <unknown>`) is that flag's value; only an unknown `--addr` value matters,
 * and that is caught separately.
 */
function hasUnknownFlag(flags: (string | Unknown)[]): boolean {
    return flags.some((token, i) => {
        const previous = flags[i - 1];
        return isUnknown(token) && !(typeof previous === "string" && /^--?[a-z][a-z0-9-]*$/i.test(previous) && previous !== "--addr" && previous !== "-addr");
    });
}

/** The last value of a repeated flag (what the CLI keeps); undefined when absent or empty. */
function lastValue(values: (string | Unknown)[]): string | Unknown | undefined {
    const last = values[values.length - 1];
    return last === undefined || (typeof last === "string" && last.trim() === "") ? undefined : last;
}

/**
 * A TLS flag replaces the TOML field only when its (last) value is not empty: buildkitd's applyMainFlags
 * (cmd/buildkitd/main.go) sets cfg.GRPC.TLS.* from --tlscert/--tlskey/--tlscacert only `if value != ""`,
 * so `--tlscacert=` keeps the CA of the buildkitd.toml rather than clearing it.
 */
function pick(flag: (string | Unknown)[], toml: string | undefined): string | Unknown | undefined {
    return lastValue(flag) ?? toml;
}
