import { ResourceLike } from "./findings";
import { UNKNOWN, Unknown, asArray, asRecord, asString, isUnknown, nest, newBudget } from "./plain";
import { readManifest } from "./objects";
import { parseYaml } from "./yaml";
import { applicationSetResources, isApplicationSet } from "./templates";

/** A Flux `HelmRelease` (helm.toolkit.fluxcd.io): the helm-controller installs `spec.chart.spec.chart` with `spec.values`. */
export function isFluxHelmRelease(resource: ResourceLike): boolean {
    return /^kubernetes:helm\.toolkit\.fluxcd\.io\/v[0-9a-z]+:HelmRelease$/.test(resource.type);
}

/**
 * An Argo CD `Application` (argoproj.io) whose source is a Helm chart: the application controller renders
 * and installs it, so Pulumi never registers its objects. Judged like a Helm Release from `spec.source`,
 * and from every chart source of a multi-source `spec.sources` (`helmUnits` makes one unit per chart
 * source): `chart` (or the last segment of a git `path`), its `helm` values in Argo CD's order.
 */
export function isArgoApplication(resource: ResourceLike): boolean {
    return /^kubernetes:argoproj\.io\/v[0-9a-z]+:Application$/.test(resource.type) && argoSource(resource) !== undefined;
}

function isChartSource(source: Record<string, unknown>): boolean {
    return typeof source.chart === "string" || source.helm !== undefined;
}

function argoSources(resource: ResourceLike): Record<string, unknown>[] {
    const spec = asRecord(asRecord(resource.props).spec);
    return [spec.source, ...asArray(spec.sources)].map(asRecord).filter((s) => Object.keys(s).length > 0);
}

function argoSource(resource: ResourceLike): Record<string, unknown> | undefined {
    return argoSources(resource).find(isChartSource);
}

const units = new WeakMap<ResourceLike, ResourceLike[]>();
const unitLabels = new WeakMap<ResourceLike, string>();
/** For an Application an ApplicationSet generates: which ApplicationSet and element. */
const generatedLabels = new WeakMap<ResourceLike, string>();

/**
 * What the pack judges as Helm installations in one resource: the resource itself, or for an Argo CD
 * Application with several chart sources (docs/user-guide/multiple_sources.md) one unit per chart source,
 * each keeping the Application's `ref` sources (for `$ref/` value files) and its URN.
 */
export function helmUnits(resource: ResourceLike): ResourceLike[] {
    if (isApplicationSet(resource)) {
        // An ApplicationSet's template is an Application: each generated one is judged as one (templates.ts).
        let generated = units.get(resource);
        if (!generated) {
            generated = applicationSetResources(resource).flatMap(({ unit, label }) => {
                generatedLabels.set(unit, label);
                return helmUnits(unit).map((u) => {
                    generatedLabels.set(u, label);
                    return u;
                });
            });
            units.set(resource, generated);
        }
        return generated;
    }
    if (!isHelm(resource)) {
        return [];
    }
    let found = units.get(resource);
    if (!found) {
        const sources = isArgoApplication(resource) ? argoSources(resource) : [];
        const charts = sources.filter(isChartSource);
        if (charts.length <= 1) {
            found = [resource];
        } else {
            const refs = sources.filter((s) => !isChartSource(s));
            const spec = asRecord(resource.props.spec);
            found = charts.map((source) => {
                const unit: ResourceLike = { ...resource, props: { ...resource.props, spec: { ...spec, source, sources: refs } } };
                unitLabels.set(unit, ` source '${asString(source.chart) ?? asString(source.path) ?? asString(source.repoURL) ?? "?"}'`);
                return unit;
            });
        }
        units.set(resource, found);
    }
    return found;
}

export function isHelm(resource: ResourceLike): boolean {
    return /^kubernetes:helm\.sh\/v\d+:(Release|Chart)$/.test(resource.type) || isFluxHelmRelease(resource) || isArgoApplication(resource);
}

/**
 * Flux `valuesFrom` (ConfigMaps and Secrets whose `valuesKey`, default `values.yaml`, holds values merged
 * under the inline ones, optionally at `targetPath`), resolved against the stack by the stack policies:
 * `resolveValuesFrom` registers what the stack declares before the rules run. Flux reads them in the
 * HelmRelease's own namespace only (helm-controller api/v2 ValuesReference: "Should reside in the same
 * namespace as the referring resource"), so a same-named object elsewhere is not used. Without a match (a
 * resource policy, or a ConfigMap not in the stack) the reference is reported, never silently skipped.
 */
const valuesFromObjects = new WeakMap<ResourceLike, Map<string, string>>();

/** Whether the stack resolved some of this HelmRelease's valuesFrom (its findings then need several resources). */
export function usesValuesFrom(resource: ResourceLike): boolean {
    return valuesFromObjects.has(resource);
}

/** The namespace written in metadata ("" when left to the provider's default, which matches only another such ""). */
function namespaceOf(resource: ResourceLike): string {
    return asString(asRecord(resource.props.metadata).namespace) ?? "";
}

function valuesFromKey(namespace: string, kind: string, name: string, key: string): string {
    return JSON.stringify([namespace, kind, name, key]);
}

export function resolveValuesFrom(resources: ResourceLike[]): void {
    const texts = new Map<string, string>();
    for (const r of resources) {
        const kind = r.type.split(":")[2];
        if (kind !== "ConfigMap" && kind !== "Secret") {
            continue;
        }
        const name = asString(asRecord(r.props.metadata).name) ?? r.name;
        for (const field of ["data", "stringData"]) {
            for (const [key, value] of Object.entries(asRecord(r.props[field]))) {
                if (typeof value === "string") {
                    const text =
                        kind === "Secret" && field === "data" && /^[A-Za-z0-9+/=\s]*$/.test(value) ? Buffer.from(value, "base64").toString("utf8") : value;
                    texts.set(valuesFromKey(namespaceOf(r), kind, name, key), text);
                }
            }
        }
    }
    for (const r of resources) {
        if (isFluxHelmRelease(r) && asArray(asRecord(r.props.spec).valuesFrom).length > 0) {
            valuesFromObjects.set(r, texts);
            cache.delete(r);
        }
    }
}

/**
 * The namespace a Helm installation puts its objects in: a Flux HelmRelease's `spec.targetNamespace`
 * (else its own), an Argo CD Application's `spec.destination.namespace`, a Pulumi Release's or Chart's
 * `namespace`. Pod specs in its values are pods of that namespace (a runner namespace makes them runners).
 */
export function helmNamespace(resource: ResourceLike): string | undefined {
    const spec = asRecord(resource.props.spec);
    if (isFluxHelmRelease(resource)) {
        return asString(spec.targetNamespace) ?? (namespaceOf(resource) || undefined);
    }
    if (isArgoApplication(resource)) {
        return asString(asRecord(spec.destination).namespace);
    }
    return asString(resource.props.namespace) ?? asString(asRecord(resource.props.metadata).namespace);
}

export function helmLabel(resource: ResourceLike): string {
    if (isFluxHelmRelease(resource)) {
        return `Flux HelmRelease '${resource.name}'`;
    }
    if (isArgoApplication(resource)) {
        return `Argo CD Application '${resource.name}'${generatedLabels.get(resource) ?? ""}${unitLabels.get(resource) ?? ""}`;
    }
    return `Helm ${resource.type.endsWith(":Release") ? "Release" : "Chart"} '${resource.name}'`;
}

/**
 * True for a `kubernetes:helm.sh/v3:Release` or a Flux HelmRelease: Helm installs its objects, so Pulumi
 * never registers them one by one.
 */
export function isRelease(resource: ResourceLike): boolean {
    return /^kubernetes:helm\.sh\/v\d+:Release$/.test(resource.type) || isFluxHelmRelease(resource) || isArgoApplication(resource);
}

/** Why (part of) a resource's values could not be read. */
export interface HelmProblem {
    message: string;
    /**
     * A reference the pack cannot follow (a valuesFrom object not in view, a value file in a GitOps
     * repository): reported, never blocked on its own. Otherwise the values themselves are broken
     * (unparsable, unreadable, over budget).
     */
    reference: boolean;
}

export interface HelmValues {
    /** The merged values, every source in its installer's order of precedence. */
    values: unknown;
    /** Why (part of) the values could not be read. */
    problems: HelmProblem[];
    /** Raw YAML text seen, for a last-resort scan when it does not parse. */
    text: string;
    /** Values (or a values file) unknown during preview. */
    unknown: boolean;
    /** The values were cut off at the budget. */
    overflow: boolean;
    /** The sources the pack could not read, lowest precedence first (empty when it read them all). */
    unseen: string[];
    /**
     * Whether the value at `path` (`["tls", "enabled"]`) is decided by what the pack read: some source
     * that takes precedence over every unseen one sets it, so no unseen source can change it. True for
     * every path when nothing is unseen (an unset key then has the chart's default). With `alone`, values
     * this resource takes from other resources of the stack (resolved Flux valuesFrom) count as unseen:
     * whether the resource decides `path` on its own, as a resource policy sees it.
     */
    settled(path: readonly string[], alone?: boolean): boolean;
}

/**
 * One source of values, lowest precedence first: read `values`, or an `unseen` source (limited to `paths`
 * when given). `crossed`: read from another resource of the stack.
 */
interface Layer {
    values?: unknown;
    unseen?: string;
    paths?: string[][];
    crossed?: boolean;
}

const cache = new WeakMap<ResourceLike, HelmValues>();

/** Deep merge as Helm does for values files: maps merge, everything else is replaced. */
function merge(base: unknown, over: unknown, depth = 0): unknown {
    if (depth > 40 || isUnknown(over)) {
        return over;
    }
    const b = asRecord(base);
    const o = asRecord(over);
    if (Object.keys(o).length === 0 || Array.isArray(over) || typeof over !== "object" || over === null) {
        return over === undefined ? base : over;
    }
    const out: Record<string, unknown> = { ...b };
    for (const [key, value] of Object.entries(o)) {
        out[key] = key in b ? merge(b[key], value, depth + 1) : value;
    }
    return out;
}

function sets(values: unknown, path: readonly string[]): boolean {
    let current = values;
    for (const key of path) {
        const record = asRecord(current);
        if (!(key in record)) {
            return false;
        }
        current = record[key];
    }
    return current !== undefined;
}

function overlaps(a: readonly string[], b: readonly string[]): boolean {
    return a.slice(0, Math.min(a.length, b.length)).every((part, i) => part === b[i]);
}

/** `settled` over layers: the last unseen layer that may set `path` is outranked by a read layer that sets it. */
function settledOver(layers: Layer[], path: readonly string[], alone: boolean): boolean {
    const hidden = (layer: Layer) => layer.unseen !== undefined || (alone && layer.crossed === true);
    let last = -1;
    layers.forEach((layer, i) => {
        if (hidden(layer) && (layer.paths === undefined || layer.paths.some((p) => overlaps(p, path)))) {
            last = i;
        }
    });
    // Nothing hidden that may set it: decided by what was read (an unset key has the chart's default).
    return last === -1 || layers.slice(last + 1).some((layer) => !hidden(layer) && layer.values !== undefined && sets(layer.values, path));
}

/** A values file as the policy sees it: a StringAsset/FileAsset (resolved by `plainResource`), `{text}`, `{path}` or a string. */
function valuesFileText(file: unknown): { text?: string; unreadable?: string; unknown?: boolean } {
    if (isUnknown(file)) {
        return { unknown: true };
    }
    if (typeof file === "string") {
        return /\n|:\s/.test(file) ? { text: file } : { unreadable: `values file '${file}'` };
    }
    const record = asRecord(file);
    if (isUnknown(record.text) || isUnknown(record.path)) {
        return { unknown: true };
    }
    if (typeof record.text === "string") {
        return { text: record.text };
    }
    // A FileAsset the pack can read from where it runs (an absolute path, or relative to its working directory).
    const fromDisk = typeof record.path === "string" ? readManifest(record.path) : undefined;
    if (fromDisk !== undefined) {
        return { text: fromDisk };
    }
    const where = asString(record.path) ?? asString(record.uri) ?? "a values file";
    return { unreadable: `values file '${where}'` };
}

/**
 * An Argo CD value file: relative to the chart source, or `$ref/path` in the Application's source with that
 * `ref` (multi-source Applications). The pack has no access to Git or chart repositories, so it never reads
 * one: it says which repository and revision the file comes from.
 */
function argoValueFile(file: unknown, source: Record<string, unknown>, sources: Record<string, unknown>[]): string {
    const name = String(file);
    const ref = /^\$([^/]+)\/(.*)$/.exec(name);
    if (ref) {
        const from = sources.find((s) => s.ref === ref[1]);
        return from
            ? `values file '${ref[2]}' from source '${String(from.repoURL)}' at '${String(from.targetRevision ?? "HEAD")}' (ref '${ref[1]}') is not readable by the policy pack`
            : `values file '${name}' names ref '${ref[1]}', which no source of the Application has, so Argo CD cannot render it and the policy pack cannot read it`;
    }
    return `values file '${name}' in the Application's repository ('${String(source.repoURL)}') is not readable by the policy pack`;
}

/** Argo CD `helm.parameters` (`--set name=value`): a dotted path, or (indices, escapes) a path the pack does not model. */
function parameterPath(name: string): { path: string[]; exact: boolean } {
    if (/^[A-Za-z0-9_.-]+$/.test(name)) {
        return { path: name.split("."), exact: true };
    }
    const prefix = name
        .split(/[[\\]/)[0]
        .split(".")
        .filter((p) => p !== "");
    return { path: prefix.slice(0, Math.max(1, prefix.length - 1)), exact: false };
}

export function helmValues(resource: ResourceLike): HelmValues {
    const cached = cache.get(resource);
    if (cached) {
        return cached;
    }
    const layers: Layer[] = [];
    const result: HelmValues = {
        values: {},
        problems: [],
        text: "",
        unknown: false,
        overflow: false,
        unseen: [],
        settled: (path, alone = false) => settledOver(layers, path, alone),
    };
    const budget = newBudget();
    const fromText = (text: string, source: string): unknown => {
        result.text += `${text}\n`;
        const parsed = parseYaml(text, budget);
        if (parsed.error !== undefined) {
            result.problems.push({
                message: budget.overflow
                    ? `${source} exceed the policy pack's fixed budget (${budget.overflow})`
                    : `${source} do not parse as YAML (${parsed.error})`,
                reference: false,
            });
        }
        return parsed.docs[0] ?? {};
    };
    const read = (values: unknown, crossed = false) => {
        layers.push({ values, crossed });
        result.values = merge(result.values, values);
    };
    const unseen = (message: string, reference: boolean, paths?: string[][]) => {
        layers.push({ unseen: message, paths });
        result.unseen.push(message);
        result.problems.push({ message, reference });
    };
    const files = resource.props.valueYamlFiles;
    if (isUnknown(files)) {
        result.unknown = true;
    }
    for (const file of asArray(files)) {
        const { text, unreadable, unknown } = valuesFileText(file);
        if (unknown) {
            result.unknown = true;
        } else if (text !== undefined) {
            read(fromText(text, "values from a values file"));
        } else if (unreadable) {
            unseen(`${unreadable} is not readable by the policy pack`, false);
        }
    }
    const flux = isFluxHelmRelease(resource);
    const spec = asRecord(resource.props.spec);
    if (flux) {
        // valuesFrom in order, inline values on top (helm-controller docs/spec/v2/helmreleases.md, "Values references").
        const texts = valuesFromObjects.get(resource);
        const namespace = namespaceOf(resource);
        for (const ref of asArray(spec.valuesFrom).map(asRecord)) {
            const kind = asString(ref.kind) ?? "ConfigMap";
            const key = asString(ref.valuesKey) ?? "values.yaml";
            const text = texts?.get(valuesFromKey(namespace, kind, String(ref.name), key));
            if (text === undefined) {
                // An optional reference may still exist in the cluster: unseen all the same, not an error.
                unseen(
                    `valuesFrom ${kind} '${String(ref.name)}' key '${key}'${ref.optional === true ? " (optional)" : ""} is not declared in this stack in namespace '${namespace || "(default)"}' (or not visible to this resource alone)`,
                    true,
                );
                continue;
            }
            const target = asString(ref.targetPath);
            read(target ? nest(target.split("."), text) : fromText(text, `values from ${kind} '${String(ref.name)}'`), true);
        }
    }
    const argoSourceSpec = isArgoApplication(resource) ? argoSource(resource) : undefined;
    const argo = argoSourceSpec ? asRecord(argoSourceSpec.helm) : undefined;
    if (argoSourceSpec && argo) {
        // Argo CD: valueFiles, then values, then parameters on top (docs/user-guide/helm.md, "parameters >
        // valuesObject > values > valueFiles"); valuesObject, when set, is used instead of values
        // (ApplicationSourceHelm.ValuesYAML in pkg/apis/application/v1alpha1).
        for (const file of asArray(argo.valueFiles)) {
            unseen(argoValueFile(file, argoSourceSpec, argoSources(resource)), true);
        }
    }
    const values = flux
        ? isUnknown(resource.props.spec)
            ? UNKNOWN
            : spec.values
        : argo
          ? argo.valuesObject !== undefined && argo.valuesObject !== null
              ? argo.valuesObject
              : argo.values
          : resource.props.values;
    if (isUnknown(values)) {
        result.unknown = true;
    } else if (typeof values === "string") {
        read(fromText(values, "values given as YAML text"));
    } else if (values !== undefined) {
        read(values);
    }
    if (argo) {
        for (const param of asArray(argo.parameters).map(asRecord)) {
            if (typeof param.name === "string" && param.value !== undefined) {
                const { path, exact } = parameterPath(param.name);
                if (exact) {
                    read(nest(path, param.value));
                } else {
                    unseen(`parameter '${param.name}' (an index or escape the policy pack does not model)`, true, [path]);
                }
            }
        }
        for (const param of asArray(argo.fileParameters).map(asRecord)) {
            if (typeof param.name === "string") {
                unseen(
                    `file parameter '${param.name}' (from '${String(param.path)}' in the Application's repository) is not readable by the policy pack`,
                    true,
                    [parameterPath(param.name).path],
                );
            }
        }
    }
    result.overflow = budget.overflow !== undefined;
    cache.set(resource, result);
    return result;
}

/** The chart a Helm resource installs, by its base name: `oci://ghcr.io/x/charts/buildkit-service` -> `buildkit-service`. */
export function helmChart(resource: ResourceLike): string | Unknown | undefined {
    const spec = isUnknown(resource.props.spec) ? UNKNOWN : asRecord(resource.props.spec);
    const fluxChart = isUnknown(spec) ? UNKNOWN : isUnknown(spec.chart) ? UNKNOWN : asRecord(asRecord(spec.chart).spec).chart;
    const argo = isArgoApplication(resource) ? argoSource(resource) : undefined;
    const chart = isFluxHelmRelease(resource) ? fluxChart : argo ? (argo.chart ?? argo.path) : resource.props.chart;
    if (isUnknown(chart)) {
        return UNKNOWN;
    }
    const name = asString(chart);
    if (name === undefined) {
        return undefined;
    }
    const base = name.replace(/\/+$/, "").split("/").pop() ?? name;
    return base
        .replace(/-\d+\.\d+\.\d+.*\.tgz$/, "")
        .replace(/\.tgz$/, "")
        .toLowerCase();
}

/** Where the chart comes from (repositoryOpts.repo or the chart reference itself), for messages and matching. */
export function helmRepository(resource: ResourceLike): string {
    const repo =
        asString(asRecord(resource.props.repositoryOpts).repo) ??
        asString(asRecord(resource.props.fetchOpts).repo) ??
        asString(resource.props.repo) ??
        (isArgoApplication(resource) ? asString(argoSource(resource)?.repoURL) : undefined) ??
        "";
    return `${repo} ${asString(resource.props.chart) ?? ""}`.toLowerCase();
}
