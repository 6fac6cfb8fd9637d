import type * as k8s from "@pulumi/kubernetes";
import { BUILDKIT_GRPC_PORT, BUILDKIT_METRICS_PORT, BUILDKIT_NAMESPACE, BUILDKITD_POD_LABELS, RUNNER_NAMESPACE } from "../../contracts";
import { ALWAYS_DENIED_CIDRS, type EgressException } from "../../config/sandbox";

type NetworkPolicySpec = k8s.types.input.networking.v1.NetworkPolicySpec;
type LabelSelector = k8s.types.input.meta.v1.LabelSelector;
type NetworkPolicyEgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

const fromNamespaces = (names: readonly string[]) => ({
    namespaceSelector: {
        matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [...names] }],
    },
});

const namespaceNamed = (name: string) => ({ matchLabels: { "kubernetes.io/metadata.name": name } });

/** Pods allowed to scrape the debug port: the Prometheus pods of one namespace, selected by label. */
export interface MetricsScrapers {
    namespace: string;
    podLabels: Readonly<Record<string, string>>;
}

/**
 * Who may open a connection to the builders. NetworkPolicy limits reach; mTLS proves identity.
 * Both are required (CONTRACTS.md, invariant 2): the gRPC port only from the tier's runner
 * namespace and BuildKit's own, the debug port (6060: /metrics, but also pprof and traces) only
 * from the Prometheus pods (namespace AND pod labels in one peer, so no other pod of the monitoring
 * namespace), nothing else. `podSelector` selects one tier's builders (default: the contract label);
 * `clientNamespaces` are that tier's runners (and, for the shared tier, the BuildKit namespace): a
 * tier's builders admit no other tier's runners.
 */
export function buildkitdIngressPolicy(
    scrapers: MetricsScrapers,
    podSelector: LabelSelector = { matchLabels: { ...BUILDKITD_POD_LABELS } },
    clientNamespaces: readonly string[] = [RUNNER_NAMESPACE, BUILDKIT_NAMESPACE],
): NetworkPolicySpec {
    return {
        podSelector,
        policyTypes: ["Ingress"],
        ingress: [
            {
                from: [fromNamespaces(clientNamespaces)],
                ports: [{ protocol: "TCP", port: BUILDKIT_GRPC_PORT }],
            },
            {
                from: [{ namespaceSelector: namespaceNamed(scrapers.namespace), podSelector: { matchLabels: { ...scrapers.podLabels } } }],
                ports: [{ protocol: "TCP", port: BUILDKIT_METRICS_PORT }],
            },
        ],
    };
}

/** Every other pod in the BuildKit namespace (the binfmt installers) accepts no connections at all. */
export const DENY_ALL_INGRESS: NetworkPolicySpec = { podSelector: {}, policyTypes: ["Ingress"] };

/**
 * DNS: the cluster's CoreDNS pods (label `k8s-app=kube-dns` in kube-system on AKS and k3s). Selected
 * as pods, not by the Service address: policy engines match the destination after the Service
 * address is translated to a pod's.
 */
export const DNS_EGRESS_RULE: NetworkPolicyEgressRule = {
    to: [{ namespaceSelector: namespaceNamed("kube-system"), podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
    ports: [
        { protocol: "UDP", port: 53 },
        { protocol: "TCP", port: 53 },
    ],
};

/**
 * Any IPv4 address except link-local (the metadata endpoint), Azure's WireServer and the cluster's
 * own ranges: registries, package mirrors and GitHub stay reachable; the node, its metadata and
 * every in-cluster Service do not. IPv6 is not opened at all.
 */
export function internetEgressRule(clusterCidrs: readonly string[]): NetworkPolicyEgressRule {
    const except = [...new Set([...ALWAYS_DENIED_CIDRS, ...clusterCidrs])].sort();
    return { to: [{ ipBlock: { cidr: "0.0.0.0/0", except } }] };
}

/**
 * Egress of one builder set: DNS and the internet as {@link internetEgressRule} allows. Build
 * steps run on BuildKit's bridge and leave through the pod's address, so this covers every step.
 */
export function builderEgressPolicy(podSelector: LabelSelector, clusterCidrs: readonly string[]): NetworkPolicySpec {
    return {
        podSelector,
        policyTypes: ["Egress"],
        egress: [DNS_EGRESS_RULE, internetEgressRule(clusterCidrs)],
    };
}

/** One named in-cluster destination builders may also reach (config `network.builderEgressExceptions`). */
export function builderEgressExceptionPolicy(podSelector: LabelSelector, exception: EgressException): NetworkPolicySpec {
    const to =
        exception.cidr !== undefined
            ? [{ ipBlock: { cidr: exception.cidr } }]
            : [{ namespaceSelector: namespaceNamed(exception.namespace!), podSelector: { matchLabels: { ...exception.podLabels! } } }];
    return {
        podSelector,
        policyTypes: ["Egress"],
        egress: [{ to, ports: exception.ports.map((p) => ({ protocol: p.protocol, port: p.port })) }],
    };
}

/** The builders of one tier that its runners may reach: their namespace and a selector per builder set. */
export interface BuilderPods {
    namespace: string;
    podSelectors: readonly LabelSelector[];
}

/**
 * Every pod of a runner namespace (runners and the deploy-time probe, where untrusted job code
 * runs): no connections in (a job's listener is nobody else's business); out only DNS, the tier's
 * builders on the gRPC port, and the internet as {@link internetEgressRule} allows, which keeps
 * GitHub (public addresses) reachable and the node, the metadata endpoint, the WireServer, the
 * Kubernetes API and every other in-cluster Service out of reach.
 */
export function runnerNetworkPolicy(builders: BuilderPods, clusterCidrs: readonly string[], metrics?: MetricsGateway): NetworkPolicySpec {
    return {
        podSelector: {},
        policyTypes: ["Ingress", "Egress"],
        egress: [
            DNS_EGRESS_RULE,
            {
                to: builders.podSelectors.map((podSelector) => ({ namespaceSelector: namespaceNamed(builders.namespace), podSelector })),
                ports: [{ protocol: "TCP", port: BUILDKIT_GRPC_PORT }],
            },
            // The tier's own Pushgateway (build metrics, when enabled): an in-cluster pod, so the internet rule excludes it.
            ...(metrics
                ? [
                      {
                          to: [{ namespaceSelector: namespaceNamed(metrics.namespace), podSelector: { matchLabels: { ...metrics.podLabels } } }],
                          ports: [{ protocol: "TCP", port: metrics.port }],
                      },
                  ]
                : []),
            internetEgressRule(clusterCidrs),
        ],
    };
}

/** A tier's build-metrics Pushgateway, which its runners push to (components/metrics). */
export interface MetricsGateway {
    namespace: string;
    podLabels: Readonly<Record<string, string>>;
    port: number;
}
