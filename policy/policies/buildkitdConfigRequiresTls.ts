import { Check, policyFromCheck, resourceCheck } from "../lib/adapt";
import { CONFIG_FIX, configRule } from "../lib/rules";

/** Policy 2: every buildkitd.toml in a ConfigMap or Secret (any key), judged on its own, whoever mounts it. */
export const buildkitdConfigRequiresTlsCheck: Check = resourceCheck(configRule);

export const buildkitdConfigRequiresTls = policyFromCheck(
    {
        name: "buildkitd-config-tcp-requires-tls",
        description:
            "A buildkitd.toml in a ConfigMap or Secret (under any key) whose [grpc] address includes tcp:// must enable TLS with a client CA. " + CONFIG_FIX,
        enforcementLevel: "mandatory",
    },
    buildkitdConfigRequiresTlsCheck,
);
