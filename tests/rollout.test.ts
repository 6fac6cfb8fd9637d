// Points that only a real cluster shows, checked on the declared resources: StatefulSet timeouts
// against the drain (pulumi-kubernetes gives up after 10 minutes by default), the first-deploy
// ordering of awaited Services after the node pools, and zone-redundant cache disks on AKS.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { ZRS_STORAGE_CLASS } from "../config/aks";
import { rolloutSeconds, rolloutTimeouts } from "../components/buildkit/rollout";
import { PROVIDER_DEFAULT_SECONDS, STARTUP_SECONDS } from "../components/buildkit/rollout";
import { SHUTDOWN_MARGIN_SECONDS } from "../components/buildkit/workload";
import { findResource, ProgramRun, REPO_ROOT, reveal, runStack, stackSettings } from "./harness/program";
import { Registration, recordRegistrations } from "./harness/registrations";
import { editConfig, setConfigPath } from "./harness/config-edit";

const STS = "kubernetes:apps/v1:StatefulSet";
const DS = "kubernetes:apps/v1:DaemonSet";
const SVC = "kubernetes:core/v1:Service";
const SC = "kubernetes:storage.k8s.io/v1:StorageClass";
const AGENT_POOL = "azure-native:containerservice:AgentPool";

type Run = ProgramRun & { registrations: Registration[] };

async function run(stack: string, edit: (config: Record<string, string>) => void = () => {}): Promise<Run> {
    let registrations: Registration[] = [];
    const result = await runStack(stack, (config) => {
        registrations = recordRegistrations();
        edit(config);
    });
    return { ...result, registrations };
}

const editJson = editConfig;

function registration(r: Run, type: string, name: string): Registration {
    const found = r.registrations.filter((x) => x.type === type && x.name === name);
    assert.strictEqual(found.length, 1, `${type} ${name}`);
    return found[0];
}

const seconds = (duration: string) => {
    const match = /^([0-9]+)s$/.exec(duration);
    assert.ok(match, `expected a duration in seconds, got ${duration}`);
    return Number(match[1]);
};

describe("StatefulSet rollout timeouts (pure)", () => {
    it("outlast the drain of every replica in turn, and never go below the provider's 10 minutes", () => {
        for (const drainTimeoutSeconds of [0, 30, 120, 900, 3600, 86400]) {
            for (const replicas of [1, 2, 5, 20]) {
                const s = rolloutSeconds({ replicas, drainTimeoutSeconds });
                const stop = drainTimeoutSeconds + SHUTDOWN_MARGIN_SECONDS;
                assert.ok(s.update > replicas * (stop + STARTUP_SECONDS), `update ${s.update} for ${replicas} x ${drainTimeoutSeconds}`);
                assert.ok(s.delete > replicas * stop, `delete ${s.delete} for ${replicas} x ${drainTimeoutSeconds}`);
                assert.ok(s.create > STARTUP_SECONDS);
                for (const v of [s.create, s.update, s.delete]) assert.ok(v >= PROVIDER_DEFAULT_SECONDS);
                // One more replica is one more pod replaced in turn.
                const more = rolloutSeconds({ replicas: replicas + 1, drainTimeoutSeconds });
                assert.ok(more.update - s.update === s.perPod || s.update === PROVIDER_DEFAULT_SECONDS);
            }
        }
    });

    it("derives these values for the committed stacks", () => {
        // aks: 1 replica, 900 s drain; local: 1 replica, 120 s drain (the values in the report).
        // Readiness every 2 s (components/buildkit/drain.ts): a started pod is ready within 2 s of answering.
        assert.deepStrictEqual(rolloutSeconds({ replicas: 1, drainTimeoutSeconds: 900 }), { perPod: 1532, create: 722, update: 1652, delete: 1050 });
        assert.deepStrictEqual(rolloutSeconds({ replicas: 1, drainTimeoutSeconds: 120 }), { perPod: 752, create: 722, update: 872, delete: 600 });
        assert.deepStrictEqual(rolloutTimeouts({ replicas: 1, drainTimeoutSeconds: 900 }), { create: "722s", update: "1652s", delete: "1050s" });
        assert.deepStrictEqual(rolloutSeconds({ replicas: 2, drainTimeoutSeconds: 900 }), { perPod: 1532, create: 722, update: 3184, delete: 1980 });
    });
});

for (const stack of ["local", "aks"] as const) {
    describe(`declared rollout and ordering on stack ${stack}`, () => {
        let r: Run;
        before(async () => {
            r = await run(stack);
        });

        it("gives the StatefulSet timeouts that outlast its own pods' drain and startup, and replaces it delete-first", () => {
            const settings = stackSettings(stack);
            const reg = registration(r, STS, "buildkitd");
            assert.deepStrictEqual(
                reg.customTimeouts,
                rolloutTimeouts({ replicas: settings.buildkit.replicas, drainTimeoutSeconds: settings.buildkit.drainTimeoutSeconds }),
            );
            // The relation against what the declared pod really does, not against the function.
            const sts = reveal(findResource(r, STS, "buildkitd").inputs);
            const pod = sts.spec.template.spec;
            const daemon = pod.containers.find((c: any) => c.name === "buildkitd");
            const startup = daemon.startupProbe.periodSeconds * daemon.startupProbe.failureThreshold;
            const grace = pod.terminationGracePeriodSeconds;
            assert.ok(grace >= settings.buildkit.drainTimeoutSeconds, "the grace period covers the preStop drain");
            assert.ok(seconds(reg.customTimeouts.update) > sts.spec.replicas * (grace + startup), "update: every pod drains and starts in turn");
            assert.ok(seconds(reg.customTimeouts.delete) > sts.spec.replicas * grace, "delete: every pod drains");
            assert.ok(seconds(reg.customTimeouts.create) > startup, "create: a pod starts");
            // That create timeout allows one pod's start because the pods start together; OrderedReady
            // would start them one after another (and let one broken pod hold back the rest).
            assert.strictEqual(sts.spec.podManagementPolicy, "Parallel");
            // volumeClaimTemplates are immutable: a cache size change replaces the fixed-name StatefulSet.
            assert.strictEqual(reg.deleteBeforeReplace, true);
        });

        it("follows drain time and replicas from config", async () => {
            const changed = await run(
                stack,
                editJson("buildkit", (b) => ((b.replicas = 3), (b.drainTimeoutSeconds = 1800))),
            );
            const reg = registration(changed, STS, "buildkitd");
            assert.deepStrictEqual(reg.customTimeouts, rolloutTimeouts({ replicas: 3, drainTimeoutSeconds: 1800 }));
            assert.ok(seconds(reg.customTimeouts.update) > 3 * 1830);
        });

        it("creates the awaited Services only after the builders (and so after their node pools)", () => {
            const sts = registration(r, STS, "buildkitd");
            // The shared tier's pools; each further tier's workloads wait for that tier's own (tests/tiers.test.ts).
            const pools = r.registrations.filter((x) => x.type === AGENT_POOL && !x.name.includes("protected")).map((x) => x.urn);
            assert.strictEqual(pools.length, stack === "aks" ? 1 : 0);
            for (const name of ["buildkitd", "buildkitd-headless"]) {
                const svc = registration(r, SVC, name);
                assert.ok(svc.dependencies.includes(sts.urn), `Service ${name} does not wait for the StatefulSet`);
                for (const pool of pools) assert.ok(svc.dependencies.includes(pool), `Service ${name} does not wait for ${pool}`);
            }
            // Every workload that puts pods on the pool waits for it too.
            for (const reg of r.registrations.filter((x) => (x.type === STS || x.type === DS) && !x.name.includes("protected"))) {
                for (const pool of pools) assert.ok(reg.dependencies.includes(pool), `${reg.name} does not wait for ${pool}`);
            }
        });
    });
}

describe("declared rollout with native arm64 builders (aks)", () => {
    it("gives buildkitd-arm64 its own timeouts from its replica count, and orders its Services after it", async () => {
        const r = await run(
            "aks",
            editJson("cluster", (c) => ((c.arm64.enabled = true), (c.arm64.replicas = 2))),
        );
        const reg = registration(r, STS, "buildkitd-arm64");
        assert.deepStrictEqual(reg.customTimeouts, rolloutTimeouts({ replicas: 2, drainTimeoutSeconds: 900 }));
        assert.strictEqual(reg.deleteBeforeReplace, true);
        const pools = r.registrations.filter((x) => x.type === AGENT_POOL && !x.name.includes("protected")).map((x) => x.urn);
        assert.strictEqual(pools.length, 2);
        for (const name of ["buildkitd-arm64", "buildkitd-arm64-headless"]) {
            const svc = registration(r, SVC, name);
            assert.ok(svc.dependencies.includes(reg.urn));
            for (const pool of pools) assert.ok(svc.dependencies.includes(pool));
        }
    });
});

describe("pulumi up waits for the probe Job past its deadline", () => {
    it("by 120 s, for the image pull before the deadline starts counting", async () => {
        for (const timeoutSeconds of [300, 900]) {
            const r = await run("local", setConfigPath("probe", ["timeoutSeconds"], timeoutSeconds));
            const jobs = r.registrations.filter((x) => x.type === "kubernetes:batch/v1:Job");
            assert.strictEqual(jobs.length, 1);
            assert.strictEqual(reveal(findResource(r, "kubernetes:batch/v1:Job", jobs[0].name).inputs).spec.activeDeadlineSeconds, timeoutSeconds);
            assert.strictEqual(jobs[0].customTimeouts.create, `${timeoutSeconds + 120}s`);
            assert.strictEqual(jobs[0].customTimeouts.update, `${timeoutSeconds + 120}s`);
        }
    });
});

describe("the deploy job outlasts what it waits for", () => {
    it("has room for a StatefulSet replacement (delete, then create) plus the probe on the aks stack", () => {
        const workflow = yaml.load(fs.readFileSync(path.join(REPO_ROOT, ".github/workflows/deploy.yml"), "utf8")) as any;
        const jobSeconds = workflow.jobs.up["timeout-minutes"] * 60;
        const settings = stackSettings("aks");
        const s = rolloutSeconds({ replicas: settings.buildkit.replicas, drainTimeoutSeconds: settings.buildkit.drainTimeoutSeconds });
        const probe = settings.probe.timeoutSeconds + 120;
        assert.ok(jobSeconds > s.delete + s.create + probe, `deploy job ${jobSeconds}s < ${s.delete} + ${s.create} + ${probe}`);
        assert.ok(jobSeconds > s.update + probe);
    });
    // The whole bound (node pool, ARC, setup) is tests/deploy-budget.test.ts.
});

describe("zone-redundant cache disks on AKS", () => {
    it("declares the Premium_ZRS StorageClass the aks stack uses, and the builders wait for it", async () => {
        const r = await run("aks");
        const sc = reveal(findResource(r, SC, ZRS_STORAGE_CLASS).inputs);
        assert.strictEqual(sc.metadata.name, ZRS_STORAGE_CLASS);
        assert.strictEqual(sc.provisioner, "disk.csi.azure.com");
        assert.deepStrictEqual(sc.parameters, { skuName: "Premium_ZRS" });
        assert.strictEqual(sc.volumeBindingMode, "WaitForFirstConsumer");
        const sts = reveal(findResource(r, STS, "buildkitd").inputs);
        assert.strictEqual(sts.spec.volumeClaimTemplates[0].spec.storageClassName, ZRS_STORAGE_CLASS);
        const scUrn = registration(r, SC, ZRS_STORAGE_CLASS).urn;
        assert.ok(registration(r, STS, "buildkitd").dependencies.includes(scUrn));
        // The committed pool spans zones: exactly the case that needs ZRS.
        assert.ok(stackSettings("aks").cluster.kind === "aks" && (stackSettings("aks").cluster as any).pool.zones.length > 1);
    });

    it("declares no StorageClass on k3d, or on AKS with a class that already exists", async () => {
        assert.strictEqual((await run("local")).resources.filter((x) => x.type === SC).length, 0);
        const singleZone = await run("aks", (c) => {
            editJson("cluster", (v) => (v.pool.zones = ["1"]))(c);
            editJson("buildkit", (b) => (b.cache.storageClass = "managed-csi-premium"))(c);
        });
        assert.strictEqual(singleZone.resources.filter((x) => x.type === SC).length, 0);
    });

    const zonal = (storageClass: string, zones: string[], arm64?: { enabled: boolean; zones: string[] }) => (c: Record<string, string>) => {
        editJson("cluster", (v) => {
            v.pool.zones = zones;
            if (arm64) Object.assign(v.arm64, arm64);
        })(c);
        editJson("buildkit", (b) => (b.cache.storageClass = storageClass))(c);
    };

    it("rejects a zonal (LRS) class on a pool that spans zones, naming both keys", () => {
        for (const cls of ["managed-csi-premium", "managed-csi", "default", "managed-premium", "managed"]) {
            assert.throws(
                () => stackSettings("aks", zonal(cls, ["1", "2", "3"])),
                (e: Error) =>
                    e.message.includes("arc-buildkit:buildkit.cache.storageClass") &&
                    e.message.includes("arc-buildkit:cluster.pool.zones (1, 2, 3)") &&
                    e.message.includes(ZRS_STORAGE_CLASS) &&
                    e.message.includes('stack "aks"'),
                cls,
            );
        }
        // Two zones are already enough for a builder to land where its disk is not.
        assert.throws(() => stackSettings("aks", zonal("managed-csi", ["1", "3"])), /arc-buildkit:cluster\.pool\.zones \(1, 3\)/);
        assert.throws(
            () => stackSettings("aks", zonal("managed-csi-premium", ["1"], { enabled: true, zones: ["1", "2"] })),
            /arc-buildkit:cluster\.arm64\.zones \(1, 2\)/,
        );
    });

    it("accepts a zonal class in one zone or a regional pool, and the ZRS class across zones", () => {
        assert.doesNotThrow(() => stackSettings("aks", zonal("managed-csi-premium", ["2"])));
        assert.doesNotThrow(() => stackSettings("aks", zonal("managed-csi-premium", [])));
        assert.doesNotThrow(() => stackSettings("aks", zonal(ZRS_STORAGE_CLASS, ["1", "2", "3"])));
        // A disabled arm64 pool creates no nodes, so its zones do not matter.
        assert.doesNotThrow(() => stackSettings("aks", zonal("managed-csi-premium", ["1"], { enabled: false, zones: ["1", "2", "3"] })));
    });
});
