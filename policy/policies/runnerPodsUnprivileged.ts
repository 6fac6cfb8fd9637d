import { Check, policyFromCheck, resourceCheck } from "../lib/adapt";
import { RUNNER_FIX, runnerRule } from "../lib/runners";

/** Policy 5. */
export const runnerPodsUnprivilegedCheck: Check = resourceCheck(runnerRule);

export const runnerPodsUnprivileged = policyFromCheck(
    {
        name: "runner-pods-unprivileged-no-dind",
        description:
            "GitHub Actions runner pods (gha-runner-scale-set values, ARC resources, legacy ARC RunnerDeployment/RunnerSet, and other " +
            "self-hosted runner deployments) must not be privileged and must not use Docker-in-Docker. " +
            RUNNER_FIX,
        enforcementLevel: "mandatory",
    },
    runnerPodsUnprivilegedCheck,
);
