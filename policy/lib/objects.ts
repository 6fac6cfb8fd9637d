import { existsSync, readFileSync, statSync } from "fs";
import { Finding, ResourceLike, unverifiable, violation } from "./findings";
import { Budget, LIMITS, RELEVANT, UNKNOWN, Unknown, asArray, asRecord, asString, at, isUnknown, newBudget } from "./plain";
import { parseYaml } from "./yaml";
import { KObject } from "./kobject";
import { embeddedObjects } from "./templates";
import { commandPods, isCommandResource } from "./commands";

export type { KObject };

const YAML_TYPES = /^kubernetes:yaml(\/v\d+)?:(ConfigGroup|ConfigFile)$/;
const HELM_TYPES = /^kubernetes:helm\.sh\/v\d+:(Release|Chart)$/;

export function isHelmType(type: string): boolean {
    return HELM_TYPES.test(type);
}

/** `kubernetes:apps/v1:DeploymentPatch` -> { kind: "Deployment", apiVersion: "apps/v1", patch: true }. */
function typeParts(type: string): { kind: string; apiVersion: string; patch: boolean } | undefined {
    const match = /^kubernetes:([^:]+):([A-Za-z0-9]+)$/.exec(type);
    if (!match || YAML_TYPES.test(type) || HELM_TYPES.test(type)) {
        return undefined;
    }
    const [, module, typeName] = match;
    const patch = typeName.endsWith("Patch") && typeName !== "Patch";
    const kind = patch ? typeName.slice(0, -"Patch".length) : typeName;
    const apiVersion = module.startsWith("core/") ? module.slice("core/".length) : module;
    return { kind, apiVersion, patch };
}

function metadataName(body: Record<string, unknown>): string | Unknown | undefined {
    const name = at(body, "metadata", "name");
    return isUnknown(name) ? UNKNOWN : asString(name);
}

function metadataNamespace(body: Record<string, unknown>, fallback: unknown): string | undefined {
    return asString(at(body, "metadata", "namespace")) ?? asString(fallback);
}

/** Items of `kind: List` (and `*List`) objects, flattened; everything else as is. */
function flattenLists(docs: unknown[], budget: { left: number }): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    const visit = (doc: unknown, depth: number) => {
        if (budget.left-- <= 0 || depth > 4) {
            return;
        }
        if (Array.isArray(doc)) {
            doc.forEach((d) => visit(d, depth + 1));
            return;
        }
        const record = asRecord(doc);
        const kind = asString(record.kind);
        if (kind && kind.endsWith("List") && Array.isArray(record.items)) {
            record.items.forEach((d) => visit(d, depth + 1));
        } else if (kind) {
            out.push(record);
        }
    };
    docs.forEach((d) => visit(d, 0));
    return out;
}

/** Reads a manifest file named by a ConfigFile/ConfigGroup, if the policy pack can see it; bounded. */
export function readManifest(path: string): string | undefined {
    try {
        if (/^[a-z]+:\/\//i.test(path) || !existsSync(path) || !statSync(path).isFile() || statSync(path).size > LIMITS.yamlChars) {
            return undefined;
        }
        return readFileSync(path, "utf8");
    } catch {
        return undefined;
    }
}

/**
 * The Kubernetes objects one resource declares, and notes about what could not be read. Helm resources
 * declare none here: their values are judged by `helm.ts`.
 */
export function objectsOf(resource: ResourceLike): { objects: KObject[]; notes: Finding[] } {
    const cached = objectsCache.get(resource);
    if (cached) {
        return cached;
    }
    const own = ownObjectsOf(resource);
    const objects: KObject[] = [];
    const notes = [...own.notes];
    for (const object of own.objects) {
        // Templates and patches an object carries are judged as the objects they become (templates.ts).
        const embedded = embeddedObjects(object);
        objects.push(object, ...embedded.objects);
        notes.push(...embedded.notes);
    }
    const result = { objects, notes };
    objectsCache.set(resource, result);
    return result;
}

const objectsCache = new WeakMap<ResourceLike, { objects: KObject[]; notes: Finding[] }>();

function ownObjectsOf(resource: ResourceLike): { objects: KObject[]; notes: Finding[] } {
    const parts = typeParts(resource.type);
    if (parts) {
        const body = resource.props;
        const name = metadataName(body);
        const label =
            typeof name === "string" && name !== resource.name
                ? `${parts.kind}${parts.patch ? "Patch" : ""} '${resource.name}' (${name})`
                : `${parts.kind}${parts.patch ? "Patch" : ""} '${resource.name}'`;
        return {
            objects: [
                {
                    kind: parts.kind,
                    apiVersion: parts.apiVersion,
                    name,
                    namespace: metadataNamespace(body, undefined),
                    body,
                    resource,
                    where: label,
                    patch: parts.patch,
                },
            ],
            notes: [],
        };
    }
    if (/^pulumi:providers:docker(-build)?$/.test(resource.type)) {
        // A Docker provider is a client of a Docker (and BuildKit) daemon: judged by the client rule.
        return {
            objects: [
                {
                    kind: "DockerProvider",
                    apiVersion: "pulumi",
                    name: resource.name,
                    namespace: undefined,
                    body: resource.props,
                    resource,
                    where: `Docker provider '${resource.name}'`,
                    patch: false,
                },
            ],
            notes: [],
        };
    }
    const tunnel = TUNNEL_TYPE.exec(resource.type);
    if (tunnel) {
        // A tunnel configured outside Kubernetes (Cloudflare's ZeroTrustTunnelCloudflaredConfig and TunnelConfig:
        // `config.ingresses[].service`, pulumi registry cloudflare api-docs) publishes the origins it names: judged
        // like an object of an unknown kind, by what it points at (buildkit-not-exposed).
        return {
            objects: [
                {
                    kind: tunnel[1],
                    apiVersion: resource.type,
                    name: resource.name,
                    namespace: undefined,
                    body: resource.props,
                    resource,
                    where: `${tunnel[1]} '${resource.name}'`,
                    patch: false,
                },
            ],
            notes: [],
        };
    }
    if (DOCKER_CONTAINER.test(resource.type)) {
        return { objects: [dockerContainerPod(resource)], notes: [] };
    }
    if (isCommandResource(resource.type)) {
        return { objects: commandPods(resource), notes: [] };
    }
    const yamlType = YAML_TYPES.exec(resource.type);
    if (!yamlType) {
        return { objects: [], notes: [] };
    }
    const label = `${yamlType[2]} '${resource.name}'`;
    const notes: Finding[] = [];
    const docs: unknown[] = [];
    const budget: Budget = newBudget();
    const addText = (text: string, source: string) => {
        const parsed = parseYaml(text, budget);
        docs.push(...parsed.docs);
        if (parsed.error !== undefined && budget.overflow && RELEVANT.test(text)) {
            notes.push(
                violation(
                    `${label} has ${source} that expands beyond the policy pack's fixed budget (${budget.overflow}) and mentions BuildKit, TCP, Docker or privilege, so a violation may hide in the part that was not read: simplify it (no YAML anchors/aliases) so it can be checked.`,
                    resource.urn,
                ),
            );
        } else if (parsed.error !== undefined) {
            notes.push(
                unverifiable(
                    `${label} has ${source} that cannot be read completely (${parsed.error}), so the objects in it cannot all be checked here; each object is still checked when Pulumi registers it.`,
                    resource.urn,
                ),
            );
        }
    };
    const yaml = resource.props.yaml;
    for (const text of Array.isArray(yaml) ? yaml : [yaml]) {
        if (isUnknown(text)) {
            notes.push(unverifiable(`${label} has YAML that is unknown during preview; each object is checked when Pulumi registers it.`, resource.urn));
        } else if (typeof text === "string") {
            addText(text, "YAML");
        }
    }
    const objs = resource.props.objs;
    if (isUnknown(objs)) {
        notes.push(unverifiable(`${label} has objs that are unknown during preview; each object is checked when Pulumi registers it.`, resource.urn));
    } else if (objs !== undefined) {
        docs.push(...(Array.isArray(objs) ? objs : [objs]));
    }
    const files = [...asArray(resource.props.files), resource.props.file].filter((f): f is string => typeof f === "string");
    for (const file of files) {
        const text = readManifest(file);
        if (text === undefined) {
            notes.push(
                unverifiable(
                    `${label} reads '${file}', which the policy pack cannot read from where it runs; the objects in it are checked one by one when Pulumi registers them.`,
                    resource.urn,
                ),
            );
        } else {
            addText(text, `file '${file}'`);
        }
    }
    const namespace = asString(resource.props.namespace);
    const objects = flattenLists(docs, { left: 10_000 }).map((body): KObject => {
        const kind = asString(body.kind) ?? "";
        const name = metadataName(body);
        return {
            kind,
            apiVersion: asString(body.apiVersion) ?? "",
            name,
            namespace: metadataNamespace(body, namespace),
            body,
            resource,
            where: `${label} object ${kind} '${typeof name === "string" ? name : "?"}'`,
            patch: false,
        };
    });
    return { objects, notes };
}

const DOCKER_CONTAINER = /^docker:index(\/container)?:Container$/;
/** Pulumi resources of other providers that configure a tunnel's origins (not Kubernetes objects). */
const TUNNEL_TYPE = /^(?!kubernetes:)[a-z0-9-]+:[^:]*:([A-Za-z0-9]*Tunnel[A-Za-z0-9]*)$/;

/**
 * A `@pulumi/docker` Container runs outside Kubernetes, on a Docker host, but it runs or points at
 * BuildKit just the same. It is judged as the Pod it amounts to (pulumi-docker's Container inputs):
 * `entrypoints` is the container's command and `command` its args (Docker's ENTRYPOINT and CMD),
 * `envs` (`K=V`) its environment, `privileged`, `networkMode: host` as hostNetwork, and every published
 * port as a hostPort (a port without `external` gets a random one: published all the same). Host
 * directories mounted into it (`volumes[].hostPath`, `mounts[]` of type bind) are files on the Docker host the pack cannot read;
 * TLS paths in them count as TLS material (`dockerHostPath` volumes), as a Secret mount does in a cluster,
 * and the runner rule judges them as hostPath volumes (the host's docker.sock in a runner container).
 */
function dockerContainerPod(resource: ResourceLike): KObject {
    const p = resource.props;
    const name = asString(p.name) ?? resource.name;
    const env = asArray(p.envs)
        .filter((e): e is string => typeof e === "string")
        .map((e) => (e.includes("=") ? { name: e.slice(0, e.indexOf("=")), value: e.slice(e.indexOf("=") + 1) } : { name: e, value: "" }));
    const volumes: Record<string, unknown>[] = [];
    const volumeMounts: Record<string, unknown>[] = [];
    asArray(p.volumes)
        .map(asRecord)
        .forEach((v, i) => {
            if (typeof v.containerPath !== "string") {
                return;
            }
            const volume = typeof v.hostPath === "string" ? { name: `v${i}`, dockerHostPath: v.hostPath } : { name: `v${i}`, emptyDir: {} };
            volumes.push(volume);
            volumeMounts.push({ name: `v${i}`, mountPath: v.containerPath, readOnly: v.readOnly === true });
        });
    // `mounts` (pulumi-docker ContainerMount: `type` bind/volume/tmpfs, `source`, `target`): a bind mount is a
    // host directory exactly like `volumes[].hostPath` (`docker run --mount type=bind,...` against `-v`).
    asArray(p.mounts)
        .map(asRecord)
        .forEach((m, i) => {
            if (typeof m.target !== "string") {
                return;
            }
            const bind = asString(m.type) === "bind" && typeof m.source === "string";
            volumes.push(bind ? { name: `m${i}`, dockerHostPath: m.source } : { name: `m${i}`, emptyDir: {} });
            volumeMounts.push({ name: `m${i}`, mountPath: m.target, readOnly: m.readOnly === true });
        });
    const ports = asArray(p.ports)
        .map(asRecord)
        .map((port) => ({ containerPort: port.internal, hostPort: port.external ?? "random" }));
    const container: Record<string, unknown> = {
        name,
        image: p.image,
        ...(p.entrypoints !== undefined ? { command: p.entrypoints } : {}),
        ...(p.command !== undefined ? { args: p.command } : {}),
        env,
        ports,
        volumeMounts,
        // `capabilities.adds` is `docker run --cap-add` (pulumi-docker ContainerCapabilities `adds`/`drops`).
        securityContext: {
            privileged: p.privileged === true,
            ...(Array.isArray(asRecord(p.capabilities).adds) ? { capabilities: { add: asRecord(p.capabilities).adds } } : {}),
        },
    };
    return {
        kind: "Pod",
        apiVersion: "v1",
        name,
        namespace: undefined,
        // `pidMode: host` is `docker run --pid=host`: the host's process namespace, as hostPID.
        body: { metadata: { name }, spec: { containers: [container], volumes, hostNetwork: p.networkMode === "host", hostPID: p.pidMode === "host" } },
        resource,
        where: `Docker container '${resource.name}'`,
        patch: false,
    };
}

/** What the checks can see: one resource (resource policies) or the whole stack (stack policies). */
export interface View {
    scope: "resource" | "stack";
    objects: KObject[];
}

export function viewOf(resources: ResourceLike[], scope: "resource" | "stack"): View {
    return { scope, objects: resources.flatMap((r) => objectsOf(r).objects) };
}

/** A referenced object: found, declared in another resource (resource scope), or not in this stack. */
export type Lookup = { found: KObject } | { elsewhere: true } | { missing: true };

/** The object of `kind` named `name` that a pod in `namespace` refers to. Patches are not definitions. */
export function lookup(view: View, kind: string, name: string, namespace: string | undefined): Lookup {
    const found = view.objects.find((o) => {
        if (o.kind !== kind || o.patch) {
            return false;
        }
        const nameMatches = typeof o.name === "string" ? o.name === name : o.name === undefined && name.startsWith(`${o.resource.name}-`);
        return nameMatches && (o.namespace === undefined || namespace === undefined || o.namespace === namespace);
    });
    if (found) {
        return { found };
    }
    return view.scope === "resource" ? { elsewhere: true } : { missing: true };
}

/** Entries of a ConfigMap (data, binaryData) or Secret (data base64-decoded, stringData). */
const entriesCache = new WeakMap<KObject, { key: string; text: string | Unknown }[]>();

export function entriesOf(object: KObject): { key: string; text: string | Unknown }[] {
    const cached = entriesCache.get(object);
    if (cached) {
        return cached;
    }
    const entries: { key: string; text: string | Unknown }[] = [];
    entriesCache.set(object, entries);
    const fields: [string, boolean][] =
        object.kind === "Secret"
            ? [
                  ["data", true],
                  ["stringData", false],
              ]
            : [
                  ["data", false],
                  ["binaryData", true],
              ];
    for (const [field, base64] of fields) {
        const map = object.body[field];
        if (isUnknown(map)) {
            entries.push({ key: "*", text: UNKNOWN });
            continue;
        }
        for (const [key, value] of Object.entries(asRecord(map))) {
            if (isUnknown(value)) {
                entries.push({ key, text: UNKNOWN });
            } else if (typeof value === "string") {
                entries.push({ key, text: base64 ? decodeBase64(value) : value });
            }
        }
    }
    return entries;
}

function decodeBase64(value: string): string {
    const text = Buffer.from(value.slice(0, LIMITS.stringChars), "base64").toString("utf8");
    // A value that is not base64 at all (a test or a program passing plain text in `data`) is kept as is.
    return /^[A-Za-z0-9+/=\s]*$/.test(value) ? text : value;
}
