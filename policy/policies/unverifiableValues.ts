import { StackValidationPolicy } from "@pulumi/policy";
import { Check, plainResource, runCheck } from "../lib/adapt";

/**
 * The advisory companion of the mandatory policies: whatever they could not judge (values unknown during
 * preview, ConfigMaps defined outside this stack, unparsable text without a tcp:// address) is reported
 * here, so it is visible without blocking a preview that `pulumi up` will re-check with real values.
 */
export function unverifiableValuesPolicy(checks: { name: string; check: Check }[]): StackValidationPolicy {
    return {
        name: "buildkit-unverifiable-values",
        description:
            "Reports BuildKit-related values the mandatory policies could not judge (unknown during preview, defined outside this stack, " +
            "or unparsable). Make the value known (a plain string rather than another resource's output) or declare the ConfigMap in this " +
            "stack, so the mandatory policies can check it; `pulumi up` re-checks values that become known.",
        enforcementLevel: "advisory",
        validateStack: (args, reportViolation) => {
            const resources = Array.from(Array.isArray(args.resources) ? args.resources : []).map(plainResource);
            for (const { name, check } of checks) {
                for (const finding of runCheck(check, name, resources).filter((f) => f.verdict === "unverifiable")) {
                    const message = `[${name}] ${finding.message}`;
                    if (finding.urn === undefined) {
                        reportViolation(message);
                    } else {
                        reportViolation(message, finding.urn);
                    }
                }
            }
        },
    };
}
