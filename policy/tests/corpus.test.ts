import { strict as assert } from "assert";
import { PolicyViolation, runPolicies } from "../run";
import { FIX_HINTS, plaintextCorpus } from "./fixtures/plaintextCorpus";
import { tlsCorpus } from "./fixtures/tlsCorpus";

const KINDS_COVERED = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ConfigMap", "Service", "Ingress", "Release", "Chart"];

/**
 * Violations that need several resources are reported by the stack policy `buildkit-cross-resource-checks`,
 * prefixed with the rule they break (`[buildkitd-tcp-requires-mtls] ...`); they count for that rule here.
 */
function attributed(v: PolicyViolation): PolicyViolation {
    const match = v.policyName === "buildkit-cross-resource-checks" ? /^\[([a-z-]+)\] ([\s\S]*)$/.exec(v.message) : null;
    return match ? { ...v, policyName: match[1], message: match[2] } : v;
}

describe("plaintext and exposed variants", () => {
    it("has at least 25 variants covering every workload kind, ConfigMaps, Services, Ingresses and Helm", () => {
        assert.ok(plaintextCorpus.length >= 25, `only ${plaintextCorpus.length} variants`);
        const types = plaintextCorpus.flatMap((c) => c.resources.map((r) => r.type)).join(" ");
        for (const kind of KINDS_COVERED) {
            assert.match(types, new RegExp(`:${kind}\\b`), `no variant of kind ${kind}`);
        }
    });

    for (const variant of plaintextCorpus) {
        it(`${variant.policy} reports: ${variant.title}`, async () => {
            const violations = (await runPolicies(variant.resources)).map(attributed);
            const mine = violations.filter((v) => v.policyName === variant.policy);
            assert.ok(mine.length > 0, `${variant.policy} reported nothing; got ${JSON.stringify(violations, null, 1)}`);
            const matching = mine.find((v) => variant.says.every((fragment) => v.message.includes(fragment)));
            assert.ok(matching, `no ${variant.policy} message contains ${JSON.stringify(variant.says)}:\n${mine.map((v) => v.message).join("\n")}`);
            assert.ok(matching.message.includes(FIX_HINTS[variant.policy]), `message does not say how to fix it: ${matching.message}`);
            assert.ok(matching.urn?.startsWith("urn:pulumi:"), "violation is not attached to a resource");
            const mandatory = new Set(violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.policyName));
            const expected = new Set(variant.policy.includes("digest") ? [] : [variant.policy, ...(variant.alsoBy ?? [])]);
            assert.deepEqual([...mandatory].sort(), [...expected].sort(), "unexpected set of mandatory policies");
        });
    }
});

describe("valid TLS variants (no false positives)", () => {
    for (const variant of tlsCorpus) {
        it(`passes: ${variant.title}`, async () => {
            const violations = await runPolicies(variant.resources);
            assert.deepEqual(
                violations.filter((v) => v.enforcementLevel === "mandatory"),
                [],
            );
        });
    }
});
