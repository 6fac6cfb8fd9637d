import { parseBuildkitdToml, looksLikeBuildkitdToml } from "./buildkitdToml";
import { configMapEntries, findConfigMap } from "./configMaps";
import { Finding, ResourceLike, unverifiable, violation } from "./findings";
import { Container, PodTemplate, configMapNames, envEntries, imageRepository, mountedVolumes } from "./kube";
import { Unknown, UNKNOWN, asString, isUnknown } from "./plain";
import { SEPARATOR, basename, commandTokens, flagValues, isTcpAddress, shellWords } from "./text";

/** True for images of BuildKit itself (moby/buildkit, mirrors of it, buildkit-rootless builds, ...). */
export function isBuildkitImage(image: string): boolean {
    const repository = imageRepository(image);
    return basename(repository).includes("buildkit");
}

/**
 * The buildkitd flags of a container, or undefined when the container does not run buildkitd.
 * Detected by command (a `buildkitd` word anywhere in command/args, also inside `sh -c` scripts or
 * after `rootlesskit`) and by image (a BuildKit image with no command override runs its entrypoint,
 * `buildkitd` or `rootlesskit buildkitd`, with `args` as flags). `BUILDKITD_FLAGS` is added as well.
 * UNKNOWN when preview hides whether or how buildkitd runs.
 */
export function buildkitdFlags(container: Container): (string | Unknown)[] | Unknown | undefined {
    const tokens = commandTokens(container.record.command, container.record.args);
    const daemonAt = tokens.findIndex((t) => typeof t === "string" && basename(t) === "buildkitd");
    let flags: (string | Unknown)[] | undefined;
    if (daemonAt >= 0) {
        flags = untilSeparator(tokens.slice(daemonAt + 1));
    } else if (typeof container.image === "string" && isBuildkitImage(container.image)) {
        const command = container.record.command;
        if (isUnknown(command)) {
            return UNKNOWN;
        }
        const overridden = Array.isArray(command) && command.length > 0;
        const argTokens = commandTokens(undefined, container.record.args);
        const first = argTokens[0];
        const runsClient = typeof first === "string" && basename(first).startsWith("buildctl");
        if (overridden || runsClient) {
            return tokens.some(isUnknown) ? UNKNOWN : undefined;
        }
        flags = untilSeparator(argTokens);
    } else {
        return undefined;
    }
    for (const env of envEntries(container)) {
        if (env.name === "BUILDKITD_FLAGS") {
            if (isUnknown(env.value)) {
                flags.push(UNKNOWN);
            } else {
                flags.push(...shellWords(asString(env.value) ?? ""));
            }
        }
    }
    return flags;
}

function untilSeparator(tokens: (string | Unknown)[]): (string | Unknown)[] {
    const end = tokens.indexOf(SEPARATOR);
    return end >= 0 ? tokens.slice(0, end) : tokens;
}

/** A buildkitd config the daemon may read: parsed, unparsable, or not visible from here. */
type ConfigSource =
    | { source: string; kind: "none" }
    | { source: string; kind: "text"; text: string }
    | { source: string; kind: "invisible"; reason: string };

/**
 * The buildkitd.toml candidates a daemon container sees: TOML entries of the ConfigMaps it mounts.
 * `resources` is the stack (undefined when only the workload itself is known).
 */
function configSources(template: PodTemplate, container: Container, resources: ResourceLike[]): ConfigSource[] {
    const sources: ConfigSource[] = [];
    for (const { volume } of mountedVolumes(template.spec, container)) {
        for (const name of configMapNames(volume)) {
            if (isUnknown(name)) {
                sources.push({ source: "a ConfigMap whose name is unknown during preview", kind: "invisible", reason: "its name is unknown during preview" });
                continue;
            }
            const configMap = findConfigMap(resources, name, template.namespace);
            if (!configMap) {
                sources.push({ source: `ConfigMap '${name}'`, kind: "invisible", reason: "it is not declared in this stack" });
                continue;
            }
            for (const entry of configMapEntries(configMap)) {
                const source = `key '${entry.key}' of ConfigMap '${name}'`;
                if (isUnknown(entry.text)) {
                    sources.push({ source, kind: "invisible", reason: "its content is unknown during preview" });
                } else if (looksLikeBuildkitdToml(entry.key, entry.text)) {
                    sources.push({ source, kind: "text", text: entry.text });
                }
            }
        }
    }
    return sources.length > 0 ? sources : [{ source: "no buildkitd.toml", kind: "none" }];
}

const DEFAULT_ADDRESS = "unix:///run/buildkit/buildkitd.sock";

export const DAEMON_FIX =
    "BuildKit's TCP API must require mutual TLS: give buildkitd a server certificate, its key and a client CA " +
    "(flags --tlscert, --tlskey and --tlscacert, or cert, key and ca under [grpc.tls] in the buildkitd.toml it mounts), " +
    "with the files mounted from a Kubernetes Secret; or listen only on the unix socket.";

/**
 * Judges one buildkitd container the way buildkitd merges its settings: `--addr` flags replace the
 * TOML's `[grpc] address` (default: the unix socket only), and each TLS flag that is set replaces the
 * matching `[grpc.tls]` field. Every `tcp://` listener needs cert, key and CA (without the CA buildkitd
 * accepts any client).
 */
export function judgeDaemon(template: PodTemplate, container: Container, flags: (string | Unknown)[], resources: ResourceLike[]): Finding[] {
    const urn = template.resource.urn;
    const subject = `${template.where} container '${container.name}'`;
    const rawAddresses = flagValues(flags, "addr");
    if (rawAddresses.some(isUnknown) || hasUnknownFlag(flags)) {
        return [unverifiable(`${subject} runs buildkitd with arguments that are unknown during preview (possibly an --addr), so its listeners cannot be checked yet.`, urn)];
    }
    const flagAddresses = rawAddresses as string[];
    const flagTls = { cert: flagValues(flags, "tlscert"), key: flagValues(flags, "tlskey"), ca: flagValues(flags, "tlscacert") };
    const findings: Finding[] = [];
    for (const config of configSources(template, container, resources)) {
        let fromToml = { addresses: undefined as string[] | undefined, cert: undefined as string | undefined, key: undefined as string | undefined, ca: undefined as string | undefined };
        if (config.kind === "invisible" || (config.kind === "text" && !parseBuildkitdToml(config.text).ok)) {
            const tcpFromFlags = flagAddresses.some(isTcpAddress);
            const flagsDecide = flagAddresses.length > 0 && (!tcpFromFlags || [flagTls.cert, flagTls.key, flagTls.ca].every((v) => lastValue(v) !== undefined));
            if (flagsDecide) {
                continue;
            }
            if (config.kind === "invisible") {
                findings.push(unverifiable(`${subject} mounts ${config.source}, but ${config.reason}, so its buildkitd.toml cannot be checked for a plaintext tcp:// listener.`, urn));
                continue;
            }
            const parsed = parseBuildkitdToml(config.text);
            const error = parsed.ok ? "" : parsed.error;
            const message = `${subject} mounts ${config.source}, which does not parse as TOML (${error}), so its gRPC listeners and TLS cannot be verified.`;
            findings.push(/tcp:\/\//i.test(config.text) ? violation(`${message} Fix the TOML syntax. ${DAEMON_FIX}`, urn) : unverifiable(message, urn));
            continue;
        }
        if (config.kind === "text") {
            const parsed = parseBuildkitdToml(config.text);
            if (parsed.ok) {
                fromToml = parsed.grpc;
            }
        }
        const addresses = flagAddresses.length > 0 ? flagAddresses : fromToml.addresses ?? [DEFAULT_ADDRESS];
        const tcp = addresses.filter(isTcpAddress);
        if (tcp.length === 0) {
            continue;
        }
        const effective = {
            "server certificate (--tlscert / [grpc.tls] cert)": pick(flagTls.cert, fromToml.cert),
            "server key (--tlskey / [grpc.tls] key)": pick(flagTls.key, fromToml.key),
            "client CA (--tlscacert / [grpc.tls] ca)": pick(flagTls.ca, fromToml.ca),
        };
        const missing = Object.entries(effective).filter(([, value]) => value === undefined).map(([what]) => what);
        if (missing.length > 0) {
            const origin = flagAddresses.length > 0 ? "--addr" : `[grpc] address in ${config.source}`;
            findings.push(violation(`${subject} listens on ${tcp.join(", ")} (from ${origin}) without a ${missing.join(", a ")}. ${DAEMON_FIX}`, urn));
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
        return isUnknown(token) && !(typeof previous === "string" && /^--?[a-z][a-z0-9-]*$/i.test(previous));
    });
}

/** The last value of a repeated flag (what the CLI keeps); undefined when absent or empty. */
function lastValue(values: (string | Unknown)[]): string | Unknown | undefined {
    const last = values[values.length - 1];
    return last === undefined || (typeof last === "string" && last.trim() === "") ? undefined : last;
}

/** A flag that is set replaces the TOML field, even when set to "" (as buildkitd does). */
function pick(flag: (string | Unknown)[], toml: string | undefined): string | Unknown | undefined {
    return flag.length > 0 ? lastValue(flag) : toml;
}
