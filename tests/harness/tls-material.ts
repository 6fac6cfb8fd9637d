import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseToml } from "smol-toml";
import { RUNNER_ENV, RUNNER_NAMESPACE, SHARED_TIER, tierNames } from "../../contracts";
import { ProgramResource, ProgramRun, reveal } from "./program";

/**
 * What each side of BuildKit's mTLS actually holds, resolved from the declared Kubernetes objects
 * the way the kubelet and the processes would: a path in a container → the volume mounted there →
 * the Secret behind it → the declared `stringData` key.
 */

const SECRET = "kubernetes:core/v1:Secret";
const RELEASE = "kubernetes:helm.sh/v3:Release";

export interface ServerView {
    ca: string;
    cert: string;
    key: string;
}

export interface RunnerView {
    /** Where the view came from: a declared ARC scale set, or the contract when none is declared yet. */
    source: string;
    /** The runner namespace the pod runs in (its tier's). */
    namespace: string;
    env: Record<string, string>;
    ca: string;
    cert: string;
    key: string;
}

function declaredSecrets(run: ProgramRun): Map<string, Record<string, string>> {
    const secrets = new Map<string, Record<string, string>>();
    for (const r of run.resources.filter((resource) => resource.type === SECRET)) {
        const inputs = reveal(r.inputs);
        const data: Record<string, string> = { ...(inputs.stringData ?? {}) };
        for (const [k, v] of Object.entries((inputs.data ?? {}) as Record<string, string>)) {
            data[k] = Buffer.from(v, "base64").toString("utf8");
        }
        secrets.set(`${inputs.metadata?.namespace}/${inputs.metadata?.name}`, data);
    }
    return secrets;
}

/** The content of `file` as container `containerName` of `podSpec` (in `namespace`) sees it. */
export function fileInPod(run: ProgramRun, namespace: string, podSpec: any, containerName: string, file: string): string {
    const container = (podSpec.containers ?? []).find((c: any) => c.name === containerName);
    if (!container) {
        throw new Error(`no container ${containerName} in pod spec`);
    }
    const mount = (container.volumeMounts ?? [])
        .filter((m: any) => file.startsWith(`${m.mountPath.replace(/\/$/, "")}/`))
        .sort((a: any, b: any) => b.mountPath.length - a.mountPath.length)[0];
    if (!mount) {
        throw new Error(`${file} is not under any volume mount of container ${containerName}`);
    }
    const volume = (podSpec.volumes ?? []).find((v: any) => v.name === mount.name);
    const secretName = volume?.secret?.secretName;
    if (!secretName) {
        throw new Error(`${file} is mounted from volume ${mount.name}, which is not a Secret volume`);
    }
    const relative = file.slice(mount.mountPath.replace(/\/$/, "").length + 1);
    const item = (volume.secret.items ?? []).find((i: any) => i.path === relative);
    const key = volume.secret.items ? item?.key : relative;
    const secret = declaredSecrets(run).get(`${namespace}/${secretName}`);
    if (!secret) {
        throw new Error(`secret ${namespace}/${secretName} (mounted at ${mount.mountPath}) is not declared`);
    }
    if (key === undefined || secret[key] === undefined) {
        throw new Error(`secret ${namespace}/${secretName} has no key for ${file}`);
    }
    return secret[key];
}

function only(run: ProgramRun, type: string, name: string): ProgramResource {
    const found = run.resources.filter((r) => r.type === type && reveal(r.inputs).metadata?.name === name);
    if (found.length !== 1) {
        throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
    }
    return found[0];
}

/** The certificate, key and client CA buildkitd loads: its TOML's `[grpc.tls]` paths, through its mounts. */
export function serverView(run: ProgramRun, tier: string = SHARED_TIER): ServerView {
    const { statefulSet: name } = tierNames(tier);
    const configMap = reveal(only(run, "kubernetes:core/v1:ConfigMap", `${name}-config`).inputs);
    const toml = parseToml(configMap.data["buildkitd.toml"]) as any;
    const tls = toml.grpc?.tls;
    if (!tls?.cert || !tls?.key || !tls?.ca) {
        throw new Error("buildkitd.toml has no complete [grpc.tls] section");
    }
    const statefulSet = reveal(only(run, "kubernetes:apps/v1:StatefulSet", name).inputs);
    const namespace = statefulSet.metadata.namespace;
    const pod = statefulSet.spec.template.spec;
    const read = (file: string) => fileInPod(run, namespace, pod, "buildkitd", file);
    return { ca: read(tls.ca), cert: read(tls.cert), key: read(tls.key) };
}

/**
 * How each runner pod sees BuildKit: its `AMEIDE_BUILDKIT_*` environment and the files those
 * variables name, for every declared ARC scale set (read from the release's `values.template.spec`).
 */
export async function runnerViews(run: ProgramRun, tier?: string): Promise<RunnerView[]> {
    const releases = run.resources
        .filter((r) => r.type === RELEASE)
        .map((r) => ({ name: r.name, inputs: reveal(r.inputs) }))
        .filter((r) => r.inputs.values?.template?.spec)
        .filter((r) => tier === undefined || r.inputs.namespace === tierNames(tier).runnerNamespace);
    if (releases.length === 0) {
        throw new Error("no ARC scale set is declared: runners would have no BuildKit environment");
    }
    return releases.map(({ name, inputs }) => {
        const pod = inputs.values.template.spec;
        const runner = (pod.containers ?? []).find((c: any) => c.name === "runner");
        if (!runner) {
            throw new Error(`scale set ${name}: no container named runner`);
        }
        const env = Object.fromEntries((runner.env ?? []).filter((e: any) => typeof e.value === "string").map((e: any) => [e.name, e.value]));
        const namespace = inputs.namespace ?? RUNNER_NAMESPACE;
        const read = (variable: string) => {
            if (!env[variable]) {
                throw new Error(`scale set ${name}: runner has no ${variable}`);
            }
            return fileInPod(run, namespace, pod, "runner", env[variable]);
        };
        return { source: `scale set ${name}`, namespace, env, ca: read(RUNNER_ENV.ca), cert: read(RUNNER_ENV.cert), key: read(RUNNER_ENV.key) };
    });
}

/** Host of a `tcp://host:port` address. */
export function hostOf(address: string): string {
    const match = /^tcp:\/\/([^:/]+):[0-9]+$/.exec(address);
    if (!match) {
        throw new Error(`not a tcp://host:port address: ${address}`);
    }
    return match[1];
}

/** Runs `openssl` with PEM files written to a private temp dir; returns stdout, throws with stderr. */
export function openssl(args: (string | { pem: string })[]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arc-buildkit-tls-"));
    try {
        const argv = args.map((arg, i) => {
            if (typeof arg === "string") {
                return arg;
            }
            const file = path.join(dir, `${i}.pem`);
            fs.writeFileSync(file, arg.pem, { mode: 0o600 });
            return file;
        });
        return execFileSync("openssl", argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (err: any) {
        throw new Error(`openssl ${args.map((a) => (typeof a === "string" ? a : "<pem>")).join(" ")} failed: ${err.stdout ?? ""}${err.stderr ?? err.message}`, {
            cause: err,
        });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** `openssl verify -purpose <purpose>` of `cert` against `ca`; throws when openssl refuses it. */
export function opensslVerify(ca: string, cert: string, purpose: "sslserver" | "sslclient", hostname?: string): void {
    const out = openssl(["verify", "-purpose", purpose, ...(hostname ? ["-verify_hostname", hostname] : []), "-CAfile", { pem: ca }, { pem: cert }]);
    if (!/: OK\s*$/.test(out)) {
        throw new Error(`openssl verify did not say OK: ${out}`);
    }
}

/** Extended key usages of a certificate as openssl names them, e.g. ["TLS Web Client Authentication"]. */
export function extendedKeyUsages(cert: string): string[] {
    const out = openssl(["x509", "-noout", "-ext", "extendedKeyUsage", "-in", { pem: cert }]);
    const lines = out.split("\n").slice(1).join(",");
    return lines
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
}

/** notBefore/notAfter as Dates. */
export function validityOf(cert: string): { notBefore: Date; notAfter: Date } {
    const out = openssl(["x509", "-noout", "-startdate", "-enddate", "-in", { pem: cert }]);
    const field = (name: string) => new Date(/=(.*)$/m.exec(out.split("\n").find((l) => l.startsWith(name)) ?? "")![1]);
    return { notBefore: field("notBefore"), notAfter: field("notAfter") };
}
