import * as assert from "assert";
import { DeclaredStack, declaredStack, transitiveDependencies, Variant } from "./harness/declared";

/**
 * The orderings a real `pulumi up` needs, stated once and checked on the dependency graph the engine
 * receives (explicit dependsOn and references alike; see transitiveDependencies). Unlike the snapshot
 * in declared-resources.test.ts this cannot be regenerated away: deleting the probe's ordering, or
 * taking a Secret's name as a string instead of from the declared Secret, fails here.
 */
const REQUIRED: Record<string, string[]> = {
    // The probe runs what a runner runs: the client Secret mounted, the Services answering, the
    // NetworkPolicies (the default-deny alone would block it) and binfmt (platform builds) in place.
    "kubernetes:batch/v1:Job::buildkit-probe": [
        "kubernetes:core/v1:Secret::buildkitd-client-tls",
        "kubernetes:core/v1:Service::buildkitd",
        "kubernetes:core/v1:Service::buildkitd-headless",
        "kubernetes:apps/v1:StatefulSet::buildkitd",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy::buildkitd",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy::default-deny-ingress",
        "kubernetes:apps/v1:DaemonSet::binfmt",
    ],
    // Runner pods mount the client Secret and the selector ConfigMap; the set needs the CRDs and credentials.
    "kubernetes:helm.sh/v3:Release::<scale set>": [
        "kubernetes:core/v1:Secret::buildkitd-client-tls",
        "kubernetes:core/v1:ConfigMap::arc-buildkit-selector",
        "kubernetes:core/v1:Secret::arc-github-config",
        "kubernetes:helm.sh/v3:Release::arc",
    ],
    // buildkitd mounts its config and server Secret.
    "kubernetes:apps/v1:StatefulSet::buildkitd": [
        "kubernetes:core/v1:ConfigMap::buildkitd-config",
        "kubernetes:core/v1:Secret::buildkitd-server-tls",
        "kubernetes:core/v1:Namespace::buildkit",
    ],
    "kubernetes:core/v1:Secret::buildkitd-client-tls": ["kubernetes:core/v1:Namespace::arc-runners"],
    // The PodMonitor and the alert rules live in the builders' namespace (monitoring is on for aks).
    "kubernetes:monitoring.coreos.com/v1:PodMonitor::buildkit-podmonitor": ["kubernetes:core/v1:Namespace::buildkit"],
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule::buildkit-rules": ["kubernetes:core/v1:Namespace::buildkit"],
};

/** Stacks whose committed config turns monitoring on. */
const MONITORED: Variant[] = ["aks", "aks-arm64"];

const SCALE_SETS: Record<Variant, string[]> = { local: ["arc-local"], "local-without-credentials": [], aks: ["arc-aks-v2"], "aks-arm64": ["arc-aks-v2"] };

/** `type::name` of a URN (the last two parts, without the parent chain). */
const short = (urn: string) => {
    const [, , typeChain, name] = urn.split("::");
    return `${typeChain.split("$").pop()}::${name}`;
};

function urnOf(stack: DeclaredStack, typeAndName: string): string | undefined {
    const found = Object.keys(stack.resources).filter((urn) => short(urn) === typeAndName);
    assert.ok(found.length <= 1, `${typeAndName} declared ${found.length} times`);
    return found[0];
}

describe("wiring: what must exist before what", () => {
    for (const variant of ["local", "local-without-credentials", "aks", "aks-arm64"] as Variant[]) {
        describe(variant, () => {
            let stack: DeclaredStack;
            before(async () => {
                const { resources, outputs } = await declaredStack(variant);
                stack = { resources, outputs };
            });

            for (const [dependant, prerequisites] of Object.entries(REQUIRED)) {
                it(`${dependant} waits for ${prerequisites.map((p) => p.split("::")[1]).join(", ")}`, () => {
                    const dependants = dependant.includes("<scale set>")
                        ? SCALE_SETS[variant].map((name) => dependant.replace("<scale set>", name))
                        : [dependant];
                    for (const name of dependants) {
                        const urn = urnOf(stack, name);
                        if (urn === undefined) {
                            // Only where the stack declares it (no runners without credentials).
                            assert.ok(!(variant !== "local-without-credentials" && name.includes("Release")), `${name} missing`);
                            assert.ok(!(MONITORED.includes(variant) && name.includes("monitoring.coreos.com")), `${name} missing`);
                            continue;
                        }
                        const waitsFor = new Set([...transitiveDependencies(stack.resources, urn)].map(short));
                        const present = prerequisites.filter((p) => urnOf(stack, p) !== undefined);
                        assert.deepStrictEqual(
                            present.filter((p) => !waitsFor.has(p)),
                            [],
                            `${name} does not wait for these`,
                        );
                    }
                });
            }

            it("the probe Job and the scale sets exist where expected (the checks above are not vacuous)", () => {
                assert.ok(urnOf(stack, "kubernetes:batch/v1:Job::buildkit-probe"));
                for (const name of SCALE_SETS[variant]) {
                    assert.ok(urnOf(stack, `kubernetes:helm.sh/v3:Release::${name}`));
                }
            });

            it("pods name the Secrets and ConfigMaps that are declared (by reference, so never a stale name)", () => {
                const byShort = (typeAndName: string) => stack.resources[urnOf(stack, typeAndName)!];
                const sts = byShort("kubernetes:apps/v1:StatefulSet::buildkitd").inputs;
                const volumes = sts.spec.template.spec.volumes;
                assert.strictEqual(
                    volumes.find((v: any) => v.name === "server-tls").secret.secretName,
                    byShort("kubernetes:core/v1:Secret::buildkitd-server-tls").inputs.metadata.name,
                );
                assert.strictEqual(
                    volumes.find((v: any) => v.name === "config").configMap.name,
                    byShort("kubernetes:core/v1:ConfigMap::buildkitd-config").inputs.metadata.name,
                );
                const clientSecret = byShort("kubernetes:core/v1:Secret::buildkitd-client-tls").inputs.metadata.name;
                const job = byShort("kubernetes:batch/v1:Job::buildkit-probe").inputs;
                assert.strictEqual(job.spec.template.spec.volumes.find((v: any) => v.secret).secret.secretName, clientSecret);
                for (const name of SCALE_SETS[variant]) {
                    const values = byShort(`kubernetes:helm.sh/v3:Release::${name}`).inputs.values;
                    const podVolumes = values.template.spec.volumes;
                    assert.strictEqual(podVolumes.find((v: any) => v.secret).secret.secretName, clientSecret);
                    assert.strictEqual(
                        podVolumes.find((v: any) => v.configMap).configMap.name,
                        byShort("kubernetes:core/v1:ConfigMap::arc-buildkit-selector").inputs.metadata.name,
                    );
                    assert.strictEqual(values.githubConfigSecret, byShort("kubernetes:core/v1:Secret::arc-github-config").inputs.metadata.name);
                }
            });
        });
    }
});
