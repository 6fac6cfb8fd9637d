import { posix } from "path";
import { configuredClients } from "./clientFiles";
import { ContainerContext, mountFor, volumeHasPath, volumeSecrecy } from "./container";
import { Finding, unverifiable, violation } from "./findings";
import { UNKNOWN, Unknown, asArray, asRecord, asString, at, isUnknown } from "./plain";
import { lookup } from "./objects";
import { Env, Invocation, UNKNOWN_MARK } from "./shell";
import { flagValues, isTcpAddress } from "./text";

/**
 * Env var names that hold a BuildKit address for clients: BUILDKIT_HOST, AMEIDE_BUILDKIT_ADDR, BUILDKITD_ADDRESS, BUILDX_*, ...,
 * and Dagger's `_EXPERIMENTAL_DAGGER_RUNNER_HOST` (docs.dagger.io "Custom runner": the engine is BuildKit-based,
 * and its `tcp://` connection carries no TLS, so such an address is a plaintext build daemon).
 */
const ADDRESS_ENV =
    /(^|_)BUILDKITD?_(HOST|ADDR|ADDRESS|ENDPOINT|URL)$|^BUILDX_[A-Z_]*(HOST|ADDR|ADDRESS|ENDPOINT|URL|BUILDER_URL)$|^BUILDKIT_HOST$|^_EXPERIMENTAL_DAGGER_RUNNER_HOST$/i;

/** Env var names that point to client TLS material (checked in this order: a CA name also ends in CERT). */
const MATERIAL_ENV: { part: Part; pattern: RegExp }[] = [
    { part: "dir", pattern: /(TLS|CERTS?)_?(DIR|DIRECTORY|PATH)$/i },
    { part: "ca", pattern: /((TLS|SSL|BUILDKIT)_?CA|CA_?CERT|CACERT)(_?(CERT|CRT|FILE|PATH|PEM))?$/i },
    { part: "cert", pattern: /(TLS|SSL|CLIENT|BUILDKIT)_?(CERT|CERTIFICATE|CRT)(_?(FILE|PATH|PEM))?$/i },
    { part: "key", pattern: /(TLS|SSL|CLIENT|BUILDKIT)_?KEY(_?(FILE|PATH|PEM))?$/i },
];

type Part = "ca" | "cert" | "key" | "dir";

const PART_NAMES: Record<Exclude<Part, "dir">, string> = { ca: "CA certificate", cert: "client certificate", key: "client key" };

export const CLIENT_FIX =
    "A client of BuildKit's TCP API must present a certificate and verify the server: mount the CA, client certificate and key " +
    "(from a Kubernetes Secret, a projected Secret, or a cert-manager or Secrets Store CSI volume) into the same container and point at " +
    "them with environment variables named like BUILDKIT_TLS_CA, BUILDKIT_TLS_CERT and BUILDKIT_TLS_KEY (any prefix), with buildctl " +
    "--tlscacert/--tlscert/--tlskey or --tlsdir, or with `docker buildx create --driver remote --driver-opt cacert=...,cert=...,key=...`; " +
    "variables filled from that Secret with secretKeyRef count as well.";

interface ClientAddress {
    address: string;
    origin: string;
    docker: boolean;
}

// A Docker daemon in the pod: loopback, or a single-label name (a sidecar, GitLab's `docker` service alias).
// A dotted name (`dind.ci.svc.cluster.local`) is a Service elsewhere: a remote daemon, which needs TLS.
const LOCAL_DOCKER = /^tcp:\/\/(localhost|127\.0\.0\.1|\[::1\]|[^/:.]*dind[^/:.]*|docker)(:|\/|$)/i;

/**
 * Whether `address` is a Docker daemon in the pod: LOCAL_DOCKER's names, unless a single-label name is a
 * Service of the pod's namespace in view (a `dind` Deployment behind a Service: a remote daemon).
 */
function localDocker(ctx: ContainerContext, address: string): boolean {
    const match = LOCAL_DOCKER.exec(address.trim());
    if (!match) {
        return false;
    }
    const host = match[1];
    if (/^(localhost|127\.0\.0\.1|\[::1\])$/i.test(host)) {
        return true;
    }
    const service = lookup(ctx.view, "Service", host, ctx.template.namespace);
    if (!("found" in service)) {
        return true;
    }
    // Judged through another resource of the stack: the stack policy reports it.
    if (service.found.resource !== ctx.template.resource) {
        ctx.crossed = true;
    }
    return false;
}

/** A tcp:// address that names BuildKit or uses its conventional port 1234, whatever the variable is called. */
function looksLikeBuildkitEndpoint(address: string): boolean {
    return /^\s*tcp:\/\/[^/]*buildkit/i.test(address) || /^\s*tcp:\/\/[^/]*:1234(\/|\s*$)/i.test(address);
}

/** Shell-style `$VAR`/`${VAR}` in a path taken from the environment (`$CERTS/ca.pem`). */
function expandPath(path: string, env: Env): string | Unknown {
    let unknown = false;
    const out = path.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, name: string) => {
        const value = env.get(name);
        if (isUnknown(value)) {
            unknown = true;
            return "";
        }
        return value ?? "";
    });
    return unknown || out.includes(UNKNOWN_MARK) ? UNKNOWN : out;
}

/** `docker buildx create --driver remote [--driver-opt k=v,...] tcp://...` (also `buildx create` / `docker-buildx create`). */
function buildxRemote(invocation: Invocation): { endpoint: string | Unknown; opts: Map<string, string> } | undefined {
    let args = invocation.args;
    if (invocation.program === "docker") {
        if (args[0] !== "buildx") {
            return undefined;
        }
        args = args.slice(1);
    } else if (invocation.program !== "buildx" && invocation.program !== "docker-buildx") {
        return undefined;
    }
    if (args[0] !== "create") {
        return undefined;
    }
    const rest = args.slice(1);
    const driver = flagValues(rest, "driver").pop();
    if (driver !== "remote") {
        return undefined;
    }
    const opts = new Map<string, string>();
    for (const value of flagValues(rest, "driver-opt")) {
        if (typeof value === "string") {
            for (const pair of value.split(",")) {
                const eq = pair.indexOf("=");
                if (eq > 0) {
                    opts.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
                }
            }
        }
    }
    const valued = new Set([
        "--driver",
        "--driver-opt",
        "--name",
        "--platform",
        "--buildkitd-flags",
        "--buildkitd-config",
        "--config",
        "--node",
        "--builder",
        "--bootstrap-timeout",
        "--timeout",
    ]);
    let endpoint: string | Unknown | undefined;
    for (let i = 0; i < rest.length; i++) {
        const w = rest[i];
        if (typeof w === "string" && w.startsWith("-")) {
            if (valued.has(w)) {
                i++;
            }
            continue;
        }
        endpoint = w;
        break;
    }
    return endpoint === undefined ? undefined : { endpoint, opts };
}

/**
 * How secret a mounted volume's files are. An emptyDir counts as a Secret when another container of the
 * pod (typically an init container copying certificates) mounts both it and a Secret or CSI volume.
 */
function secrecyOf(ctx: ContainerContext, volume: Record<string, unknown>): "secret" | "configmap" | "none" {
    const own = volumeSecrecy(volume);
    if (own !== "none" || !("emptyDir" in volume)) {
        return own;
    }
    const volumes = asArray(ctx.template.spec.volumes).map(asRecord);
    const others = [...asArray(ctx.template.spec.initContainers), ...asArray(ctx.template.spec.containers)]
        .map(asRecord)
        .filter((c) => c !== ctx.container.record);
    const filled = others.some((c) => {
        const names = asArray(c.volumeMounts).map((m) => asRecord(m).name);
        return names.includes(volume.name) && names.some((n) => n !== volume.name && volumes.some((v) => v.name === n && volumeSecrecy(v) === "secret"));
    });
    return filled ? "secret" : "none";
}

/** Whether the file (or, for `dir`, the directory) at `raw` holds TLS material from a Secret-like source in this container. */
function materialAt(ctx: ContainerContext, raw: string | Unknown | undefined, part: Part): boolean {
    if (raw === undefined || raw === "") {
        return false;
    }
    if (isUnknown(raw)) {
        return true;
    }
    const expanded = expandPath(raw, ctx.env);
    if (isUnknown(expanded)) {
        return true;
    }
    // A relative path is relative to the container's workingDir; without one it is the image's WORKDIR,
    // which the pack cannot see: such a file counts, as any file the pack cannot read does.
    const workingDir = asString(ctx.container.record.workingDir);
    if (!expanded.startsWith("/") && (workingDir === undefined || !workingDir.startsWith("/"))) {
        return true;
    }
    const path = expanded.startsWith("/") ? expanded : posix.join(workingDir!, expanded);
    if (part === "dir") {
        return dirHasMaterial(ctx, path);
    }
    const found = mountFor(ctx.mounts, path);
    if (!found && vaultInjected(ctx, path)) {
        return true;
    }
    if (!found || !volumeHasPath(found.volume, found.relative)) {
        return false;
    }
    const secrecy = secrecyOf(ctx, found.volume);
    return secrecy === "secret" || (secrecy === "configmap" && part !== "key");
}

/** Which of CA, certificate and key the container really has, for the tools it uses. */
function material(ctx: ContainerContext): Record<Exclude<Part, "dir">, boolean> {
    const inside = (raw: string | Unknown | undefined, part: Part): boolean => materialAt(ctx, raw, part);
    const have = { ca: false, cert: false, key: false, dir: false };
    for (const [name, value] of ctx.env) {
        const part = MATERIAL_ENV.find((m) => m.pattern.test(name))?.part;
        if (!part) {
            continue;
        }
        const fromSecret = ctx.container.record.env !== undefined && secretKeyRefNames(ctx).has(name);
        have[part] = have[part] || fromSecret || inside(value, part);
    }
    for (const invocation of ctx.interpretation.invocations) {
        if (invocation.program.startsWith("buildctl")) {
            const flags: [Part, string][] = [
                ["ca", "tlscacert"],
                ["cert", "tlscert"],
                ["key", "tlskey"],
                ["dir", "tlsdir"],
            ];
            for (const [part, flag] of flags) {
                have[part] = have[part] || flagValues(invocation.args, flag).some((p) => inside(p, part));
            }
        }
        const remote = buildxRemote(invocation);
        if (remote) {
            have.ca = have.ca || inside(remote.opts.get("cacert"), "ca");
            have.cert = have.cert || inside(remote.opts.get("cert"), "cert");
            have.key = have.key || inside(remote.opts.get("key"), "key");
        }
    }
    if (isEarthlyClient(ctx)) {
        // Earthly reads its client TLS from ~/.earthly/certs by default (global.tlsca, tlscert, tlskey:
        // ca_cert.pem, earthly_cert.pem, earthly_key.pem; docs.earthly.dev "Earthly config" and remote BuildKit docs).
        const home = ctx.env.get("HOME");
        const base = `${typeof home === "string" && home !== "" ? home.replace(/\/+$/, "") : "/root"}/.earthly/certs`;
        have.ca = have.ca || inside(`${base}/ca_cert.pem`, "ca");
        have.cert = have.cert || inside(`${base}/earthly_cert.pem`, "cert");
        have.key = have.key || inside(`${base}/earthly_key.pem`, "key");
    }
    return { ca: have.ca || have.dir, cert: have.cert || have.dir, key: have.key || have.dir };
}

/** The container runs the Earthly CLI (an `earthly` command, Earthly's image, or its EARTHLY_BUILDKIT_HOST). */
function isEarthlyClient(ctx: ContainerContext): boolean {
    const image = ctx.container.image;
    return (
        ctx.interpretation.invocations.some((i) => i.program === "earthly") ||
        ctx.env.get("EARTHLY_BUILDKIT_HOST") !== undefined ||
        (typeof image === "string" && /(^|\/)earthly\/earthly([:@]|$)/.test(image))
    );
}

/** The annotations of the pod a template describes (a Pod's own, a workload's `template`, a CronJob's job template). */
function podAnnotations(ctx: ContainerContext): Record<string, unknown> {
    const body = ctx.template.object?.body ?? {};
    return asRecord(
        at(body, "spec", "jobTemplate", "spec", "template", "metadata", "annotations") ??
            at(body, "spec", "template", "metadata", "annotations") ??
            (ctx.template.object?.kind === "Pod" ? at(body, "metadata", "annotations") : undefined),
    );
}

/**
 * A file the Vault Agent Injector writes into the container: with `vault.hashicorp.com/agent-inject:
 * "true"`, each `vault.hashicorp.com/agent-inject-secret-<name>` annotation renders `<name>` under
 * `/vault/secrets` (or `vault.hashicorp.com/secret-volume-path[-<name>]`) in every container, from a
 * Vault secret: TLS material that is as secret as a Kubernetes Secret (developer.hashicorp.com,
 * Vault "Agent Sidecar Injector annotations").
 */
function vaultInjected(ctx: ContainerContext, path: string): boolean {
    const annotations = podAnnotations(ctx);
    if (String(annotations["vault.hashicorp.com/agent-inject"]).toLowerCase() !== "true") {
        return false;
    }
    const slash = path.lastIndexOf("/");
    const dir = path.slice(0, slash).replace(/\/+$/, "");
    const name = path.slice(slash + 1);
    if (annotations[`vault.hashicorp.com/agent-inject-secret-${name}`] === undefined) {
        return false;
    }
    const custom = annotations[`vault.hashicorp.com/secret-volume-path-${name}`] ?? annotations["vault.hashicorp.com/secret-volume-path"];
    return dir === (typeof custom === "string" ? custom.replace(/\/+$/, "") : "/vault/secrets");
}

function secretKeyRefNames(ctx: ContainerContext): Set<string> {
    const names = new Set<string>();
    for (const e of Array.isArray(ctx.container.record.env) ? ctx.container.record.env : []) {
        const entry = e as { name?: unknown; valueFrom?: { secretKeyRef?: unknown } };
        if (typeof entry?.name === "string" && entry.valueFrom && typeof entry.valueFrom === "object" && "secretKeyRef" in entry.valueFrom) {
            names.add(entry.name);
        }
    }
    return names;
}

/** A --tlsdir/DOCKER_CERT_PATH directory counts when it is a Secret mount, or when each file in it is mounted from one (subPath). */
function dirHasMaterial(ctx: ContainerContext, dir: string): boolean {
    const base = dir.replace(/\/+$/, "");
    const whole = ctx.mounts.find((m) => !isUnknown(m.mountPath) && m.subPath === undefined && m.mountPath.replace(/\/+$/, "") === base);
    if (whole) {
        const has = (names: string[]) => names.some((n) => volumeHasPath(whole.volume, n));
        return secrecyOf(ctx, whole.volume) === "secret" && has(["ca.pem", "ca.crt"]) && has(["cert.pem", "tls.crt"]) && has(["key.pem", "tls.key"]);
    }
    const secretFile = (names: string[]) =>
        names.some((n) => {
            const found = mountFor(ctx.mounts, `${base}/${n}`);
            return found !== undefined && secrecyOf(ctx, found.volume) !== "none" && volumeHasPath(found.volume, found.relative);
        });
    return secretFile(["ca.pem", "ca.crt"]) && secretFile(["cert.pem", "tls.crt"]) && secretFile(["key.pem", "tls.key"]);
}

/** The tcp:// BuildKit (and remote Docker) addresses a container uses, and what could not be judged. */
/**
 * Programs known not to be BuildKit or Docker clients: shells, file and text tools, and tools that carry a
 * value elsewhere (GitHub's and Kubernetes' CLIs, HTTP clients). None of them reads BUILDKIT_HOST,
 * DOCKER_HOST or an address variable to dial it.
 */
const NOT_CLIENTS = new Set([
    ...["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"],
    // Not `sleep`, `cat` or `tail`: a container idling on them (`sleep 3600`, `cat` with a terminal, `tail -f`)
    // waits for commands to be exec'd into it, which may be clients.
    ...["echo", "printf", "tee", "test", "[", "true", "false", "date", "env", "printenv", "export", "set"],
    ...["mkdir", "cp", "mv", "rm", "ls", "ln", "chmod", "touch", "sed", "awk", "grep", "cut", "tr", "sort", "head", "wc", "base64", "sha256sum"],
    ...["gh", "curl", "wget", "kubectl", "jq", "yq", "git"],
]);

/**
 * Whether everything the container runs is known and none of it is a client: then an address in its
 * environment is a value it carries (a job publishing `AMEIDE_BUILDKIT_ADDR` as a GitHub variable with
 * `gh variable set`), not an address it dials. Only a Job's or CronJob's container without a terminal
 * runs just its command and ends: any other long-lived container may have commands run in it (`cat` or
 * `sleep` holding a Jenkins or GitLab agent container open while steps are exec'd into it). An unknown
 * program, an image's own entrypoint or a script the pack could not read may be a client, so the address
 * is judged.
 */
/** A shell runs only what the pack read when it is given `-c SCRIPT`; without it (`curl ... | sh`, `bash -s`) it runs its stdin. */
const SHELL_PROGRAMS = new Set(["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"]);

function runsNoClient(ctx: ContainerContext): boolean {
    const { invocations, unreadScripts } = ctx.interpretation;
    const record = ctx.container.record;
    return (
        ["Job", "CronJob"].includes(ctx.template.object?.kind ?? "") &&
        record.tty !== true &&
        record.stdin !== true &&
        invocations.length > 0 &&
        unreadScripts.length === 0 &&
        invocations.every((i) => i.program !== "" && NOT_CLIENTS.has(i.program) && !(SHELL_PROGRAMS.has(i.program) && !i.args.includes("-c")))
    );
}

function clientAddresses(ctx: ContainerContext): { addresses: ClientAddress[]; unjudged: string[] } {
    const addresses: ClientAddress[] = [];
    const unjudged: string[] = [];
    if (runsNoClient(ctx)) {
        return { addresses, unjudged };
    }
    const consider = (name: string, value: string | Unknown | undefined, origin: string) => {
        const named = ADDRESS_ENV.test(name);
        const docker = name === "DOCKER_HOST";
        if (isUnknown(value)) {
            if (named || docker) {
                unjudged.push(`${origin} is unknown during preview`);
            }
        } else if (typeof value === "string" && isTcpAddress(value)) {
            if (docker) {
                if (!localDocker(ctx, value)) {
                    addresses.push({ address: value.trim(), origin, docker: true });
                }
            } else if (named || looksLikeBuildkitEndpoint(value)) {
                addresses.push({ address: value.trim(), origin, docker: false });
            }
        }
    };
    for (const [name, value] of ctx.env) {
        consider(name, value, `env ${name}`);
    }
    for (const invocation of ctx.interpretation.invocations) {
        if (invocation.program.startsWith("buildctl") && invocation.program !== "buildctl-daemonless.sh") {
            const addr = flagValues(invocation.args, "addr").pop() ?? invocation.env.get("BUILDKIT_HOST");
            if (addr !== undefined && !(typeof addr === "string" && ctx.env.get("BUILDKIT_HOST") === addr)) {
                consider("BUILDKIT_HOST", addr, "buildctl --addr");
            }
        }
        const remote = buildxRemote(invocation);
        if (remote) {
            consider("BUILDKIT_HOST", remote.endpoint, "docker buildx create --driver remote");
        }
        // nerdctl build --buildkit-host tcp://... (or its BUILDKIT_HOST).
        if (invocation.program === "nerdctl") {
            const host = flagValues(invocation.args, "buildkit-host").pop();
            if (host !== undefined) {
                consider("BUILDKIT_HOST", host, "nerdctl --buildkit-host");
            }
        }
        // A Docker client pointed at a daemon: `docker -H tcp://...` / `--host`, and `docker context create
        // NAME --docker host=tcp://...` without ca, cert and key in the same --docker value.
        if (invocation.program === "docker") {
            for (const host of [...flagValues(invocation.args, "H"), ...flagValues(invocation.args, "host")]) {
                consider("DOCKER_HOST", host, "docker --host");
            }
            if (invocation.args[0] === "context" && (invocation.args[1] === "create" || invocation.args[1] === "update")) {
                for (const spec of flagValues(invocation.args, "docker")) {
                    if (typeof spec !== "string") {
                        consider("DOCKER_HOST", spec, "docker context create --docker");
                        continue;
                    }
                    const fields = new Map(spec.split(",").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)] as const));
                    const host = fields.get("host");
                    if (host !== undefined && !(fields.get("ca") && fields.get("cert") && fields.get("key"))) {
                        consider("DOCKER_HOST", host, "docker context create --docker host=");
                    }
                }
            }
        }
        for (const [name, value] of invocation.env) {
            if (ctx.serviceLinks?.has(name)) {
                continue;
            }
            if (!ctx.env.has(name) || ctx.env.get(name) !== value) {
                consider(name, value, `env ${name} set by its script`);
            }
        }
    }
    return { addresses, unjudged };
}

/** Judges one container that may point a BuildKit client (or a remote Docker daemon) at a tcp:// address. */
export function judgeClient(ctx: ContainerContext): Finding[] {
    const findings: Finding[] = [];
    const urn = ctx.template.resource.urn;
    const subject = `${ctx.template.where} container '${ctx.container.name}'`;
    const { addresses, unjudged } = clientAddresses(ctx);
    findings.push(...judgeConfiguredClients(ctx, subject));
    for (const reason of unjudged) {
        findings.push(unverifiable(`${subject}: ${reason}, so it cannot be checked for a plaintext tcp:// BuildKit address yet.`, urn));
    }
    if (addresses.length === 0) {
        for (const reason of ctx.unknowns) {
            if (/^env |envFrom/.test(reason)) {
                findings.push(unverifiable(`${subject}: ${reason}, so it cannot be checked for a plaintext tcp:// BuildKit address.`, urn));
            }
        }
        return findings;
    }
    const have = material(ctx);
    const buildkit = addresses.filter((a) => !a.docker);
    if (buildkit.length > 0) {
        const missing = (Object.keys(PART_NAMES) as (keyof typeof PART_NAMES)[]).filter((part) => !have[part]).map((part) => PART_NAMES[part]);
        if (missing.length > 0) {
            const where = buildkit.map((a) => `${a.address} (${a.origin})`).join(", ");
            findings.push(
                violation(
                    `${subject} points a BuildKit client at ${where} without TLS material from a mounted Secret: missing ${missing.join(", ")}. ${CLIENT_FIX}`,
                    urn,
                ),
            );
        }
    }
    for (const docker of addresses.filter((a) => a.docker)) {
        const verify = ctx.env.get("DOCKER_TLS_VERIFY");
        const certPath = ctx.env.get("DOCKER_CERT_PATH");
        const tls =
            (typeof verify === "string" && verify !== "" && verify !== "0" && typeof certPath === "string" && dirHasMaterial(ctx, certPath)) ||
            isUnknown(verify);
        if (!tls) {
            findings.push(
                violation(
                    `${subject} points Docker (and its BuildKit builder) at ${docker.address} (${docker.origin}) without DOCKER_TLS_VERIFY and a DOCKER_CERT_PATH mounted from a Secret, i.e. a remote build daemon over plaintext TCP. ${CLIENT_FIX}`,
                    urn,
                ),
            );
        }
    }
    return findings;
}

/**
 * Clients configured by files they read (a buildx builder's store file, a Docker context, Earthly's
 * config.yml; `clientFiles.ts`), judged like the equivalent flag or variable: a tcp:// BuildKit address
 * needs a CA, a certificate and a key where that file tells the client to read them, and a remote Docker
 * daemon needs its context's TLS files, verified. A file that turns TLS off is a plaintext client.
 */
function judgeConfiguredClients(ctx: ContainerContext, subject: string): Finding[] {
    const findings: Finding[] = [];
    const urn = ctx.template.resource.urn;
    for (const client of configuredClients(ctx)) {
        if (!isTcpAddress(client.address) || (client.docker && localDocker(ctx, client.address))) {
            continue;
        }
        if (client.docker) {
            const tls = !client.skipVerify && client.dockerTlsDir !== undefined && dirHasMaterial(ctx, client.dockerTlsDir);
            if (!tls) {
                findings.push(
                    violation(
                        `${subject} points Docker (and its BuildKit builder) at ${client.address} (${client.origin}) without ${client.skipVerify ? "verifying the daemon (SkipTLSVerify)" : `ca.pem, cert.pem and key.pem mounted from a Secret in ${client.dockerTlsDir}`}, i.e. a remote build daemon over plaintext TCP. ${CLIENT_FIX}`,
                        urn,
                    ),
                );
            }
            continue;
        }
        if (client.tlsOff) {
            findings.push(
                violation(
                    `${subject} points a BuildKit client at ${client.address} (${client.origin}) with TLS turned off: ${client.tlsOff}. ${CLIENT_FIX}`,
                    urn,
                ),
            );
            continue;
        }
        const paths = client.paths ?? {};
        const missing = (Object.keys(PART_NAMES) as (keyof typeof PART_NAMES)[])
            .filter((part) => !materialAt(ctx, paths[part], part))
            .map((part) => `${PART_NAMES[part]}${paths[part] ? ` (${paths[part]})` : ""}`);
        if (missing.length > 0) {
            findings.push(
                violation(
                    `${subject} points a BuildKit client at ${client.address} (${client.origin}) without TLS material from a mounted Secret where that file tells the client to read it: missing ${missing.join(", ")}. ${CLIENT_FIX}`,
                    urn,
                ),
            );
        }
    }
    return findings;
}
