import { Finding, ResourceLike, unverifiable } from "./findings";
import { asArray, asRecord, asString, at, isUnknown, newBudget } from "./plain";
import { parseYaml } from "./yaml";
import { KObject } from "./kobject";

/**
 * Templates and patches are judged as the objects they become (issue 22). An object of the stack that
 * carries another Kubernetes object (a template a controller stamps out, a patch a controller applies, a
 * manifest a provider creates) is judged as that object too:
 *
 * - patches (kustomize `patches`, `patchesStrategicMerge`, `patchesJson6902`) in a Flux `Kustomization`
 *   (kustomize-controller docs/spec/v1/kustomizations.md, "Patches"), in a Flux `HelmRelease`'s
 *   `postRenderers[].kustomize` (helm-controller docs/spec/v2/helmreleases.md, "Post renderers") and in
 *   an Argo CD Application's `source.kustomize.patches` (argo-cd docs/user-guide/kustomize.md, "Patches");
 *   the field names are helm-controller's api/v2 `Kustomize` (Patches, PatchesStrategicMerge as inline
 *   objects, PatchesJSON6902 with `patch` a list of operations), kustomize-controller's alike:
 *   each becomes a partial object of its target's kind, name and namespace, marked `patch` exactly like a
 *   Pulumi `ServicePatch`/`DeploymentPatch`, so a patch making BuildKit's Service a NodePort is exposure;
 * - an Argo CD `ApplicationSet`'s `spec.template` is an Application (argo-cd
 *   docs/operator-manual/applicationset/Template.md), one per element of a literal List generator with
 *   its parameters substituted (Generators-List.md; `{{.x}}` with goTemplate, `{{x}}` without), judged as
 *   that Application; parameters of generators the pack cannot evaluate (git, clusters, SCM...) stay as
 *   written, and the pack says so;
 * - a full object nested in another object's spec (a Crossplane `Object`'s `spec.forProvider.manifest`,
 *   a Composition's `base`, a Kyverno `generate.data`): any record with `apiVersion`, `kind` and a body.
 */

/** An object made from an embedded template or patch (`embedded` set). */
export type EmbeddedObject = KObject & { embedded: true };

const FLUX_KUSTOMIZATION = /^kustomize\.toolkit\.fluxcd\.io\//;
const FLUX_HELMRELEASE = /^helm\.toolkit\.fluxcd\.io\//;
const ARGO = /^argoproj\.io\//;

interface Target {
    kind?: string;
    name?: string;
    namespace?: string;
}

function targetOf(value: unknown): Target {
    const t = asRecord(value);
    return { kind: asString(t.kind), name: asString(t.name), namespace: asString(t.namespace) };
}

/** RFC 6901 pointer tokens: `/spec/ports/0/nodePort` -> ["spec", "ports", "0", "nodePort"]. */
function pointer(path: string): string[] {
    return path
        .split("/")
        .slice(1)
        .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** A partial object from JSON 6902 operations: every `add`/`replace` value set at its path (`-` appends). */
function fromOperations(ops: unknown[]): Record<string, unknown> {
    const root: Record<string, unknown> = {};
    for (const op of ops.map(asRecord)) {
        const kind = asString(op.op);
        const path = asString(op.path);
        if ((kind !== "add" && kind !== "replace") || path === undefined || !path.startsWith("/")) {
            continue;
        }
        const tokens = pointer(path);
        let node: Record<string, unknown> | unknown[] = root;
        tokens.forEach((token, i) => {
            const last = i === tokens.length - 1;
            const nextIsIndex = !last && /^(\d+|-)$/.test(tokens[i + 1]);
            if (Array.isArray(node)) {
                const index = token === "-" ? node.length : Number(token);
                if (!Number.isInteger(index) || index > 1000) {
                    return;
                }
                if (last) {
                    node[index] = op.value;
                } else {
                    node[index] ??= nextIsIndex ? [] : {};
                    node = node[index] as Record<string, unknown> | unknown[];
                }
                return;
            }
            if (last) {
                node[token] = op.value;
            } else {
                const child = node[token];
                node[token] = child !== null && typeof child === "object" ? child : nextIsIndex ? [] : {};
                node = node[token] as Record<string, unknown> | unknown[];
            }
        });
    }
    // Holes left by an index past the end are not containers.
    return root;
}

/** A patch as written: a YAML/JSON string (a strategic-merge object or a JSON 6902 list), an object, or a list of operations. */
function patchBody(patch: unknown): Record<string, unknown> | undefined {
    let value = patch;
    if (typeof patch === "string") {
        const parsed = parseYaml(patch, newBudget());
        value = parsed.docs[0];
    }
    if (Array.isArray(value)) {
        return fromOperations(value);
    }
    return value !== null && typeof value === "object" && !isUnknown(value) ? (value as Record<string, unknown>) : undefined;
}

/** The kustomize patch fields of one record (a Kustomization spec, a post-renderer's `kustomize`, an Argo CD source's `kustomize`). */
function kustomizePatches(record: Record<string, unknown>, path: string): { target: Target; patch?: unknown; file?: string; where: string }[] {
    const out: { target: Target; patch?: unknown; file?: string; where: string }[] = [];
    asArray(record.patches).forEach((p, i) => {
        const entry = asRecord(p);
        out.push({ target: targetOf(entry.target), patch: entry.patch, file: asString(entry.path), where: `${path}.patches[${i}]` });
    });
    asArray(record.patchesStrategicMerge).forEach((p, i) => out.push({ target: {}, patch: p, where: `${path}.patchesStrategicMerge[${i}]` }));
    asArray(record.patchesJson6902).forEach((p, i) => {
        const entry = asRecord(p);
        out.push({ target: targetOf(entry.target), patch: entry.patch, file: asString(entry.path), where: `${path}.patchesJson6902[${i}]` });
    });
    return out;
}

/** Where an object's patches are, and the namespace its targets default to. */
function patchSources(object: KObject): { record: Record<string, unknown>; path: string; namespace: string | undefined }[] {
    const spec = asRecord(object.body.spec);
    if (FLUX_KUSTOMIZATION.test(object.apiVersion) && object.kind === "Kustomization") {
        return [{ record: spec, path: "spec", namespace: asString(spec.targetNamespace) }];
    }
    if (FLUX_HELMRELEASE.test(object.apiVersion) && object.kind === "HelmRelease") {
        return asArray(spec.postRenderers).map((r, i) => ({
            record: asRecord(asRecord(r).kustomize),
            path: `spec.postRenderers[${i}].kustomize`,
            namespace: asString(spec.targetNamespace) ?? object.namespace,
        }));
    }
    if (ARGO.test(object.apiVersion) && object.kind === "Application") {
        const namespace = asString(at(spec, "destination", "namespace"));
        return [
            { record: asRecord(at(spec, "source", "kustomize")), path: "spec.source.kustomize", namespace },
            ...asArray(spec.sources).map((s, i) => ({ record: asRecord(asRecord(s).kustomize), path: `spec.sources[${i}].kustomize`, namespace })),
        ];
    }
    return [];
}

/**
 * `${VAR}`, `${VAR:=default}`, `${VAR:-default}` (Flux `postBuild.substitute`, envsubst syntax; OpenShift
 * Template parameters): replaced by the value the object declares, else by the default written; a name
 * with neither stays as written.
 */
export function substituteVariables(value: unknown, vars: Map<string, string>, depth = 0): unknown {
    if (depth > 64) {
        return value;
    }
    if (typeof value === "string") {
        return value.length > 100_000
            ? value
            : value.replace(
                  /\$\{\{?([A-Za-z_][A-Za-z0-9_]*)(?::?[=-]([^}]*))?\}\}?/g,
                  (whole, name: string, fallback: string | undefined) => vars.get(name) ?? fallback ?? whole,
              );
    }
    if (Array.isArray(value)) {
        return value.map((v) => substituteVariables(v, vars, depth + 1));
    }
    if (value !== null && typeof value === "object" && !isUnknown(value)) {
        return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, substituteVariables(v, vars, depth + 1)]));
    }
    return value;
}

/** Flux Kustomization `spec.postBuild.substitute` (kustomizations.md, "Post build variable substitution"). */
function postBuildVariables(object: KObject): Map<string, string> | undefined {
    if (!FLUX_KUSTOMIZATION.test(object.apiVersion)) {
        return undefined;
    }
    const vars = new Map<string, string>();
    for (const [k, v] of Object.entries(asRecord(at(object.body, "spec", "postBuild", "substitute")))) {
        if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") {
            vars.set(k, String(v));
        }
    }
    return vars;
}

/**
 * Kyverno mutate rules (kyverno.io docs, "Mutate Rules": `patchStrategicMerge`, `patchesJson6902`, also
 * under `foreach`) are patches of the kinds and names the rule matches (`match.any[]/all[].resources`,
 * or `match.resources`); a rule that matches no name patches every object of its kind.
 */
function kyvernoPatches(object: KObject): { target: Target; patch: unknown; where: string }[] {
    if (!/^kyverno\.io\//.test(object.apiVersion)) {
        return [];
    }
    const out: { target: Target; patch: unknown; where: string }[] = [];
    asArray(at(object.body, "spec", "rules")).forEach((r, i) => {
        const rule = asRecord(r);
        const match = asRecord(rule.match);
        const resources = [match, ...asArray(match.any), ...asArray(match.all)].map((m) => asRecord(asRecord(m).resources));
        const targets: Target[] = [];
        for (const resource of resources) {
            const names = asArray(resource.names).filter((n): n is string => typeof n === "string");
            const namespaces = asArray(resource.namespaces).filter((n): n is string => typeof n === "string");
            for (const kindSpec of asArray(resource.kinds).filter((k): k is string => typeof k === "string")) {
                const kind = kindSpec.split("/").pop() ?? kindSpec;
                for (const name of names.length > 0 ? names : [undefined]) {
                    for (const namespace of namespaces.length > 0 ? namespaces : [undefined]) {
                        targets.push({ kind, name, namespace });
                    }
                }
            }
        }
        const mutate = asRecord(rule.mutate);
        const patches = [mutate, ...asArray(mutate.foreach).map(asRecord)].flatMap((m) =>
            [m.patchStrategicMerge, m.patchesJson6902].filter((p) => p !== undefined),
        );
        for (const patch of patches) {
            for (const target of targets) {
                out.push({ target, patch, where: `spec.rules[${i}].mutate` });
            }
        }
    });
    return out;
}

/** The patches an object carries, each as the partial object it writes; files in a repository are reported. */
function patchObjects(object: KObject): { objects: EmbeddedObject[]; notes: Finding[] } {
    const objects: EmbeddedObject[] = [];
    const notes: Finding[] = [];
    const vars = postBuildVariables(object);
    const entries = [
        ...patchSources(object).flatMap(({ record, path, namespace }) => kustomizePatches(record, path).map((entry) => ({ ...entry, namespace }))),
        ...kyvernoPatches(object).map((entry) => ({ ...entry, file: undefined, namespace: undefined })),
    ];
    for (const entry of entries) {
        const namespace = entry.namespace;
        const written = entry.patch !== undefined ? patchBody(entry.patch) : undefined;
        const body = written && vars ? asRecord(substituteVariables(written, vars)) : written;
        if (!body) {
            if (entry.file !== undefined) {
                notes.push(
                    unverifiable(
                        `${object.where} ${entry.where} patches ${entry.target.kind ?? "objects"} from file '${entry.file}' in its source repository, which the policy pack cannot read; the objects it patches are checked only as written.`,
                        object.resource.urn,
                    ),
                );
            }
            continue;
        }
        const kind = asString(body.kind) ?? entry.target.kind;
        if (!kind) {
            continue;
        }
        const name = asString(at(body, "metadata", "name")) ?? entry.target.name;
        const type = at(body, "spec", "type");
        if (kind === "Service" && name === undefined && (type === "LoadBalancer" || type === "NodePort" || at(body, "spec", "externalIPs") !== undefined)) {
            // A patch of every Service the source holds (no name, or a label selector): which ones, the pack cannot see.
            notes.push(
                unverifiable(
                    `${object.where} ${entry.where} publishes every Service it targets outside the cluster (${type === undefined ? "externalIPs" : String(type)}), and which Services its source holds is not visible to the policy pack: if BuildKit's is among them, its API is exposed.`,
                    object.resource.urn,
                ),
            );
        }
        objects.push({
            kind,
            apiVersion: asString(body.apiVersion) ?? "",
            name,
            namespace: entry.target.namespace ?? asString(at(body, "metadata", "namespace")) ?? namespace,
            body,
            resource: object.resource,
            where: `${object.where} ${entry.where} (a patch of ${kind} '${name ?? "*"}')`,
            patch: true,
            embedded: true,
        });
    }
    return { objects, notes };
}

/** `{{.a.b}}` (goTemplate) or `{{a.b}}` (fasttemplate) placeholders of an ApplicationSet template. */
const GO_PARAM = /\{\{-?\s*\.([A-Za-z0-9_.]+)\s*-?\}\}/g;
const FAST_PARAM = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

function flatten(value: unknown, prefix: string, out: Map<string, string>, depth = 0): void {
    if (depth > 8) {
        return;
    }
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
        out.set(prefix, String(value));
    } else if (value !== null && typeof value === "object" && !Array.isArray(value) && !isUnknown(value)) {
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
            flatten(v, prefix ? `${prefix}.${k}` : k, out, depth + 1);
        }
    }
}

function substitute(value: unknown, params: Map<string, string>, go: boolean, depth = 0): unknown {
    if (depth > 64) {
        return value;
    }
    if (typeof value === "string") {
        return value.replace(go ? GO_PARAM : FAST_PARAM, (whole, name: string) => params.get(name) ?? whole);
    }
    if (Array.isArray(value)) {
        return value.map((v) => substitute(v, params, go, depth + 1));
    }
    if (value !== null && typeof value === "object" && !isUnknown(value)) {
        return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, substitute(v, params, go, depth + 1)]));
    }
    return value;
}

/**
 * The parameter sets of a generator the pack can evaluate from the object alone: a List generator's
 * `elements` (or `elementsYaml`), and a Matrix of two such generators (each combination, Generators-Matrix.md);
 * undefined for any other generator.
 */
function literalElements(generator: Record<string, unknown>, depth = 0): Record<string, unknown>[] | undefined {
    if ("list" in generator) {
        const list = asRecord(generator.list);
        const yaml = typeof list.elementsYaml === "string" ? parseYaml(list.elementsYaml, newBudget()).docs[0] : undefined;
        const elements = [...asArray(list.elements), ...asArray(yaml)].map(asRecord);
        return elements.length > 0 ? elements : undefined;
    }
    if ("matrix" in generator && depth < 2) {
        const children = asArray(asRecord(generator.matrix).generators).map((g) => literalElements(asRecord(g), depth + 1));
        if (children.length !== 2 || children.some((c) => c === undefined)) {
            return undefined;
        }
        const [a, b] = children as Record<string, unknown>[][];
        return a.flatMap((x) => b.map((y) => ({ ...x, ...y }))).slice(0, 100);
    }
    return undefined;
}

/** Whether a resource is an Argo CD ApplicationSet. */
export function isApplicationSet(resource: ResourceLike): boolean {
    return /^kubernetes:argoproj\.io\/v[0-9a-z]+:ApplicationSet$/.test(resource.type);
}

/**
 * The Applications an ApplicationSet generates, as far as the stack shows them: one per element of each
 * literal List generator (`list.elements`), parameters substituted; for any other generator (or elements
 * not given literally) one Application with the parameters left as written, and a note naming them.
 */
export function generatedApplications(resource: ResourceLike): { name: string; body: Record<string, unknown>; label: string }[] {
    const spec = asRecord(resource.props.spec);
    const template = asRecord(spec.template);
    if (Object.keys(template).length === 0) {
        return [];
    }
    const go = spec.goTemplate === true;
    const out: { name: string; body: Record<string, unknown>; label: string }[] = [];
    const generators = asArray(spec.generators).map(asRecord);
    let opaque = generators.length === 0;
    for (const generator of generators) {
        const elements = literalElements(generator);
        if (elements === undefined) {
            opaque = true;
            continue;
        }
        elements.slice(0, 50).forEach((element, i) => {
            const params = new Map<string, string>();
            flatten(element, "", params);
            const patched = withTemplatePatch(asRecord(substitute(template, params, go)), spec.templatePatch, params, go);
            const name = asString(at(patched.body, "metadata", "name")) ?? `${resource.name}-${i}`;
            out.push({ name, body: patched.body, label: ` (generated by ApplicationSet '${resource.name}' from generator element ${i}${patched.note})` });
        });
    }
    if (opaque) {
        const name = asString(at(template, "metadata", "name")) ?? resource.name;
        out.push({
            name,
            body: withTemplatePatch(template, spec.templatePatch, new Map(), go).body,
            label: ` (ApplicationSet '${resource.name}' template, generator parameters not substituted: the policy pack evaluates only literal List generators)`,
        });
    }
    return out;
}

/**
 * `spec.templatePatch` (Template.md, "Template Patch"): a Go-templated YAML string merged over each
 * generated Application. With only parameters in it, it is substituted and merged (maps merge, lists and
 * scalars replace); with template logic (`{{ if }}`, `{{ range }}`) it is not evaluated, and the label says so.
 */
function withTemplatePatch(
    body: Record<string, unknown>,
    patch: unknown,
    params: Map<string, string>,
    go: boolean,
): { body: Record<string, unknown>; note: string } {
    if (typeof patch !== "string") {
        return { body, note: "" };
    }
    const text = String(substitute(patch, params, go));
    if (/\{\{/.test(text)) {
        return { body, note: "; its templatePatch has template logic not evaluated" };
    }
    const parsed = asRecord(parseYaml(text, newBudget()).docs[0]);
    return { body: asRecord(deepMerge(body, parsed)), note: "" };
}

function deepMerge(base: unknown, over: unknown, depth = 0): unknown {
    const b = asRecord(base);
    if (depth > 30 || over === null || typeof over !== "object" || Array.isArray(over) || Array.isArray(base) || base === null || typeof base !== "object") {
        return over === undefined ? base : over;
    }
    const out: Record<string, unknown> = { ...b };
    for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
        out[k] = k in b ? deepMerge(b[k], v, depth + 1) : v;
    }
    return out;
}

/** The ApplicationSet's generated Applications as Application resources (Helm units and objects). */
export function applicationSetResources(resource: ResourceLike): { unit: ResourceLike; label: string }[] {
    const version = /argoproj\.io\/(v[0-9a-z]+):/.exec(resource.type)?.[1] ?? "v1alpha1";
    return generatedApplications(resource).map(({ name, body, label }) => ({
        unit: { type: `kubernetes:argoproj.io/${version}:Application`, name, urn: resource.urn, props: body },
        label,
    }));
}

/** A record that is a whole Kubernetes object (apiVersion, kind and a body). */
export function isEmbeddedObject(value: unknown): boolean {
    const r = asRecord(value);
    return (
        typeof r.apiVersion === "string" &&
        typeof r.kind === "string" &&
        /^[A-Z][A-Za-z0-9]*$/.test(r.kind) &&
        ["spec", "data", "stringData", "metadata", "template"].some((k) => r[k] !== null && typeof r[k] === "object")
    );
}

/** Full objects nested in a custom resource's spec (Crossplane manifests, Composition bases, Kyverno generate data). */
function nestedObjects(object: KObject): EmbeddedObject[] {
    const found: EmbeddedObject[] = [];
    let budget = 20_000;
    const visit = (value: unknown, path: string[]) => {
        if (budget-- <= 0 || path.length > 30 || found.length >= 50 || value === null || value === undefined || typeof value !== "object" || isUnknown(value)) {
            return;
        }
        if (Array.isArray(value)) {
            value.forEach((v, i) => visit(v, [...path, String(i)]));
            return;
        }
        const record = value as Record<string, unknown>;
        for (const [key, text] of Object.entries(record)) {
            // A manifest held as YAML or JSON text (Argo Workflows' `resource.manifest`, a job's manifest): the objects in it.
            if (typeof text === "string" && text.length < 256_000 && /^\s*"?apiVersion"?\s*:/m.test(text) && /^\s*"?kind"?\s*:/m.test(text)) {
                const docs = parseYaml(text, newBudget()).docs;
                docs.forEach((doc, i) => visit(isEmbeddedObject(doc) ? doc : undefined, [...path, key, ...(docs.length > 1 ? [String(i)] : [])]));
            }
        }
        // Kyverno `generate`: kind, apiVersion, name, namespace beside `data`, the object's body.
        const generated =
            typeof record.kind === "string" &&
            typeof record.apiVersion === "string" &&
            typeof record.name === "string" &&
            isEmbeddedObject({ ...asRecord(record.data), apiVersion: record.apiVersion, kind: record.kind })
                ? {
                      ...asRecord(record.data),
                      apiVersion: record.apiVersion,
                      kind: record.kind,
                      metadata: { ...asRecord(at(record, "data", "metadata")), name: record.name, namespace: record.namespace },
                  }
                : undefined;
        const body = generated ?? (isEmbeddedObject(record) ? record : undefined);
        if (body) {
            const kind = String(body.kind);
            const name = asString(at(body, "metadata", "name"));
            found.push({
                kind,
                apiVersion: String(body.apiVersion),
                name,
                namespace: asString(at(body, "metadata", "namespace")) ?? object.namespace,
                body,
                resource: object.resource,
                where: `${object.where} ${path.join(".")} (${kind} '${name ?? "?"}' it creates)`,
                patch: false,
                embedded: true,
            });
            return;
        }
        for (const [key, child] of Object.entries(record)) {
            if (key !== "metadata" && key !== "status") {
                visit(child, [...path, key]);
            }
        }
    };
    // OpenShift `Template` (template.openshift.io): `objects` beside `parameters`, whose `${NAME}` (and
    // `${{NAME}}`) take each parameter's `value` (docs.openshift.com, "Using templates").
    const parameters = new Map<string, string>();
    for (const p of asArray(object.body.parameters).map(asRecord)) {
        if (typeof p.name === "string" && (typeof p.value === "string" || typeof p.value === "number")) {
            parameters.set(p.name, String(p.value));
        }
    }
    const body = parameters.size > 0 ? asRecord(substituteVariables(object.body, parameters)) : object.body;
    for (const [key, child] of Object.entries(body)) {
        if (!["metadata", "status", "apiVersion", "kind", "parameters"].includes(key)) {
            visit(child, [key]);
        }
    }
    return found;
}

/** Kubernetes' own API groups (core `v1`, `*.k8s.io`): objects templates.ts does not look inside. */
export const CORE_GROUP = (apiVersion: string) => !apiVersion.includes("/") || apiVersion.split("/")[0].endsWith("k8s.io");

/**
 * The objects an object carries (patches, generated Applications, nested manifests), recursively to a
 * small depth, and notes about what the pack cannot read. Pulumi Helm resources' values are judged as
 * Helm values, not here.
 */
export function embeddedObjects(object: KObject, depth = 0): { objects: EmbeddedObject[]; notes: Finding[] } {
    if (depth > 3 || object.patch || CORE_GROUP(object.apiVersion)) {
        return { objects: [], notes: [] };
    }
    const { objects, notes } = patchObjects(object);
    if (object.kind === "ApplicationSet" && ARGO.test(object.apiVersion)) {
        const opaque = asArray(at(object.body, "spec", "generators"))
            .map((g) => Object.keys(asRecord(g)).find((k) => k !== "selector" && k !== "values") ?? "?")
            .filter((g, i, all) => all.indexOf(g) === i);
        const template = JSON.stringify(at(object.body, "spec", "template") ?? {});
        const labels = generatedApplications({ ...object.resource, props: object.body }).map((a) => a.label);
        if (/\{\{/.test(template) && labels.some((l) => l.includes("not substituted"))) {
            notes.push(
                unverifiable(
                    `${object.where} has a template whose generator parameters ({{...}}) come from generators the policy pack does not evaluate (${opaque.join(", ")}); its Applications are judged with those parameters as written, so values that depend on them are not verified.`,
                    object.resource.urn,
                ),
            );
        }
        if (labels.some((l) => l.includes("not evaluated"))) {
            notes.push(
                unverifiable(
                    `${object.where} has a templatePatch with Go template logic the policy pack does not evaluate; its Applications are judged without that patch.`,
                    object.resource.urn,
                ),
            );
        }
        for (const { unit, label } of applicationSetResources({
            ...object.resource,
            type: `kubernetes:${object.apiVersion}:ApplicationSet`,
            props: object.body,
        })) {
            const app: EmbeddedObject = {
                kind: "Application",
                apiVersion: object.apiVersion,
                name: unit.name,
                namespace: object.namespace,
                body: unit.props,
                resource: object.resource,
                where: `${object.where} template: Application '${unit.name}'${label}`,
                patch: false,
                embedded: true,
            };
            const inner = embeddedObjects(app, depth + 1);
            objects.push(...inner.objects);
            notes.push(...inner.notes);
        }
    } else if (
        !FLUX_KUSTOMIZATION.test(object.apiVersion) &&
        !FLUX_HELMRELEASE.test(object.apiVersion) &&
        !(ARGO.test(object.apiVersion) && object.kind === "Application")
    ) {
        for (const nested of nestedObjects(object)) {
            objects.push(nested);
            const inner = embeddedObjects(nested, depth + 1);
            objects.push(...inner.objects);
            notes.push(...inner.notes);
        }
    }
    return { objects, notes };
}

/**
 * The Service type a Flux HelmRelease's post-renderers give the chart's Service: the last patch of kind
 * Service (any name: a chart such as buildkit-service renders one Service) that sets `spec.type`.
 */
export function postRenderedServiceType(object: KObject): { type: unknown; where: string } | undefined {
    let found: { type: unknown; where: string } | undefined;
    for (const patch of patchObjects(object).objects) {
        const type = at(patch.body, "spec", "type");
        if (patch.kind === "Service" && type !== undefined) {
            found = { type, where: patch.where };
        }
    }
    return found;
}

/**
 * Post-renderer patches of the chart's workloads that put its pods on the node's network: `hostNetwork:
 * true` or a container `hostPort` in a Deployment, StatefulSet or DaemonSet patch (any name: the modelled
 * chart renders one Deployment).
 */
export function postRenderedHostNetwork(object: KObject): { what: string; where: string }[] {
    const out: { what: string; where: string }[] = [];
    for (const patch of patchObjects(object).objects.filter((p) => ["Deployment", "StatefulSet", "DaemonSet"].includes(p.kind))) {
        const spec = asRecord(at(patch.body, "spec", "template", "spec"));
        if (spec.hostNetwork === true || spec.hostNetwork === "true") {
            out.push({ what: "hostNetwork: true", where: patch.where });
        }
        const hostPorts = asArray(spec.containers).flatMap((c) =>
            asArray(asRecord(c).ports)
                .map((p) => asRecord(p).hostPort)
                .filter((h) => h !== undefined && h !== null && h !== 0),
        );
        if (hostPorts.length > 0) {
            out.push({ what: `hostPort ${hostPorts.map(String).join(", ")}`, where: patch.where });
        }
    }
    return out;
}
