import { BUILDKITD_HEADLESS_NAME, BUILDKITD_NAME, BUILDKIT_NAMESPACE, CLUSTER_DOMAIN } from "../contracts";

/** Every DNS form of a Service name a client may dial: `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`. */
export function serviceDnsForms(service: string, namespace: string = BUILDKIT_NAMESPACE): string[] {
    return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.${CLUSTER_DOMAIN}`];
}

/** The stable name of StatefulSet pod `ordinal`, resolved through the headless Service. */
export function podHostname(ordinal: number): string {
    return `${BUILDKITD_NAME}-${ordinal}.${BUILDKITD_HEADLESS_NAME}.${BUILDKIT_NAMESPACE}.svc.${CLUSTER_DOMAIN}`;
}

export function podHostnames(replicas: number): string[] {
    return Array.from({ length: replicas }, (_, ordinal) => podHostname(ordinal));
}

/**
 * Subject alternative names of the server certificate: the client Service and the headless Service
 * in every DNS form, each pod by its stable name (short and fully qualified), and loopback for
 * `kubectl port-forward` debugging. A client can only verify a name that is listed here.
 */
export function serverCertificateNames(replicas: number): { dnsNames: string[]; ipAddresses: string[] } {
    const pods = Array.from({ length: replicas }, (_, ordinal) => `${BUILDKITD_NAME}-${ordinal}.${BUILDKITD_HEADLESS_NAME}`);
    const podForms = pods.flatMap((pod) => [pod, `${pod}.${BUILDKIT_NAMESPACE}`, `${pod}.${BUILDKIT_NAMESPACE}.svc`, `${pod}.${BUILDKIT_NAMESPACE}.svc.${CLUSTER_DOMAIN}`]);
    return {
        dnsNames: [...serviceDnsForms(BUILDKITD_NAME), ...serviceDnsForms(BUILDKITD_HEADLESS_NAME), ...podForms, "localhost"],
        ipAddresses: ["127.0.0.1", "::1"],
    };
}
