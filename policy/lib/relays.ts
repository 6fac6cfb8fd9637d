import { Daemon, mayListenOnTcp } from "./buildkitd";
import { ContainerContext, mountedTexts } from "./container";
import { isBuildkitName, isBuildkitPort } from "./exposure";
import { imageRepository } from "./kube";
import { KObject, View, entriesOf } from "./objects";
import { Unknown, asArray, asRecord, isUnknown } from "./plain";
import { basename } from "./shell";
import { flagValues } from "./text";

/**
 * Anything that forwards BuildKit is BuildKit (issue 22, round 5). A container that connects to BuildKit
 * (its Service, its pods, its port, or buildkitd's unix socket through a shared volume) and listens itself,
 * or tunnels it out, is a BuildKit endpoint: its hostPort, hostNetwork and the Services selecting it are
 * judged like the daemon's, and a TCP listener of it that does not verify client certificates is a
 * plaintext BuildKit listener. A plain client (buildctl, buildx, docker, nerdctl, earthly, dagger) is a
 * client, not a relay.
 *
 * Relay programs are recognised by the listen-and-forward shape of their command line or config, read
 * from each tool's documentation:
 * - socat (dest-unreach.org/socat/doc/socat.html): two addresses; `TCP-LISTEN`/`TCP4-LISTEN`/`TCP6-LISTEN`
 *   (`-L` abbreviations) listen in plaintext, `OPENSSL-LISTEN`/`SSL-L` listen with TLS and verify the peer
 *   unless `verify=0`; `TCP:`/`TCP-CONNECT:`/`TCP4:` connect in plaintext (a byte relay), `OPENSSL:` with TLS,
 *   `UNIX-CONNECT:`/`UNIX-CLIENT:`/`UNIX:` to a socket;
 * - ghostunnel (github.com/ghostunnel/ghostunnel, docs/ACCESS-FLAGS.md): `server --listen --target` requires a
 *   client certificate unless `--disable-authentication`; `client --listen --target` accepts plaintext and
 *   presents its own certificate upstream;
 * - stunnel (stunnel.org manual, FAQ): `accept`/`connect` per service, server mode unless `client = yes`;
 *   a client certificate is required only with `verify = 2..4` or `requireCert = yes`;
 * - kubectl port-forward (kubernetes.io kubectl_port-forward): `TYPE/NAME [LOCAL:]REMOTE`, listening on
 *   `--address` (default localhost); the bytes go through the API server unchanged;
 * - ssh `-L [bind:]port:host:hostport` (listens; remote hosts only with a bind address or `-g`) and
 *   `-R` (publishes on the remote host);
 * - nginx `stream` (`listen ... ssl`, `ssl_verify_client on`, `proxy_ssl on`), HAProxy (`bind ... ssl ...
 *   verify required`, `server ... ssl`) and Envoy (`require_client_certificate: true`, an
 *   `UpstreamTlsContext`), from the config files the container mounts;
 * - tunnels that publish what they forward outside the cluster whatever they listen on: cloudflared
 *   (ingress rules' `service`, `--url`), ngrok (`tcp ADDR`, `addr`/`upstream` in its config), frp's frpc
 *   (`localIP`/`localPort`), inlets (`--upstream`), chisel (`R:` remotes), bore, rathole and zrok.
 *
 * A byte relay (plaintext TCP in, plaintext TCP out to BuildKit's mTLS port) passes TLS through end to
 * end: it needs no client verification of its own, but its exposure counts. A relay whose upstream is the
 * unix socket, or that originates TLS upstream with its own client certificate, is BuildKit's API itself
 * and must verify clients. An unknown program that reaches BuildKit and exposes a port is reported.
 */
export interface Relay {
    ctx: ContainerContext;
    program: string;
    /** What it forwards to, e.g. `BuildKit's unix socket /run/buildkit/buildkitd.sock`. */
    upstream: string;
    /** Its own TCP listeners (`0.0.0.0:1234`), and whether any of them is reachable beyond loopback. */
    listens: string[];
    network: boolean;
    /** How it authenticates clients. `passthrough`: a byte relay to BuildKit's TLS port. */
    auth: "mtls" | "none" | "tls-no-client-verify" | "passthrough" | "unknown";
    /** Why `auth` is what it is, for messages. */
    how: string;
    /** Set for tunnels: where they publish BuildKit. */
    tunnel?: string;
    /** A program the pack does not know: reported, not judged. */
    unknownProgram?: boolean;
    crossed: boolean;
}

/** What the container's neighbourhood tells about BuildKit: the Services reaching it, its daemons. */
export interface BuildkitScene {
    services: Map<string, { reason: string; crossed: boolean }>;
    daemons: Daemon[];
    view: View;
}

const KNOWN_CLIENTS = new Set([
    "buildctl",
    "buildctl-daemonless.sh",
    "buildkitd",
    "buildx",
    "docker",
    "docker-buildx",
    "nerdctl",
    "earthly",
    "dagger",
    "kaniko",
    "executor",
    "buildah",
    "podman",
    "img",
    "depot",
]);

/** Programs that only look at addresses (scripts' plumbing and health checks), never serve them. */
const UTILITIES = new Set([
    "",
    "echo",
    "printf",
    "cat",
    "test",
    "[",
    "[[",
    "sleep",
    "true",
    "false",
    "export",
    "env",
    "grep",
    "sed",
    "awk",
    "curl",
    "wget",
    "nslookup",
    "dig",
    "getent",
    "ping",
    "timeout",
    "until",
    "while",
    "set",
    "exec",
    "tee",
    "mkdir",
    "cp",
    "ln",
    "chmod",
    "chown",
    "rm",
    "ls",
    "kubectl",
    "grpc_health_probe",
    // netcat without -l only connects (a readiness check); with -l it is a byte relay (BYTE_RELAYS).
    "nc",
    "ncat",
    "netcat",
]);

const RELAY_IMAGES: [RegExp, string][] = [
    [/(^|[/-])socat$/, "socat"],
    [/(^|[/-])ghostunnel$/, "ghostunnel"],
    [/(^|[/-])stunnel\d*$/, "stunnel"],
    [/(^|[/-])cloudflared$/, "cloudflared"],
    [/(^|[/-])ngrok$/, "ngrok"],
    [/(^|[/-])frpc$/, "frpc"],
    [/(^|[/-])inlets(-pro)?$/, "inlets"],
    [/(^|[/-])chisel$/, "chisel"],
    [/(^|[/-])kubectl$/, "kubectl"],
    [/(^|[/-])(nginx|nginx-unprivileged|openresty)$/, "nginx"],
    [/(^|[/-])haproxy$/, "haproxy"],
    [/(^|[/-])envoy(-distroless)?$/, "envoy"],
    [/(^|[/-])traefik$/, "traefik"],
    [/(^|[/-])caddy$/, "caddy"],
    [/(^|[/-])gost$/, "gost"],
    [/(^|[/-])bore$/, "bore"],
    [/(^|[/-])rathole$/, "rathole"],
    [/(^|[/-])zrok$/, "zrok"],
];

/** Proxies configured by a file (or their arguments): nginx, HAProxy, Envoy, Traefik, Caddy. */
const CONFIG_PROXIES = new Set(["nginx", "openresty", "haproxy", "envoy", "traefik", "caddy"]);

/** Programs that copy bytes between a listener and an upstream. */
const BYTE_RELAYS = new Set(["gost", "rinetd", "tcpproxy", "redir", "sniproxy", "simpleproxy", "nc", "ncat", "netcat", "tcp-proxy", "portforward"]);

const TUNNELS: Record<string, string> = {
    cloudflared: "a Cloudflare Tunnel (public hostname on Cloudflare's edge)",
    ngrok: "an ngrok endpoint on the internet",
    frpc: "an frp server outside the cluster",
    inlets: "an inlets tunnel server outside the cluster",
    "inlets-pro": "an inlets tunnel server outside the cluster",
    chisel: "a chisel server outside the cluster (reverse remote)",
    bore: "a bore server outside the cluster",
    rathole: "a rathole server outside the cluster",
    zrok: "a zrok share outside the cluster",
};

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1|\[::1\])$/i;
const WILDCARD = /^(0\.0\.0\.0|::|\[::\]|\*|)$/;

/** The daemons' unix sockets a container of this pod can reach (default: buildkitd's own socket path). */
function podSockets(ctx: ContainerContext | undefined, scene: BuildkitScene): Set<string> {
    const sockets = new Set<string>(["/run/buildkit/buildkitd.sock"]);
    for (const daemon of scene.daemons) {
        if (!ctx || daemon.ctx.template.spec !== ctx.template.spec) {
            continue;
        }
        for (const run of daemon.runs) {
            for (const addr of flagValues(run.flags, "addr")) {
                if (typeof addr === "string" && /^unix:\/\//i.test(addr)) {
                    sockets.add(addr.replace(/^unix:\/\//i, ""));
                }
            }
        }
    }
    return sockets;
}

/** Whether `target` (a host[:port] or a socket path, with or without a scheme) is BuildKit; and how. */
export function buildkitTarget(
    target: string,
    ctx: ContainerContext | undefined,
    scene: BuildkitScene,
    bareHost = false,
): { what: string; kind: "unix" | "tcp"; crossed: boolean } | undefined {
    const text = target.trim();
    const path = /^(?:unix:(?:\/\/)?|unix-connect:|unix-client:)?(\/[^\s"',;]+)$/i.exec(text)?.[1];
    if (path) {
        const sockets = podSockets(ctx, scene);
        if (sockets.has(path) || /(^|\/)buildkitd?\.sock$/.test(path)) {
            return { what: `BuildKit's unix socket ${path}`, kind: "unix", crossed: false };
        }
        return undefined;
    }
    const stripped = text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/.*$/, "");
    const match = /^\[?([A-Za-z0-9_.:-]*?)\]?(?::(\d{1,5}|[a-z][a-z0-9-]*))?$/.exec(stripped);
    if (!match) {
        return undefined;
    }
    const host = match[1];
    const port = match[2];
    if (/^(tcp|udp|sctp|ssl|openssl|unix|vsock)[46]?(-[a-z]+)?$/i.test(host)) {
        // A socat address keyword (`TCP-LISTEN:1234`) met while scanning text, not a host.
        return undefined;
    }
    if (port === undefined && !bareHost && !/\.svc(\.|$)/.test(host)) {
        return undefined;
    }
    const labels = host.split(".");
    const outside = labels.length > 2 && labels[2] !== "svc" && !/^\d+$/.test(labels[0]);
    if (!outside && isBuildkitName(labels[0])) {
        return { what: `BuildKit's Service '${labels[0]}'${port ? ` port ${port}` : ""}`, kind: "tcp", crossed: false };
    }
    if (!outside && scene.services.has(labels[0])) {
        return { what: `Service '${labels[0]}', which ${scene.services.get(labels[0])!.reason}`, kind: "tcp", crossed: true };
    }
    if (port !== undefined && isBuildkitPort(port) && !outside && !WILDCARD.test(host) && scene.view.scope === "stack") {
        const other = scene.view.objects.some((o) => o.kind === "Service" && !o.patch && o.name === labels[0]);
        if (LOOPBACK.test(host)) {
            const local = ctx !== undefined && scene.daemons.some((d) => d.ctx.template.spec === ctx.template.spec && mayListenOnTcp(d));
            return local ? { what: `the buildkitd of its own pod on ${host}:${port}`, kind: "tcp", crossed: false } : undefined;
        }
        return other ? undefined : { what: `BuildKit's port ${port} on ${host}`, kind: "tcp", crossed: true };
    }
    return undefined;
}

/** Every BuildKit target a text names (config files, tunnels' arguments): host:port, *.svc hosts, sockets. */
function targetsInText(text: string, ctx: ContainerContext | undefined, scene: BuildkitScene): { what: string; kind: "unix" | "tcp"; crossed: boolean }[] {
    const out: { what: string; kind: "unix" | "tcp"; crossed: boolean }[] = [];
    const bounded = text.slice(0, 256_000);
    for (const m of bounded.matchAll(/(?:unix:(?:\/\/)?)?\/[A-Za-z0-9_./-]*buildkitd?\.sock\b/g)) {
        const hit = buildkitTarget(m[0], ctx, scene);
        if (hit) {
            out.push(hit);
        }
    }
    for (const m of bounded.matchAll(/(?:[a-z][a-z0-9+.-]*:\/\/)?[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*(?::\d{1,5})?/g)) {
        if (out.length > 20) {
            break;
        }
        const hit = buildkitTarget(m[0], ctx, scene);
        if (hit) {
            out.push(hit);
        }
    }
    return out;
}

/** The relay program a container runs, with its arguments: from its command line, or its image's entrypoint. */
function programs(ctx: ContainerContext): { program: string; args: (string | Unknown)[] }[] {
    const out = ctx.interpretation.invocations.map((i) => ({ program: i.program, args: i.args }));
    const image = typeof ctx.container.image === "string" ? imageRepository(ctx.container.image) : "";
    const entry = RELAY_IMAGES.find(([pattern]) => pattern.test(image))?.[1];
    if (entry && ctx.imageEntrypoint) {
        const args = asArray(ctx.container.record.args).map((a) => (isUnknown(a) ? (a as Unknown) : String(a)));
        const first = args[0];
        const rest = typeof first === "string" && basename(first) === entry ? args.slice(1) : args;
        // The image's entrypoint runs with the args as its own: the interpretation of the args alone names no program.
        return [{ program: entry, args: rest }];
    }
    return out;
}

function words(args: (string | Unknown)[]): string[] {
    return args.filter((a): a is string => typeof a === "string");
}

interface Shape {
    upstream?: { what: string; kind: "unix" | "tcp"; crossed: boolean };
    listens: string[];
    auth: Relay["auth"];
    how: string;
    tunnel?: string;
}

/** socat ADDRESS1 ADDRESS2: one listening address and one connecting address. */
function socat(args: string[], ctx: ContainerContext, scene: BuildkitScene): Shape | undefined {
    const valued = new Set(["-b", "-t", "-T", "-lf", "-lp", "-L", "-W", "-r", "-R"]);
    const addresses: string[] = [];
    for (let i = 0; i < args.length; i++) {
        if (valued.has(args[i])) {
            i++;
        } else if (!/^-[a-zA-Z]/.test(args[i]) || args[i] === "-") {
            addresses.push(args[i]);
        }
    }
    let listen: { tls: boolean; verify: boolean; address: string } | undefined;
    let upstream: Shape["upstream"];
    let originatesTls = false;
    for (const address of addresses.slice(-2)) {
        const [head, ...optionParts] = address.split(",");
        const colon = head.indexOf(":");
        const type = (colon < 0 ? head : head.slice(0, colon)).toLowerCase();
        const rest = colon < 0 ? "" : head.slice(colon + 1);
        const options = new Map(
            optionParts.map((o) => {
                const eq = o.indexOf("=");
                return [(eq < 0 ? o : o.slice(0, eq)).toLowerCase(), eq < 0 ? "1" : o.slice(eq + 1)];
            }),
        );
        if (/^tcp[46]?-(listen|l)$/.test(type)) {
            listen = { tls: false, verify: false, address: `${options.get("bind") ?? "0.0.0.0"}:${rest}` };
        } else if (/^(openssl|ssl)-(listen|l)$/.test(type)) {
            const verify = options.get("verify");
            listen = { tls: true, verify: !(verify !== undefined && /^(0|false|no)$/i.test(verify)), address: `${options.get("bind") ?? "0.0.0.0"}:${rest}` };
        } else if (/^tcp[46]?(-connect)?$/.test(type)) {
            upstream = buildkitTarget(rest, ctx, scene) ?? upstream;
        } else if (/^(openssl|ssl)(-connect)?$/.test(type)) {
            upstream = buildkitTarget(rest, ctx, scene) ?? upstream;
            originatesTls = upstream !== undefined;
        } else if (/^unix(-connect|-client)?$/.test(type) || (colon < 0 && type.startsWith("/"))) {
            upstream = buildkitTarget(colon < 0 ? head : rest, ctx, scene) ?? upstream;
        }
    }
    if (!listen || !upstream) {
        return upstream ? { upstream, listens: [], auth: "passthrough", how: "socat without a TCP listener" } : undefined;
    }
    const auth: Relay["auth"] = listen.tls
        ? listen.verify
            ? "mtls"
            : "tls-no-client-verify"
        : upstream.kind === "unix" || originatesTls
          ? "none"
          : "passthrough";
    return {
        upstream,
        listens: [listen.address],
        auth,
        how: listen.tls
            ? `socat OPENSSL-LISTEN${listen.verify ? "" : " with verify=0"}`
            : `socat TCP-LISTEN (plaintext)${originatesTls ? " to an OPENSSL address with its own certificate" : ""}`,
    };
}

function ghostunnel(args: string[], ctx: ContainerContext, scene: BuildkitScene): Shape | undefined {
    const mode = args.find((a) => a === "server" || a === "client");
    const target = flagValues(args, "target").pop();
    const listen = flagValues(args, "listen").pop();
    const upstream = typeof target === "string" ? buildkitTarget(target.replace(/^unix:/, ""), ctx, scene) : undefined;
    if (!upstream || typeof listen !== "string" || /^(unix|systemd|launchd):/.test(listen)) {
        return upstream ? { upstream, listens: [], auth: "passthrough", how: "ghostunnel without a TCP listener" } : undefined;
    }
    if (mode === "client") {
        return { upstream, listens: [listen], auth: "none", how: "ghostunnel client mode (plaintext listener that presents its own certificate upstream)" };
    }
    const disabled = args.some((a) => /^--disable-authentication(=true)?$/.test(a));
    return {
        upstream,
        listens: [listen],
        auth: disabled ? "tls-no-client-verify" : "mtls",
        how: disabled ? "ghostunnel server --disable-authentication" : "ghostunnel server (client certificate required)",
    };
}

function kubectlPortForward(args: string[], ctx: ContainerContext, scene: BuildkitScene): Shape | undefined {
    if (!args.includes("port-forward")) {
        return undefined;
    }
    const addresses = flagValues(args, "address")
        .filter((a): a is string => typeof a === "string")
        .flatMap((a) => a.split(","));
    const valued = new Set(["--address", "-n", "--namespace", "--context", "--kubeconfig", "--pod-running-timeout", "--cluster", "--user", "-s", "--server"]);
    const positional: string[] = [];
    for (let i = args.indexOf("port-forward") + 1; i < args.length; i++) {
        if (valued.has(args[i])) {
            i++;
        } else if (!args[i].startsWith("-")) {
            positional.push(args[i]);
        }
    }
    const [resource, ...ports] = positional;
    if (!resource) {
        return undefined;
    }
    const name = resource.includes("/") ? resource.split("/").pop()! : resource;
    const kind = resource.includes("/") ? resource.split("/")[0].toLowerCase() : "pod";
    let upstream: Shape["upstream"];
    if (/^(svc|service|services)$/.test(kind)) {
        upstream = buildkitTarget(name, ctx, scene, true);
    } else if (
        isBuildkitName(name) ||
        scene.daemons.some((d) => d.ctx.template.object?.name === name || (kind === "pod" && name.startsWith(`${String(d.ctx.template.object?.name)}-`)))
    ) {
        upstream = { what: `BuildKit's ${kind} '${name}'`, kind: "tcp", crossed: !isBuildkitName(name) };
    }
    const remote = ports.map((p) => p.split(":").pop() ?? "");
    if (!upstream && remote.some((p) => isBuildkitPort(p)) && scene.view.scope === "stack") {
        upstream = { what: `port ${1234} of ${resource}`, kind: "tcp", crossed: true };
    }
    if (!upstream) {
        return undefined;
    }
    const local = ports.map((p) => (p.includes(":") ? p.split(":")[0] || "random" : p));
    const binds = addresses.length > 0 ? addresses : ["localhost"];
    return {
        upstream,
        listens: binds.flatMap((b) => local.map((l) => `${b}:${l}`)),
        auth: "passthrough",
        how: "kubectl port-forward (bytes forwarded through the API server)",
    };
}

/** ssh -L [bind:]port:host:hostport listens here; -R publishes on the remote host. */
function ssh(args: string[], ctx: ContainerContext, scene: BuildkitScene): Shape | undefined {
    const gateway = args.includes("-g") || args.some((a) => /GatewayPorts[= ]yes/i.test(a));
    for (const [flag, remote] of [
        ["-L", false],
        ["-R", true],
    ] as const) {
        for (let i = 0; i < args.length; i++) {
            const spec = args[i] === flag ? args[i + 1] : args[i].startsWith(flag) && args[i].length > 2 ? args[i].slice(2) : undefined;
            if (!spec) {
                continue;
            }
            const parts = spec.split(":");
            if (parts.length < 3) {
                continue;
            }
            const hostport = parts.slice(-2).join(":");
            const upstream = buildkitTarget(hostport, ctx, scene);
            if (!upstream) {
                continue;
            }
            if (remote) {
                return { upstream, listens: [], auth: "passthrough", how: "ssh -R", tunnel: "the remote end of an ssh -R tunnel" };
            }
            const bind = parts.length === 4 ? parts[0] : gateway ? "0.0.0.0" : "localhost";
            return { upstream, listens: [`${bind}:${parts[parts.length - 3]}`], auth: "passthrough", how: "ssh -L (bytes forwarded)" };
        }
    }
    return undefined;
}

/** stunnel's INI config: per service `accept`, `connect`, `client`, `verify`/`requireCert`. */
function stunnelConfig(text: string, ctx: ContainerContext, scene: BuildkitScene): Shape | undefined {
    const global: Map<string, string> = new Map();
    const sections: Map<string, string>[] = [];
    let current = global;
    for (const raw of text.slice(0, 256_000).split("\n")) {
        const line = raw.replace(/[;#].*$/, "").trim();
        const section = /^\[(.+)\]$/.exec(line);
        if (section) {
            current = new Map(global);
            sections.push(current);
            continue;
        }
        const eq = line.indexOf("=");
        if (eq > 0) {
            current.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
        }
    }
    for (const s of sections) {
        const connect = s.get("connect");
        const upstream = connect ? buildkitTarget(connect.includes(":") || connect.startsWith("/") ? connect : `localhost:${connect}`, ctx, scene) : undefined;
        const accept = s.get("accept");
        if (!upstream || !accept) {
            continue;
        }
        const client = /^yes$/i.test(s.get("client") ?? "");
        const verify = Number(s.get("verify") ?? "0");
        const required = verify >= 2 || /^yes$/i.test(s.get("requirecert") ?? "");
        const listens = [accept.includes(":") ? accept : `0.0.0.0:${accept}`];
        if (client) {
            return { upstream, listens, auth: "none", how: "stunnel client = yes (plaintext listener that originates TLS upstream)" };
        }
        return required
            ? { upstream, listens, auth: "mtls", how: "stunnel server requiring a client certificate" }
            : { upstream, listens, auth: "tls-no-client-verify", how: "stunnel server without verify = 2..4 or requireCert = yes" };
    }
    return undefined;
}

/** nginx stream / HAProxy / Envoy config text: upstream, listener TLS and client verification by their keywords. */
function proxyConfig(program: string, text: string, ctx: ContainerContext, scene: BuildkitScene): Shape | undefined {
    const targets = targetsInText(text, ctx, scene);
    const upstream = targets.find((t) => t.kind === "unix") ?? targets[0];
    if (!upstream) {
        return undefined;
    }
    // nginx ssl_verify_client on; HAProxy `verify required`; Envoy require_client_certificate; Traefik
    // clientAuthType RequireAndVerifyClientCert; Caddy client_auth mode require_and_verify.
    const verifies =
        /ssl_verify_client\s+on\b|\bverify\s+required\b|require_client_certificate["']?\s*:\s*true|RequireAndVerifyClientCert|require_and_verify/i.test(text);
    const tlsListener =
        !/passthrough["']?\s*[:=]\s*true/i.test(text) &&
        /\blisten\b[^;\n]*\bssl\b|\bbind\b[^\n]*\bssl\b|DownstreamTlsContext|certResolver|\btls\s*\{/i.test(text);
    const originates = /proxy_ssl\s+on\b|\bserver\b[^\n]*\bssl\b(?![^\n]*verify\s+none)|UpstreamTlsContext/i.test(text);
    const listens = [...text.matchAll(/\blisten\s+([^\s;]+)|\bbind\s+([^\s]+)|port_value["']?\s*:\s*(\d+)/g)].map((m) => m[1] ?? m[2] ?? `0.0.0.0:${m[3]}`);
    const auth: Relay["auth"] = verifies ? "mtls" : upstream.kind === "unix" || originates ? "none" : tlsListener ? "tls-no-client-verify" : "passthrough";
    return { upstream, listens: listens.length > 0 ? listens : ["0.0.0.0:?"], auth, how: `${program} config` };
}

/** The relay a container is, if it is one. */
export function relayOf(ctx: ContainerContext, scene: BuildkitScene): Relay | undefined {
    const runs = programs(ctx);
    const exposesPort = asArray(ctx.container.record.ports).length > 0 || ctx.template.spec.hostNetwork === true;
    for (const { program, args } of runs) {
        const w = words(args);
        let shape: Shape | undefined;
        let known = true;
        if (program === "socat") {
            shape = socat(w, ctx, scene);
        } else if (program === "ghostunnel") {
            shape = ghostunnel(w, ctx, scene);
        } else if (program === "kubectl") {
            shape = kubectlPortForward(w, ctx, scene);
        } else if (program === "ssh" || program === "autossh") {
            shape = ssh(w, ctx, scene);
        } else if (Object.hasOwn(TUNNELS, program)) {
            const texts = [w.join(" "), ...[...ctx.env.values()].filter((v): v is string => typeof v === "string"), ...mountedTexts(ctx).map((t) => t.text)];
            const upstream = texts.flatMap((t) => targetsInText(t, ctx, scene))[0];
            shape = upstream ? { upstream, listens: [], auth: "passthrough", how: program, tunnel: TUNNELS[program] } : undefined;
        } else if (program === "stunnel" || program === "stunnel4" || program === "stunnel5") {
            const file = typeof args[0] === "string" && args[0].startsWith("/") ? args[0] : "/etc/stunnel/stunnel.conf";
            const read = ctx.read(file);
            const texts = read && "text" in read ? [read.text] : mountedTexts(ctx).map((t) => t.text);
            shape = texts.map((t) => stunnelConfig(t, ctx, scene)).find((s) => s !== undefined);
        } else if (CONFIG_PROXIES.has(program)) {
            shape = [w.join(" "), ...mountedTexts(ctx).map((t) => t.text)].map((t) => proxyConfig(program, t, ctx, scene)).find((s) => s !== undefined);
        } else if (BYTE_RELAYS.has(program) && (!/^(nc|ncat|netcat)$/.test(program) || w.some((a) => /^(-l|--listen|-[a-z]*l[a-z]*)$/.test(a)))) {
            // Byte relays (gost -L tcp://:PORT/HOST:PORT, rinetd, tcpproxy, redir, sniproxy, ncat -l --sh-exec):
            // whatever they forward arrives as it was sent, so they need client verification only in front of the socket.
            const upstream = [w.join(" "), ...mountedTexts(ctx).map((t) => t.text)].flatMap((t) => targetsInText(t, ctx, scene))[0];
            const tls = w.some((a) => a === "--ssl");
            shape = upstream
                ? {
                      upstream,
                      listens: ["0.0.0.0:?"],
                      auth: upstream.kind === "unix" ? (tls ? "tls-no-client-verify" : "none") : "passthrough",
                      how: `${program} (a byte relay)`,
                  }
                : undefined;
        } else if (KNOWN_CLIENTS.has(program) || UTILITIES.has(program) || program.startsWith("buildctl") || /^(sh|bash|ash|dash|zsh)$/.test(program)) {
            continue;
        } else {
            known = false;
            // An unknown program: BuildKit named in its own arguments, and a port of its own.
            const upstream = w.flatMap((a) => targetsInText(a, ctx, scene))[0];
            shape = upstream && exposesPort ? { upstream, listens: ["?"], auth: "unknown", how: `'${program}', a program the pack does not know` } : undefined;
        }
        if (!shape?.upstream) {
            continue;
        }
        const network = shape.listens.some((l) => {
            const host = l.includes(":") ? l.slice(0, l.lastIndexOf(":")) : l;
            return !LOOPBACK.test(host.replace(/^\[|\]$/g, ""));
        });
        return {
            ctx,
            program,
            upstream: shape.upstream.what,
            listens: shape.listens,
            network,
            auth: shape.auth,
            how: shape.how,
            tunnel: shape.tunnel,
            unknownProgram: !known,
            crossed: shape.upstream.crossed || ctx.crossed,
        };
    }
    return undefined;
}

/**
 * A tunnel's configuration in a ConfigMap or Secret, whoever runs it: cloudflared (`tunnel`/`credentials-file`
 * with `ingress` rules, developers.cloudflare.com "Configuration file"), ngrok (`tunnels:` with `addr`, or
 * `endpoints:` with `upstream`), frp's frpc (`serverAddr` with `localIP`/`localPort`). Publishing is what a
 * tunnel does, so a BuildKit origin in one is exposure.
 */
export function tunnelConfigs(object: KObject, scene: BuildkitScene): { key: string; tunnel: string; what: string; crossed: boolean }[] {
    if (object.kind !== "ConfigMap" && object.kind !== "Secret") {
        return [];
    }
    const out: { key: string; tunnel: string; what: string; crossed: boolean }[] = [];
    for (const entry of entriesOf(object)) {
        if (typeof entry.text !== "string") {
            continue;
        }
        const text = entry.text;
        let tunnel: string | undefined;
        if (/^\s*ingress\s*:/m.test(text) && /^\s*(tunnel|credentials-file)\s*:/m.test(text)) {
            tunnel = TUNNELS.cloudflared;
        } else if (
            /^\s*(tunnels|endpoints)\s*:/m.test(text) &&
            /^\s*-?\s*(addr|upstream|url)\s*:|^\s+(addr|url)\s*:/m.test(text) &&
            /authtoken|version\s*:/i.test(text)
        ) {
            tunnel = TUNNELS.ngrok;
        } else if (/server_?addr/i.test(text) && /local_?ip|local_?port/i.test(text)) {
            tunnel = TUNNELS.frpc;
        }
        if (!tunnel) {
            continue;
        }
        const hit = targetsInText(text, undefined, scene)[0];
        if (hit) {
            out.push({ key: entry.key, tunnel, what: hit.what, crossed: hit.crossed });
        }
    }
    return out;
}

/** A Service selects the relay's pods. */
export function selectsRelay(service: KObject, relay: Relay): boolean {
    const selector = asRecord((asRecord(service.body.spec) as Record<string, unknown>).selector);
    const entries = Object.entries(selector);
    const labels = relay.ctx.template.labels;
    return (
        entries.length > 0 &&
        entries.every(([k, v]) => labels[k] === v) &&
        (service.namespace === undefined || relay.ctx.template.namespace === undefined || service.namespace === relay.ctx.template.namespace)
    );
}

/**
 * The values of a tunnel's Helm chart (cloudflare/helm-charts `cloudflare-tunnel`: `cloudflare.ingress[]`
 * with `hostname` and `service`; charts of ngrok, frp, inlets, chisel): the chart runs the tunnel, so a
 * BuildKit origin in its values is published.
 */
export const TUNNEL_CHART = /tunnel|cloudflared|ngrok|(^|-)frpc?($|-)|inlets|chisel|rathole|(^|-)bore($|-)|zrok/;

export function tunnelValueTargets(values: unknown, scene: BuildkitScene): { what: string; crossed: boolean }[] {
    let text: string;
    try {
        text = JSON.stringify(values) ?? "";
    } catch {
        return [];
    }
    return targetsInText(text.replace(/\\n/g, "\n"), undefined, scene).map((t) => ({ what: t.what, crossed: t.crossed }));
}
