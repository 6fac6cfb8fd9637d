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

/**
 * Every builder pod of one set, in every DNS form, as one wildcard each: `*.<headless>`,
 * `*.<headless>.<ns>`, `*.<headless>.<ns>.svc`, `*.<headless>.<ns>.svc.cluster.local`. A pod's stable
 * name is `<statefulset>-<ordinal>.<headless>...`, exactly one label left of the headless Service, so
 * the certificate covers any number of builders and does not change (nor roll the builders) when the
 * replica count does.
 *
 * buildctl verifies the server name with Go's crypto/x509 (`Certificate.VerifyHostname`):
 * `matchHostnames` accepts a `*` only as the whole left-most label and requires the same number of
 * labels on both sides, so `*.buildkitd-headless.buildkit.svc.cluster.local` matches
 * `buildkitd-7.buildkitd-headless.buildkit.svc.cluster.local` and nothing deeper or shallower (see
 * {@link coversHostname}, which follows it, and tests/certificate-names.test.ts, which checks it with
 * Go itself when a Go toolchain is installed, and with OpenSSL).
 */
export function podWildcards(headless: string, namespace: string = BUILDKIT_NAMESPACE): string[] {
    return serviceDnsForms(headless, namespace).map((form) => `*.${form}`);
}

/** Go's crypto/x509 `matchHostnames` for a certificate's DNS names: the left-most label may be `*`, label counts must be equal. */
export function coversHostname(dnsNames: readonly string[], host: string): boolean {
    const hostParts = host.toLowerCase().replace(/\.$/, "").split(".");
    return dnsNames.some((pattern) => {
        const parts = pattern.toLowerCase().split(".");
        return parts.length === hostParts.length && parts.every((part, i) => (i === 0 && part === "*") || part === hostParts[i]);
    });
}

/** One builder set's names: its Service and headless Service in every DNS form, and its pods by wildcard. */
export function builderSetCertificateNames(set: { service: string; headless: string }, namespace: string = BUILDKIT_NAMESPACE): string[] {
    return [...serviceDnsForms(set.service, namespace), ...serviceDnsForms(set.headless, namespace), ...podWildcards(set.headless, namespace)];
}

/**
 * Subject alternative names of the server certificate: the client Service and the headless Service
 * in every DNS form, every pod of the set through a wildcard on the headless Service
 * ({@link podWildcards}: no replica count, so scaling re-issues nothing), and loopback for
 * `kubectl port-forward` debugging. With native arm64 builders their set is added, so one server
 * certificate serves both sets. A client can only verify a name that is covered here.
 */
export function serverCertificateNames(arm64: boolean = false, names: TierNames = tierNames(SHARED_TIER)): { dnsNames: string[]; ipAddresses: string[] } {
    const sets = [
        { service: names.statefulSet, headless: names.headless },
        ...(arm64 ? [{ service: names.arm64.statefulSet, headless: names.arm64.headless }] : []),
    ];
    return {
        dnsNames: [...sets.flatMap((set) => builderSetCertificateNames(set)), "localhost"],
        ipAddresses: ["127.0.0.1", "::1"],
    };
}
