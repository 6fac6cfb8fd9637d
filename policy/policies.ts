import { Policies } from "@pulumi/policy";
import { buildkitClientRequiresTls } from "./policies/buildkitClientRequiresTls";
import { buildkitdConfigRequiresTls } from "./policies/buildkitdConfigRequiresTls";
import { buildkitdTcpRequiresMtls } from "./policies/buildkitdTcpRequiresMtls";
import { buildkitNotExposed } from "./policies/buildkitNotExposed";
import { buildkitdIsolatesBuildSteps } from "./policies/buildkitdIsolatesBuildSteps";
import { STACK_RULES, crossResourcePolicy } from "./policies/crossResource";
import { imagesPinnedByDigest } from "./policies/imagesPinnedByDigest";
import { runnerPodsUnprivileged } from "./policies/runnerPodsUnprivileged";
import { unverifiableValuesPolicy } from "./policies/unverifiableValues";
import { configRule } from "./lib/rules";

/**
 * Every policy of the pack. `index.ts` builds the PolicyPack from this list; tests run it through
 * `./run.ts` (which runs policies the way the engine does, without one).
 * The six mandatory rules are resource policies, so `pulumi up` stops before creating a resource that
 * breaks one on its own; `buildkit-cross-resource-checks` is the one stack policy for what needs several
 * resources; `buildkit-unverifiable-values` reports what nobody could judge.
 */
export const policies: Policies = [
    buildkitdTcpRequiresMtls,
    buildkitdConfigRequiresTls,
    buildkitClientRequiresTls,
    buildkitNotExposed,
    runnerPodsUnprivileged,
    buildkitdIsolatesBuildSteps,
    imagesPinnedByDigest,
    crossResourcePolicy,
    unverifiableValuesPolicy([...STACK_RULES, { name: buildkitdConfigRequiresTls.name, rule: configRule }]),
];
