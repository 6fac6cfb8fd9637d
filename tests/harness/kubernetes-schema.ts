/**
 * Validation of declared Kubernetes objects against the OpenAPI schemas of Kubernetes v1.33.0, as
 * compiled by `kubernetes-models` 4.5.1 (the newest release that supports Node 20; 5.x needs Node 22).
 *
 * The OpenAPI schemas check types, enums and required fields but leave objects open, so a
 * misspelled field would pass. The validator is therefore run on a tracing view of the object: every
 * field the schema knows is looked up while validating, so a field that was never looked up (in an
 * object the schema did not treat as a free-form map) is unknown to Kubernetes and reported too.
 */

export const KUBERNETES_SCHEMA_VERSION = "1.33.0";

interface Node {
    value: object;
    accessed: Set<string>;
    enumerated: boolean;
}

function tracing(root: object): { proxy: object; nodes: Map<string, Node> } {
    const nodes = new Map<string, Node>();
    const proxies = new Map<string, object>();
    const wrap = (value: unknown, path: string): unknown => {
        if (typeof value !== "object" || value === null) {
            return value;
        }
        const cached = proxies.get(path);
        if (cached) {
            return cached;
        }
        const node: Node = { value, accessed: new Set(), enumerated: false };
        nodes.set(path, node);
        const proxy = new Proxy(value, {
            get(target, prop, receiver) {
                const result = Reflect.get(target, prop, receiver);
                if (typeof prop !== "string") {
                    return result;
                }
                node.accessed.add(prop);
                return Object.prototype.hasOwnProperty.call(target, prop) ? wrap(result, `${path}/${prop}`) : result;
            },
            has(target, prop) {
                if (typeof prop === "string") {
                    node.accessed.add(prop);
                }
                return Reflect.has(target, prop);
            },
            ownKeys(target) {
                node.enumerated = true;
                return Reflect.ownKeys(target);
            },
        });
        proxies.set(path, proxy);
        return proxy;
    };
    return { proxy: wrap(root, "") as object, nodes };
}

/** Fields no schema looked at: `/spec/replicaz`, `/spec/template/spec/containers/0/imagePullPolicyy`. */
function unknownFields(nodes: Map<string, Node>): string[] {
    const unknown: string[] = [];
    for (const [path, node] of nodes) {
        if (Array.isArray(node.value) || node.enumerated || node.accessed.size === 0) {
            continue;
        }
        for (const key of Object.keys(node.value)) {
            if (!node.accessed.has(key)) {
                unknown.push(`${path}/${key}`);
            }
        }
    }
    return unknown.sort();
}

type ModelClass = { prototype: { validate(): void } };

/** The kubernetes-models class for a Pulumi type token such as `kubernetes:apps/v1:StatefulSet`. */
export function modelFor(typeToken: string): ModelClass {
    const match = /^kubernetes:([^/]+)\/([^:]+):(.+)$/.exec(typeToken);
    if (!match) {
        throw new Error(`not a Kubernetes type token: ${typeToken}`);
    }
    const [, group, version, kind] = match;
    // Prometheus Operator CRDs (PodMonitor, PrometheusRule) come from their own schema package
    // (@kubernetes-models/prometheus-operator 4.4.4: the last line that ships CommonJS).
    const module =
        group === "core"
            ? `kubernetes-models/${version}`
            : group === "monitoring.coreos.com"
              ? `@kubernetes-models/prometheus-operator/${group}/${version}`
              : `kubernetes-models/${group}/${version}`;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const model = (require(module) as Record<string, ModelClass>)[kind];
    if (!model) {
        throw new Error(`no Kubernetes ${KUBERNETES_SCHEMA_VERSION} schema for ${group}/${version} ${kind}`);
    }
    return model;
}

/** Problems of `object` against the schema of `model`; empty when valid. */
export function schemaProblems(model: ModelClass, object: object): string[] {
    const { proxy, nodes } = tracing(object);
    try {
        model.prototype.validate.call(proxy);
    } catch (err) {
        return [(err as Error).message];
    }
    return unknownFields(nodes).map((field) => `${field}: unknown field`);
}

/** Problems of a declared resource (`type`, revealed `inputs`), including apiVersion/kind matching the type. */
export function declaredObjectProblems(type: string, inputs: Record<string, any>): string[] {
    const [, group, version, declaredKind] = /^kubernetes:([^/]+)\/([^:]+):(.+)$/.exec(type) ?? [];
    // A `<Kind>Patch` resource (server-side apply of some fields) is checked as the object it patches.
    const kind = declaredKind.replace(/Patch$/, "");
    const apiVersion = group === "core" ? version : `${group}/${version}`;
    const problems: string[] = [];
    if (inputs.apiVersion !== apiVersion || inputs.kind !== kind) {
        problems.push(`apiVersion/kind ${inputs.apiVersion}/${inputs.kind} do not match ${apiVersion}/${kind}`);
    }
    return [...problems, ...schemaProblems(modelFor(`kubernetes:${group}/${version}:${kind}`), inputs)];
}
