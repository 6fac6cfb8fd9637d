import { BUILDKITD_HEADLESS_NAME, BUILDKITD_NAME, BUILDKIT_NAMESPACE, CLUSTER_DOMAIN, SHARED_TIER, TierNames, tierNames } from "../../contracts";

/** Every DNS form of a Service name a client may dial: `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`. */
export function serviceDnsForms(service: string, namespace: string = BUILDKIT_NAMESPACE): string[] {
    return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.${CLUSTER_DOMAIN}`];
}

/** The stable name of StatefulSet pod `ordinal`, resolved through the headless Service. */
export function podHostname(ordinal: number, statefulSet: string = BUILDKITD_NAME, headless: string = BUILDKITD_HEADLESS_NAME): string {
    return `${statefulSet}-${ordinal}.${headless}.${BUILDKIT_NAMESPACE}.svc.${CLUSTER_DOMAIN}`;
}

export function podHostnames(replicas: number, statefulSet: string = BUILDKITD_NAME, headless: string = BUILDKITD_HEADLESS_NAME): string[] {
    return Array.from({ length: replicas }, (_, ordinal) => podHostname(ordinal, statefulSet, headless));
}

/** Pod names of one StatefulSet in every DNS form (`pod.headless` up to fully qualified). */
function podDnsForms(replicas: number, statefulSet: string, headless: string): string[] {
    const pods = Array.from({ length: replicas }, (_, ordinal) => `${statefulSet}-${ordinal}.${headless}`);
    return pods.flatMap((pod) => [
        pod,
        `${pod}.${BUILDKIT_NAMESPACE}`,
        `${pod}.${BUILDKIT_NAMESPACE}.svc`,
        `${pod}.${BUILDKIT_NAMESPACE}.svc.${CLUSTER_DOMAIN}`,
    ]);
}

/**
 * Subject alternative names of the server certificate: the client Service and the headless Service
 * in every DNS form, each pod by its stable name (short and fully qualified), and loopback for
 * `kubectl port-forward` debugging. With native arm64 builders (`arm64Replicas` > 0) their Service,
 * headless Service and pods are added, so one server certificate serves both sets. A client can
 * only verify a name that is listed here.
 */
export function serverCertificateNames(
    replicas: number,
    arm64Replicas: number = 0,
    names: TierNames = tierNames(SHARED_TIER),
): { dnsNames: string[]; ipAddresses: string[] } {
    const arm64 =
        arm64Replicas > 0
            ? [
                  ...serviceDnsForms(names.arm64.statefulSet),
                  ...serviceDnsForms(names.arm64.headless),
                  ...podDnsForms(arm64Replicas, names.arm64.statefulSet, names.arm64.headless),
              ]
            : [];
    return {
        dnsNames: [
            ...serviceDnsForms(names.statefulSet),
            ...serviceDnsForms(names.headless),
            ...podDnsForms(replicas, names.statefulSet, names.headless),
            ...arm64,
            "localhost",
        ],
        ipAddresses: ["127.0.0.1", "::1"],
    };
}
