import { ResourceLike } from "./findings";
import { UNKNOWN, Unknown, asArray, asRecord, asString, isUnknown, newBudget } from "./plain";
import { readManifest } from "./objects";
import { parseYaml } from "./yaml";

/** A Flux `HelmRelease` (helm.toolkit.fluxcd.io): the helm-controller installs `spec.chart.spec.chart` with `spec.values`. */
export function isFluxHelmRelease(resource: ResourceLike): boolean {
    return /^kubernetes:helm\.toolkit\.fluxcd\.io\/v[0-9a-z]+:HelmRelease$/.test(resource.type);
}

/**
 * An Argo CD `Application` (argoproj.io) whose source is a Helm chart: the application controller renders
 * and installs it, so Pulumi never registers its objects. Judged like a Helm Release from
 * `spec.source` (or the first chart of `spec.sources`): `chart` (or the last segment of a git `path`),
 * `helm.valuesObject` and `helm.values` (YAML text), `helm.parameters` set on top.
 */
export function isArgoApplication(resource: ResourceLike): boolean {
    return /^kubernetes:argoproj\.io\/v[0-9a-z]+:Application$/.test(resource.type) && argoSource(resource) !== undefined;
}

function argoSource(resource: ResourceLike): Record<string, unknown> | undefined {
    const spec = asRecord(asRecord(resource.props).spec);
    const sources = [spec.source, ...asArray(spec.sources)].map(asRecord);
    return sources.find((s) => typeof s.chart === "string" || s.helm !== undefined);
}

export function isHelm(resource: ResourceLike): boolean {
    return /^kubernetes:helm\.sh\/v\d+:(Release|Chart)$/.test(resource.type) || isFluxHelmRelease(resource) || isArgoApplication(resource);
}

/**
 * Flux `valuesFrom` (ConfigMaps and Secrets whose `valuesKey`, default `values.yaml`, holds values merged
 * under the inline ones, optionally at `targetPath`), resolved against the stack by the stack policies:
 * `resolveValuesFrom` registers what the stack declares before the rules run. Without it (a resource
 * policy, or a ConfigMap not in the stack) the reference is reported, never silently skipped.
 */
const valuesFromObjects = new WeakMap<ResourceLike, Map<string, string>>();

/** Whether the stack resolved some of this HelmRelease's valuesFrom (its findings then need several resources). */
export function usesValuesFrom(resource: ResourceLike): boolean {
    return valuesFromObjects.has(resource);
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
                    texts.set(`${kind}/${name}/${key}`, text);
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

export function helmLabel(resource: ResourceLike): string {
    if (isFluxHelmRelease(resource)) {
        return `Flux HelmRelease '${resource.name}'`;
    }
    if (isArgoApplication(resource)) {
        return `Argo CD Application '${resource.name}'`;
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

export interface HelmValues {
    /** The merged values: `valueYamlFiles` in order, then `values` on top (as Pulumi passes them to Helm). */
    values: unknown;
    /** Why (part of) the values could not be read: unparsable YAML, an unreadable file, over budget. */
    problems: string[];
    /** Raw YAML text seen, for a last-resort scan when it does not parse. */
    text: string;
    /** Values (or a values file) unknown during preview. */
    unknown: boolean;
    /** The values were cut off at the budget. */
    overflow: boolean;
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

export function helmValues(resource: ResourceLike): HelmValues {
    const cached = cache.get(resource);
    if (cached) {
        return cached;
    }
    const result: HelmValues = { values: {}, problems: [], text: "", unknown: false, overflow: false };
    const budget = newBudget();
    const fromText = (text: string, source: string): unknown => {
        result.text += `${text}\n`;
        const parsed = parseYaml(text, budget);
        if (parsed.error !== undefined) {
            result.problems.push(
                budget.overflow ? `${source} exceed the policy pack's fixed budget (${budget.overflow})` : `${source} do not parse as YAML (${parsed.error})`,
            );
        }
        return parsed.docs[0] ?? {};
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
            result.values = merge(result.values, fromText(text, "values from a values file"));
        } else if (unreadable) {
            result.problems.push(`${unreadable} is not readable by the policy pack`);
        }
    }
    const flux = isFluxHelmRelease(resource);
    const spec = asRecord(resource.props.spec);
    if (flux) {
        // valuesFrom first, inline values on top (Flux helm-controller's order).
        const texts = valuesFromObjects.get(resource);
        for (const ref of asArray(spec.valuesFrom).map(asRecord)) {
            const kind = asString(ref.kind) ?? "ConfigMap";
            const key = asString(ref.valuesKey) ?? "values.yaml";
            const text = texts?.get(`${kind}/${String(ref.name)}/${key}`);
            if (text === undefined) {
                if (ref.optional !== true) {
                    result.problems.push(
                        `valuesFrom ${kind} '${String(ref.name)}' key '${key}' is not declared in this stack (or not visible to this resource alone)`,
                    );
                }
                continue;
            }
            const target = asString(ref.targetPath);
            const parsed = target ? text : fromText(text, `values from ${kind} '${String(ref.name)}'`);
            const nested = target ? target.split(".").reduceRight<unknown>((inner, part) => ({ [part]: inner }), parsed) : parsed;
            result.values = merge(result.values, nested);
        }
    }
    const argo = isArgoApplication(resource) ? asRecord(argoSource(resource)?.helm) : undefined;
    if (argo) {
        if (argo.valuesObject !== undefined) {
            result.values = merge(result.values, argo.valuesObject);
        }
        for (const file of asArray(argo.valueFiles)) {
            result.problems.push(`values file '${String(file)}' in the Application's repository is not readable by the policy pack`);
        }
    }
    const values = flux ? (isUnknown(resource.props.spec) ? UNKNOWN : spec.values) : argo ? argo.values : resource.props.values;
    if (isUnknown(values)) {
        result.unknown = true;
    } else if (typeof values === "string") {
        result.values = merge(result.values, fromText(values, "values given as YAML text"));
    } else if (values !== undefined) {
        result.values = merge(result.values, values);
    }
    if (argo) {
        // helm.parameters: `--set name=value`, dotted paths only.
        for (const param of asArray(argo.parameters).map(asRecord)) {
            if (typeof param.name === "string" && param.value !== undefined && /^[A-Za-z0-9_.-]+$/.test(param.name)) {
                result.values = merge(
                    result.values,
                    param.name.split(".").reduceRight<unknown>((inner, part) => ({ [part]: inner }), param.value),
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
