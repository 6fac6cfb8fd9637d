import { buildkitdFlags } from "./buildkitd";
import { Finding, ResourceLike, unverifiable } from "./findings";
import { Container, PodTemplate, containersOf, podTemplates } from "./kube";
import { Unknown, isUnknown } from "./plain";

/** A container that runs buildkitd, with its flags (UNKNOWN when preview hides them). */
export interface DaemonContainer {
    template: PodTemplate;
    container: Container;
    flags: (string | Unknown)[] | Unknown;
}

/**
 * Every buildkitd container in the given resources, plus findings for pod specs whose container list
 * is unknown during preview and that look like BuildKit by name (they cannot be judged yet).
 */
export function daemonContainers(resources: ResourceLike[]): { daemons: DaemonContainer[]; unjudged: Finding[] } {
    const daemons: DaemonContainer[] = [];
    const unjudged: Finding[] = [];
    for (const resource of resources) {
        for (const template of podTemplates(resource)) {
            const containers = containersOf(template.spec);
            if (isUnknown(containers)) {
                if (/buildkit/i.test(resource.name) || Object.values(template.labels).some((v) => typeof v === "string" && /buildkit/i.test(v))) {
                    unjudged.push(unverifiable(`${template.where} has containers that are unknown during preview, so whether it runs buildkitd on tcp:// cannot be checked yet.`, resource.urn));
                }
                continue;
            }
            for (const container of containers) {
                const flags = buildkitdFlags(container);
                if (flags !== undefined) {
                    daemons.push({ template, container, flags });
                }
            }
        }
    }
    return { daemons, unjudged };
}
