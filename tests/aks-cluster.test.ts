import * as assert from "assert";
import * as yaml from "js-yaml";
import type { AksClusterSettings } from "../config/aks";
import { preflight } from "../components/cluster/aks";
import { applyKubeloginMode, kubeloginArgs, kubeloginUsers } from "../components/cluster/kubeconfig";
import { missingNetworkPolicyEngine, networkPolicyEngine } from "../components/cluster/network-policy";
import { agentPoolArgs, BUILDKIT_POOL_TAINT_SPEC, immutablePoolChanges } from "../components/cluster/node-pool";
import { BUILDKIT_POOL_PLACEMENT, builderPlacement } from "../components/cluster/placement";
import { coversHostname, serverCertificateNames } from "../components/pki/names";
import { MOCK_AKS_AAD_EXEC_KUBECONFIG, MOCK_AKS_KUBECONFIG } from "./harness/mocks";
import { parseWithCredentials, stackConfig } from "./harness/program";

function committedAks(): AksClusterSettings {
    const settings = parseWithCredentials(stackConfig("aks"), "aks");
    assert.ok(settings.cluster.kind === "aks");
    return settings.cluster;
}

const SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630";
const TENANT = "00000000-0000-0000-0000-00000000000a";
const SPN = "11111111-2222-3333-4444-555555555555";

describe("aks: node pool inputs", () => {
    it("declares a User, Azure Linux, autoscaled, labelled and tainted pool from config", () => {
        const cluster = committedAks();
        const args = agentPoolArgs({ resourceGroup: cluster.resourceGroup, clusterName: cluster.clusterName }, cluster.pool, "amd64");
        assert.deepStrictEqual(
            { ...args, tags: undefined },
            {
                resourceGroupName: "rg-ameide-ci",
                resourceName: "aks-ameide-ci",
                agentPoolName: "buildkit",
                mode: "User",
                type: "VirtualMachineScaleSets",
                osType: "Linux",
                osSKU: "AzureLinux",
                vmSize: "Standard_D8ds_v5",
                availabilityZones: ["1", "2", "3"],
                enableAutoScaling: true,
                minCount: 1,
                maxCount: 3,
                count: 1,
                maxPods: 30,
                osDiskSizeGB: 128,
                osDiskType: "Ephemeral",
                nodeLabels: { "ameide.io/pool": "buildkit" },
                nodeTaints: ["ameide.io/pool=buildkit:NoSchedule"],
                tags: undefined,
            },
        );
        assert.strictEqual(BUILDKIT_POOL_TAINT_SPEC, "ameide.io/pool=buildkit:NoSchedule");
    });

    it("adds the arch label on the arm64 pool, omits zones for a regional pool, starts a scale-to-zero pool at one node", () => {
        const cluster = committedAks();
        const args = agentPoolArgs({ resourceGroup: "rg", clusterName: "c" }, { ...cluster.arm64!, zones: [], minCount: 0 }, "arm64");
        assert.deepStrictEqual(args.nodeLabels, { "ameide.io/pool": "buildkit", "ameide.io/arch": "arm64" });
        assert.deepStrictEqual(args.nodeTaints, ["ameide.io/pool=buildkit:NoSchedule"]);
        assert.strictEqual(args.vmSize, "Standard_D8pds_v5");
        assert.ok(!("availabilityZones" in args));
        assert.strictEqual(args.minCount, 0);
        assert.strictEqual(args.count, 1);
    });

    it("pins a pool to its zones, a single zone too (zones cannot change once AKS has created the pool)", () => {
        const cluster = committedAks();
        for (const zones of [["2"], ["1", "3"], ["1", "2", "3"]] as ("1" | "2" | "3")[][]) {
            const args = agentPoolArgs({ resourceGroup: "rg", clusterName: "c" }, { ...cluster.pool, zones }, "amd64");
            assert.deepStrictEqual(args.availabilityZones, zones);
        }
    });
});

describe("aks: placement", () => {
    it("pins builders to the BuildKit pool and their architecture, binfmt to every BuildKit pool node", () => {
        const toleration = { key: "ameide.io/pool", operator: "Equal", value: "buildkit", effect: "NoSchedule" };
        assert.deepStrictEqual(builderPlacement("amd64"), {
            nodeSelector: { "ameide.io/pool": "buildkit", "kubernetes.io/arch": "amd64" },
            tolerations: [toleration],
        });
        assert.deepStrictEqual(builderPlacement("arm64").nodeSelector, { "ameide.io/pool": "buildkit", "kubernetes.io/arch": "arm64" });
        assert.deepStrictEqual(BUILDKIT_POOL_PLACEMENT, { nodeSelector: { "ameide.io/pool": "buildkit" }, tolerations: [toleration] });
        // On AKS the builders also select their pool by name, so a renamed pool (blue/green) rolls them onto it.
        assert.deepStrictEqual(builderPlacement("amd64", "buildkit2").nodeSelector, {
            "ameide.io/pool": "buildkit",
            "kubernetes.io/arch": "amd64",
            "kubernetes.azure.com/agentpool": "buildkit2",
        });
    });

    it("puts the arm64 Service and pods into the server certificate only when arm64 builders exist", () => {
        const without = serverCertificateNames(false).dnsNames;
        const withArm = serverCertificateNames(true).dnsNames;
        assert.ok(!without.some((n) => n.includes("arm64")));
        for (const name of [
            "buildkitd-arm64.buildkit.svc.cluster.local",
            "buildkitd-arm64-headless.buildkit.svc",
            "buildkitd-arm64-0.buildkitd-arm64-headless.buildkit.svc.cluster.local",
            "buildkitd-arm64-1.buildkitd-arm64-headless",
        ]) {
            assert.ok(coversHostname(withArm, name), name);
            assert.ok(!coversHostname(without, name), name);
        }
        assert.ok(!withArm.some((n) => /arm64-[0-9]/.test(n)), "pods by wildcard, not by name");
        assert.deepStrictEqual(
            withArm.filter((n) => !n.includes("arm64")),
            without,
        );
    });
});

describe("aks: NetworkPolicy engine", () => {
    it("recognises Azure, Calico and Cilium (policy or dataplane) and nothing else", () => {
        assert.strictEqual(networkPolicyEngine({ networkPolicy: "azure" }), "azure");
        assert.strictEqual(networkPolicyEngine({ networkPolicy: "calico" }), "calico");
        assert.strictEqual(networkPolicyEngine({ networkPolicy: "cilium", networkDataplane: "cilium" }), "cilium");
        assert.strictEqual(networkPolicyEngine({ networkDataplane: "cilium" }), "cilium");
        assert.strictEqual(networkPolicyEngine({ networkPolicy: "none" }), undefined);
        assert.strictEqual(networkPolicyEngine({}), undefined);
        assert.strictEqual(networkPolicyEngine(undefined), undefined);
        assert.match(
            missingNetworkPolicyEngine("rg/c", { networkPolicy: "none" })!,
            /^AKS cluster rg\/c has no NetworkPolicy engine \(networkPolicy=none, networkDataplane=unset\)/,
        );
        assert.strictEqual(missingNetworkPolicyEngine("rg/c", { networkPolicy: "calico" }), undefined);
    });

    it("warns in warn mode, fails in require mode, passes with an engine", () => {
        const cluster = committedAks();
        const none = { networkProfile: { networkPolicy: "none" } };
        const warnings = preflight({ ...cluster, networkPolicyEngine: "warn" }, none);
        assert.strictEqual(warnings.length, 1);
        assert.match(warnings[0], /no NetworkPolicy engine.*Set arc-buildkit:cluster\.networkPolicyEngine to "require"/);
        assert.throws(() => preflight({ ...cluster, networkPolicyEngine: "require" }, none), /no NetworkPolicy engine.*"require", so nothing was deployed/);
        assert.deepStrictEqual(preflight({ ...cluster, networkPolicyEngine: "require" }, { networkProfile: { networkPolicy: "azure" } }), []);
    });

    it("fails an Entra ID cluster without a kubelogin mode", () => {
        const cluster = committedAks();
        assert.throws(
            () => preflight({ ...cluster, kubelogin: { login: "none" } }, { aadProfile: { managed: true }, networkProfile: { networkPolicy: "azure" } }),
            /uses Microsoft Entra ID authentication.*kubelogin\.login to azurecli, workloadidentity or spn/,
        );
    });
});

describe("aks: kubelogin", () => {
    const aksArgs = [
        "get-token",
        "--environment",
        "AzurePublicCloud",
        "--server-id",
        SERVER_ID,
        "--client-id",
        "80faf920-1908-4b52-b5ef-a8e7bedfc67a",
        "--tenant-id",
        TENANT,
        "--login",
        "devicecode",
    ];

    it("builds non-interactive get-token arguments per login mode", () => {
        assert.deepStrictEqual(kubeloginArgs(aksArgs, { login: "azurecli" }), ["get-token", "--login", "azurecli", "--server-id", SERVER_ID]);
        assert.deepStrictEqual(kubeloginArgs(aksArgs, { login: "azurecli", tenantId: SPN }), [
            "get-token",
            "--login",
            "azurecli",
            "--server-id",
            SERVER_ID,
            "--tenant-id",
            SPN,
        ]);
        assert.deepStrictEqual(kubeloginArgs(aksArgs, { login: "workloadidentity" }), ["get-token", "--login", "workloadidentity", "--server-id", SERVER_ID]);
        assert.deepStrictEqual(kubeloginArgs(aksArgs, { login: "spn", clientId: SPN }), [
            "get-token",
            "--login",
            "spn",
            "--server-id",
            SERVER_ID,
            "--client-id",
            SPN,
            "--tenant-id",
            TENANT,
            "--environment",
            "AzurePublicCloud",
        ]);
        assert.throws(() => kubeloginArgs(["get-token", "--login", "devicecode"], { login: "azurecli" }), /no --server-id/);
    });

    it("rewrites only kubelogin users, keeps everything else, and never writes a secret", () => {
        const rewritten = applyKubeloginMode(MOCK_AKS_AAD_EXEC_KUBECONFIG, { login: "spn", clientId: SPN });
        const doc = yaml.load(rewritten) as any;
        const original = yaml.load(MOCK_AKS_AAD_EXEC_KUBECONFIG) as any;
        assert.deepStrictEqual(doc.clusters, original.clusters);
        assert.strictEqual(doc["current-context"], "mock");
        assert.strictEqual(doc.users[0].user.exec.command, "kubelogin");
        assert.strictEqual(doc.users[0].user.exec.apiVersion, "client.authentication.k8s.io/v1beta1");
        assert.deepStrictEqual(doc.users[0].user.exec.args.slice(0, 3), ["get-token", "--login", "spn"]);
        assert.ok(!doc.users[0].user.exec.args.includes("--client-secret"));
        assert.ok(!rewritten.includes("devicecode"));
        assert.deepStrictEqual(kubeloginUsers(MOCK_AKS_AAD_EXEC_KUBECONFIG), ["clusterUser_mock"]);
    });

    it("leaves local-account kubeconfigs and mode none untouched", () => {
        assert.strictEqual(applyKubeloginMode(MOCK_AKS_KUBECONFIG, { login: "azurecli" }), MOCK_AKS_KUBECONFIG);
        assert.strictEqual(applyKubeloginMode(MOCK_AKS_AAD_EXEC_KUBECONFIG, { login: "none" }), MOCK_AKS_AAD_EXEC_KUBECONFIG);
        assert.deepStrictEqual(kubeloginUsers(MOCK_AKS_KUBECONFIG), []);
    });
});

describe("aks: node pool changes are blue/green, immutable fields checked in preview", () => {
    const cluster = () => parseWithCredentials(stackConfig("aks"), "aks").cluster as AksClusterSettings;
    const live = (overrides: Record<string, unknown> = {}) => ({
        name: "buildkit",
        vmSize: "Standard_D8ds_v5",
        availabilityZones: ["3", "1", "2"],
        osDiskSizeGB: 128,
        osDiskType: "Ephemeral",
        maxPods: 30,
        ...overrides,
    });

    it("finds nothing to refuse for a new pool, or one whose fixed fields match (zones in any order)", () => {
        const c = cluster();
        assert.deepStrictEqual(immutablePoolChanges("pool", c.pool, []), []);
        assert.deepStrictEqual(immutablePoolChanges("pool", c.pool, [live()]), []);
        assert.deepStrictEqual(immutablePoolChanges("pool", c.pool, [live({ name: "other", vmSize: "Standard_D4ds_v5" })]), []);
    });

    for (const [field, overrides, pattern] of [
        ["vmSize", { vmSize: "Standard_D4ds_v5" }, /cluster\.pool\.vmSize is "Standard_D8ds_v5" but node pool buildkit has "Standard_D4ds_v5"/],
        ["zones", { availabilityZones: ["1"] }, /cluster\.pool\.zones is "1,2,3" but node pool buildkit has "1"/],
        ["osDiskSizeGB", { osDiskSizeGB: 256 }, /cluster\.pool\.osDiskSizeGB is 128/],
        ["osDiskType", { osDiskType: "Managed" }, /cluster\.pool\.osDiskType is "Ephemeral"/],
        ["maxPods", { maxPods: 110 }, /cluster\.pool\.maxPods is 30/],
    ] as const) {
        it(`fails the preview when ${field} would change on the existing pool, and says to rename it`, () => {
            assert.throws(
                () => preflight(cluster(), { networkProfile: { networkPolicy: "cilium" }, agentPoolProfiles: [live(overrides)] }),
                (err: Error) =>
                    pattern.test(err.message) && /Give the pool a new name/.test(err.message) && /docs\/operations\/node-pool\.md/.test(err.message),
            );
        });
    }
});
