import type * as k8s from "@pulumi/kubernetes";
import { BUILDKIT_GRPC_PORT, BUILDKIT_METRICS_PORT, BUILDKIT_NAMESPACE, BUILDKITD_POD_LABELS, RUNNER_NAMESPACE } from "../../contracts";

type NetworkPolicySpec = k8s.types.input.networking.v1.NetworkPolicySpec;

const fromNamespaces = (names: string[]) => ({
    namespaceSelector: {
        matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: names }],
    },
});

/**
 * Who may open a connection to the builders. NetworkPolicy limits reach; mTLS proves identity.
 * Both are required (CONTRACTS.md, invariant 2): the gRPC port only from the runner namespace and
 * BuildKit's own, the metrics port only from the monitoring namespace, nothing else. Egress stays
 * open because builds pull from registries and package mirrors. `podSelector` selects one tier's
 * builders (default: the contract label); `clientNamespaces` are that tier's runners (and, for the
 * shared tier, the BuildKit namespace): a tier's builders admit no other tier's runners.
 */
export function buildkitdIngressPolicy(
    monitoringNamespace: string,
    podSelector: k8s.types.input.meta.v1.LabelSelector = { matchLabels: { ...BUILDKITD_POD_LABELS } },
    clientNamespaces: readonly string[] = [RUNNER_NAMESPACE, BUILDKIT_NAMESPACE],
): NetworkPolicySpec {
    return {
        podSelector,
        policyTypes: ["Ingress"],
        ingress: [
            {
                from: [fromNamespaces([...clientNamespaces])],
                ports: [{ protocol: "TCP", port: BUILDKIT_GRPC_PORT }],
            },
            {
                from: [fromNamespaces([monitoringNamespace])],
                ports: [{ protocol: "TCP", port: BUILDKIT_METRICS_PORT }],
            },
        ],
    };
}

/** Every other pod in the BuildKit namespace (the binfmt installers) accepts no connections at all. */
export const DENY_ALL_INGRESS: NetworkPolicySpec = { podSelector: {}, policyTypes: ["Ingress"] };
