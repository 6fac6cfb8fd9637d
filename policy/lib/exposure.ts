import { Daemon, mayListenOnTcp } from "./buildkitd";
import { Finding, unverifiable, violation } from "./findings";
import { PodTemplate } from "./kube";
import { KObject, View } from "./objects";
import { asArray, asRecord, asString, at, isUnknown } from "./plain";
import { PublishingKey, publishingKeys } from "./publishing";

export const BUILDKIT_PORT = 1234;

export const EXPOSURE_FIX =
    "Keep BuildKit reachable only inside the cluster: use a ClusterIP Service (and a NetworkPolicy limiting who reaches port 1234), " +
    "no LoadBalancer or NodePort Service, no Ingress, Gateway route, Traefik IngressRouteTCP or ingress-nginx tcp-services entry, " +
    "and no hostPort or hostNetwork for buildkitd. Remote builders outside the cluster should run their own runner pods in it instead.";

/** A port given as number or numeric string equals 1234. */
export function isBuildkitPort(port: unknown): boolean {
    return port === BUILDKIT_PORT || port === String(BUILDKIT_PORT);
}

/**
 * A name that means BuildKit itself (`buildkitd`, `buildkit`, `moby-buildkit`, `ci-buildkitd`, `buildkit-service`,
 * and the program's own tier and arm64 Services: `buildkitd-protected`, `buildkitd-arm64`,
 * `buildkitd-protected-arm64`), not something merely named after it (`buildkit-registry-mirror`, `buildkit-cache`).
 * components/admission's BUILDKIT_NAME is the same rule in CEL; tests/admission.test.ts keeps them equal.
 */
export const BUILDKIT_NAME_SUFFIXES = [
    "service",
    "svc",
    "server",
    "daemon",
    "tcp",
    "grpc",
    "headless",
    "lb",
    "public",
    "external",
    "protected",
    "arm64",
    "protected-arm64",
];
const BUILDKIT_NAME = new RegExp(`(^|[-_./])(moby-)?buildkitd?(-(${BUILDKIT_NAME_SUFFIXES.join("|")}))?$`, "i");
export function isBuildkitName(value: unknown): boolean {
    return typeof value === "string" && BUILDKIT_NAME.test(value);
}

function selects(selector: Record<string, unknown>, labels: Record<string, unknown>): boolean {
    const entries = Object.entries(selector);
    return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

/** Why a Service (or ServicePatch) reaches BuildKit, or undefined. `daemons` are the daemon pods in view. */
export function serviceReachesBuildkit(service: KObject, daemons: Daemon[], view: View, pods: PodTemplate[]): { reason: string; crossed: boolean } | undefined {
    const selector = asRecord(at(service.body, "spec", "selector"));
    const daemon = daemons.find(
        (d) =>
            selects(selector, d.ctx.template.labels) &&
            (service.namespace === undefined || d.ctx.template.namespace === undefined || service.namespace === d.ctx.template.namespace),
    );
    if (daemon) {
        return { reason: `selects the BuildKit pods of ${daemon.ctx.template.where}`, crossed: daemon.ctx.template.resource !== service.resource };
    }
    if (Object.keys(selector).length === 0 && !service.patch && typeof service.name === "string") {
        const fed = endpointsReachBuildkit(service, daemons, view);
        if (fed) {
            return fed;
        }
    }
    if (Object.values(selector).some(isBuildkitName)) {
        return { reason: `selects pods labelled as BuildKit (${JSON.stringify(selector)})`, crossed: false };
    }
    if (!service.patch && isBuildkitName(service.name) && Object.keys(selector).length === 0) {
        return { reason: `is BuildKit's Service by name ('${String(service.name)}') with endpoints managed outside its selector`, crossed: false };
    }
    const ports = asArray(at(service.body, "spec", "ports")).map(asRecord);
    if (ports.some((p) => isBuildkitPort(p.port) || isBuildkitPort(p.targetPort))) {
        // Port 1234 is BuildKit's convention but also other apps' default: it counts only when the pods
        // behind the Service are not in view (so the resource policy leaves it to the stack policy).
        if (view.scope === "resource") {
            return undefined;
        }
        const selectsOthers = Object.keys(selector).length > 0 && pods.some((p) => selects(selector, p.labels));
        return selectsOthers
            ? undefined
            : { reason: `serves or targets BuildKit's port ${BUILDKIT_PORT} and selects no pods declared in this stack`, crossed: true };
    }
    if (service.patch && isBuildkitName(service.name)) {
        return { reason: `patches the BuildKit Service '${String(service.name)}'`, crossed: false };
    }
    return undefined;
}

/**
 * A Service without a selector sends traffic to the endpoints someone writes for it: EndpointSlices labelled
 * `kubernetes.io/service-name: <service>` and the legacy Endpoints object of the same name. They reach
 * BuildKit when they target a BuildKit pod (targetRef) or BuildKit's port 1234.
 */
function endpointsReachBuildkit(service: KObject, daemons: Daemon[], view: View): { reason: string; crossed: boolean } | undefined {
    for (const object of view.objects) {
        if (object.patch || (object.namespace !== undefined && service.namespace !== undefined && object.namespace !== service.namespace)) {
            continue;
        }
        let targets: Record<string, unknown>[];
        let ports: Record<string, unknown>[];
        if (object.kind === "EndpointSlice" && at(object.body, "metadata", "labels", "kubernetes.io/service-name") === service.name) {
            targets = asArray(object.body.endpoints).map((e) => asRecord(asRecord(e).targetRef));
            ports = asArray(object.body.ports).map(asRecord);
        } else if (object.kind === "Endpoints" && object.name === service.name) {
            const subsets = asArray(object.body.subsets).map(asRecord);
            targets = subsets.flatMap((s) => asArray(s.addresses).map((a) => asRecord(asRecord(a).targetRef)));
            ports = subsets.flatMap((s) => asArray(s.ports).map(asRecord));
        } else {
            continue;
        }
        const pod = targets.find(
            (t) =>
                t.kind === "Pod" &&
                typeof t.name === "string" &&
                daemons.some((d) => {
                    const owner = d.ctx.template.object?.name;
                    return typeof owner === "string" && (t.name === owner || (t.name as string).startsWith(`${owner}-`));
                }),
        );
        if (pod || ports.some((p) => isBuildkitPort(p.port))) {
            const what = pod ? `BuildKit pod '${String(pod.name)}'` : `BuildKit's port ${BUILDKIT_PORT}`;
            return { reason: `has no selector and is fed by ${object.where}, which targets ${what}`, crossed: object.resource !== service.resource };
        }
    }
    return undefined;
}

/** How a Service leaves the cluster, or undefined when it does not (ClusterIP, headless). */
export function serviceExposure(service: KObject): string | "unknown" | undefined {
    const type = at(service.body, "spec", "type");
    if (isUnknown(type)) {
        return "unknown";
    }
    if (type === "LoadBalancer" || type === "NodePort") {
        return `is of type ${type}`;
    }
    if (asArray(at(service.body, "spec", "externalIPs")).length > 0) {
        return "has externalIPs";
    }
    // Annotations and labels that publish a ClusterIP Service elsewhere, judged by domain (lib/publishing.ts).
    const published = publishingKeys(service.body).find((k) => k.verdict === "publishes");
    if (published) {
        return `is published outside the cluster by its ${published.where} '${published.key}' (${published.why})`;
    }
    return undefined;
}

/** Annotation or label keys of a Service that a controller the pack does not know may publish it by. */
export function unjudgedPublishingKeys(service: KObject): PublishingKey[] {
    return publishingKeys(service.body).filter((k) => k.verdict === "unknown");
}

/** Backends (Service name and port) of objects that route traffic from outside into the cluster. */
export function routeBackends(object: KObject): { name: unknown; port: unknown; namespace?: string; what: string }[] | undefined {
    const spec = asRecord(object.body.spec);
    switch (object.kind) {
        case "Ingress": {
            const backends: unknown[] = [spec.defaultBackend, spec.backend];
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
                    what: "Ingress",
                }));
        }
        case "TCPRoute":
        case "TLSRoute":
        case "GRPCRoute":
        case "HTTPRoute":
        case "UDPRoute":
            return asArray(spec.rules).flatMap((rule) =>
                asArray(asRecord(rule).backendRefs)
                    .map(asRecord)
                    .filter((b) => b.kind === undefined || b.kind === "Service")
                    .map((b) => ({ name: b.name, port: b.port, namespace: asString(b.namespace), what: `Gateway API ${object.kind}` })),
            );
        case "VirtualService": {
            // Istio: routes bound to a Gateway (anything but the sidecar-only "mesh") come from outside the mesh.
            const gateways = asArray(spec.gateways).filter((g) => g !== "mesh");
            if (!/istio\.io/.test(object.apiVersion) || gateways.length === 0) {
                return undefined;
            }
            return ["tcp", "tls", "http"].flatMap((kind) =>
                asArray(spec[kind]).flatMap((route) =>
                    asArray(asRecord(route).route)
                        .map((r) => asRecord(asRecord(r).destination))
                        .filter((d) => typeof d.host === "string" || isUnknown(d.host))
                        .map((d) => ({
                            name: typeof d.host === "string" ? d.host.split(".")[0] : d.host,
                            port: at(d, "port", "number"),
                            what: `Istio VirtualService ${kind} route`,
                        })),
                ),
            );
        }
        case "HTTPProxy":
            // Contour: tcpproxy (TLS passthrough or terminated TCP) and HTTP routes to Services.
            return [asRecord(spec.tcpproxy), ...asArray(spec.routes).map(asRecord)].flatMap((r) =>
                asArray(r.services)
                    .map(asRecord)
                    .map((svc) => ({ name: svc.name, port: svc.port, what: `Contour HTTPProxy ${r === spec.tcpproxy ? "tcpproxy" : "route"}` })),
            );
        case "IngressRouteTCP":
        case "IngressRoute":
        case "IngressRouteUDP":
            return asArray(spec.routes).flatMap((route) =>
                asArray(asRecord(route).services)
                    .map(asRecord)
                    .map((s) => ({ name: s.name, port: s.port, namespace: asString(s.namespace), what: `Traefik ${object.kind}` })),
            );
        case "ConfigMap": {
            // ingress-nginx tcp-services/udp-services: "<external port>": "<namespace>/<service>:<port>[:PROXY]".
            const data = asRecord(object.body.data);
            const entries = Object.entries(data).filter(
                ([key, value]) =>
                    /^\d+$/.test(key) && typeof value === "string" && /^[a-z0-9-]+\/[a-z0-9.-]+:[A-Za-z0-9-]+(:(PROXY)?(:PROXY)?)?$/.test(value.trim()),
            );
            if (entries.length === 0) {
                return undefined;
            }
            return entries.map(([, value]) => {
                const [ns, rest] = (value as string).trim().split("/");
                const [name, port] = rest.split(":");
                return { name, port: /^\d+$/.test(port) ? Number(port) : port, namespace: ns, what: "ingress-nginx tcp-services entry" };
            });
        }
        default:
            return undefined;
    }
}

/**
 * A chart that runs buildkitd from its values (a generic application chart: bjw-s's app-template,
 * Stakater's application, Bitnami-style `image` + `args`) renders its Services from the same values, for
 * that workload: a service object in them of type LoadBalancer or NodePort, or with externalIPs, publishes
 * the daemon. The buildkit-service chart has its own model (charts.ts). One finding per values path.
 */
export function chartServiceExposure(daemon: Daemon, values: unknown, seen: Set<string>): Finding[] {
    const template: PodTemplate = daemon.ctx.template;
    if (template.object !== undefined || !/ values\./.test(template.where) || !mayListenOnTcp(daemon)) {
        return [];
    }
    const findings: Finding[] = [];
    let budget = 20_000;
    const visit = (value: unknown, path: string[]) => {
        if (budget-- <= 0 || path.length > 20 || value === null || typeof value !== "object" || isUnknown(value)) {
            return;
        }
        if (Array.isArray(value)) {
            value.forEach((v, i) => visit(v, [...path, String(i)]));
            return;
        }
        const record = value as Record<string, unknown>;
        const serviceLike = path.some((k) => /service/i.test(k)) || "ports" in record;
        const type = asString(record.type);
        const published = type === "LoadBalancer" || type === "NodePort" || asArray(record.externalIPs).length > 0;
        if (serviceLike && published && record.enabled !== false && record.enabled !== "false") {
            const key = `${template.resource.urn} ${path.join(".")}`;
            if (!seen.has(key)) {
                seen.add(key);
                findings.push(
                    violation(
                        `${template.where} runs buildkitd, and the same chart's values publish a Service at values.${path.join(".")} (${type ?? "externalIPs"}): a chart renders its Services for its workload, so BuildKit is reachable from outside the cluster. ${EXPOSURE_FIX}`,
                        template.resource.urn,
                    ),
                );
            }
            return;
        }
        for (const [k, v] of Object.entries(record)) {
            visit(v, [...path, k]);
        }
    };
    visit(values, []);
    return findings;
}

/** hostNetwork and hostPort on a daemon pod put buildkitd on the node's network. */
export function hostExposure(daemon: Daemon): Finding[] {
    const template: PodTemplate = daemon.ctx.template;
    const urn = template.resource.urn;
    const findings: Finding[] = [];
    // A daemon on its unix socket only has nothing on the node's network to expose.
    if (!mayListenOnTcp(daemon)) {
        return findings;
    }
    if (template.spec.hostNetwork === true || template.spec.hostNetwork === "true") {
        findings.push(violation(`${template.where} runs buildkitd with hostNetwork: true, so its listeners are on the node's network. ${EXPOSURE_FIX}`, urn));
    }
    for (const port of asArray(daemon.ctx.container.record.ports).map(asRecord)) {
        if (port.hostPort !== undefined && port.hostPort !== null && !isUnknown(port.hostPort) && port.hostPort !== 0) {
            findings.push(
                violation(
                    `${template.where} container '${daemon.ctx.container.name}' publishes hostPort ${String(port.hostPort)}, which exposes buildkitd on the node. ${EXPOSURE_FIX}`,
                    urn,
                ),
            );
        }
    }
    return findings;
}

export function unknownRoute(object: KObject, what: string): Finding {
    return unverifiable(
        `${object.where} has a ${what} that is unknown during preview, so whether it reaches BuildKit cannot be checked yet.`,
        object.resource.urn,
    );
}

/**
 * Kinds that name BuildKit's Service, pods or port without publishing them: in-cluster consumers (policy,
 * mesh-internal routing, monitoring, certificates, autoscaling, secrets, RBAC, the installers the pack
 * judges as charts, and the kinds whose routes `routeBackends` judges). Any other object that names the
 * BuildKit Service is exposure (an OpenShift Route, a Kong TCPIngress, a load-balancer binding, a tunnel):
 * reachability of the port decides, not a list of publishing kinds. policy/README.md lists these.
 */
export const CONSUMER_KINDS = new Set([
    "DockerProvider",
    "Service",
    "Endpoints",
    "EndpointSlice",
    "ConfigMap",
    "Secret",
    "Namespace",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolumeClaim",
    "NetworkPolicy",
    "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy",
    "CiliumNetworkPolicy",
    "CiliumClusterwideNetworkPolicy",
    "AuthorizationPolicy",
    "PeerAuthentication",
    "RequestAuthentication",
    "DestinationRule",
    "Sidecar",
    "ServiceEntry",
    "VirtualService",
    "Server",
    "ServerAuthorization",
    "MeshTLSAuthentication",
    "NetworkAuthentication",
    "ServiceProfile",
    // Consul's service-mesh configuration entries that stay inside the mesh: intentions ("controls Connect
    // traffic authorization"), and routing, splitting, resolution and defaults between mesh services
    // (developer.hashicorp.com/consul/docs/connect/config-entries, "Configuration Entry Overview"). Not its
    // gateways (IngressGateway, TerminatingGateway, APIGateway), ExportedServices ("export service instances
    // to other peers"), SamenessGroup or peering, which reach outside: those stay exposure.
    "ServiceIntentions",
    "ServiceRouter",
    "ServiceSplitter",
    "ServiceResolver",
    "ServiceDefaults",
    "ProxyDefaults",
    // Kuma/Kong Mesh MeshTrafficPermission ("access control within the Mesh", developer.konghq.com/mesh/
    // meshtrafficpermission) and its older TrafficPermission; SMI's TrafficTarget (access.smi-spec.io,
    // servicemeshinterface/smi-spec traffic-access): who may call a service inside the mesh.
    "MeshTrafficPermission",
    "TrafficPermission",
    "TrafficTarget",
    "ServiceMonitor",
    "PodMonitor",
    "Probe",
    "PrometheusRule",
    "ScrapeConfig",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "VerticalPodAutoscaler",
    "ScaledObject",
    "Certificate",
    "CertificateRequest",
    "Issuer",
    "ClusterIssuer",
    "Bundle",
    "ExternalSecret",
    "SecretStore",
    "ClusterSecretStore",
    "SealedSecret",
    "ReferenceGrant",
    "Gateway",
    "GatewayClass",
    "IngressClass",
    "Application",
    "ApplicationSet",
    "AppProject",
    "HelmRelease",
    "HelmRepository",
    "HelmChart",
    "GitRepository",
    "OCIRepository",
    "Kustomization",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "CustomResourceDefinition",
    "PriorityClass",
    "StorageClass",
    "RuntimeClass",
    "LimitRange",
    "ResourceQuota",
    "Lease",
    "Event",
]);

/**
 * Reference shapes that point at a Service (so an object of an unknown kind holding one sends traffic to
 * it): a string under a Service-like key (`serviceName`, `service`, `host`, `upstream`, `url`, ...), whose
 * host part is the Service (`buildkitd`, `buildkitd.buildkit.svc.cluster.local`, `tcp://buildkitd:1234`);
 * and an object with a `name` that is a Service reference by its shape: under a Service-like key
 * (`service: {name}`, `backendRefs`, `to`, `subjects`, ...), next to a port (`{name, port}`), or of
 * `kind: Service`; a `kind` other than Service (a node class, an issuer, a secret store, a workload) is
 * not one. A field merely called `name` is not a reference.
 */
const SERVICE_STRING_KEY =
    /^(service|services|serviceName|serviceNames|svc|svcName|backendService|host|hostname|hosts|address|addresses|url|urls|endpoint|endpoints|upstream|upstreams|destination|target|targets|to|backend|backends|forwardTo)$/i;
const SERVICE_OBJECT_KEY =
    /^(service|services|serviceRef|serviceRefs|backend|backends|backendRef|backendRefs|destination|destinations|upstream|upstreams|to|target|targets|targetRef|targetRefs|forwardTo|subject|subjects)$/i;
const PORT_KEY = /^(port|ports|servicePort|targetPort|containerPort)$/i;
const SELECTOR_KEY = /^(selector|podSelector|matchLabels)$/;

/** What an object of an unknown kind points at: BuildKit's Service, or its pods on its port. */
export interface BuildkitReference {
    what: string;
    crossed: boolean;
}

/**
 * Where an object of a kind the pack does not know points at BuildKit: a Service reference (shapes above)
 * to a BuildKit Service (`buildkitServices`, or a name that is BuildKit's own), or a label selector that
 * selects the daemon pods (`daemonLabels`) together with BuildKit's port 1234. Walks everything but
 * metadata and status (some kinds keep their references at the top level, like a TunnelBinding's
 * `subjects`). Bounded walk; undefined when nothing points at BuildKit.
 */
export function namesBuildkitService(
    object: KObject,
    buildkitServices: Map<string, { reason: string; crossed: boolean }>,
    daemonLabels: Record<string, unknown>[] = [],
): BuildkitReference | undefined {
    let budget = 5_000;
    let hit: BuildkitReference | undefined;
    let selected: string | undefined;
    let port = false;
    const check = (text: string) => {
        // A Service by cluster DNS: `name`, `name.namespace`, `name.namespace.svc[.cluster.local]`, with an
        // optional scheme, port or path. An outside host name (`buildkit.example.com`) names no Service.
        const labels = text
            .replace(/^[a-z][a-z0-9+.-]*:\/\//i, "")
            .split(/[:/]/)[0]
            .split(".");
        if (labels.length > 2 && labels[2] !== "svc") {
            return;
        }
        const host = labels[0];
        if (isBuildkitName(host)) {
            hit = { what: `names BuildKit's Service '${host}'`, crossed: false };
        } else if (buildkitServices.has(host)) {
            hit = { what: `names BuildKit's Service '${host}'`, crossed: true };
        }
    };
    const visit = (value: unknown, key: string, depth: number) => {
        if (hit || budget-- <= 0 || depth > 20 || value === null || typeof value !== "object") {
            return;
        }
        if (Array.isArray(value)) {
            for (const item of value) {
                if (typeof item === "string" && SERVICE_STRING_KEY.test(key)) {
                    check(item);
                } else {
                    visit(item, key, depth + 1);
                }
            }
            return;
        }
        const record = value as Record<string, unknown>;
        const kind = record.kind;
        if (
            typeof record.name === "string" &&
            (kind === undefined || kind === "Service") &&
            (SERVICE_OBJECT_KEY.test(key) || kind === "Service" || Object.keys(record).some((k) => PORT_KEY.test(k)))
        ) {
            check(record.name);
        }
        if (SELECTOR_KEY.test(key) && !selected) {
            const labels = Object.entries(record);
            if (labels.length > 0 && labels.every(([, v]) => typeof v === "string") && daemonLabels.some((l) => labels.every(([k, v]) => l[k] === v))) {
                selected = JSON.stringify(record);
            }
        }
        for (const [k, child] of Object.entries(record)) {
            if (PORT_KEY.test(k) && (isBuildkitPort(child) || asArray(child).some((p) => isBuildkitPort(p) || isBuildkitPort(asRecord(p).port)))) {
                port = true;
            }
            if (typeof child === "string" && SERVICE_STRING_KEY.test(k)) {
                check(child);
            } else if (typeof child === "object") {
                visit(child, k, depth + 1);
            }
        }
    };
    for (const [key, value] of Object.entries(object.body)) {
        if (key !== "metadata" && key !== "status" && typeof value === "object") {
            visit(value, key, 0);
        }
    }
    if (!hit && selected && port) {
        hit = { what: `selects BuildKit's pods (${selected}) on port ${BUILDKIT_PORT}`, crossed: true };
    }
    return hit;
}
