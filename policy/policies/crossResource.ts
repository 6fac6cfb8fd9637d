import { StackValidationPolicy } from "@pulumi/policy";
import { Check, policyFromCheck, stackRule } from "../lib/adapt";
import { Rule, clientRule, daemonRule, exposureRule, isolationRule } from "../lib/rules";
import { runnerRule } from "../lib/runners";

/** The rules and the resource policy each one belongs to, for the message prefix. */
export const STACK_RULES: { name: string; rule: Rule }[] = [
    { name: "buildkitd-tcp-requires-mtls", rule: daemonRule },
    { name: "buildkit-client-requires-tls", rule: clientRule },
    { name: "buildkit-not-exposed", rule: exposureRule },
    { name: "runner-pods-unprivileged-no-dind", rule: runnerRule },
    { name: "buildkitd-isolates-build-steps", rule: isolationRule },
];

/**
 * The mandatory stack policy: only the violations that need more than one resource (a daemon and the
 * ConfigMap or Secret holding its config or script, a client and the ConfigMap its address comes from, a
 * Service and the BuildKit pods it selects, an Ingress or route and that Service). Everything decidable
 * from one resource is reported by the resource policies, before that resource is created.
 */
export const crossResourceCheck: Check = {
    scope: "stack",
    run: (resources) =>
        STACK_RULES.flatMap(({ name, rule }) =>
            stackRule(rule, resources)
                .filter((f) => f.verdict === "violation" && f.crossed)
                .map((f) => ({ ...f, message: `[${name}] ${f.message}` })),
        ),
};

export const crossResourcePolicy = policyFromCheck(
    {
        name: "buildkit-cross-resource-checks",
        description:
            "The BuildKit rules above where the answer needs several resources: a buildkitd whose config, script or environment comes from " +
            "a ConfigMap or Secret declared separately, a client whose address comes from one, a Service selecting BuildKit pods, and an " +
            "Ingress, route or ServicePatch reaching such a Service. Fix the resources it names as the matching rule's message says.",
        enforcementLevel: "mandatory",
    },
    crossResourceCheck,
) as StackValidationPolicy;
