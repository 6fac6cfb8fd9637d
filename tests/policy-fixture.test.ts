import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { DeclaredResource } from "../policy/run";
import { REPO_ROOT, runStack } from "./harness/program";

/**
 * The policy pack's own tests check the pack against "the program's objects"
 * (policy/tests/fixtures/program.json). That file is generated from the program, not written by hand
 * (a hand-kept copy drifted: an old chart version, deprecated GC keys): this test fails when it is
 * stale. Regenerate after a change to the declared resources:
 *     UPDATE_POLICY_FIXTURE=1 npx mocha tests/policy-fixture.test.ts
 * Deterministic fake certificates (tests/harness/mocks.ts), so it is byte-identical across runs; the
 * root test tests/policy-pack.test.ts runs the pack over the real-certificate resources.
 */
export const POLICY_FIXTURE = path.join(REPO_ROOT, "policy", "tests", "fixtures", "program.json");

async function programResources(): Promise<Record<"local" | "aks", DeclaredResource[]>> {
    const stacks = {} as Record<"local" | "aks", DeclaredResource[]>;
    for (const stack of ["local", "aks"] as const) {
        const run = await runStack(stack, () => {}, { realTls: false });
        stacks[stack] = run.resources.map(({ type, name, urn, props }) => ({ type, name, urn, props: JSON.parse(JSON.stringify(props)) }));
    }
    return stacks;
}

describe("the policy pack's fixture of the program's objects", () => {
    it("is the program's declared resources, as the pack sees them", async () => {
        const now = await programResources();
        if (process.env.UPDATE_POLICY_FIXTURE === "1") {
            fs.writeFileSync(POLICY_FIXTURE, JSON.stringify(now, null, 1) + "\n");
        }
        const committed = JSON.parse(fs.readFileSync(POLICY_FIXTURE, "utf8"));
        assert.deepStrictEqual(committed, now, "policy/tests/fixtures/program.json is stale: regenerate it (see this file's comment)");
    });
});
