import { load as loadYaml } from "js-yaml";
import { ResourceLike } from "./findings";
import { Unknown, UNKNOWN, asArray, asRecord, asString, at, isUnknown } from "./plain";

/** `kubernetes:apps/v1:Deployment` -> `Deployment`; `...:DeploymentPatch` -> `Deployment`. */
export function kindOf(resource: ResourceLike): string {
    const fromType = resource.type.startsWith("kubernetes:") ? resource.type.split(":").pop() ?? "" : "";
    const kind = fromType || asString(resource.props.kind) || "";
    return kind.endsWith("Patch") ? kind.slice(0, -"Patch".length) : kind;
}

export function isKind(resource: ResourceLike, ...kinds: string[]): boolean {
    return resource.type.startsWith("kubernetes:") && kinds.includes(kindOf(resource));
}

export function isHelm(resource: ResourceLike): boolean {
    return /^kubernetes:helm\.sh\/v\d+:(Release|Chart)$/.test(resource.type);
}

/** One pod spec found in a resource, with enough context to name it in a message. */
export interface PodTemplate {
    /** Human description, e.g. `Deployment 'ci-builder'` or `Helm Release 'arc-runners' values.template.spec`. */
    where: string;
    spec: Record<string, unknown>;
    labels: Record<string, unknown>;
    namespace: string | undefined;
    resource: ResourceLike;
}

const POD_SPEC_PATHS: Record<string, string[][]> = {
    Pod: [["spec"]],
    PodTemplate: [["template", "spec"]],
    Deployment: [["spec", "template", "spec"]],
    StatefulSet: [["spec", "template", "spec"]],
    DaemonSet: [["spec", "template", "spec"]],
    ReplicaSet: [["spec", "template", "spec"]],
    ReplicationController: [["spec", "template", "spec"]],
    Job: [["spec", "template", "spec"]],
    CronJob: [["spec", "jobTemplate", "spec", "template", "spec"]],
    // ARC's own custom resources carry the runner pod at spec.template.spec.
    AutoscalingRunnerSet: [["spec", "template", "spec"]],
    EphemeralRunnerSet: [["spec", "ephemeralRunnerSpec", "spec"]],
    EphemeralRunner: [["spec", "spec"]],
};

export function namespaceOf(resource: ResourceLike): string | undefined {
    return asString(at(resource.props, "metadata", "namespace")) ?? asString(resource.props.namespace);
}

/** Every pod spec a resource declares: workloads, pods, ARC resources and pod specs inside Helm values. */
export function podTemplates(resource: ResourceLike): PodTemplate[] {
    if (isHelm(resource)) {
        return helmPodTemplates(resource);
    }
    const kind = kindOf(resource);
    const paths = POD_SPEC_PATHS[kind];
    if (!paths || !resource.type.startsWith("kubernetes:")) {
        return [];
    }
    return paths
        .map((path) => {
            const spec = at(resource.props, ...path);
            const metadataPath = path.length === 1 ? ["metadata"] : [...path.slice(0, -1), "metadata"];
            return {
                where: `${kind} '${resource.name}'`,
                spec: isUnknown(spec) ? { containers: UNKNOWN } : asRecord(spec),
                labels: asRecord(at(resource.props, ...metadataPath, "labels")),
                namespace: namespaceOf(resource),
                resource,
            };
        });
}

/** Helm values are free-form: every object with a `containers` list is taken as a pod spec. */
function helmPodTemplates(resource: ResourceLike): PodTemplate[] {
    const found: PodTemplate[] = [];
    const visit = (value: unknown, path: string[], parent: Record<string, unknown>) => {
        if (Array.isArray(value)) {
            value.forEach((item, i) => visit(item, [...path, String(i)], parent));
            return;
        }
        const record = asRecord(value);
        if ("containers" in record) {
            found.push({
                where: `${helmLabel(resource)} values.${path.join(".")}`,
                spec: record,
                labels: asRecord(at(parent, "metadata", "labels")),
                namespace: asString(resource.props.namespace) ?? namespaceOf(resource),
                resource,
            });
            return;
        }
        for (const [key, child] of Object.entries(record)) {
            visit(child, [...path, key], record);
        }
    };
    visit(parseHelmValues(resource).values, [], {});
    return found;
}

export function helmLabel(resource: ResourceLike): string {
    return `Helm ${resource.type.endsWith(":Release") ? "Release" : "Chart"} '${resource.name}'`;
}

/**
 * A Helm resource's values. Values given as a YAML string (odd, but seen) are parsed; YAML that does
 * not parse yields `error` and empty values, so callers can say the values could not be judged.
 */
export function parseHelmValues(resource: ResourceLike): { values: unknown; error?: string; text?: string } {
    const values = resource.props.values;
    if (typeof values !== "string") {
        return { values };
    }
    try {
        return { values: loadYaml(values), text: values };
    } catch (error) {
        return { values: {}, error: error instanceof Error ? error.message.split("\n")[0] : String(error), text: values };
    }
}

/** The chart a Helm resource installs, e.g. `gha-runner-scale-set` (also from an `oci://` reference). */
export function helmChart(resource: ResourceLike): string | Unknown | undefined {
    const chart = resource.props.chart;
    return isUnknown(chart) ? UNKNOWN : asString(chart);
}

export interface Container {
    record: Record<string, unknown>;
    name: string;
    image: string | Unknown | undefined;
}

/** containers, initContainers and ephemeralContainers of a pod spec; UNKNOWN when the list itself is unknown. */
export function containersOf(spec: Record<string, unknown>): Container[] | Unknown {
    const all: Container[] = [];
    for (const field of ["containers", "initContainers", "ephemeralContainers"]) {
        const list = spec[field];
        if (isUnknown(list)) {
            return UNKNOWN;
        }
        asArray(list).forEach((item, i) => {
            const record = asRecord(item);
            const image = record.image;
            all.push({
                record,
                name: asString(record.name) ?? `${field}[${i}]`,
                image: isUnknown(image) ? UNKNOWN : asString(image),
            });
        });
    }
    return all;
}

/** The pod's volumes that a container actually mounts, paired with where it mounts them. */
export function mountedVolumes(spec: Record<string, unknown>, container: Container): { volume: Record<string, unknown>; mountPath: string | Unknown; subPath?: string }[] {
    const volumes = asArray(spec.volumes).map(asRecord);
    const result: { volume: Record<string, unknown>; mountPath: string | Unknown; subPath?: string }[] = [];
    for (const mount of asArray(container.record.volumeMounts).map(asRecord)) {
        const volume = volumes.find((v) => v.name !== undefined && v.name === mount.name);
        if (volume) {
            const mountPath = isUnknown(mount.mountPath) ? UNKNOWN : asString(mount.mountPath) ?? "";
            result.push({ volume, mountPath, subPath: asString(mount.subPath) });
        }
    }
    return result;
}

/** Names of ConfigMaps a volume brings in (directly or through a projected volume); UNKNOWN for an unknown name. */
export function configMapNames(volume: Record<string, unknown>): (string | Unknown)[] {
    const sources = [asRecord(volume.configMap), ...asArray(at(volume, "projected", "sources")).map((s) => asRecord(asRecord(s).configMap))];
    return sources
        .filter((source) => "name" in source)
        .map((source) => (isUnknown(source.name) ? UNKNOWN : asString(source.name) ?? ""));
}

/** True when the volume's content comes from a Kubernetes Secret (secret volume or a projected secret source). */
export function isSecretVolume(volume: Record<string, unknown>): boolean {
    if (Object.keys(asRecord(volume.secret)).length > 0 || isUnknown(volume.secret)) {
        return true;
    }
    return asArray(at(volume, "projected", "sources")).some((s) => "secret" in asRecord(s));
}

/** A container's environment as name -> value; `valueFrom` entries map to their reference object. */
export function envEntries(container: Container): { name: string; value: unknown; valueFrom: Record<string, unknown> | undefined }[] {
    return asArray(container.record.env)
        .map(asRecord)
        .filter((e) => typeof e.name === "string")
        .map((e) => ({ name: e.name as string, value: e.value, valueFrom: "valueFrom" in e ? asRecord(e.valueFrom) : undefined }));
}

export function imageRepository(image: string): string {
    const withoutDigest = image.split("@")[0];
    const lastSlash = withoutDigest.lastIndexOf("/");
    const colon = withoutDigest.indexOf(":", lastSlash + 1);
    return (colon >= 0 ? withoutDigest.slice(0, colon) : withoutDigest).toLowerCase();
}

export function isPinnedByDigest(image: string): boolean {
    return /@sha256:[0-9a-f]{64}$/.test(image);
}
