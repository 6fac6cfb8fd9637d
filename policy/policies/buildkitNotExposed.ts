import { Check, policyFromCheck } from "../lib/adapt";
import { daemonContainers } from "../lib/daemons";
import { Finding, ResourceLike, unverifiable, violation } from "../lib/findings";
import { PodTemplate, isKind, namespaceOf } from "../lib/kube";
import { asArray, asRecord, asString, at, isUnknown } from "../lib/plain";

const BUILDKIT_PORT = 1234;

const FIX =
    "Keep BuildKit reachable only inside the cluster: use a ClusterIP Service (and a NetworkPolicy limiting who reaches port 1234), " +
    "no LoadBalancer or NodePort Service, no Ingress, no hostPort and no hostNetwork for buildkitd. Remote builders outside the cluster " +
    "should run their own runner pods in it instead.";

/** A port given as number or numeric string equals 1234. */
function isBuildkitPort(port: unknown): boolean {
    return port === BUILDKIT_PORT || port === String(BUILDKIT_PORT);
}

/** True when every selector label is among the pod labels (how a Service selects pods). */
function selects(selector: Record<string, unknown>, labels: Record<string, unknown>): boolean {
    const entries = Object.entries(selector);
    return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

/**
 * Why a Service reaches BuildKit, or undefined: it selects pods of a buildkitd workload in this stack,
 * its selector names BuildKit (for pods defined elsewhere), or it serves or targets port 1234.
 */
function reachesBuildkit(service: ResourceLike, buildkitPods: PodTemplate[]): string | undefined {
    const selector = asRecord(at(service.props, "spec", "selector"));
    const namespace = namespaceOf(service);
    const pod = buildkitPods.find((p) => selects(selector, p.labels) && (namespace === undefined || p.namespace === undefined || namespace === p.namespace));
    if (pod) {
        return `selects the BuildKit pods of ${pod.where}`;
    }
    if (Object.values(selector).some((v) => typeof v === "string" && /buildkit/i.test(v))) {
        return `selects pods labelled as BuildKit (${JSON.stringify(selector)})`;
    }
    const ports = asArray(at(service.props, "spec", "ports")).map(asRecord);
    if (ports.some((p) => isBuildkitPort(p.port) || isBuildkitPort(p.targetPort))) {
        return `serves or targets BuildKit's port ${BUILDKIT_PORT}`;
    }
    return undefined;
}

function serviceName(service: ResourceLike): string {
    return asString(at(service.props, "metadata", "name")) ?? service.name;
}

/** Every backend of an Ingress (networking.k8s.io/v1 and the older serviceName/servicePort form). */
function ingressBackends(ingress: ResourceLike): { name: unknown; port: unknown }[] {
    const spec = asRecord(ingress.props.spec);
    const backends = [spec.defaultBackend, spec.backend];
    for (const rule of asArray(spec.rules)) {
        for (const path of asArray(at(rule, "http", "paths"))) {
            backends.push(asRecord(path).backend);
        }
    }
    return backends
        .map(asRecord)
        .filter((b) => Object.keys(b).length > 0)
        .map((b) => ({
            name: at(b, "service", "name") ?? b.serviceName,
            port: at(b, "service", "port", "number") ?? at(b, "service", "port", "name") ?? b.servicePort,
        }));
}

/** Policy 4. A stack policy: whether a Service reaches BuildKit depends on the workloads it selects. */
export const buildkitNotExposedCheck: Check = {
    scope: "stack",
    run: (resources) => {
        const findings: Finding[] = [];
        const { daemons } = daemonContainers(resources);
        const buildkitPods = daemons.map((d) => d.template);
        const buildkitServices = new Map<string, string>();
        for (const service of resources.filter((r) => isKind(r, "Service"))) {
            const reason = reachesBuildkit(service, buildkitPods);
            if (!reason) {
                continue;
            }
            buildkitServices.set(serviceName(service), reason);
            const type = at(service.props, "spec", "type");
            const externalIPs = asArray(at(service.props, "spec", "externalIPs"));
            if (isUnknown(type)) {
                findings.push(unverifiable(`Service '${service.name}' ${reason}, but its type is unknown during preview, so whether it leaves the cluster cannot be checked yet.`, service.urn));
            } else if (type === "LoadBalancer" || type === "NodePort" || externalIPs.length > 0) {
                const how = type === "LoadBalancer" || type === "NodePort" ? `is of type ${type}` : "has externalIPs";
                findings.push(violation(`Service '${service.name}' ${how} and ${reason}, which exposes BuildKit's API outside the cluster. ${FIX}`, service.urn));
            }
        }
        for (const ingress of resources.filter((r) => isKind(r, "Ingress"))) {
            for (const backend of ingressBackends(ingress)) {
                const name = asString(backend.name);
                const reason = isBuildkitPort(backend.port)
                    ? `targets port ${BUILDKIT_PORT}`
                    : name && buildkitServices.has(name)
                      ? `routes to Service '${name}', which ${buildkitServices.get(name)}`
                      : name && /buildkit/i.test(name)
                        ? `routes to Service '${name}'`
                        : undefined;
                if (reason) {
                    findings.push(violation(`Ingress '${ingress.name}' ${reason}, which exposes BuildKit's API outside the cluster. ${FIX}`, ingress.urn));
                } else if (isUnknown(backend.name) || isUnknown(backend.port)) {
                    findings.push(unverifiable(`Ingress '${ingress.name}' has a backend that is unknown during preview, so whether it reaches BuildKit cannot be checked yet.`, ingress.urn));
                }
            }
        }
        for (const { template, container } of daemons) {
            const urn = template.resource.urn;
            if (template.spec.hostNetwork === true) {
                findings.push(violation(`${template.where} runs buildkitd with hostNetwork: true, so its listeners are on the node's network. ${FIX}`, urn));
            }
            for (const port of asArray(container.record.ports).map(asRecord)) {
                if (port.hostPort !== undefined && port.hostPort !== null && !isUnknown(port.hostPort)) {
                    findings.push(violation(`${template.where} container '${container.name}' publishes hostPort ${String(port.hostPort)}, which exposes buildkitd on the node. ${FIX}`, urn));
                }
            }
        }
        return findings;
    },
};

export const buildkitNotExposed = policyFromCheck(
    {
        name: "buildkit-not-exposed",
        description:
            "BuildKit's port must not be reachable from outside the cluster: no Service of type LoadBalancer or NodePort (or with externalIPs) " +
            "and no Ingress that selects BuildKit pods or targets port 1234, and no hostPort or hostNetwork on buildkitd. " + FIX,
        enforcementLevel: "mandatory",
    },
    buildkitNotExposedCheck,
);
