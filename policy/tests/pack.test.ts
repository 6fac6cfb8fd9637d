import { strict as assert } from "assert";
import { readFileSync } from "fs";
import { join } from "path";
import { policies } from "../policies";

describe("the pack's shape", () => {
    it("exports the seven required policies, the cross-resource stack policy and the advisory report of unjudged values", () => {
        assert.deepEqual(
            policies.map((p) => [p.name, p.enforcementLevel]),
            [
                ["buildkitd-tcp-requires-mtls", "mandatory"],
                ["buildkitd-config-tcp-requires-tls", "mandatory"],
                ["buildkit-client-requires-tls", "mandatory"],
                ["buildkit-not-exposed", "mandatory"],
                ["runner-pods-unprivileged-no-dind", "mandatory"],
                ["buildkitd-isolates-build-steps", "mandatory"],
                ["buildkit-and-runner-images-pinned-by-digest", "advisory"],
                ["buildkit-cross-resource-checks", "mandatory"],
                ["buildkit-unverifiable-values", "advisory"],
            ],
        );
    });

    it("describes every policy in whole sentences that say what to do", () => {
        for (const policy of policies) {
            assert.match(policy.description, /^[A-Z].*\.$/s, policy.name);
            assert.ok(policy.description.split(". ").length >= 2, `${policy.name}: the description should say how to fix a violation`);
        }
    });

    it("keeps index.ts to constructing the pack (so importing policies never starts the analyzer server)", () => {
        const index = readFileSync(join(__dirname, "..", "index.ts"), "utf8");
        assert.match(index, /new PolicyPack\(/);
        assert.match(index, /from "\.\/policies"/);
        assert.doesNotMatch(index, /validateResource|validateStack/);
    });
});
