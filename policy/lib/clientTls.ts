import { Finding, unverifiable, violation } from "./findings";
import { Container, PodTemplate, envEntries, isSecretVolume, mountedVolumes } from "./kube";
import { Unknown, UNKNOWN, asString, isUnknown } from "./plain";
import { SEPARATOR, basename, commandTokens, flagValues, isTcpAddress } from "./text";

/** Env var names that hold a BuildKit address for clients: BUILDKIT_HOST, AMEIDE_BUILDKIT_ADDR, BUILDKITD_ADDRESS, ... */
const ADDRESS_ENV = /(^|_)BUILDKITD?_(HOST|ADDR|ADDRESS|ENDPOINT|URL)$/i;

/** Env var names that point to client TLS material (checked in this order: a CA name also ends in CERT). */
const MATERIAL_ENV: { part: Part; pattern: RegExp }[] = [
    { part: "dir", pattern: /(TLS|CERTS?)_?(DIR|DIRECTORY|PATH)$/i },
    { part: "ca", pattern: /((TLS|SSL|BUILDKIT)_?CA|CA_?CERT|CACERT)(_?(CERT|CRT|FILE|PATH))?$/i },
    { part: "cert", pattern: /(TLS|SSL|CLIENT|BUILDKIT)_?(CERT|CERTIFICATE|CRT)(_?(FILE|PATH))?$/i },
    { part: "key", pattern: /(TLS|SSL|CLIENT|BUILDKIT)_?KEY(_?(FILE|PATH))?$/i },
];

type Part = "ca" | "cert" | "key" | "dir";

const PART_NAMES: Record<Exclude<Part, "dir">, string> = { ca: "CA certificate", cert: "client certificate", key: "client key" };

export const CLIENT_FIX =
    "A client of BuildKit's TCP API must present a certificate and verify the server: mount a volume from a Kubernetes Secret " +
    "(keys ca.crt, tls.crt, tls.key) into the same container and point at files inside that mount with environment variables " +
    "named like BUILDKIT_TLS_CA, BUILDKIT_TLS_CERT and BUILDKIT_TLS_KEY (any prefix, e.g. AMEIDE_BUILDKIT_TLS_CA), or with buildctl " +
    "--tlscacert/--tlscert/--tlskey or --tlsdir; variables filled from that Secret with secretKeyRef count as well.";

/** Where a container gets a tcp:// BuildKit address from. */
interface ClientAddress {
    address: string;
    origin: string;
}

/** The tcp:// BuildKit addresses a container uses, and what could not be judged during preview. */
function clientAddresses(container: Container): { addresses: ClientAddress[]; unjudged: string[] } {
    const addresses: ClientAddress[] = [];
    const unjudged: string[] = [];
    for (const env of envEntries(container)) {
        const named = ADDRESS_ENV.test(env.name);
        if (isUnknown(env.value) && named) {
            unjudged.push(`env ${env.name} is unknown during preview`);
        } else if (env.valueFrom && named && !isUnknown(env.valueFrom)) {
            unjudged.push(`env ${env.name} comes from ${Object.keys(env.valueFrom).join(", ") || "a reference"}, which the policy cannot read`);
        } else if (typeof env.value === "string" && isTcpAddress(env.value) && (named || looksLikeBuildkitEndpoint(env.value))) {
            addresses.push({ address: env.value.trim(), origin: `env ${env.name}` });
        }
    }
    for (const address of buildctlFlag(container, "addr")) {
        if (isUnknown(address)) {
            unjudged.push("buildctl --addr is unknown during preview");
        } else if (isTcpAddress(address)) {
            addresses.push({ address, origin: "buildctl --addr" });
        }
    }
    return { addresses, unjudged };
}

/** A tcp:// address that names BuildKit or uses its conventional port 1234, whatever the variable is called. */
function looksLikeBuildkitEndpoint(address: string): boolean {
    return /buildkit/i.test(address) || /^\s*tcp:\/\/[^/]*:1234(\/|\s*$)/i.test(address);
}

/** Values of a flag given to `buildctl` in the container's command line, with `$VAR`/`${VAR}` resolved from its env. */
function buildctlFlag(container: Container, flag: string): (string | Unknown)[] {
    const tokens = commandTokens(container.record.command, container.record.args);
    const values: (string | Unknown)[] = [];
    tokens.forEach((token, i) => {
        if (typeof token === "string" && basename(token).startsWith("buildctl")) {
            const rest = tokens.slice(i + 1);
            const end = rest.indexOf(SEPARATOR);
            values.push(...flagValues(end >= 0 ? rest.slice(0, end) : rest, flag).map((v) => resolveVariable(container, v)));
        }
    });
    return values;
}

function resolveVariable(container: Container, value: string | Unknown): string | Unknown {
    if (isUnknown(value)) {
        return value;
    }
    const match = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(value);
    if (!match) {
        return value;
    }
    const env = envEntries(container).find((e) => e.name === match[1]);
    return env && !isUnknown(env.value) ? asString(env.value) ?? value : UNKNOWN;
}

/**
 * Which of CA, certificate and key the container really has. A path counts only when it lies inside a
 * Secret volume mounted in this container (a path elsewhere is a file nobody guarantees exists, or a
 * key baked into an image); a variable filled from a Secret with secretKeyRef counts directly.
 */
function tlsMaterial(template: PodTemplate, container: Container): Record<Exclude<Part, "dir">, boolean> {
    const secretMounts = mountedVolumes(template.spec, container).filter((m) => isSecretVolume(m.volume)).map((m) => m.mountPath);
    const insideSecret = (path: string | Unknown): boolean =>
        secretMounts.some((mount) => isUnknown(mount) || isUnknown(path) || path === mount || path.startsWith(mount.endsWith("/") ? mount : `${mount}/`));
    const have = { ca: false, cert: false, key: false, dir: false };
    for (const env of envEntries(container)) {
        const part = MATERIAL_ENV.find((m) => m.pattern.test(env.name))?.part;
        if (!part) {
            continue;
        }
        const fromSecret = env.valueFrom !== undefined && "secretKeyRef" in env.valueFrom;
        const path = isUnknown(env.value) ? UNKNOWN : asString(env.value);
        have[part] = have[part] || fromSecret || (path !== undefined && path !== "" && insideSecret(path));
    }
    const flags: [Part, string][] = [["ca", "tlscacert"], ["cert", "tlscert"], ["key", "tlskey"], ["dir", "tlsdir"]];
    for (const [part, flag] of flags) {
        have[part] = have[part] || buildctlFlag(container, flag).some((path) => path !== "" && insideSecret(path));
    }
    return { ca: have.ca || have.dir, cert: have.cert || have.dir, key: have.key || have.dir };
}

/** Judges every container of a pod spec that points a BuildKit client at a tcp:// address. */
export function judgeClients(template: PodTemplate, containers: Container[], isDaemon: (c: Container) => boolean): Finding[] {
    const findings: Finding[] = [];
    const urn = template.resource.urn;
    for (const container of containers.filter((c) => !isDaemon(c))) {
        const subject = `${template.where} container '${container.name}'`;
        const { addresses, unjudged } = clientAddresses(container);
        for (const reason of unjudged) {
            findings.push(unverifiable(`${subject}: ${reason}, so it cannot be checked for a plaintext tcp:// BuildKit address yet.`, urn));
        }
        if (addresses.length === 0) {
            continue;
        }
        const material = tlsMaterial(template, container);
        const missing = (Object.keys(PART_NAMES) as (keyof typeof PART_NAMES)[]).filter((part) => !material[part]).map((part) => PART_NAMES[part]);
        if (missing.length > 0) {
            const where = addresses.map((a) => `${a.address} (${a.origin})`).join(", ");
            findings.push(violation(`${subject} points a BuildKit client at ${where} without TLS material from a mounted Secret: missing ${missing.join(", ")}. ${CLIENT_FIX}`, urn));
        }
    }
    return findings;
}
