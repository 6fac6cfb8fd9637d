import * as assert from "assert";
import { runPolicies } from "../policy/policies";
import { ProgramRun, reveal, runStack } from "./harness/program";

/** The program's declared resources, as the policy engine sees them during `pulumi preview`. */
function asPolicyResources(run: ProgramRun) {
    return run.resources.map((r) => ({ type: r.type, name: r.name, urn: `urn:pulumi:test::arc-buildkit::${r.type}::${r.name}`, props: reveal(r.inputs) }));
}

describe("policy pack against the program's own stacks", () => {
    for (const stack of ["local", "aks"]) {
        it(`reports nothing, advisory included, for every resource of ${stack}`, async () => {
            const run = await runStack(stack);
            const violations = await runPolicies(asPolicyResources(run));
            assert.deepStrictEqual(violations, []);
        });
    }

    it("would block this program if its listener lost the client CA", async () => {
        const run = await runStack("aks");
        const resources = asPolicyResources(run).map((r) =>
            r.type === "kubernetes:core/v1:ConfigMap"
                ? { ...r, props: { ...r.props, data: { "buildkitd.toml": r.props.data["buildkitd.toml"].replace(/^ca = .*$/m, "") } } }
                : r,
        );
        const violations = (await runPolicies(resources)).filter((v) => v.enforcementLevel === "mandatory");
        const mandatory = violations.map((v) => v.policyName);
        // The StatefulSet reads its listener from the separate ConfigMap: the stack policy reports it under rule 1.
        assert.ok(violations.some((v) => v.policyName === "buildkit-cross-resource-checks" && v.message.startsWith("[buildkitd-tcp-requires-mtls]")), mandatory.join(", "));
        assert.ok(mandatory.includes("buildkitd-config-tcp-requires-tls"), mandatory.join(", "));
    });
});
