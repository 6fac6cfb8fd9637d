import { strict as assert } from "assert";
import { policies } from "../policies";
import { runPolicies } from "../run";
import { isUnsetNetworkNote, predatesBridgeNetworking, programResources } from "./fixtures/program";

describe("the program's own stacks", () => {
    for (const stack of ["local", "aks"] as const) {
        it(`stack '${stack}': every policy passes, advisory ones included`, async () => {
            const violations = await runPolicies(programResources(stack));
            const allowed = predatesBridgeNetworking(stack) ? violations.filter((v) => v.enforcementLevel === "advisory" && isUnsetNetworkNote(v.message)) : [];
            assert.deepEqual(violations, allowed);
        });
    }

    it("would catch the program losing its client CA (the fixture is really checked)", async () => {
        const resources = programResources("local").map((r) =>
            r.name === "buildkitd-config"
                ? {
                      ...r,
                      props: {
                          ...r.props,
                          data: { "buildkitd.toml": String((r.props.data as Record<string, string>)["buildkitd.toml"]).replace(/^ca = .*$/m, "") },
                      },
                  }
                : r,
        );
        const names = (await runPolicies(resources))
            .filter((v) => !isUnsetNetworkNote(v.message))
            .map((v) => v.policyName)
            .sort();
        // The listener is in the ConfigMap the StatefulSet mounts: the ConfigMap's own policy and the stack policy (for rule 1) report it.
        assert.deepEqual(names, ["buildkit-cross-resource-checks", "buildkitd-config-tcp-requires-tls"]);
    });

    it("would catch the runner losing its client Secret volume", async () => {
        const resources = programResources("aks").map((r) => {
            if (r.type !== "kubernetes:helm.sh/v3:Release" || r.name === "arc") {
                return r;
            }
            const values = r.props.values as { template: { spec: Record<string, unknown> } };
            return { ...r, props: { ...r.props, values: { ...values, template: { spec: { ...values.template.spec, volumes: [] } } } } };
        });
        const names = (await runPolicies(resources)).filter((v) => !isUnsetNetworkNote(v.message)).map((v) => v.policyName);
        // One finding per runner scale set: the shared tier's and the protected tier's.
        assert.deepEqual(names, ["buildkit-client-requires-tls", "buildkit-client-requires-tls"]);
    });

    it("runs a subset of policies when given one", async () => {
        const onlyExposure = policies.filter((p) => p.name === "buildkit-not-exposed");
        assert.equal(onlyExposure.length, 1);
        assert.deepEqual(await runPolicies(programResources("local"), onlyExposure), []);
    });

    it("would catch the program setting the host network or dropping the process sandbox (issue 20)", async () => {
        for (const [from, to] of [
            // The program sets bridge networking; the breach is the mode turned to host.
            [/^networkMode = "bridge"$/m, 'networkMode = "host"'],
            [/^\[worker\.oci\]$/m, "[worker.oci]\nnoProcessSandbox = true"],
            [/^root = /m, 'insecure-entitlements = ["network.host"]\nroot = '],
        ] as const) {
            const resources = programResources("aks").map((r) =>
                r.name === "buildkitd-config"
                    ? {
                          ...r,
                          props: {
                              ...r.props,
                              data: { "buildkitd.toml": String((r.props.data as Record<string, string>)["buildkitd.toml"]).replace(from, to) },
                          },
                      }
                    : r,
            );
            const mandatory = (await runPolicies(resources)).filter((v) => v.enforcementLevel === "mandatory").map((v) => v.message);
            assert.ok(
                mandatory.some((m) => m.startsWith("[buildkitd-isolates-build-steps]")),
                `${to}: ${JSON.stringify(mandatory)}`,
            );
        }
    });
});
