// Resource options that decide what a second `up` does: replacement, delete order, identity. Asserted
// on the registrations the engine would receive (tests/harness/registrations.ts).
import * as assert from "assert";
import { clusterIdentifier } from "../components/cluster/identity";
import { poolDrainTimeoutMinutes } from "../components/cluster/node-pool";
import { PROBE_JOB_LIFECYCLE } from "../components/probe";
import { reveal, runStack, stackSettings } from "./harness/program";
import { Registration, recordRegistrations } from "./harness/registrations";
import { setConfigPath } from "./harness/config-edit";

async function registrations(stack: string, edit: (c: Record<string, string>) => void = () => {}): Promise<Registration[]> {
    let recorded: Registration[] = [];
    await runStack(stack, (c) => {
        edit(c);
        recorded = recordRegistrations();
    });
    return recorded;
}

describe("a stable cluster identity on every Kubernetes provider", () => {
    it("is derived from config only: the AKS resource group and name, or the k3d kube context", () => {
        assert.strictEqual(clusterIdentifier(stackSettings("aks").cluster), "aks/rg-ameide-ci/aks-ameide-ci");
        assert.strictEqual(clusterIdentifier(stackSettings("local").cluster), "k3d/k3d-buildkit");
    });

    for (const [stack, name, id] of [
        ["aks", "aks", "aks/rg-ameide-ci/aks-ameide-ci"],
        ["local", "k3d", "k3d/k3d-buildkit"],
    ]) {
        it(`${stack}: the provider carries clusterIdentifier ${id}, and every Kubernetes resource uses that provider`, async () => {
            const recorded = await registrations(stack);
            const providers = recorded.filter((x) => x.type === "pulumi:providers:kubernetes");
            assert.deepStrictEqual(
                providers.map((p) => [p.name, reveal(p.inputs).clusterIdentifier]),
                [[name, id]],
            );
            // ConfigMaps and Secrets are updated in place (never deleted, then created, under a fixed name).
            const inputs = reveal(providers[0].inputs);
            for (const flag of ["enableServerSideApply", "enableConfigMapMutable", "enableSecretMutable"]) {
                assert.strictEqual(String(inputs[flag]), "true", flag);
            }
            for (const r of recorded.filter((x) => x.custom && x.type.startsWith("kubernetes:"))) {
                assert.ok(r.provider.startsWith(providers[0].urn), `${r.type} ${r.name} uses ${r.provider}`);
            }
        });
    }

    it("does not change with the credentials: a different kubeconfig on the same cluster keeps the identifier", async () => {
        const other = await registrations("aks", setConfigPath("cluster", ["kubelogin", "login"], "workloadidentity"));
        const provider = other.find((x) => x.type === "pulumi:providers:kubernetes")!;
        assert.strictEqual(reveal(provider.inputs).clusterIdentifier, "aks/rg-ameide-ci/aks-ameide-ci");
    });
});

describe("the probe Job is replaced, never updated, after a failure", () => {
    it("declares replaceOnChanges * (init errors become a replacement) and delete-before-replace (same name)", async () => {
        assert.deepStrictEqual(PROBE_JOB_LIFECYCLE, { replaceOnChanges: ["*"], deleteBeforeReplace: true });
        for (const stack of ["aks", "local"]) {
            const job = (await registrations(stack)).find((x) => x.type === "kubernetes:batch/v1:Job")!;
            assert.deepStrictEqual(job.replaceOnChanges, ["*"], stack);
            assert.strictEqual(job.deleteBeforeReplace, true, stack);
        }
    });
});

describe("node pools: a rename is blue/green", () => {
    it("the AgentPool is replaced create-first, and the builders select their pool by name", async () => {
        const recorded = await registrations("aks");
        const pool = recorded.find((x) => x.type === "azure-native:containerservice:AgentPool" && x.name === "buildkit")!;
        assert.strictEqual(pool.deleteBeforeReplace, false);
        assert.deepStrictEqual(pool.ignoreChanges, ["count"]);
        const sts = recorded.find((x) => x.type === "kubernetes:apps/v1:StatefulSet" && x.name === "buildkitd")!;
        assert.strictEqual(reveal(sts.inputs).spec.template.spec.nodeSelector["kubernetes.azure.com/agentpool"], "buildkit");
        assert.ok(sts.dependencies.includes(pool.urn), "the builders move only after the new pool exists");

        const renamed = await registrations("aks", setConfigPath("cluster", ["pool", "name"], "buildkit2"));
        const sts2 = renamed.find((x) => x.type === "kubernetes:apps/v1:StatefulSet" && x.name === "buildkitd")!;
        assert.strictEqual(reveal(sts2.inputs).spec.template.spec.nodeSelector["kubernetes.azure.com/agentpool"], "buildkit2");
        const pool2 = renamed.find((x) => x.type === "azure-native:containerservice:AgentPool" && x.name === "buildkit")!;
        assert.strictEqual(pool2.urn, pool.urn, "same resource, so a replacement (create first), not a new one beside the old");
        assert.strictEqual(reveal(pool2.inputs).agentPoolName, "buildkit2");
    });
});

describe("node pool upgrades wait for the builders' drain", () => {
    it("the drain limit covers every builder of the set in turn, within AKS's 30 to 1440 minutes", () => {
        assert.strictEqual(poolDrainTimeoutMinutes({ replicas: 2, drainTimeoutSeconds: 900 }), Math.ceil((2 * 1532) / 60));
        assert.strictEqual(poolDrainTimeoutMinutes({ replicas: 1, drainTimeoutSeconds: 60 }), 30);
        assert.strictEqual(poolDrainTimeoutMinutes({ replicas: 20, drainTimeoutSeconds: 86400 }), 1440);
    });

    it("aks: the pool's upgradeSettings carry it", async () => {
        const recorded = await registrations("aks");
        const pool = recorded.find((x) => x.type === "azure-native:containerservice:AgentPool" && x.name === "buildkit")!;
        assert.deepStrictEqual(reveal(pool.inputs).upgradeSettings, { drainTimeoutInMinutes: 52 });
    });
});
