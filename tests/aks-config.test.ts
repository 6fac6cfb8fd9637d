import * as assert from "assert";
import { AKS_POOL_NAME, isArm64VmSize, VM_SIZE } from "../config/aks";
import { parseWithCredentials, stackConfig } from "./harness/program";
import { configProblems, editConfig } from "./harness/config-edit";

/** The committed aks stack config with `arc-buildkit:cluster` changed by `edit`. */
function aksConfig(edit: (cluster: any) => void): Record<string, string> {
    const config = stackConfig("aks");
    editConfig("cluster", edit)(config);
    return config;
}

function problems(edit: (cluster: any) => void): string[] {
    return configProblems(() => parseWithCredentials(aksConfig(edit), "aks"));
}

describe("config: aks cluster", () => {
    it("accepts the committed aks stack with its pool settings", () => {
        const settings = parseWithCredentials(stackConfig("aks"), "aks");
        assert.strictEqual(settings.cluster.kind, "aks");
        if (settings.cluster.kind !== "aks") return;
        assert.deepStrictEqual(settings.cluster.pool, {
            name: "buildkit",
            vmSize: "Standard_D8ds_v5",
            zones: ["1", "2", "3"],
            minCount: 1,
            maxCount: 3,
            maxPods: 30,
            osDiskSizeGB: 128,
            osDiskType: "Ephemeral",
        });
        assert.strictEqual(settings.cluster.arm64?.enabled, false);
        assert.strictEqual(settings.cluster.kubelogin.login, "azurecli");
        assert.strictEqual(settings.cluster.networkPolicyEngine, "require");
    });

    it("fills in defaults: no zones, 30 pods, 128 GB Managed OS disk, no kubelogin, warn", () => {
        const settings = parseWithCredentials(
            aksConfig((c) => {
                c.pool = { name: "bk", vmSize: "Standard_D4ds_v5", minCount: 0, maxCount: 2 };
                delete c.arm64;
                delete c.kubelogin;
                delete c.networkPolicyEngine;
            }),
            "aks",
        );
        assert.ok(settings.cluster.kind === "aks");
        assert.deepStrictEqual(settings.cluster.pool, {
            name: "bk",
            vmSize: "Standard_D4ds_v5",
            zones: [],
            minCount: 0,
            maxCount: 2,
            maxPods: 30,
            osDiskSizeGB: 128,
            osDiskType: "Managed",
        });
        assert.strictEqual(settings.cluster.arm64, undefined);
        assert.deepStrictEqual(settings.cluster.kubelogin, { login: "none" });
        assert.strictEqual(settings.cluster.networkPolicyEngine, "warn");
    });

    for (const bad of ["BuildKit", "1buildkit", "buildkit-pool", "buildkitpool01", "build_kit", ""]) {
        it(`rejects the pool name ${JSON.stringify(bad)} with the key, the rule and the value`, () => {
            const found = problems((c) => (c.pool.name = bad));
            assert.strictEqual(found.length, 1, found.join("\n"));
            assert.match(
                found[0],
                /^arc-buildkit:cluster\.pool\.name: expected an AKS node pool name: lower-case letters and digits, starting with a letter, at most 12 characters/,
            );
            assert.ok(found[0].endsWith(`got ${JSON.stringify(bad)}`), found[0]);
        });
    }

    it("accepts a 12-character pool name and rejects 13", () => {
        assert.ok(AKS_POOL_NAME.test("buildkitpool"));
        assert.ok(!AKS_POOL_NAME.test("buildkitpools"));
    });

    it("rejects minCount greater than maxCount", () => {
        assert.deepStrictEqual(
            problems((c) => {
                c.pool.minCount = 4;
                c.pool.maxCount = 3;
            }),
            ["arc-buildkit:cluster.pool.minCount: expected no more than maxCount (3), got 4"],
        );
    });

    it("rejects counts and pod limits outside AKS's ranges", () => {
        const found = problems((c) => {
            c.pool.minCount = -1;
            c.pool.maxCount = 1001;
            c.pool.maxPods = 5;
            c.pool.osDiskSizeGB = 20;
        });
        assert.deepStrictEqual(found.sort(), [
            "arc-buildkit:cluster.pool.maxCount: expected a whole number from 1 to 1000, got 1001",
            "arc-buildkit:cluster.pool.maxPods: expected a whole number from 10 to 250, got 5",
            "arc-buildkit:cluster.pool.minCount: expected a whole number from 0 to 1000, got -1",
            "arc-buildkit:cluster.pool.osDiskSizeGB: expected a whole number from 30 to 2048, got 20",
        ]);
    });

    for (const bad of ["D8ds_v5", "standard_d8ds_v5", "Standard_D8ds v5", "Standard_", "Basic_A1", "8 vCPU"]) {
        it(`rejects the VM size form ${JSON.stringify(bad)}`, () => {
            const found = problems((c) => (c.pool.vmSize = bad));
            assert.strictEqual(found.length, 1, found.join("\n"));
            assert.match(found[0], /^arc-buildkit:cluster\.pool\.vmSize: expected an Azure VM size as `az vm list-sizes` prints it/);
        });
    }

    it("knows Azure's VM size forms and its Arm-based families", () => {
        for (const size of [
            "Standard_D8ds_v5",
            "Standard_E8-4ds_v5",
            "Standard_NC24ads_A100_v4",
            "Standard_D2_v3",
            "Standard_DS2_v2",
            "Standard_D4ps_v5",
            "Standard_B2pls_v2",
        ]) {
            assert.ok(VM_SIZE.test(size), size);
        }
        assert.deepStrictEqual(
            [
                "Standard_D4ps_v5",
                "Standard_D8pds_v6",
                "Standard_E4ps_v5",
                "Standard_B2pls_v2",
                "Standard_D8ds_v5",
                "Standard_DC4as_cc_v5",
                "Standard_NP10s",
            ].map(isArm64VmSize),
            [true, true, true, true, false, false, false],
        );
    });

    it("rejects an Arm-based size for the x86-64 pool and an x86-64 size for the arm64 pool", () => {
        const found = problems((c) => {
            c.pool.vmSize = "Standard_D8pds_v5";
            c.arm64.vmSize = "Standard_D8ds_v5";
        });
        assert.deepStrictEqual(found, [
            'arc-buildkit:cluster.pool.vmSize: expected an x86-64 VM size (no `p` feature letter); Arm-based sizes belong in the arm64 block, got "Standard_D8pds_v5"',
            'arc-buildkit:cluster.arm64.vmSize: expected an Arm-based VM size (a `p` feature letter, such as Standard_D4ps_v5 or Standard_D8pds_v6), got "Standard_D8ds_v5"',
        ]);
    });

    it("validates the arm64 block even while it is disabled, and needs its replicas", () => {
        assert.deepStrictEqual(
            problems((c) => delete c.arm64.replicas),
            ["arc-buildkit:cluster.arm64.replicas: missing; expected a whole number from 1 to 20"],
        );
        assert.deepStrictEqual(
            problems((c) => (c.arm64.minCount = 3)),
            ["arc-buildkit:cluster.arm64.minCount: expected no more than maxCount (2), got 3"],
        );
        assert.deepStrictEqual(
            problems((c) => (c.arm64.name = "buildkit")),
            ['arc-buildkit:cluster.arm64.name: expected a name different from pool.name (AKS pool names are unique per cluster), got "buildkit"'],
        );
    });

    it("rejects repeated or unknown availability zones", () => {
        assert.deepStrictEqual(
            problems((c) => (c.pool.zones = ["1", "1"])),
            ['arc-buildkit:cluster.pool.zones: expected each availability zone at most once, got ["1","1"]'],
        );
        assert.deepStrictEqual(
            problems((c) => (c.pool.zones = [1])),
            ['arc-buildkit:cluster.pool.zones[0]: expected availability zone "1", "2" or "3" (as strings), got 1'],
        );
    });

    it("rejects unknown kubelogin modes, spn without a client ID, and unknown keys", () => {
        assert.match(
            problems((c) => (c.kubelogin = { login: "devicecode" }))[0],
            /^arc-buildkit:cluster\.kubelogin\.login: expected one of none, azurecli, workloadidentity, spn/,
        );
        assert.deepStrictEqual(
            problems((c) => (c.kubelogin = { login: "spn" })),
            ["arc-buildkit:cluster.kubelogin.clientId: missing; expected the service principal's application (client) ID because login is spn"],
        );
        assert.deepStrictEqual(
            problems((c) => (c.pool.vmsize = "Standard_D8ds_v5")),
            ["arc-buildkit:cluster.pool.vmsize: unknown key (check its spelling against docs/configuration.md)"],
        );
        assert.match(
            problems((c) => (c.networkPolicyEngine = "fail"))[0],
            /^arc-buildkit:cluster\.networkPolicyEngine: expected "warn" or "require", got "fail"/,
        );
    });
});
