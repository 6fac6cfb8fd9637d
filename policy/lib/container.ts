import { usesValuesFrom } from "./helm";
import { Container, Mount, PodTemplate, envEntries, imageRepository, mountedVolumes } from "./kube";
import { KObject, View, entriesOf, lookup } from "./objects";
import { UNKNOWN, Unknown, asArray, asRecord, asString, at, isUnknown } from "./plain";
import { Env, FileReader, Interpretation, basename, interpretArgv, k8sExpand } from "./shell";

/**
 * Everything about one container that the checks need, resolved against the objects in view: its
 * environment (env, envFrom with prefix, configMapKeyRef/secretKeyRef), the files it mounts from
 * ConfigMaps and Secrets, and what its command line really runs.
 */
export interface ContainerContext {
    template: PodTemplate;
    container: Container;
    view: View;
    env: Env;
    /** Reasons the container cannot be judged from this resource alone (resource policies leave it to the stack policy). */
    deferred: string[];
    /** Things that cannot be judged at all (unknown during preview, objects not in this stack). */
    unknowns: string[];
    /** True when something the container uses lives in another resource of the stack. */
    crossed: boolean;
    mounts: Mount[];
    read: FileReader;
    interpretation: Interpretation;
    /** The image runs its own entrypoint (no `command`). */
    imageEntrypoint: boolean;
    /** Service link variables (`<SERVICE>_PORT=tcp://...`) the container's command line uses. */
    serviceLinks?: Set<string>;
}

const serviceIndex = new WeakMap<View, Map<string, KObject>>();

/**
 * Kubernetes gives every container (unless the pod sets `enableServiceLinks: false`) variables for each
 * Service of its namespace: `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT`, `<NAME>_PORT=tcp://<ip>:<port>`
 * and `<NAME>_PORT_<port>_TCP=tcp://<ip>:<port>` (NAME upper-cased, dashes as underscores). Only the ones
 * its command line refers to are added, with the Service's name standing in for its cluster IP.
 */
function serviceLinks(template: PodTemplate, container: Container, view: View, env: Env, resources: Set<unknown>): Map<string, string> {
    const links = new Map<string, string>();
    if (template.spec.enableServiceLinks === false || template.spec.enableServiceLinks === "false") {
        return links;
    }
    const words = [...asArray(container.record.command), ...asArray(container.record.args)].filter((w): w is string => typeof w === "string");
    const names = new Set<string>();
    for (const word of words) {
        for (const match of word.slice(0, 256_000).matchAll(/\$\{?([A-Z][A-Z0-9_]*?)_(PORT|SERVICE_HOST|SERVICE_PORT)(_[A-Z0-9_]+)?\}?/g)) {
            if (!env.has(match[0].replace(/^\$\{?|\}$/g, ""))) {
                names.add(match[1]);
            }
        }
    }
    if (names.size === 0) {
        return links;
    }
    let index = serviceIndex.get(view);
    if (!index) {
        index = new Map();
        for (const object of view.objects) {
            if (object.kind === "Service" && !object.patch && typeof object.name === "string" && /^v1$|^$/.test(object.apiVersion)) {
                index.set(`${object.namespace ?? ""}/${object.name.toUpperCase().replace(/-/g, "_")}`, object);
            }
        }
        serviceIndex.set(view, index);
    }
    for (const name of names) {
        const service = index.get(`${template.namespace ?? ""}/${name}`);
        const port = asRecord(asArray(at(service?.body ?? {}, "spec", "ports"))[0]).port;
        if (!service || (typeof port !== "number" && typeof port !== "string")) {
            continue;
        }
        const address = `tcp://${String(service.name)}:${port}`;
        if (service.resource !== template.resource) {
            resources.add(service.resource);
        }
        links.set(`${name}_SERVICE_HOST`, String(service.name));
        links.set(`${name}_SERVICE_PORT`, String(port));
        links.set(`${name}_PORT`, address);
        links.set(`${name}_PORT_${port}_TCP`, address);
    }
    return links;
}

/** True for images of BuildKit itself (moby/buildkit, mirrors of it, buildkit-rootless builds, ...). */
export function isBuildkitImage(image: unknown): boolean {
    return (
        typeof image === "string" &&
        /buildkit/.test(basename(imageRepository(image))) &&
        !/buildkit-?(cache|mirror|registry|exporter|metrics)/.test(imageRepository(image))
    );
}

const BUILDCTL_SUBCOMMANDS = new Set(["build", "b", "debug", "du", "prune", "prune-histories", "history", "help", "h", "dial-stdio"]);

/** No command and flags only buildkitd takes: a renamed or mirrored BuildKit image running its entrypoint. */
function looksLikeBuildkitdArgs(args: (string | Unknown)[]): boolean {
    const words = args.filter((a): a is string => typeof a === "string");
    if (words.some((w) => BUILDCTL_SUBCOMMANDS.has(w))) {
        return false;
    }
    // Flags only buildkitd has, or --addr with a BuildKit address scheme.
    const workerFlag = words.some((w) => /^--?(oci-worker|containerd-worker)[a-z-]*(=|$)/.test(w) || /^--allow-insecure-entitlement(=|$)/.test(w));
    const addrFlag = words.some((w, i) => /^--?addr=(tcp|unix):\/\//i.test(w) || (/^--?addr$/.test(w) && /^(tcp|unix):\/\//i.test(words[i + 1] ?? "")));
    return workerFlag || addrFlag;
}

export function buildContext(template: PodTemplate, container: Container, view: View): ContainerContext {
    const from = template.resource;
    const ctx: ContainerContext = {
        template,
        container,
        view,
        env: new Map(),
        deferred: [],
        unknowns: [],
        // Values a Flux HelmRelease takes from a ConfigMap or Secret of the stack (valuesFrom) need several resources.
        crossed: usesValuesFrom(template.resource),
        mounts: mountedVolumes(template.spec, container),
        read: () => undefined,
        interpretation: { invocations: [], files: new Map(), unreadScripts: [] },
        imageEntrypoint: false,
    };
    const find = (kind: string, name: unknown, why: string): KObject | undefined => {
        if (isUnknown(name)) {
            ctx.unknowns.push(`${why} names a ${kind} that is unknown during preview`);
            return undefined;
        }
        if (typeof name !== "string" || name === "") {
            return undefined;
        }
        const result = lookup(view, kind, name, template.namespace);
        if ("found" in result) {
            if (result.found.resource !== from) {
                ctx.crossed = true;
            }
            return result.found;
        }
        if ("elsewhere" in result) {
            ctx.deferred.push(`${why} comes from ${kind} '${name}', declared in another resource`);
        } else {
            ctx.crossed = true;
            ctx.unknowns.push(`${why} comes from ${kind} '${name}', which is not declared in this stack`);
        }
        return undefined;
    };
    // envFrom first: env entries override it.
    for (const source of asArray(container.record.envFrom).map(asRecord)) {
        const prefix = asString(source.prefix) ?? "";
        for (const [kind, field] of [
            ["ConfigMap", "configMapRef"],
            ["Secret", "secretRef"],
        ] as const) {
            if (!(field in source)) {
                continue;
            }
            const object = find(kind, at(source, field, "name"), `envFrom (prefix '${prefix}')`);
            for (const entry of object ? entriesOf(object) : []) {
                ctx.env.set(`${prefix}${entry.key}`, entry.text);
            }
            if (!object) {
                ctx.env.set(`${prefix}*`, UNKNOWN);
            }
        }
    }
    for (const entry of envEntries(container)) {
        let value: string | Unknown | undefined;
        if (isUnknown(entry.value)) {
            value = UNKNOWN;
        } else if (typeof entry.value === "string") {
            value = k8sExpand(entry.value, ctx.env);
            value = value.includes("\u0000?\u0000") ? UNKNOWN : value;
        } else if (entry.valueFrom !== undefined) {
            const ref = entry.valueFrom;
            for (const [kind, field] of [
                ["ConfigMap", "configMapKeyRef"],
                ["Secret", "secretKeyRef"],
            ] as const) {
                if (field in ref) {
                    const object = find(kind, at(ref, field, "name"), `env ${entry.name}`);
                    const key = at(ref, field, "key");
                    const found = object ? entriesOf(object).find((e) => e.key === key || e.key === "*") : undefined;
                    value = found ? found.text : object ? "" : UNKNOWN;
                }
            }
            if (value === undefined) {
                value = "fieldRef" in ref || "resourceFieldRef" in ref ? `<${Object.keys(ref).join(",")}>` : UNKNOWN;
            }
        } else if (entry.value === undefined || entry.value === null) {
            value = "";
        }
        if (value !== undefined) {
            ctx.env.set(entry.name, value);
        }
    }
    ctx.read = (path: string) => readMounted(ctx, path, find);
    const expand = (part: unknown): (string | Unknown)[] | undefined => {
        if (isUnknown(part)) {
            return [UNKNOWN];
        }
        if (!Array.isArray(part)) {
            return undefined;
        }
        return part.map((w) =>
            isUnknown(w) ? UNKNOWN : typeof w === "string" ? (k8sExpand(w, ctx.env).includes("\u0000?\u0000") ? UNKNOWN : k8sExpand(w, ctx.env)) : String(w),
        );
    };
    const command = expand(container.record.command);
    const args = expand(container.record.args) ?? [];
    let argv: (string | Unknown)[];
    if (command !== undefined && command.length > 0) {
        argv = [...command, ...args];
    } else {
        ctx.imageEntrypoint = true;
        const first = args[0];
        const runsOther = typeof first === "string" && (basename(first).startsWith("buildctl") || /^(sh|bash|ash|dash)$/.test(basename(first)));
        if (isBuildkitImage(container.image) && !runsOther) {
            argv = ["buildkitd", ...args];
        } else if (!isBuildkitImage(container.image) && looksLikeBuildkitdArgs(args)) {
            argv = ["buildkitd", ...args];
        } else {
            argv = args;
        }
    }
    const linkedFromElsewhere = new Set<unknown>();
    const links = serviceLinks(template, container, view, ctx.env, linkedFromElsewhere);
    if (links.size > 0) {
        ctx.serviceLinks = new Set(links.keys());
        ctx.crossed ||= linkedFromElsewhere.size > 0;
        const withLinks = new Map([...links, ...ctx.env]);
        ctx.interpretation = interpretArgv(argv, withLinks, ctx.read);
    } else {
        ctx.interpretation = interpretArgv(argv, ctx.env, ctx.read);
    }
    // Lifecycle hooks and exec health checks (startupProbe, readinessProbe, livenessProbe) run in the same
    // container, with the same environment and files.
    const hooks = [
        at(container.record, "lifecycle", "postStart", "exec", "command"),
        at(container.record, "lifecycle", "preStop", "exec", "command"),
        ...["readinessProbe", "livenessProbe", "startupProbe"].map((p) => at(container.record, p, "exec", "command")),
    ];
    for (const hook of hooks) {
        const words = expand(hook);
        if (words && words.length > 0) {
            const extra = interpretArgv(words, ctx.env, ctx.read);
            ctx.interpretation.invocations.push(...extra.invocations);
            ctx.interpretation.unreadScripts.push(...extra.unreadScripts);
        }
    }
    return ctx;
}

type Find = (kind: string, name: unknown, why: string) => KObject | undefined;

/** The ConfigMaps and Secrets a volume projects (a configMap, secret or projected volume), or undefined for any other kind. */
export function volumeSources(volume: Record<string, unknown>): { kind: string; name: unknown; items: unknown }[] | undefined {
    if ("configMap" in volume) {
        return [{ kind: "ConfigMap", name: at(volume, "configMap", "name"), items: at(volume, "configMap", "items") }];
    }
    if ("secret" in volume) {
        return [{ kind: "Secret", name: at(volume, "secret", "secretName"), items: at(volume, "secret", "items") }];
    }
    if ("projected" in volume) {
        return asArray(at(volume, "projected", "sources"))
            .map(asRecord)
            .flatMap((s) =>
                "configMap" in s
                    ? [{ kind: "ConfigMap", name: at(s, "configMap", "name"), items: at(s, "configMap", "items") }]
                    : "secret" in s
                      ? [{ kind: "Secret", name: at(s, "secret", "name"), items: at(s, "secret", "items") }]
                      : [],
            );
    }
    return undefined;
}

/** The text of a file at `path` in the container, when it comes from a ConfigMap or Secret volume. */
function readMounted(ctx: ContainerContext, path: string, find: Find): { text: string; source?: string } | { unreadable: string } | undefined {
    const mount = mountFor(ctx.mounts, path);
    if (!mount) {
        return undefined;
    }
    const { volume, relative } = mount;
    const sources = volumeSources(volume);
    if (sources === undefined) {
        const type = Object.keys(volume).find((k) => k !== "name") ?? "unknown";
        return { unreadable: `${path} (from a ${type} volume)` };
    }
    for (const source of sources) {
        const items = asArray(source.items).map(asRecord);
        let key: string | undefined = relative;
        if (items.length > 0) {
            key = asString(items.find((i) => i.path === relative)?.key);
            if (key === undefined) {
                continue;
            }
        }
        if (isUnknown(source.name)) {
            return { unreadable: `${path} (from a ${source.kind} whose name is unknown during preview)` };
        }
        const object = find(source.kind, source.name, `file ${path}`);
        if (!object) {
            const why = ctx.view.scope === "stack" ? ", which is not declared in this stack" : ", declared in another resource";
            return { unreadable: `${path} (from ${source.kind} '${String(source.name)}'${why})` };
        }
        const entry = entriesOf(object).find((e) => e.key === key || e.key === "*");
        if (entry) {
            return isUnknown(entry.text)
                ? { unreadable: `${path} (key '${key}' of ${source.kind} '${String(source.name)}', unknown during preview)` }
                : { text: entry.text, source: `key '${entry.key}' of ${source.kind} '${String(source.name)}'` };
        }
    }
    return undefined;
}

/** The mount that holds `path` (the longest matching mountPath) and the path inside the volume. */
export function mountFor(mounts: Mount[], path: string): { volume: Record<string, unknown>; relative: string; mount: Mount } | undefined {
    let best: { volume: Record<string, unknown>; relative: string; mount: Mount } | undefined;
    let bestLength = -1;
    const normalized = path.replace(/\/+/g, "/");
    for (const mount of mounts) {
        if (isUnknown(mount.mountPath)) {
            continue;
        }
        const mountPath = mount.mountPath.replace(/\/+$/, "");
        if (mount.subPath !== undefined) {
            if (normalized === mountPath && mountPath.length > bestLength) {
                best = { volume: mount.volume, relative: mount.subPath, mount };
                bestLength = mountPath.length;
            } else if (normalized.startsWith(`${mountPath}/`) && mountPath.length > bestLength) {
                best = { volume: mount.volume, relative: `${mount.subPath}/${normalized.slice(mountPath.length + 1)}`, mount };
                bestLength = mountPath.length;
            }
            continue;
        }
        if (normalized.startsWith(`${mountPath}/`) && mountPath.length > bestLength) {
            best = { volume: mount.volume, relative: normalized.slice(mountPath.length + 1), mount };
            bestLength = mountPath.length;
        }
    }
    return best;
}

/** Whether a file at `relative` inside the volume exists: with `items`, only the listed paths are projected. */
export function volumeHasPath(volume: Record<string, unknown>, relative: string): boolean {
    const listed = (items: unknown) => {
        const list = asArray(items).map(asRecord);
        return list.length === 0 || list.some((i) => i.path === relative || (typeof i.path === "string" && relative.startsWith(`${i.path}/`)));
    };
    if ("secret" in volume) {
        return listed(at(volume, "secret", "items"));
    }
    if ("configMap" in volume) {
        return listed(at(volume, "configMap", "items"));
    }
    if ("projected" in volume) {
        return asArray(at(volume, "projected", "sources"))
            .map(asRecord)
            .some((s) => listed(asRecord(s.secret ?? s.configMap).items));
    }
    return true;
}

/** What kind of secret material a volume can carry: Secret (or projected Secret), CSI secret stores, ConfigMap. */
export function volumeSecrecy(volume: Record<string, unknown>): "secret" | "configmap" | "none" {
    if ("secret" in volume || "dockerHostPath" in volume) {
        return "secret";
    }
    if ("csi" in volume) {
        const driver = asString(at(volume, "csi", "driver")) ?? "";
        return /^(csi\.cert-manager\.io|secrets-store\.csi\.k8s\.io|csi\.spiffe\.io|secrets-store\.csi\.x-k8s\.io)$/.test(driver) ? "secret" : "none";
    }
    if ("projected" in volume) {
        const sources = asArray(at(volume, "projected", "sources")).map(asRecord);
        if (sources.some((s) => "secret" in s)) {
            return "secret";
        }
        return sources.some((s) => "configMap" in s || "clusterTrustBundle" in s) ? "configmap" : "none";
    }
    return "configMap" in volume ? "configmap" : "none";
}

/**
 * The ConfigMaps and Secrets one of the container's volumes projects, with their entries, as far as they
 * are in view. An object found in another resource of the stack marks the context crossed.
 */
export function volumeEntries(
    ctx: ContainerContext,
    volume: Record<string, unknown>,
): { kind: string; name: string; items: Record<string, unknown>[]; entries: { key: string; text: string }[] }[] {
    const out: { kind: string; name: string; items: Record<string, unknown>[]; entries: { key: string; text: string }[] }[] = [];
    for (const source of volumeSources(volume) ?? []) {
        if (typeof source.name !== "string") {
            continue;
        }
        const result = lookup(ctx.view, source.kind, source.name, ctx.template.namespace);
        if (!("found" in result)) {
            continue;
        }
        if (result.found.resource !== ctx.template.resource) {
            ctx.crossed = true;
        }
        const entries = entriesOf(result.found).filter((e): e is { key: string; text: string } => typeof e.text === "string");
        out.push({ kind: source.kind, name: source.name, items: asArray(source.items).map(asRecord), entries });
    }
    return out;
}

/** The texts of the ConfigMaps and Secrets a container mounts (only the `subPath` key when it mounts one), as far as they are in view. */
export function mountedTexts(ctx: ContainerContext): { text: string; source: string }[] {
    const out: { text: string; source: string }[] = [];
    for (const mount of ctx.mounts) {
        for (const source of volumeEntries(ctx, mount.volume)) {
            for (const entry of source.entries) {
                if (mount.subPath === undefined || mount.subPath === entry.key) {
                    out.push({ text: entry.text, source: `key '${entry.key}' of ${source.kind} '${source.name}'` });
                }
            }
        }
    }
    return out;
}
