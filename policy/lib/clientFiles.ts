import { ContainerContext, volumeEntries } from "./container";
import { decodeString, newDecodeBudget } from "./decode";
import { asArray, asRecord, asString, at, isUnknown } from "./plain";
import { flagValues } from "./text";

/** A file a container sees, from a ConfigMap or Secret volume (directly, projected, with items or subPath) in view. */
export interface MountedFile {
    path: string;
    text: string;
    source: string;
}

/** Every file the container's ConfigMap, Secret and projected volumes put at a path, as far as they are in view. */
export function mountedFiles(ctx: ContainerContext): MountedFile[] {
    const files: MountedFile[] = [];
    for (const mount of ctx.mounts) {
        if (isUnknown(mount.mountPath)) {
            continue;
        }
        const base = mount.mountPath.replace(/\/+$/, "");
        for (const source of volumeEntries(ctx, mount.volume)) {
            for (const entry of source.entries) {
                const item = source.items.find((i) => i.key === entry.key);
                if (source.items.length > 0 && !item) {
                    continue;
                }
                const relative = asString(item?.path) ?? entry.key;
                const path = mount.subPath !== undefined ? (mount.subPath === relative ? base : undefined) : `${base}/${relative}`;
                if (path !== undefined) {
                    files.push({ path, text: entry.text, source: `key '${entry.key}' of ${source.kind} '${source.name}'` });
                }
            }
        }
    }
    return files;
}

/** A client address a known client reads from a configuration file the container mounts, with the TLS that file gives it. */
export interface ConfiguredClient {
    address: string;
    origin: string;
    docker: boolean;
    /** Why TLS is off, when the file turns it off. */
    tlsOff?: string;
    /** Files the client reads its CA, certificate and key from (buildkit clients). */
    paths?: { ca?: string; cert?: string; key?: string };
    /** The directory a Docker context keeps its `ca.pem`, `cert.pem` and `key.pem` in, and whether it skips verification. */
    dockerTlsDir?: string;
    skipVerify?: boolean;
}

/** What the Earthly CLI takes from its config file: TLS on or off and the paths of its client TLS files. */
export interface EarthlyConfig {
    path: string;
    source: string;
    host?: string;
    tlsEnabled: boolean;
    paths: { ca: string; cert: string; key: string };
}

function resolve(dir: string, path: string): string {
    return path.startsWith("/") ? path : `${dir.replace(/\/+$/, "")}/${path.replace(/^\.\//, "")}`;
}

/**
 * The Earthly CLI's config file, when the container mounts it where Earthly reads it: `--config`,
 * `$EARTHLY_CONFIG`, or `~/.earthly/config.yml` (earthly/earthly `cmd/earthly/flag/global.go`,
 * `app/before.go`). Keys from `config/config.go`: `global.buildkit_host`, `global.tls_enabled` (default
 * true, "only honored when BuildkitScheme is 'tcp'"), `global.tlsca`/`tlscert`/`tlskey` (defaults
 * `./certs/ca_cert.pem`, `./certs/earthly_cert.pem`, `./certs/earthly_key.pem`, relative to the Earthly
 * directory, `~/.earthly`).
 */
export function earthlyConfig(ctx: ContainerContext, files: MountedFile[]): EarthlyConfig | undefined {
    const named = new Set<string>();
    const env = ctx.env.get("EARTHLY_CONFIG");
    if (typeof env === "string" && env !== "") {
        named.add(env);
    }
    for (const invocation of ctx.interpretation.invocations.filter((i) => i.program === "earthly")) {
        const flag = flagValues(invocation.args, "config").pop();
        if (typeof flag === "string" && flag !== "") {
            named.add(flag);
        }
    }
    const file = files.find((f) => named.has(f.path)) ?? (named.size === 0 ? files.find((f) => /\/\.earthly\/config\.ya?ml$/.test(f.path)) : undefined);
    if (!file) {
        return undefined;
    }
    const global = asRecord(asRecord(decodeString(file.text, newDecodeBudget())[0]).global);
    // Relative TLS paths are relative to the Earthly directory, ~/.earthly, wherever the config file is (`cfgPath`).
    const home = ctx.env.get("HOME");
    const earthlyDir = `${typeof home === "string" && home !== "" ? home.replace(/\/+$/, "") : "/root"}/.earthly`;
    const tls = global.tls_enabled;
    const path = (key: string, fallback: string) => resolve(earthlyDir, asString(global[key]) ?? fallback);
    return {
        path: file.path,
        source: file.source,
        host: asString(global.buildkit_host),
        tlsEnabled: !(tls === false || (typeof tls === "string" && /^(false|no|off|0)$/i.test(tls))),
        paths: {
            ca: path("tlsca", "./certs/ca_cert.pem"),
            cert: path("tlscert", "./certs/earthly_cert.pem"),
            key: path("tlskey", "./certs/earthly_key.pem"),
        },
    };
}

/**
 * Client addresses in configuration files known clients read, mounted into the container:
 * - buildx builder store files, `<buildx config dir>/instances/<name>` (docker/buildx `store/store.go`;
 *   the directory is `$BUILDX_CONFIG` or `$DOCKER_CONFIG/buildx`, `~/.docker/buildx` by default,
 *   `util/confutil/config.go`): a JSON `NodeGroup` (`store/nodegroup.go`) whose `Driver` is `remote`
 *   dials each node's `Endpoint`, with TLS only from the node's `DriverOpts` `cacert`, `cert`, `key`
 *   (`driver/remote/factory.go`);
 * - Docker contexts, `<docker config dir>/contexts/meta/<sha256 of name>/meta.json` (docker/cli
 *   `cli/context/store`): `Endpoints.docker.Host` and `SkipTLSVerify` (`cli/context/endpoint.go`), with
 *   the TLS files `ca.pem`, `cert.pem`, `key.pem` in `contexts/tls/<same hash>/docker/`;
 * - the Earthly CLI's `config.yml` (see `earthlyConfig`): `global.buildkit_host`, judged with its TLS.
 */
export function configuredClients(ctx: ContainerContext): ConfiguredClient[] {
    const files = mountedFiles(ctx);
    const clients: ConfiguredClient[] = [];
    const json = (text: string) => asRecord(decodeString(text, newDecodeBudget())[0]);
    const buildxConfig = ctx.env.get("BUILDX_CONFIG");
    const buildxDir = typeof buildxConfig === "string" && buildxConfig !== "" ? buildxConfig.replace(/\/+$/, "") : undefined;
    for (const file of files) {
        const instance =
            /\/buildx\/instances\/[^/]+$/.test(file.path) ||
            (buildxDir !== undefined && file.path.startsWith(`${buildxDir}/instances/`) && !file.path.slice(buildxDir.length + 11).includes("/"));
        if (instance) {
            const group = json(file.text);
            if (String(group.Driver) !== "remote") {
                continue;
            }
            for (const node of asArray(group.Nodes).map(asRecord)) {
                const endpoint = asString(node.Endpoint);
                if (endpoint === undefined) {
                    continue;
                }
                const opts = asRecord(node.DriverOpts);
                clients.push({
                    address: endpoint.trim(),
                    origin: `buildx builder '${String(group.Name ?? "")}' in ${file.path} (${file.source})`,
                    docker: false,
                    paths: { ca: asString(opts.cacert), cert: asString(opts.cert), key: asString(opts.key) },
                });
            }
            continue;
        }
        const context = /^(.*)\/contexts\/meta\/([0-9a-f]{64})\/meta\.json$/.exec(file.path);
        if (context) {
            const docker = asRecord(at(json(file.text), "Endpoints", "docker"));
            const host = asString(docker.Host);
            if (host !== undefined) {
                clients.push({
                    address: host.trim(),
                    origin: `Docker context in ${file.path} (${file.source})`,
                    docker: true,
                    dockerTlsDir: `${context[1]}/contexts/tls/${context[2]}/docker`,
                    skipVerify: docker.SkipTLSVerify === true,
                });
            }
        }
    }
    const earthly = earthlyConfig(ctx, files);
    if (earthly) {
        const override = ctx.env.get("EARTHLY_BUILDKIT_HOST");
        const fromFlag = ctx.interpretation.invocations
            .filter((i) => i.program === "earthly")
            .map((i) => flagValues(i.args, "buildkit-host").pop())
            .find((v) => v !== undefined);
        const host = fromFlag ?? override ?? earthly.host;
        if (typeof host === "string") {
            clients.push({
                address: host.trim(),
                origin: `Earthly buildkit_host${host === earthly.host ? ` in ${earthly.path} (${earthly.source})` : ` with ${earthly.path}`}`,
                docker: false,
                tlsOff: earthly.tlsEnabled ? undefined : `${earthly.path} (${earthly.source}) sets tls_enabled: false`,
                paths: earthly.paths,
            });
        }
    }
    return clients;
}
