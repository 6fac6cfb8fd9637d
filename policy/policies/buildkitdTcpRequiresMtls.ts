import { Check, policyFromCheck, resourceCheck } from "../lib/adapt";
import { DAEMON_FIX } from "../lib/buildkitd";
import { daemonRule } from "../lib/rules";

/**
 * Policy 1, a resource policy: whatever one resource shows on its own (its flags, scripts, the ConfigMaps
 * of the same ConfigGroup, a BuildKit chart's values) is decided before that resource is created. A daemon
 * whose config, script or environment lives in another resource is judged by `buildkit-cross-resource-checks`.
 */
export const buildkitdTcpRequiresMtlsCheck: Check = resourceCheck(daemonRule, true);

export const buildkitdTcpRequiresMtls = policyFromCheck(
    {
        name: "buildkitd-tcp-requires-mtls",
        description:
            "A BuildKit daemon (any container that ends up running buildkitd, whatever its image, in any workload, ARC resource, " +
            "ConfigGroup or Helm values, or a BuildKit Helm chart) that listens on tcp:// must require mutual TLS. " +
            DAEMON_FIX,
        enforcementLevel: "mandatory",
    },
    buildkitdTcpRequiresMtlsCheck,
);
