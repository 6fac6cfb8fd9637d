import { Check, policyFromCheck, resourceCheck } from "../lib/adapt";
import { ISOLATION_FIX } from "../lib/isolation";
import { isolationRule } from "../lib/rules";

/** Policy 7 (issue 20): a build step is a sandbox. */
export const buildkitdIsolatesBuildStepsCheck: Check = resourceCheck(isolationRule);

export const buildkitdIsolatesBuildSteps = policyFromCheck(
    {
        name: "buildkitd-isolates-build-steps",
        description:
            'A rootful buildkitd must not run build steps on the host network (networkMode/--oci-worker-net "host"), and a buildkitd ' +
            "other pods reach over TCP must grant no insecure entitlements and keep its process sandbox. " +
            ISOLATION_FIX,
        enforcementLevel: "mandatory",
    },
    buildkitdIsolatesBuildStepsCheck,
);
