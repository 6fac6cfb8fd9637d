import { asRecord, at, isUnknown } from "./plain";

/**
 * Annotations and labels that publish a ClusterIP Service outside the cluster (issue 22: "any annotation or
 * class that publishes a ClusterIP Service elsewhere counts"). A controller acts on a Service because of a
 * key in its metadata; the key's domain says whose controller it is. So keys are judged by domain, not one
 * by one:
 *
 * 1. **Known publishers** (mandatory): domains whose controller puts the Service somewhere outside this
 *    cluster: a tailnet, linked clusters, a cluster mesh, an application network, a cloud load balancer,
 *    public DNS, a node port proxy. Listed in `PUBLISHERS` with the source each comes from.
 * 2. **Known not to publish** (pass): `NOT_PUBLISHING`, domains of packaging, GitOps, monitoring, mesh-
 *    internal configuration and of ingress controllers whose Service annotations only tune a route that
 *    the route's own object (judged separately) must first declare.
 * 3. **Unknown domains**: a key whose own words say it exposes, exports, publishes, mirrors, shares,
 *    tunnels, load-balances or names a public host (`kube-service-exposer.sidero.dev/port`,
 *    `nodeport-proxy.k8s.io/expose-namespaced`, `example.com/expose`) is taken as publishing (mandatory,
 *    secure by default: that is what its controller was written to do). Any other unknown annotation is
 *    reported (advisory): a controller may act on it, the pack cannot tell, and blocking every team's own
 *    annotations would block valid setups. Unknown labels that do not say they publish pass: a label
 *    selects, it does not instruct (the label keys publishing controllers select by are in `PUBLISHERS`).
 *
 * A value that turns a key off (`"false"`, `"0"`, `"no"`, empty) publishes nothing.
 */
export interface PublishingKey {
    key: string;
    where: "annotation" | "label";
    verdict: "publishes" | "unknown";
    why: string;
}

const OFF = /^\s*(false|no|0|off|disabled|none)?\s*$/i;

interface Publisher {
    domains: string[];
    /** Whether this key with this value publishes; undefined: the key is known and inert. */
    publishes: (name: string, value: string) => boolean;
    what: string;
}

export const PUBLISHERS: Publisher[] = [
    {
        // tailscale.com/kb/1439 "Expose a cluster workload using a Kubernetes Service": tailscale.com/expose: "true",
        // tailscale.com/hostname, tailscale.com/tags, tailscale.com/proxy-class.
        domains: ["tailscale.com"],
        publishes: (_n, v) => !OFF.test(v),
        what: "the Tailscale operator puts it on the tailnet",
    },
    {
        // linkerd.io/2/reference/multicluster: services labelled mirror.linkerd.io/exported: "true" (or
        // "remote-discovery") are mirrored into every linked cluster through the multicluster gateway.
        domains: ["mirror.linkerd.io", "multicluster.linkerd.io"],
        publishes: (_n, v) => !OFF.test(v),
        what: "Linkerd multicluster mirrors it into linked clusters",
    },
    {
        // docs.cilium.io network/clustermesh/services: service.cilium.io/global: "true" load-balances the Service
        // across all meshed clusters (service.cilium.io/shared and /affinity only tune a global Service);
        // io.cilium/global-service is the annotation of Cilium releases before 1.14.
        domains: ["service.cilium.io", "io.cilium"],
        publishes: (n, v) => (n === "global" || n === "global-service" || n.startsWith("lb-ipam")) && !OFF.test(v),
        what: "Cilium ClusterMesh makes it a global Service reachable from every meshed cluster (or assigns it a load-balancer IP)",
    },
    {
        // Red Hat Service Interconnect 1.5 "Configuring services using annotations": skupper.io/proxy (tcp, http,
        // http2) exposes the Service on the application network, in every linked site; skupper.io/address,
        // skupper.io/port and skupper.io/target go with it.
        domains: ["skupper.io"],
        publishes: (_n, v) => !OFF.test(v),
        what: "Skupper exposes it on the application network (every linked site)",
    },
    {
        // Submariner Lighthouse and the Multi-Cluster Services API (KEP-1645): exported Services are reachable
        // from every cluster of the ClusterSet; GKE's multi-cluster Services (net.gke.io).
        domains: ["submariner.io", "multicluster.x-k8s.io", "multicluster.kubernetes.io", "net.gke.io"],
        publishes: (_n, v) => !OFF.test(v),
        what: "it is exported to the other clusters of a ClusterSet",
    },
    {
        // cloud.google.com/kubernetes-engine/docs/how-to/standalone-neg: cloud.google.com/neg with exposed_ports
        // creates network endpoint groups for a Google Cloud load balancer ({"ingress": true} only serves an
        // Ingress, judged on its own); cloud.google.com/load-balancer-type and networking.gke.io/* configure a
        // load balancer for the Service.
        domains: ["cloud.google.com", "networking.gke.io"],
        publishes: (n, v) => (n === "neg" ? /exposed_ports/.test(v) : !/^(backend-config|app-protocols|neg-status)$/.test(n) && !OFF.test(v)),
        what: "it is attached to a Google Cloud load balancer",
    },
    {
        // kubernetes.io/docs/reference/labels-annotations-taints: service.beta.kubernetes.io/* configure the cloud
        // load balancer of a Service (Azure, AWS, ...). On a ClusterIP Service they only show the intent to
        // publish it; a later type change (or a ServicePatch) does. external-dns publishes its host name in DNS.
        domains: ["service.beta.kubernetes.io", "external-dns.alpha.kubernetes.io"],
        publishes: (_n, v) => !OFF.test(v),
        what: "it configures a cloud load balancer or public DNS for it",
    },
    {
        // metallb.universe.tf/usage: metallb.universe.tf/loadBalancerIPs, address-pool (metallb.io in 0.14);
        // kube-vip.io/loadbalancerIPs; Cilium LB IPAM lbipam.cilium.io/ips.
        domains: ["metallb.universe.tf", "metallb.io", "kube-vip.io", "lbipam.cilium.io"],
        publishes: (_n, v) => !OFF.test(v),
        what: "it asks a bare-metal load balancer for an address",
    },
    {
        // developer.hashicorp.com/consul/docs/k8s/service-sync: consul.hashicorp.com/service-sync registers the
        // Service in the Consul catalog, outside the cluster.
        domains: ["consul.hashicorp.com"],
        publishes: (n, v) => n !== "service-ignore" && !OFF.test(v),
        what: "Consul catalog sync registers it outside the cluster",
    },
    {
        // istio.io/latest/docs/reference/config/annotations (networking.istio.io/exportTo): "." keeps the Service
        // in its own namespace; any other value makes it visible to other namespaces (and, in a multi-cluster
        // mesh, other clusters).
        domains: ["networking.istio.io"],
        publishes: (n, v) => n === "exportTo" && !/^\s*(\.|~)\s*$/.test(v),
        what: "Istio exports it beyond its namespace (exportTo)",
    },
    {
        // Emissary-ingress (Ambassador) reads Mapping/TCPMapping resources from getambassador.io/config Service
        // annotations and serves them on its public listener.
        domains: ["getambassador.io"],
        publishes: (n, v) => n === "config" && /kind:\s*\w*Mapping/.test(v),
        what: "Emissary-ingress (Ambassador) routes its public listener to it",
    },
    {
        // ngrok Kubernetes operator: k8s.ngrok.com/* on a Service publishes it as an ngrok endpoint.
        domains: ["k8s.ngrok.com", "ngrok.com"],
        publishes: (_n, v) => !OFF.test(v),
        what: "the ngrok operator publishes it as an ngrok endpoint",
    },
    {
        // github.com/siderolabs/kube-service-exposer: kube-service-exposer.sidero.dev/port exposes the Service on
        // that port of every node.
        domains: ["kube-service-exposer.sidero.dev"],
        publishes: (_n, v) => !OFF.test(v),
        what: "kube-service-exposer publishes it on every node",
    },
];

/**
 * Domains known not to publish (an `=` prefix means the domain itself only, not its subdomains): packaging
 * and GitOps bookkeeping, Kubernetes' own informational keys, monitoring, mesh-internal configuration, and
 * ingress controllers' Service annotations, which only tune a route the route's own object must declare
 * (that object is judged on its own).
 */
export const NOT_PUBLISHING = [
    "app.kubernetes.io",
    "helm.sh",
    "meta.helm.sh",
    "pulumi.com",
    "argocd.argoproj.io",
    "argoproj.io",
    "fluxcd.io",
    "kustomize.toolkit.fluxcd.io",
    "helm.toolkit.fluxcd.io",
    "toolkit.fluxcd.io",
    "kustomize.config.k8s.io",
    "prometheus.io",
    "=kubernetes.io",
    "kubectl.kubernetes.io",
    "deployment.kubernetes.io",
    "endpoints.kubernetes.io",
    "service.kubernetes.io",
    "service.alpha.kubernetes.io",
    "control-plane.alpha.kubernetes.io",
    "pod-security.kubernetes.io",
    "config.kubernetes.io",
    "internal.config.kubernetes.io",
    "topology.kubernetes.io",
    "linkerd.io",
    "config.linkerd.io",
    "policy.linkerd.io",
    "sidecar.istio.io",
    "istio.io",
    "security.istio.io",
    "topology.istio.io",
    "traffic.sidecar.istio.io",
    "cert-manager.io",
    "reloader.stakater.com",
    "stakater.com",
    "velero.io",
    "checksum",
    "ingress.kubernetes.io",
    "traefik.ingress.kubernetes.io",
    "nginx.ingress.kubernetes.io",
    "alb.ingress.kubernetes.io",
    "konghq.com",
    "haproxy.org",
    "projectcontour.io",
];

/** Words a key uses when its controller publishes what it annotates. */
const PUBLISHING_WORDS =
    /expos|export|publish|global|mirror|tunnel|external|public|shar(e|ing)|balanc|(^|[./_-])lb([./_-]|$)|dns|hostname|ingress|proxy|forward|multi-?cluster|clusterset|federat|announce/i;

function domainMatches(domain: string, entries: string[]): boolean {
    return entries.some((e) => (e.startsWith("=") ? domain === e.slice(1) : domain === e || domain.endsWith(`.${e}`)));
}

function judgeKey(key: string, value: unknown, where: "annotation" | "label"): PublishingKey | undefined {
    const slash = key.lastIndexOf("/");
    if (slash < 0) {
        // No prefix: the user's own key (Kubernetes reserves prefixed keys for tools and controllers).
        return undefined;
    }
    const domain = key.slice(0, slash).toLowerCase();
    const name = key.slice(slash + 1);
    const text = isUnknown(value) ? "true" : typeof value === "string" ? value : JSON.stringify(value ?? "");
    const publisher = PUBLISHERS.find((p) => domainMatches(domain, p.domains));
    if (publisher) {
        return publisher.publishes(name, text) ? { key, where, verdict: "publishes", why: publisher.what } : undefined;
    }
    if (domainMatches(domain, NOT_PUBLISHING)) {
        return undefined;
    }
    if (PUBLISHING_WORDS.test(key) && !OFF.test(text)) {
        return where === "annotation"
            ? { key, where, verdict: "publishes", why: `its ${where} key says it exposes or publishes it and its domain is not one the pack knows` }
            : { key, where, verdict: "unknown", why: `its label key says it exposes or publishes it, and a controller may select Services by it` };
    }
    return where === "annotation" ? { key, where, verdict: "unknown", why: "a controller the pack does not know may act on it" } : undefined;
}

/** The annotation and label keys of an object that publish it outside the cluster, or that the pack cannot judge. */
export function publishingKeys(body: Record<string, unknown>): PublishingKey[] {
    const out: PublishingKey[] = [];
    for (const [where, field] of [
        ["annotation", "annotations"],
        ["label", "labels"],
    ] as const) {
        for (const [key, value] of Object.entries(asRecord(at(body, "metadata", field))).slice(0, 500)) {
            const judged = judgeKey(key, value, where);
            if (judged) {
                out.push(judged);
            }
        }
    }
    return out;
}
