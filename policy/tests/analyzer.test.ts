import { strict as assert } from "assert";
import { isUnsetNetworkNote, predatesBridgeNetworking, programResources } from "./fixtures/program";
import { ENDPOINT, configMap, workload, buildkitd } from "./fixtures/build";
import { Engine, engine } from "./harness/engine";

const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

// The pack exactly as the Pulumi engine runs it during `pulumi preview --policy-pack policy`: index.ts
// in its own process, over gRPC. Every case of the adversarial corpus goes the same way
// (adversarial.test.ts); these are the program's own stacks and the protocol's particular cases.
describe("the pack as the Pulumi engine runs it (index.ts over gRPC)", () => {
    let pack: Engine;

    before(async function () {
        this.timeout(60000);
        pack = await engine();
    });

    const analyze: Engine["analyze"] = (resources) => pack.analyze(resources);

    for (const stack of ["local", "aks"] as const) {
        it(`reports nothing for the program's '${stack}' stack`, async () => {
            const diagnostics = await analyze(programResources(stack));
            const allowed = predatesBridgeNetworking(stack) ? diagnostics.filter((d) => !d.mandatory && isUnsetNetworkNote(d.message)) : [];
            assert.deepEqual(diagnostics, allowed);
        });
    }

    it("blocks a plaintext daemon (stack policy) and a plaintext client (resource policy)", async () => {
        const diagnostics = await analyze([
            configMap("plain", { "buildkitd.toml": '[grpc]\naddress = ["tcp://0.0.0.0:1234"]\n' }),
            workload("StatefulSet", "bk", {
                containers: [buildkitd(["--config", "/etc/buildkit/buildkitd.toml"], { volumeMounts: [{ name: "c", mountPath: "/etc/buildkit" }] })],
                volumes: [{ name: "c", configMap: { name: "plain" } }],
            }),
            workload(
                "Deployment",
                "ci",
                { containers: [{ name: "ci", image: "ci:1", env: [{ name: "BUILDKIT_HOST", value: ENDPOINT }] }] },
                { app: "ci" },
                "ci",
            ),
        ]);
        const mandatory = diagnostics
            .filter((d) => d.mandatory)
            .map((d) => d.policy)
            .sort();
        // The daemon's plaintext listener comes from a separate ConfigMap, so the stack policy reports it for its rule.
        assert.deepEqual(mandatory, ["buildkit-client-requires-tls", "buildkit-cross-resource-checks", "buildkitd-config-tcp-requires-tls"]);
        assert.ok(
            diagnostics.some((d) => d.policy === "buildkit-cross-resource-checks" && d.message.includes("\n[buildkitd-tcp-requires-mtls] StatefulSet 'bk'")),
            JSON.stringify(diagnostics),
        );
    });

    it("turns preview unknowns into an advisory note instead of an error or a block", async () => {
        const diagnostics = await analyze([
            workload(
                "Deployment",
                "ci",
                { containers: [{ name: "ci", image: "ci:1", env: [{ name: "BUILDKIT_HOST", value: UNKNOWN_STRING }] }] },
                { app: "ci" },
                "ci",
            ),
        ]);
        assert.deepEqual(
            diagnostics.filter((d) => d.mandatory),
            [],
        );
        assert.ok(
            diagnostics.some((d) => d.policy === "buildkit-unverifiable-values" && d.message.includes("unknown during preview")),
            JSON.stringify(diagnostics),
        );
    });
});
