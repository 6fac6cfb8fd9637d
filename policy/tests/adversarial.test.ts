import { strict as assert } from "assert";
import { PolicyViolation, runPolicies } from "../run";
import { allCases, verdict } from "./fixtures/judge";

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
        it(`${c.expect === "flag" ? "flags" : c.expect === "pass" ? "passes" : "survives"} ${c.id}${c.author ? ` (${c.author})` : ""}`, async function () {
            // The 6,000-resource case needs more than mocha's default while `npm test` runs every part in parallel.
            this.timeout(60000);
            const started = Date.now();
            const violations: PolicyViolation[] = await runPolicies(c.resources);
            assert.ok(Date.now() - started < 30000, `${c.id} took ${Date.now() - started} ms for all policies`);
            assert.ok(!violations.some((v) => v.message.includes("could not evaluate")), JSON.stringify(violations));
            const problem = verdict(
                c,
                violations.filter((v) => v.enforcementLevel === "mandatory"),
            );
            assert.equal(problem, undefined, `${c.id}: ${c.why}\n${problem}`);
            if ("quiet" in c && c.quiet) {
                assert.deepEqual(violations, [], `${c.id}: expected no finding at all`);
            }
            if (c.note) {
                assert.ok(
                    violations.some((v) => v.policyName === "buildkit-unverifiable-values"),
                    `${c.id}: expected an advisory note, got ${JSON.stringify(violations)}`,
                );
            }
        });
    }
});
