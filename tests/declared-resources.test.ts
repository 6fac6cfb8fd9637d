import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { DeclaredStack, declaredStack, transitiveDependencies, Variant, VARIANTS } from "./harness/declared";

/**
 * Refactoring must not change what a stack declares. tests/fixtures/declared-resources.json holds,
 * for both committed stacks, AKS with the arm64 pool and k3d without GitHub credentials, every
 * resource the program declares: type, name, parent, provider, inputs (secrets still wrapped), and
 * the options the engine receives (dependencies, customTimeouts, deleteBeforeReplace, ignoreChanges,
 * protect, retainOnDelete, replaceOnChanges, additionalSecretOutputs), plus the stack outputs.
 *
 * Everything must be equal except dependencies. Those may change when a hand-written `dependsOn` is
 * replaced by a reference (an input taken from the other resource's output carries the dependency),
 * so the rule is: every custom resource (what the engine creates) still waits, directly, through its
 * parent component, or transitively, for every custom resource it waited for in the snapshot (it may
 * wait for more; see transitiveDependencies). Dropping an ordering therefore fails here. Components
 * themselves create nothing, so their own dependency lists may move to their children.
 *
 * To regenerate after an intended change to the declared resources (review the diff of the JSON!):
 *     UPDATE_DECLARED_RESOURCES=1 npx mocha tests/declared-resources.test.ts
 */
const FIXTURE = path.join(__dirname, "fixtures", "declared-resources.json");

describe("declared resources (snapshot of both stacks)", function () {
    this.timeout(60_000);
    const update = process.env.UPDATE_DECLARED_RESOURCES === "1";
    const expected: Record<string, DeclaredStack> = update ? {} : JSON.parse(fs.readFileSync(FIXTURE, "utf8"));
    const actual: Record<string, DeclaredStack> = {};

    for (const variant of Object.keys(VARIANTS) as Variant[]) {
        describe(variant, () => {
            let now: DeclaredStack;
            before(async () => {
                const { resources, outputs } = await declaredStack(variant);
                now = { resources, outputs };
                actual[variant] = now;
            });

            if (update) {
                it("is recorded", () => assert.ok(Object.keys(now.resources).length > 0));
                return;
            }

            it("declares the same resources (declaration order may change)", () => {
                assert.deepStrictEqual(Object.keys(now.resources).sort(), Object.keys(expected[variant].resources).sort());
            });

            it("gives every resource the same inputs, parent, provider and options", () => {
                for (const [urn, before] of Object.entries(expected[variant].resources)) {
                    const wasRest = { ...before, dependencies: undefined };
                    const isRest = { ...(now.resources[urn] ?? {}), dependencies: undefined };
                    assert.deepStrictEqual(isRest, wasRest, urn);
                }
            });

            it("keeps every ordering: each custom resource still waits (transitively) for all it waited for", () => {
                for (const [urn, was] of Object.entries(expected[variant].resources)) {
                    if (!was.custom) {
                        continue;
                    }
                    const after = transitiveDependencies(now.resources, urn);
                    const missing = [...transitiveDependencies(expected[variant].resources, urn)].filter((dep) => !after.has(dep));
                    assert.deepStrictEqual(missing, [], `${urn} no longer waits for these`);
                }
            });

            it("has the same stack outputs", () => {
                assert.deepStrictEqual(now.outputs, expected[variant].outputs);
            });
        });
    }

    after(() => {
        if (update) {
            fs.writeFileSync(FIXTURE, JSON.stringify(actual, null, 1) + "\n");
        }
    });
});
