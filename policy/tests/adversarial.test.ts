import { strict as assert } from "assert";
import { PolicyViolation, runPolicies } from "../policies";
import { AdversarialCase, adversarialCorpus } from "./fixtures/adversarialCorpus";
import { redteamCorpus } from "./fixtures/redteamCorpus";

/** A cross-resource report counts for the rule it names (`[rule] message`). */
export function ruleOf(v: { policyName: string; message: string }): string {
    const match = v.policyName === "buildkit-cross-resource-checks" ? /^\[([a-z-]+)\]/.exec(v.message) : null;
    return match ? match[1] : v.policyName;
}

export const allCases: AdversarialCase[] = [...adversarialCorpus, ...redteamCorpus];

export function verdict(c: AdversarialCase, mandatory: { policyName: string; message: string }[]): string | undefined {
    if (c.expect === "no-crash") {
        return undefined;
    }
    if (c.expect === "pass") {
        return mandatory.length === 0 ? undefined : `expected no mandatory violation, got:\n${mandatory.map((v) => `${v.policyName}: ${v.message}`).join("\n")}`;
    }
    if (mandatory.length === 0) {
        return "expected a mandatory violation, got none";
    }
    if (c.rule && !mandatory.some((v) => ruleOf(v) === c.rule)) {
        return `expected a violation of ${c.rule}, got:\n${mandatory.map((v) => `${v.policyName}: ${v.message}`).join("\n")}`;
    }
    return undefined;
}

describe("adversarial corpus through runPolicies", () => {
    it("has at least 100 cases, about half flagged and half passing, each saying why it matters", () => {
        const flagged = allCases.filter((c) => c.expect === "flag").length;
        const passing = allCases.filter((c) => c.expect === "pass").length;
        assert.ok(allCases.length >= 100, `${allCases.length} cases`);
        assert.ok(flagged >= allCases.length * 0.4 && passing >= allCases.length * 0.4, `${flagged} flagged, ${passing} passing`);
        assert.equal(new Set(allCases.map((c) => c.id)).size, allCases.length, "case ids are unique");
        for (const c of allCases) {
            assert.ok(c.why.length > 20, `${c.id} does not say why it matters`);
        }
    });

    for (const c of allCases) {
        it(`${c.expect === "flag" ? "flags" : c.expect === "pass" ? "passes" : "survives"} ${c.id}${c.author ? ` (${c.author})` : ""}`, async () => {
            const started = Date.now();
            const violations: PolicyViolation[] = await runPolicies(c.resources);
            assert.ok(Date.now() - started < 2000 * 8, `${c.id} took ${Date.now() - started} ms for all ${8} policies`);
            assert.ok(!violations.some((v) => v.message.includes("could not evaluate")), JSON.stringify(violations));
            const problem = verdict(c, violations.filter((v) => v.enforcementLevel === "mandatory"));
            assert.equal(problem, undefined, `${c.id}: ${c.why}\n${problem}`);
            if (c.note) {
                assert.ok(violations.some((v) => v.policyName === "buildkit-unverifiable-values"), `${c.id}: expected an advisory note, got ${JSON.stringify(violations)}`);
            }
        });
    }
});
