import { Check, policyFromCheck, resourceCheck } from "../lib/adapt";
import { EXPOSURE_FIX } from "../lib/exposure";
import { exposureRule } from "../lib/rules";

/** Policy 4: what one resource shows (a BuildKit-named or port-1234 Service, route or tcp-services entry, hostPort). */
export const buildkitNotExposedCheck: Check = resourceCheck(exposureRule);

export const buildkitNotExposed = policyFromCheck(
    {
        name: "buildkit-not-exposed",
        description:
            "BuildKit's port must not be reachable from outside the cluster: no LoadBalancer or NodePort Service (or externalIPs, or a " +
            "ServicePatch turning one into that), no Ingress, Gateway API route, Traefik IngressRouteTCP or ingress-nginx tcp-services entry " +
            "that reaches BuildKit, and no hostPort or hostNetwork on buildkitd. " +
            EXPOSURE_FIX,
        enforcementLevel: "mandatory",
    },
    buildkitNotExposedCheck,
);
