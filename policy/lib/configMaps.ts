import { ResourceLike } from "./findings";
import { isKind, namespaceOf } from "./kube";
import { Unknown, UNKNOWN, asRecord, asString, at, isUnknown } from "./plain";

/** One entry of a ConfigMap (`data`, or `binaryData` decoded from base64). */
export interface ConfigMapEntry {
    key: string;
    text: string | Unknown;
}

/** All entries of a ConfigMap; an unknown `data` map yields a single UNKNOWN entry named `*`. */
export function configMapEntries(configMap: ResourceLike): ConfigMapEntry[] {
    const entries: ConfigMapEntry[] = [];
    for (const field of ["data", "binaryData"] as const) {
        const map = configMap.props[field];
        if (isUnknown(map)) {
            entries.push({ key: "*", text: UNKNOWN });
            continue;
        }
        for (const [key, value] of Object.entries(asRecord(map))) {
            if (isUnknown(value)) {
                entries.push({ key, text: UNKNOWN });
            } else if (typeof value === "string") {
                entries.push({ key, text: field === "data" ? value : Buffer.from(value, "base64").toString("utf8") });
            }
        }
    }
    return entries;
}

/** The Kubernetes name of a ConfigMap resource; Pulumi auto-names it `<resource name>-<suffix>` when metadata.name is unset. */
export function configMapName(configMap: ResourceLike): string | Unknown | undefined {
    const name = at(configMap.props, "metadata", "name");
    return isUnknown(name) ? UNKNOWN : asString(name);
}

/**
 * The stack's ConfigMap that a volume named `name` refers to in `namespace`, if the stack defines it.
 * A missing namespace on either side matches any: the provider's default namespace is not visible here.
 */
export function findConfigMap(resources: ResourceLike[], name: string, namespace: string | undefined): ResourceLike | undefined {
    return resources.find((r) => {
        if (!isKind(r, "ConfigMap")) {
            return false;
        }
        const declared = configMapName(r);
        const nameMatches = typeof declared === "string" ? declared === name : declared === undefined && name.startsWith(`${r.name}-`);
        const ns = namespaceOf(r);
        return nameMatches && (ns === undefined || namespace === undefined || ns === namespace);
    });
}
