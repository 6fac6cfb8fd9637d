import { Check, policyFromCheck, resourceCheck } from "../lib/adapt";
import { CLIENT_FIX } from "../lib/clientTls";
import { clientRule } from "../lib/rules";

/** Policy 3: clients (pod templates of any workload, and pod specs inside Helm values such as ARC's runner template). */
export const buildkitClientRequiresTlsCheck: Check = resourceCheck(clientRule);

export const buildkitClientRequiresTls = policyFromCheck(
    {
        name: "buildkit-client-requires-tls",
        description:
            "A container that points a BuildKit client at a tcp:// address (BUILDKIT_HOST, *_BUILDKIT_ADDR, BUILDX_* or similar env vars " +
            "from any source, DOCKER_HOST, buildctl --addr, or docker buildx create --driver remote in scripts) must carry a CA, a client " +
            "certificate and a client key. " +
            CLIENT_FIX,
        enforcementLevel: "mandatory",
    },
    buildkitClientRequiresTlsCheck,
);
