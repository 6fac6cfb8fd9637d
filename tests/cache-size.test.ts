import * as TOML from "@iarna/toml";
import * as assert from "assert";
import { cacheClaimNames } from "../components/buildkit/cache";
import { gcPlan } from "../components/buildkit/gc";
import { byteQuantity, parseByteQuantity } from "../config/quantity";
import { sizingIssues } from "../config/sizing";
import { setConfigPath } from "./harness/config-edit";
import { kubernetesObjects, reveal, runStack, stackSettings } from "./harness/program";
import { Registration, recordRegistrations } from "./harness/registrations";

/**
 * `buildkit.cache.size` is parsed once, by the config schema, into one value that carries both the
 * Kubernetes quantity and its bytes; the claim's size and every GC threshold come from that value.
 * A program that handed the BuildKit config a different size than the volume (the regression this
 * guards: GC cut for 10Gi on a 64Gi volume) fails here, whatever size the stack sets.
 */
describe("byte quantities as Kubernetes reads them", () => {
    it("binary suffixes are powers of 1024, decimal ones of 1000 (k is 1000, as in Kubernetes' resource.Quantity)", () => {
        const cases: [string, number][] = [
            ["7", 7],
            ["1k", 1e3],
            ["1Ki", 2 ** 10],
            ["500M", 5e8],
            ["512Mi", 512 * 2 ** 20],
            ["3G", 3e9],
            ["64Gi", 64 * 2 ** 30],
            ["2T", 2e12],
            ["1Ti", 2 ** 40],
        ];
        for (const [quantity, bytes] of cases) assert.strictEqual(parseByteQuantity(quantity), bytes, quantity);
        // What a stack file should not say is refused: a typo Kubernetes would misread (64GB), or one it accepts but nobody writes by hand (1e3).
        for (const quantity of ["64GB", "1.5Gi", "0", "-1", "1e3", "1K", "1 Gi", ""]) assert.strictEqual(parseByteQuantity(quantity), undefined, quantity);
    });
});

describe("cache size: one parsed value for the volume and every GC threshold", () => {
    it("config parses the size once into its quantity and bytes", () => {
        const size = stackSettings("aks").buildkit.cache.size;
        assert.deepStrictEqual({ ...size }, { quantity: "64Gi", bytes: 64 * 2 ** 30 });
        assert.ok(Object.isFrozen(size));
        assert.throws(() => byteQuantity("64GB"), /not a byte quantity: "64GB"/);
    });

    const cases: [string, string | undefined][] = [
        ["aks", undefined],
        ["local", undefined],
        ["aks", "100Gi"],
        ["local", "7Gi"],
    ];
    for (const [stack, size] of cases) {
        it(`${stack}${size ? ` with cache.size ${size}` : ""}: every builder's claim and its buildkitd.toml thresholds agree`, async () => {
            const run = await runStack(stack, size ? setConfigPath("buildkit", ["cache", "size"], size) : () => {});
            const objects = kubernetesObjects(run).map((r) => reveal(r.inputs));
            const statefulSets = objects.filter((o) => o.kind === "StatefulSet" || o.spec?.volumeClaimTemplates);
            assert.ok(statefulSets.length > 0);
            for (const sts of statefulSets) {
                const claims = sts.spec.volumeClaimTemplates;
                assert.strictEqual(claims.length, 1);
                const requested = claims[0].spec.resources.requests.storage;
                if (size) {
                    assert.strictEqual(requested, size);
                }
                const volumeBytes = parseByteQuantity(requested)!;
                const config = objects.find((o) => o.metadata?.name === `${sts.metadata.name}-config`)!;
                const toml = TOML.parse(config.data["buildkitd.toml"]) as any;
                const expected = gcPlan(volumeBytes);
                const { thresholds } = expected;
                assert.deepStrictEqual(
                    { reservedSpace: toml.worker.oci.reservedSpace, maxUsedSpace: toml.worker.oci.maxUsedSpace, minFreeSpace: toml.worker.oci.minFreeSpace },
                    thresholds,
                    `${sts.metadata.name}: GC thresholds not cut from the ${requested} volume`,
                );
                assert.deepStrictEqual(
                    toml.worker.oci.gcpolicy.map((rule: Record<string, unknown>) => Object.fromEntries(Object.entries(rule).filter(([k]) => /Space$/.test(k)))),
                    expected.rules.map((rule) => Object.fromEntries(Object.entries(rule).filter(([k]) => /Space$/.test(k)))),
                    `${sts.metadata.name}: GC rules not cut from the ${requested} volume`,
                );
            }
        });
    }
});

/**
 * buildkitd's memory, parsed once the same way: the container's request and limit are the quantities
 * the stack wrote, and the sizing rule (memory for `maxParallelism` steps) reads the bytes of that
 * same value, so the two cannot disagree.
 */
describe("memory: one parsed value for the container and the sizing rule", () => {
    it("the container gets the quantities as written; the sizing rule judges their bytes", async () => {
        const resources = { requests: { cpu: "1", memory: "1536Mi" }, limits: { memory: "3G" } };
        const run = await runStack("aks", setConfigPath("buildkit", ["resources"], resources));
        const statefulSets = kubernetesObjects(run)
            .map((r) => reveal(r.inputs))
            .filter((o) => o.kind === "StatefulSet" && o.metadata.name.startsWith("buildkitd"));
        assert.ok(statefulSets.length > 0);
        for (const sts of statefulSets) {
            const daemon = sts.spec.template.spec.containers.find((c: { name: string }) => c.name === "buildkitd");
            assert.deepStrictEqual(daemon.resources, resources);
        }
        const parsed = stackSettings("aks", setConfigPath("buildkit", ["resources"], resources)).buildkit.resources;
        assert.deepStrictEqual(parsed.limits.memory, byteQuantity("3G"));
        // 3G = 3e9 bytes: enough for 4 steps (2.5Gi = 2684354560 bytes), not for 5 (3Gi = 3221225472).
        assert.deepStrictEqual(sizingIssues({ ...stackSettings("aks").buildkit, maxParallelism: 4, resources: parsed }), []);
        assert.match(
            String(sizingIssues({ ...stackSettings("aks").buildkit, maxParallelism: 5, resources: parsed })[0]?.message),
            /expected at least 3Gi for buildkit.maxParallelism 5/,
        );
    });
});

describe("cache size growth keeps every cache (components/buildkit/cache.ts)", () => {
    it("names the claims as the StatefulSet controller does", () => {
        assert.deepStrictEqual(cacheClaimNames("buildkitd", 3), ["cache-buildkitd-0", "cache-buildkitd-1", "cache-buildkitd-2"]);
    });

    for (const size of [undefined, "128Gi"]) {
        it(`aks${size ? ` with cache.size ${size}` : ""}: the StatefulSet ignores its immutable claim template, and a forced, retained patch sizes each claim in place`, async () => {
            let registrations: Registration[] = [];
            await runStack("aks", (c) => {
                if (size) setConfigPath("buildkit", ["cache", "size"], size)(c);
                registrations = recordRegistrations();
            });
            const settings = stackSettings("aks");
            const statefulSet = registrations.find((x) => x.type === "kubernetes:apps/v1:StatefulSet" && x.name === "buildkitd")!;
            assert.deepStrictEqual(statefulSet.ignoreChanges, ["spec.volumeClaimTemplates"]);
            assert.strictEqual(statefulSet.deleteBeforeReplace, true);
            // The ignored template would hide a new StorageClass: the class itself replaces the StatefulSet.
            assert.strictEqual(statefulSet.replacementTrigger, settings.buildkit.cache.storageClass);
            const patches = registrations.filter((x) => x.type === "kubernetes:core/v1:PersistentVolumeClaimPatch");
            // Every builder's claim, of every tier (the protected tier's set has its own replica count).
            assert.deepStrictEqual(patches.map((p) => p.name).sort(), [
                ...Array.from({ length: settings.buildkit.replicas }, (_, i) => `cache-buildkitd-${i}`),
                ...Array.from({ length: settings.tiers.protected.replicas }, (_, i) => `cache-buildkitd-protected-${i}`),
            ]);
            for (const patch of patches) {
                const inputs = reveal(patch.inputs);
                assert.strictEqual(inputs.metadata.name, patch.name);
                assert.strictEqual(inputs.metadata.namespace, "buildkit");
                assert.strictEqual(inputs.metadata.annotations["pulumi.com/patchForce"], "true");
                assert.deepStrictEqual(inputs.spec, { resources: { requests: { storage: size ?? "64Gi" } } });
                assert.strictEqual(patch.retainOnDelete, true, "a Patch of a required field cannot be deleted");
                const own = registrations.find(
                    (x) =>
                        x.type === "kubernetes:apps/v1:StatefulSet" &&
                        patch.name.startsWith(`cache-${x.name}-`) &&
                        /^\d+$/.test(patch.name.slice(`cache-${x.name}-`.length)),
                )!;
                assert.ok(patch.dependencies.includes(own.urn), "patched after its StatefulSet is ready, when every claim exists");
            }
        });
    }

    it("local (local-path cannot expand): a new size replaces the StatefulSet, delete first, and patches nothing", async () => {
        let registrations: Registration[] = [];
        await runStack("local", () => {
            registrations = recordRegistrations();
        });
        const statefulSet = registrations.find((x) => x.type === "kubernetes:apps/v1:StatefulSet" && x.name === "buildkitd")!;
        assert.deepStrictEqual(statefulSet.ignoreChanges, []);
        assert.strictEqual(statefulSet.deleteBeforeReplace, true);
        assert.ok(!registrations.some((x) => x.type === "kubernetes:core/v1:PersistentVolumeClaimPatch"));
    });
});
