import { StackValidationPolicy } from "@pulumi/policy";
import { Check, preparedResource, readingNotes, runCheck, stackRule } from "../lib/adapt";
import { Finding } from "../lib/findings";
import { Rule } from "../lib/rules";

/**
 * The advisory companion of the mandatory policies: whatever they could not judge over the whole stack
 * (values unknown during preview, ConfigMaps defined outside this stack, unreadable scripts, files or
 * charts, unparsable text without a tcp:// address, input over budget) is reported here, so it is
 * visible without blocking a preview that `pulumi up` will re-check with real values.
 */
export function unverifiableValuesPolicy(rules: { name: string; rule: Rule }[]): StackValidationPolicy {
    const check: Check = {
        scope: "stack",
        run: (resources) => {
            const findings: Finding[] = readingNotes(resources).map((f) => ({ ...f, message: `[reading] ${f.message}` }));
            for (const { name, rule } of rules) {
                findings.push(
                    ...stackRule(rule, resources)
                        .filter((f) => f.verdict === "unverifiable")
                        .map((f) => ({ ...f, message: `[${name}] ${f.message}` })),
                );
            }
            return findings;
        },
    };
    return {
        name: "buildkit-unverifiable-values",
        description:
            "Reports BuildKit-related values the mandatory policies could not judge (unknown during preview, defined outside this stack, " +
            "unreadable, or unparsable). Make the value known (a plain string rather than another resource's output) or declare the ConfigMap in this " +
            "stack, so the mandatory policies can check it; `pulumi up` re-checks values that become known.",
        enforcementLevel: "advisory",
        validateStack: async (args, reportViolation) => {
            const list = Array.from(Array.isArray(args?.resources) ? args.resources : []);
            const resources = [];
            for (const r of list) {
                resources.push(await preparedResource(r));
            }
            const seen = new Set<string>();
            for (const finding of runCheck(check, "buildkit-unverifiable-values", resources)) {
                const key = `${finding.urn}|${finding.message}`;
                if (seen.has(key)) {
                    continue;
                }
                seen.add(key);
                if (finding.urn === undefined) {
                    reportViolation(finding.message);
                } else {
                    reportViolation(finding.message, finding.urn);
                }
            }
        },
    };
}
