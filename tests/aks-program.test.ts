import * as assert from "assert";
import { ConfigError } from "../config";
import { allEdits, editConfig, setConfigPath } from "./harness/config-edit";
import { disruptionBudget } from "../components/buildkit/workload";
import { coversHostname, serverCertificateNames } from "../components/pki/names";
import { isSecretInput, kubernetesObjects, ProgramRun, reveal, runStack, valueOf } from "./harness/program";
import { runStoppedByPreflight } from "./harness/failed-run";
import { Registration, recordRegistrations } from "./harness/registrations";

const AGENT_POOL = "azure-native:containerservice:AgentPool";
const K8S_PROVIDER = "pulumi:providers:kubernetes";
const POOL_TOLERATION = { key: "ameide.io/pool", operator: "Equal", value: "buildkit", effect: "NoSchedule" };

/**
 * Runs a stack with `arc-buildkit:cluster` edited, and records every registration's options. These
 * tests are about the shared tier's pools and builders, so the stack's further tiers are dropped;
 * tests/tiers.test.ts covers them (and what they must never share with the shared tier).
 */
async function run(stack: string, editCluster: (cluster: any) => void = () => {}): Promise<ProgramRun & { registrations: Registration[] }> {
    let registrations: Registration[] = [];
    const result = await runStack(stack, (config) => {
        registrations = recordRegistrations();
        delete config["arc-buildkit:tiers"];
        editConfig("cluster", editCluster)(config);
    });
    return { ...result, registrations };
}

const withArm64 = (cluster: any) => (cluster.arm64.enabled = true);

function providerUrn(r: ProgramRun, name: string): string {
    const provider = r.resources.filter((x) => x.type === K8S_PROVIDER && x.name === name);
    assert.strictEqual(provider.length, 1);
    return `urn:pulumi:${name === "aks" ? "aks" : "local"}::arc-buildkit::${K8S_PROVIDER}::${name}`;
}

function podSpec(r: ProgramRun, kind: string, name: string): any {
    const found = kubernetesObjects(r).filter((x) => x.type.endsWith(`:${kind}`) && x.name === name);
    assert.strictEqual(found.length, 1, `${kind}/${name}`);
    return reveal(found[0].inputs).spec.template.spec;
}

/** Every pod template the stack declares, by `Kind/name`. */
function podTemplates(r: ProgramRun): Map<string, any> {
    const result = new Map<string, any>();
    for (const res of kubernetesObjects(r)) {
        const spec = reveal(res.inputs).spec;
        if (spec?.template?.spec) {
            result.set(`${res.type.split(":").pop()}/${res.name}`, spec.template.spec);
        }
    }
    return result;
}

describe("program: aks stack", () => {
    it("adds one BuildKit AgentPool to the configured cluster with the inputs from config", async () => {
        const r = await run("aks");
        const pools = r.resources.filter((x) => x.type === AGENT_POOL);
        assert.strictEqual(pools.length, 1);
        const inputs = reveal(pools[0].inputs);
        assert.strictEqual(inputs.resourceGroupName, "rg-ameide-ci");
        assert.strictEqual(inputs.resourceName, "aks-ameide-ci");
        assert.strictEqual(inputs.agentPoolName, "buildkit");
        assert.strictEqual(inputs.mode, "User");
        assert.strictEqual(inputs.osSKU, "AzureLinux");
        assert.strictEqual(inputs.vmSize, "Standard_D8ds_v5");
        assert.deepStrictEqual(inputs.availabilityZones, ["1", "2", "3"]);
        assert.strictEqual(inputs.enableAutoScaling, true);
        assert.deepStrictEqual([inputs.minCount, inputs.maxCount, inputs.maxPods, inputs.osDiskSizeGB, inputs.osDiskType], [1, 3, 30, 128, "Ephemeral"]);
        assert.deepStrictEqual(inputs.nodeLabels, { "ameide.io/pool": "buildkit" });
        assert.deepStrictEqual(inputs.nodeTaints, ["ameide.io/pool=buildkit:NoSchedule"]);
        assert.strictEqual(pools[0].provider, "", "Azure resources use the default azure-native provider");
    });

    it("ignores the autoscaler's count drift, so a second up is a no-op", async () => {
        const r = await run("aks");
        const pool = r.registrations.filter((x) => x.type === AGENT_POOL);
        assert.deepStrictEqual(
            pool.map((p) => p.ignoreChanges),
            [["count"]],
        );
    });

    it("deploys every Kubernetes resource through the aks provider", async () => {
        const r = await run("aks");
        const urn = providerUrn(r, "aks");
        const k8s = r.resources.filter((x) => x.type.startsWith("kubernetes:"));
        assert.ok(k8s.length >= 12, `only ${k8s.length} Kubernetes resources`);
        for (const res of k8s) {
            assert.ok(res.provider.startsWith(`${urn}::`), `${res.type}/${res.name} uses ${res.provider || "the default provider"}`);
        }
        assert.deepStrictEqual(
            r.resources.filter((x) => x.type === K8S_PROVIDER).map((x) => x.name),
            ["aks"],
        );
    });

    it("builds the provider from the cluster's user credentials, as a secret, logging in with the configured kubelogin mode", async () => {
        const r = await run("aks");
        const provider = r.resources.find((x) => x.type === K8S_PROVIDER)!;
        assert.ok(isSecretInput(provider.inputs.kubeconfig), "the kubeconfig must reach the engine as a secret");
        const kubeconfig = String(reveal(provider.inputs.kubeconfig));
        assert.match(kubeconfig, /server: https:\/\/mock-aks\.invalid:443/);
        assert.match(kubeconfig, /- get-token\n\s+- '--login'\n\s+- azurecli\n/);
        assert.ok(!kubeconfig.includes("devicecode"));
        const credentials = r.calls.filter((c) => c.token === "azure-native:containerservice:listManagedClusterUserCredentials");
        assert.deepStrictEqual(
            credentials.map((c) => c.inputs),
            [{ resourceGroupName: "rg-ameide-ci", resourceName: "aks-ameide-ci", format: "exec" }],
        );
    });

    it("asks for the plain user kubeconfig on a local-accounts cluster with kubelogin none", async () => {
        const r = await run("aks", (c) => {
            c.clusterName = "aks-calico-local";
            c.kubelogin = { login: "none" };
        });
        const credentials = r.calls.filter((c) => c.token === "azure-native:containerservice:listManagedClusterUserCredentials");
        assert.deepStrictEqual(
            credentials.map((c) => c.inputs),
            [{ resourceGroupName: "rg-ameide-ci", resourceName: "aks-calico-local" }],
        );
        assert.match(reveal(r.resources.find((x) => x.type === K8S_PROVIDER)!.inputs.kubeconfig), /token: mock-token/);
    });

    it("schedules the builders on the BuildKit pool (x86-64), binfmt on every BuildKit pool node, and nothing else tolerates the taint", async () => {
        const r = await run("aks");
        const builders = podSpec(r, "StatefulSet", "buildkitd");
        assert.deepStrictEqual(builders.nodeSelector, {
            "ameide.io/pool": "buildkit",
            "kubernetes.io/arch": "amd64",
            "kubernetes.azure.com/agentpool": "buildkit",
        });
        assert.deepStrictEqual(builders.tolerations, [POOL_TOLERATION]);
        const binfmt = podSpec(r, "DaemonSet", "binfmt");
        assert.deepStrictEqual(binfmt.nodeSelector, { "ameide.io/pool": "buildkit" });
        assert.deepStrictEqual(binfmt.tolerations, [POOL_TOLERATION]);
        const tolerating = [...podTemplates(r)].filter(([, spec]) => (spec.tolerations ?? []).some((t: any) => t.key === "ameide.io/pool")).map(([k]) => k);
        assert.deepStrictEqual(tolerating.sort(), ["DaemonSet/binfmt", "StatefulSet/buildkitd"]);
    });

    it("makes the BuildKit workloads wait for the node pool", async () => {
        const r = await run("aks", withArm64);
        const poolUrns = r.registrations.filter((x) => x.type === AGENT_POOL).map((x) => x.urn);
        assert.strictEqual(poolUrns.length, 2);
        for (const name of ["buildkitd", "buildkitd-arm64", "binfmt"]) {
            const workload = r.registrations.find((x) => x.name === name && /StatefulSet|DaemonSet/.test(x.type))!;
            for (const urn of poolUrns) {
                assert.ok(workload.dependencies.includes(urn), `${name} does not wait for ${urn}`);
            }
        }
    });

    it("with the arm64 pool: a second tainted pool and native arm64 builders behind their own Service", async () => {
        const r = await run("aks", withArm64);
        const pools = r.resources.filter((x) => x.type === AGENT_POOL).map((x) => reveal(x.inputs));
        assert.deepStrictEqual(
            pools.map((p) => [p.agentPoolName, p.vmSize]),
            [
                ["buildkit", "Standard_D8ds_v5"],
                ["buildkitarm", "Standard_D8pds_v5"],
            ],
        );
        assert.deepStrictEqual(pools[1].nodeLabels, { "ameide.io/pool": "buildkit", "ameide.io/arch": "arm64" });
        assert.deepStrictEqual(pools[1].nodeTaints, ["ameide.io/pool=buildkit:NoSchedule"]);

        const arm = podSpec(r, "StatefulSet", "buildkitd-arm64");
        assert.deepStrictEqual(arm.nodeSelector, {
            "ameide.io/pool": "buildkit",
            "kubernetes.io/arch": "arm64",
            "kubernetes.azure.com/agentpool": "buildkitarm",
        });
        assert.deepStrictEqual(arm.tolerations, [POOL_TOLERATION]);
        assert.deepStrictEqual(podSpec(r, "StatefulSet", "buildkitd").nodeSelector["kubernetes.io/arch"], "amd64");

        const objects = kubernetesObjects(r).map((x) => ({ kind: x.type.split(":").pop(), name: x.name, inputs: reveal(x.inputs) }));
        const service = (name: string) => objects.find((o) => o.kind === "Service" && o.name === name)!.inputs.spec;
        // The contract Service keeps selecting only the contract-labelled (x86-64) builders.
        assert.deepStrictEqual(service("buildkitd").selector, { "app.kubernetes.io/name": "buildkitd", "ameide.io/tier": "shared" });
        assert.deepStrictEqual(service("buildkitd-arm64").selector, { "app.kubernetes.io/name": "buildkitd-arm64", "ameide.io/tier": "shared" });
        assert.deepStrictEqual(service("buildkitd-arm64").ports, [{ name: "grpc", port: 1234, targetPort: "grpc", protocol: "TCP" }]);
        const armSts = objects.find((o) => o.kind === "StatefulSet" && o.name === "buildkitd-arm64")!.inputs.spec;
        assert.strictEqual(armSts.serviceName, "buildkitd-arm64-headless");
        assert.deepStrictEqual(armSts.template.metadata.labels, { "app.kubernetes.io/name": "buildkitd-arm64", "ameide.io/tier": "shared" });
        const policy = objects.find((o) => o.kind === "NetworkPolicy" && o.name === "buildkitd-arm64")!.inputs.spec;
        assert.deepStrictEqual(policy.podSelector, { matchLabels: { "app.kubernetes.io/name": "buildkitd-arm64" } });
        const armToml: string = objects.find((o) => o.kind === "ConfigMap" && o.name === "buildkitd-arm64-config")!.inputs.data["buildkitd.toml"];
        assert.match(armToml, /platforms = \[ "linux\/arm64", "linux\/amd64" \]/);
        assert.match(armToml, /\[grpc\.tls\]/);

        const tolerating = [...podTemplates(r)].filter(([, spec]) => (spec.tolerations ?? []).some((t: any) => t.key === "ameide.io/pool")).map(([k]) => k);
        assert.deepStrictEqual(tolerating.sort(), ["DaemonSet/binfmt", "StatefulSet/buildkitd", "StatefulSet/buildkitd-arm64"]);

        assert.strictEqual(await valueOf(r.outputs.arm64Endpoint), "tcp://buildkitd-arm64.buildkit.svc.cluster.local:1234");
        assert.ok((await valueOf(r.outputs.podEndpoints)).includes("tcp://buildkitd-arm64-0.buildkitd-arm64-headless.buildkit.svc.cluster.local:1234"));
        const serverCsr = reveal(r.resources.find((x) => x.type === "tls:index/certRequest:CertRequest" && x.name === "buildkit-server")!.inputs);
        assert.ok(serverCsr.dnsNames.includes("buildkitd-arm64.buildkit.svc.cluster.local"));
        assert.ok(coversHostname(serverCsr.dnsNames, "buildkitd-arm64-0.buildkitd-arm64-headless.buildkit.svc.cluster.local"));
    });

    it("with the arm64 pool: runners get the arm64 Service and builders for select-buildkit, GitHub gets AMEIDE_BUILDKIT_ARM64_ADDR", async () => {
        const r = await run("aks", (cluster) => {
            withArm64(cluster);
            cluster.arm64.replicas = 2;
        });
        const release = r.resources.find((x) => x.type === "kubernetes:helm.sh/v3:Release" && x.name === "arc-aks-v2")!;
        const runner = reveal(release.inputs).values.template.spec.containers.find((c: any) => c.name === "runner");
        const env = Object.fromEntries(runner.env.map((e: any) => [e.name, e.value]));
        assert.strictEqual(env.AMEIDE_BUILDKIT_ARM64_ADDR, "tcp://buildkitd-arm64.buildkit.svc.cluster.local:1234");
        assert.strictEqual(env.AMEIDE_BUILDKIT_ARM64_TLS_SERVERNAME, "buildkitd-arm64.buildkit.svc.cluster.local");
        assert.strictEqual(
            env.AMEIDE_BUILDKIT_ARM64_BUILDERS,
            "buildkitd-arm64-0.buildkitd-arm64-headless.buildkit.svc.cluster.local buildkitd-arm64-1.buildkitd-arm64-headless.buildkit.svc.cluster.local",
        );
        // The contract variables keep naming the x86-64 Service.
        assert.strictEqual(env.AMEIDE_BUILDKIT_ADDR, "tcp://buildkitd.buildkit.svc.cluster.local:1234");
        const variable = r.resources.find(
            (x) => x.type === "github:index/actionsOrganizationVariable:ActionsOrganizationVariable" && x.name === "AMEIDE_BUILDKIT_ARM64_ADDR",
        );
        assert.ok(variable, "organization variable AMEIDE_BUILDKIT_ARM64_ADDR");
        assert.strictEqual(variable.inputs.variableName, "AMEIDE_BUILDKIT_ARM64_ADDR");
        assert.strictEqual(variable.inputs.value, "tcp://buildkitd-arm64.buildkit.svc.cluster.local:1234");
        assert.strictEqual(variable.inputs.visibility, "private");
        // Every arm64 pod name the selector dials is in the server certificate.
        const serverCsr = reveal(r.resources.find((x) => x.type === "tls:index/certRequest:CertRequest" && x.name === "buildkit-server")!.inputs);
        for (const host of env.AMEIDE_BUILDKIT_ARM64_BUILDERS.split(" ")) assert.ok(coversHostname(serverCsr.dnsNames, host), host);
    });

    // The arm64 set has its own replica count: every object of a set must take that set's count, never
    // the x86-64 one (equal counts would hide the mix-up, so these differ both ways).
    // At least 2 per set on aks (config validation), so 3/2 and 2/4.
    for (const [amd64, arm64] of [
        [3, 2],
        [2, 4],
    ]) {
        it(`with ${amd64} x86-64 and ${arm64} arm64 builders: each set's StatefulSet, budget, pod endpoints, runner list, certificate and probe use its own count`, async () => {
            const r = await runStack(
                "aks",
                allEdits(
                    editConfig("cluster", (cluster) => {
                        withArm64(cluster);
                        cluster.arm64.replicas = arm64;
                    }),
                    setConfigPath("buildkit", ["replicas"], amd64),
                ),
            );
            const counts = { buildkitd: amd64, "buildkitd-arm64": arm64 };
            const objects = kubernetesObjects(r).map((x) => ({ kind: x.type.split(":").pop(), name: x.name, inputs: reveal(x.inputs) }));
            const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.name === name)!.inputs;
            const podEndpoints: string[] = await valueOf(r.outputs.podEndpoints);
            const release = r.resources.find((x) => x.type === "kubernetes:helm.sh/v3:Release" && x.name === "arc-aks-v2")!;
            const runner = reveal(release.inputs).values.template.spec.containers.find((c: any) => c.name === "runner");
            const env = Object.fromEntries(runner.env.map((e: any) => [e.name, e.value]));
            const runnerLists = { buildkitd: env.AMEIDE_BUILDKIT_BUILDERS, "buildkitd-arm64": env.AMEIDE_BUILDKIT_ARM64_BUILDERS };
            const serverCsr = reveal(r.resources.find((x) => x.type === "tls:index/certRequest:CertRequest" && x.name === "buildkit-server")!.inputs);
            const probeJob = JSON.stringify(objects.find((o) => o.kind === "Job")!.inputs);
            for (const [set, n] of Object.entries(counts)) {
                const pods = Array.from({ length: n }, (_, i) => `${set}-${i}.${set}-headless.buildkit.svc.cluster.local`);
                const beyond = `${set}-${n}.${set}-headless.buildkit.svc.cluster.local`;
                assert.strictEqual(find("StatefulSet", set).spec.replicas, n, `${set} replicas`);
                assert.deepStrictEqual(
                    Object.fromEntries(Object.entries(find("PodDisruptionBudget", set).spec).filter(([k]) => k !== "selector")),
                    disruptionBudget(),
                    `${set} disruption budget`,
                );
                assert.deepStrictEqual(
                    podEndpoints.filter((e) => e.startsWith(`tcp://${set}-`) && e.includes(`.${set}-headless.`)),
                    pods.map((p) => `tcp://${p}:1234`),
                    `${set} pod endpoints`,
                );
                assert.strictEqual(runnerLists[set as keyof typeof runnerLists], pods.join(" "), `${set} builders in the runner pods`);
                for (const pod of pods) {
                    assert.ok(coversHostname(serverCsr.dnsNames, pod), `${pod} in the server certificate`);
                    assert.ok(probeJob.includes(`tcp://${pod}:1234`), `the probe dials ${pod}`);
                }
                // The certificate names no pod: the wildcard covers any count, so scaling re-issues nothing.
                assert.deepStrictEqual(serverCsr.dnsNames, serverCertificateNames(true).dnsNames);
                assert.ok(!probeJob.includes(beyond), `the probe does not dial ${beyond}`);
            }
        });
    }

    it("without the arm64 pool: no arm64 objects, the binfmt emulation path stays", async () => {
        const r = await run("aks");
        assert.ok(!r.resources.some((x) => x.name.includes("arm64")));
        assert.strictEqual(await valueOf(r.outputs.arm64Endpoint), undefined);
        assert.ok(!r.resources.some((x) => x.name === "AMEIDE_BUILDKIT_ARM64_ADDR"), "no arm64 organization variable");
        const release = r.resources.find((x) => x.type === "kubernetes:helm.sh/v3:Release" && x.name === "arc-aks-v2")!;
        const runnerEnv = reveal(release.inputs).values.template.spec.containers[0].env.map((e: any) => e.name);
        assert.ok(!runnerEnv.some((name: string) => name.includes("ARM64")), runnerEnv.join(", "));
        assert.ok(kubernetesObjects(r).some((x) => x.type === "kubernetes:apps/v1:DaemonSet" && x.name === "binfmt"));
    });

    it("warns when the cluster has no NetworkPolicy engine and networkPolicyEngine is warn", async () => {
        const warnings: string[] = [];
        const original = console.warn;
        console.warn = (msg: string) => warnings.push(String(msg));
        try {
            const r = await run("aks", (c) => {
                c.clusterName = "aks-no-policy";
                c.kubelogin = { login: "none" };
                c.networkPolicyEngine = "warn";
            });
            assert.strictEqual(r.resources.filter((x) => x.type === AGENT_POOL).length, 1);
        } finally {
            console.warn = original;
        }
        assert.strictEqual(warnings.filter((w) => w.includes("has no NetworkPolicy engine")).length, 1, warnings.join("\n"));
    });

    it("rejects a bad pool config before declaring anything", async () => {
        await assert.rejects(
            run("aks", (c) => {
                c.pool.name = "BuildKit-Pool";
                c.pool.minCount = 5;
            }),
            (err: unknown) => err instanceof ConfigError && /arc-buildkit:cluster\.pool\.name/.test(err.message),
        );
    });
});

describe("program: aks stack, NetworkPolicy engine required but missing", () => {
    // The preflight stops the run inside an Output, as in a real `up` (tests/harness/failed-run.ts).
    it("stops with the reason and adds no node pool", async () => {
        const { seen, unexpected, registered } = await runStoppedByPreflight(
            { clusterName: "aks-no-policy", networkPolicyEngine: "require" },
            "has no NetworkPolicy engine",
        );
        assert.deepStrictEqual(unexpected, []);
        assert.ok(seen.length > 0, "the deployment did not fail");
        assert.match(seen[0], /AKS cluster rg-ameide-ci\/aks-no-policy has no NetworkPolicy engine \(networkPolicy=none/);
        assert.match(seen[0], /"require", so nothing was deployed/);
        assert.deepStrictEqual(
            registered.filter((t) => t.startsWith("azure-native:") || t.startsWith("kubernetes:")),
            [],
        );
    });
});

describe("program: local stack", () => {
    it("declares no Azure resource and makes no Azure call", async () => {
        const r = await runStack("local");
        assert.deepStrictEqual(
            r.resources.filter((x) => x.type.startsWith("azure-native:") || x.type === "pulumi:providers:azure-native"),
            [],
        );
        assert.deepStrictEqual(
            r.calls.filter((c) => c.token.startsWith("azure-native:")),
            [],
        );
    });

    it("deploys every Kubernetes resource through the provider on the configured kube context, builders anywhere", async () => {
        const r = await runStack("local");
        const provider = r.resources.filter((x) => x.type === K8S_PROVIDER);
        assert.deepStrictEqual(
            provider.map((p) => [p.name, p.inputs.context]),
            [["k3d", "k3d-buildkit"]],
        );
        const urn = providerUrn(r, "k3d");
        for (const res of r.resources.filter((x) => x.type.startsWith("kubernetes:"))) {
            assert.ok(res.provider.startsWith(`${urn}::`), `${res.type}/${res.name}`);
        }
        const builders = podSpec(r, "StatefulSet", "buildkitd");
        assert.strictEqual(builders.nodeSelector, undefined);
        assert.strictEqual(builders.tolerations, undefined);
    });
});
