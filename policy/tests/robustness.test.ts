import { strict as assert } from "assert";
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { policies } from "../policies";
import { DeclaredResource, runPolicies } from "../run";
import { ENDPOINT, TLS_FLAGS, buildkitd, configMap, resource, runnerRelease, service, workload } from "./fixtures/build";

// What the engine sends for values not known during preview (see @pulumi/policy's proxy).
const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const UNKNOWN_ARRAY = "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2";
const UNKNOWN_OBJECT = "dd056dcd-154b-4c76-9bd3-c8f88648b5ff";

async function levels(resources: DeclaredResource[]) {
    const violations = await runPolicies(resources);
    return {
        mandatory: violations.filter((v) => v.enforcementLevel === "mandatory"),
        unjudged: violations.filter((v) => v.policyName === "buildkit-unverifiable-values").map((v) => v.message),
        all: violations,
    };
}

describe("values unknown during preview", () => {
    const cases: { title: string; resources: DeclaredResource[]; says: string }[] = [
        {
            title: "BUILDKIT_HOST computed from another resource",
            resources: [workload("Deployment", "ci", { containers: [{ name: "ci", image: "ci:1", env: [{ name: "BUILDKIT_HOST", value: UNKNOWN_STRING }] }] })],
            says: "[buildkit-client-requires-tls] Deployment 'ci' container 'ci': env BUILDKIT_HOST is unknown during preview",
        },
        {
            title: "a ConfigMap whose data is computed",
            resources: [resource("ConfigMap", "cfg", { metadata: { name: "cfg" }, data: UNKNOWN_OBJECT })],
            says: "[buildkitd-config-tcp-requires-tls] ConfigMap 'cfg' key '*' is unknown during preview",
        },
        {
            title: "a BuildKit workload whose containers are computed",
            resources: [workload("StatefulSet", "buildkitd", { containers: UNKNOWN_ARRAY })],
            says: "StatefulSet 'buildkitd' has containers that are unknown during preview",
        },
        {
            title: "buildkitd with a computed argument",
            resources: [workload("Deployment", "bk", { containers: [buildkitd(["--addr", UNKNOWN_STRING])] })],
            says: "runs buildkitd with arguments that are unknown during preview",
        },
        {
            title: "a Service selecting BuildKit with a computed type",
            resources: [service("bk", { type: UNKNOWN_STRING, selector: { app: "buildkitd" } })],
            says: "its type is unknown during preview",
        },
        {
            title: "a runner Release with computed values",
            resources: [resource("Release", "arc-runners", { chart: "gha-runner-scale-set", values: UNKNOWN_OBJECT })],
            says: "has values that are unknown during preview",
        },
        {
            title: "a workload mounting a ConfigMap whose name is computed",
            resources: [
                workload("Deployment", "bk", {
                    containers: [buildkitd([], { volumeMounts: [{ name: "c", mountPath: "/etc/buildkit" }] })],
                    volumes: [{ name: "c", configMap: { name: UNKNOWN_STRING } }],
                }),
            ],
            says: "whose name is unknown during preview",
        },
    ];
    for (const c of cases) {
        it(`says it cannot judge, without blocking: ${c.title}`, async () => {
            const { mandatory, unjudged } = await levels(c.resources);
            assert.deepEqual(mandatory, []);
            assert.ok(
                unjudged.some((m) => m.includes(c.says)),
                `expected "${c.says}" in ${JSON.stringify(unjudged, null, 1)}`,
            );
        });
    }

    it("accepts a TLS flag whose path is unknown (the flag is set, its file comes later)", async () => {
        const flags = ["--addr", "tcp://0.0.0.0:1234", "--tlscert", UNKNOWN_STRING, "--tlskey", "/t/k", "--tlscacert", "/t/ca", "--oci-worker-net=bridge"];
        const { all } = await levels([workload("Pod", "bk", { containers: [buildkitd(flags)] })]);
        assert.deepEqual(all, []);
    });

    it("still reports a definite violation next to an unknown value", async () => {
        const { mandatory } = await levels([
            workload("Pod", "bk", { nodeName: UNKNOWN_STRING, containers: [buildkitd(["--addr", "tcp://0.0.0.0:1234"], { workingDir: UNKNOWN_STRING })] }),
        ]);
        assert.deepEqual(
            mandatory.map((v) => v.policyName),
            ["buildkitd-tcp-requires-mtls"],
        );
    });

    it("treats pulumi Outputs handed over by a test like unknowns", async () => {
        const output = { __pulumiOutput: true };
        const { mandatory, unjudged } = await levels([
            workload("Deployment", "ci", { containers: [{ name: "ci", image: "ci:1", env: [{ name: "BUILDKIT_HOST", value: output }] }] }),
        ]);
        assert.deepEqual(mandatory, []);
        assert.equal(unjudged.length, 1);
    });
});

describe("things the pack cannot see or parse", () => {
    it("a ConfigMap from outside the stack is reported as unjudged, not as a violation", async () => {
        const { mandatory, unjudged } = await levels([
            workload("StatefulSet", "bk", {
                containers: [buildkitd(["--config", "/etc/buildkit/buildkitd.toml"], { volumeMounts: [{ name: "c", mountPath: "/etc/buildkit" }] })],
                volumes: [{ name: "c", configMap: { name: "made-elsewhere" } }],
            }),
        ]);
        assert.deepEqual(mandatory, []);
        assert.ok(
            unjudged.some((m) => m.includes("ConfigMap 'made-elsewhere'") && m.includes("not declared in this stack")),
            JSON.stringify(unjudged),
        );
    });

    it("flags that settle TLS do not block over an invisible ConfigMap, which is still noted (it may grant insecure entitlements)", async () => {
        const { mandatory, unjudged } = await levels([
            workload("StatefulSet", "bk", {
                containers: [
                    buildkitd(["--addr", "tcp://0.0.0.0:1234", ...TLS_FLAGS, "--oci-worker-net=bridge"], {
                        volumeMounts: [{ name: "c", mountPath: "/etc/buildkit" }],
                    }),
                ],
                volumes: [{ name: "c", configMap: { name: "made-elsewhere" } }],
            }),
        ]);
        assert.deepEqual(mandatory, []);
        assert.equal(unjudged.length, 1);
        assert.match(unjudged[0], /ConfigMap 'made-elsewhere', which is not declared in this stack/);
    });

    it("unparsable TOML without any tcp:// address is only noted", async () => {
        const { mandatory, unjudged } = await levels([configMap("broken", { "buildkitd.toml": "[grpc\nno closing bracket" })]);
        assert.deepEqual(mandatory, []);
        assert.ok(unjudged.some((m) => m.includes("does not parse as TOML")));
    });

    it("Helm values given as a YAML string are parsed and checked", async () => {
        const values = `template:\n  spec:\n    containers:\n      - name: runner\n        image: r:1\n        env:\n          - name: BUILDKIT_HOST\n            value: ${ENDPOINT}\n`;
        const { mandatory } = await levels([resource("Release", "yaml-values", { chart: "some-chart", values })]);
        assert.deepEqual(
            mandatory.map((v) => v.policyName),
            ["buildkit-client-requires-tls"],
        );
    });

    it("Helm values YAML that does not parse: a violation when it mentions tcp://, a note otherwise", async () => {
        const broken = await levels([resource("Release", "broken", { chart: "c", values: `env: [ BUILDKIT_HOST: ${ENDPOINT}\n  - : :` })]);
        assert.deepEqual(
            broken.mandatory.map((v) => v.policyName),
            ["buildkit-client-requires-tls"],
        );
        assert.match(broken.mandatory[0].message, /do not parse as YAML/);
        const harmless = await levels([resource("Release", "harmless", { chart: "c", values: "a: [1, 2\n b: }" })]);
        assert.deepEqual(harmless.mandatory, []);
        assert.ok(harmless.unjudged.some((m) => m.includes("do not parse as YAML")));
    });
});

describe("missing fields and odd types never crash a policy", () => {
    const odd: unknown[] = [undefined, null, 0, 42, "", "text", true, [], {}, [null, 3, "x"], { a: { b: [] } }, UNKNOWN_STRING, UNKNOWN_ARRAY, UNKNOWN_OBJECT];
    const types = [
        "kubernetes:core/v1:Pod",
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
        "kubernetes:apps/v1:ReplicaSet",
        "kubernetes:batch/v1:Job",
        "kubernetes:batch/v1:CronJob",
        "kubernetes:core/v1:ConfigMap",
        "kubernetes:core/v1:Service",
        "kubernetes:networking.k8s.io/v1:Ingress",
        "kubernetes:helm.sh/v3:Release",
        "kubernetes:helm.sh/v3:Chart",
        "kubernetes:helm.sh/v4:Chart",
        "kubernetes:actions.github.com/v1alpha1:AutoscalingRunnerSet",
        "random:index:Thing",
    ];
    const shapes = (value: unknown): Record<string, unknown>[] => [
        { spec: value, metadata: value, data: value, binaryData: value, values: value, chart: value },
        {
            spec: {
                template: { metadata: { labels: value }, spec: { containers: value, volumes: value } },
                selector: value,
                ports: value,
                rules: value,
                type: "LoadBalancer",
            },
        },
        {
            spec: {
                template: {
                    spec: {
                        containers: [
                            { name: value, image: value, command: value, args: value, env: value, volumeMounts: value, ports: value, securityContext: value },
                        ],
                        volumes: [value, { name: "v", configMap: value, projected: { sources: value } }],
                    },
                },
            },
        },
        {
            values: {
                containerMode: value,
                template: {
                    spec: {
                        containers: [
                            {
                                env: [
                                    { name: "BUILDKIT_HOST", value },
                                    { name: value, valueFrom: value },
                                ],
                            },
                        ],
                    },
                },
            },
        },
        { data: { "buildkitd.toml": value }, spec: { jobTemplate: value, rules: [{ http: { paths: [{ backend: value }] } }], defaultBackend: value } },
    ];

    it("through the engine's proxy, for every resource type and odd value", async () => {
        const resources: DeclaredResource[] = [];
        for (const type of types) {
            odd.forEach((value, i) =>
                shapes(value).forEach((props, j) => resources.push({ type, name: `r${i}-${j}`, urn: `urn:pulumi:t::p::${type}::r${i}-${j}`, props })),
            );
        }
        const violations = await runPolicies(resources);
        assert.ok(
            violations.every((v) => !v.message.includes("could not evaluate")),
            violations.find((v) => v.message.includes("could not evaluate"))?.message,
        );
    });

    it("when a test harness calls validateResource/validateStack directly with bare arguments", async () => {
        for (const policy of policies) {
            for (const value of odd) {
                for (const props of [...shapes(value), value as Record<string, unknown>]) {
                    const bare = { type: types[odd.indexOf(value) % types.length], name: "x", urn: "urn:x", props } as never;
                    const failures: string[] = [];
                    const report = (message: string) => failures.push(message);
                    if ("validateStack" in policy) {
                        await (policy as StackValidationPolicy).validateStack({ resources: [bare, undefined as never, {} as never] } as never, report);
                    } else {
                        await ((policy as ResourceValidationPolicy).validateResource as (a: unknown, r: unknown) => void)(bare, report);
                    }
                    assert.ok(
                        failures.every((m) => !m.includes("could not evaluate")),
                        failures.join("\n"),
                    );
                }
            }
        }
    });

    it("a runner Release and a BuildKit workload with nothing but their type still evaluate", async () => {
        const violations = await runPolicies([
            runnerRelease("empty", {}),
            workload("StatefulSet", "buildkitd", {}),
            resource("Service", "s", {}),
            resource("Ingress", "i", {}),
        ]);
        assert.deepEqual(
            violations.filter((v) => v.enforcementLevel === "mandatory"),
            [],
        );
    });
});

describe("wire-format values handed to runPolicies directly", () => {
    const SIG = "4dabf18193072939515e22adb298388d";
    it("reads secrets and known output values, and treats unknown outputs as unknown", async () => {
        const secretValue = { [SIG]: "1b47061264138c4ac30d75fd1eb44270", value: ENDPOINT };
        const plaintext = await runPolicies([
            workload(
                "Deployment",
                "ci",
                { containers: [{ name: "ci", image: "ci:1", env: [{ name: "BUILDKIT_HOST", value: secretValue }] }] },
                { app: "ci" },
                "ci",
            ),
        ]);
        assert.deepEqual(
            plaintext.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.policyName),
            ["buildkit-client-requires-tls"],
        );
        const unknownOutput = { [SIG]: "d0e6a833031e9bbcd3f4e8bde6ca49a4", known: false };
        const { mandatory, unjudged } = await levels([
            workload(
                "Deployment",
                "ci",
                { containers: [{ name: "ci", image: "ci:1", env: [{ name: "BUILDKIT_HOST", value: unknownOutput }] }] },
                { app: "ci" },
                "ci",
            ),
        ]);
        assert.deepEqual(mandatory, []);
        assert.ok(
            unjudged.some((m) => m.includes("unknown during preview")),
            JSON.stringify(unjudged),
        );
    });
});
