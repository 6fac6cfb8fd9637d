import * as assert from "assert";
import { findResource, isSecretInput, reveal, runProgram } from "./harness/program";
import { MOCK_GITHUB_VARIABLES, mockRepositoryId } from "./harness/mocks";
import { Registration, recordRegistrations } from "./harness/registrations";
import { importIdFor } from "../components/github";
import { allEdits, editConfig, setConfig } from "./harness/config-edit";
import {
    appCredentials,
    FAKE_APP_ID,
    FAKE_APP_INSTALLATION_ID,
    FAKE_APP_PRIVATE_KEY,
    FAKE_TOKEN,
    TOKEN_SECRET_KEYS,
    withTokenCredentials,
} from "./fixtures/github-credentials";

const ORG_VARIABLE = "github:index/actionsOrganizationVariable:ActionsOrganizationVariable";
const REPO_VARIABLE = "github:index/actionsVariable:ActionsVariable";
const PROVIDER = "pulumi:providers:github";
const ENDPOINT = "tcp://buildkitd.buildkit.svc.cluster.local:1234";

function editVariables(change: (variables: Record<string, unknown>) => void) {
    return editConfig("github", (github) => change(github.variables));
}

describe("GitHub variables on stack aks", () => {
    it("publishes AMEIDE_BUILDKIT_ADDR and AMEIDE_RUNS_ON as private organization variables", async () => {
        const run = await runProgram("aks", ...appCredentials());
        const addr = findResource(run, ORG_VARIABLE, "AMEIDE_BUILDKIT_ADDR");
        const runsOn = findResource(run, ORG_VARIABLE, "AMEIDE_RUNS_ON");
        assert.deepStrictEqual(
            { name: addr.inputs.variableName, value: addr.inputs.value, visibility: addr.inputs.visibility },
            { name: "AMEIDE_BUILDKIT_ADDR", value: ENDPOINT, visibility: "private" },
        );
        assert.deepStrictEqual(
            { name: runsOn.inputs.variableName, value: runsOn.inputs.value, visibility: runsOn.inputs.visibility },
            { name: "AMEIDE_RUNS_ON", value: "arc-aks-v2", visibility: "private" },
        );
        assert.strictEqual(addr.inputs.selectedRepositoryIds, undefined);
        assert.strictEqual(run.resources.filter((r) => r.type === REPO_VARIABLE).length, 0);
        for (const variable of [addr, runsOn]) {
            assert.ok(variable.provider.includes(`${PROVIDER}::github`), `${variable.name} uses the program's GitHub provider, got ${variable.provider}`);
        }
    });

    it("publishes the stack's runner label as AMEIDE_RUNS_ON, also when it is not the first scale set's name", async () => {
        // A second scale set and a label of its own: the variable must follow arc-buildkit:runnerLabel, not a scale set's name.
        const run = await runProgram(
            "aks",
            ...appCredentials(
                allEdits(
                    editConfig("arc", (arc) => arc.scaleSets.push({ name: "arc-aks-large", minRunners: 0, maxRunners: 3, labels: ["arc-aks-big"] })),
                    setConfig("runnerLabel", "arc-aks-big"),
                ),
            ),
        );
        assert.strictEqual(findResource(run, ORG_VARIABLE, "AMEIDE_RUNS_ON").inputs.value, "arc-aks-big");
    });

    it("authenticates its provider as the GitHub App, with every credential a secret", async () => {
        const run = await runProgram("aks", ...appCredentials());
        const provider = findResource(run, PROVIDER, "github");
        assert.strictEqual(provider.inputs.owner, "ameideio");
        assert.strictEqual(provider.inputs.token, undefined);
        // The provider receives appAuth as one JSON-encoded input; it must be a secret as a whole.
        assert.ok(isSecretInput(provider.inputs.appAuth), "appAuth is a secret");
        const appAuth = reveal(provider.inputs.appAuth);
        const parsed = typeof appAuth === "string" ? JSON.parse(appAuth) : appAuth;
        assert.deepStrictEqual(parsed, { id: FAKE_APP_ID, installationId: FAKE_APP_INSTALLATION_ID, pemFile: FAKE_APP_PRIVATE_KEY + "\n" });
    });

    it("authenticates its provider with a token, as a secret, when github.auth is token", async () => {
        const run = await runProgram("aks", withTokenCredentials, { secretKeys: TOKEN_SECRET_KEYS });
        const provider = findResource(run, PROVIDER, "github");
        assert.ok(isSecretInput(provider.inputs.token), "token is a secret");
        assert.strictEqual(reveal(provider.inputs.token), FAKE_TOKEN);
        assert.strictEqual(provider.inputs.appAuth, undefined);
    });

    it("limits the organization variables to the selected repositories, by their IDs", async () => {
        const run = await runProgram(
            "aks",
            ...appCredentials(
                editVariables((v) => {
                    v.visibility = "selected";
                    v.selectedRepositories = ["ameide", "ameide-gitops"];
                }),
            ),
        );
        const expected = [mockRepositoryId("ameideio/ameide"), mockRepositoryId("ameideio/ameide-gitops")];
        for (const name of ["AMEIDE_BUILDKIT_ADDR", "AMEIDE_RUNS_ON"]) {
            const variable = findResource(run, ORG_VARIABLE, name);
            assert.strictEqual(variable.inputs.visibility, "selected");
            assert.deepStrictEqual(variable.inputs.selectedRepositoryIds, expected);
        }
        const lookups = run.calls.filter((c) => c.token === "github:index/getRepository:getRepository").map((c) => c.inputs.fullName);
        assert.deepStrictEqual([...new Set(lookups)].sort(), ["ameideio/ameide", "ameideio/ameide-gitops"]);
    });

    it("publishes all-repository visibility when configured", async () => {
        const run = await runProgram("aks", ...appCredentials(editVariables((v) => (v.visibility = "all"))));
        assert.strictEqual(findResource(run, ORG_VARIABLE, "AMEIDE_RUNS_ON").inputs.visibility, "all");
    });

    it("falls back to per-repository variables on the configured list", async () => {
        const run = await runProgram(
            "aks",
            ...appCredentials(
                editVariables((v) => {
                    v.scope = "repositories";
                    v.repositories = ["ameide", "ameide-gitops"];
                    delete v.visibility;
                }),
            ),
        );
        assert.strictEqual(run.resources.filter((r) => r.type === ORG_VARIABLE).length, 0);
        const repoVariables = run.resources
            .filter((r) => r.type === REPO_VARIABLE)
            .map((r) => [r.inputs.repository, r.inputs.variableName, r.inputs.value])
            .sort((a, b) => (a.join("\u0000") < b.join("\u0000") ? -1 : 1));
        assert.deepStrictEqual(repoVariables, [
            ["ameide", "AMEIDE_BUILDKIT_ADDR", ENDPOINT],
            ["ameide", "AMEIDE_RUNS_ON", "arc-aks-v2"],
            ["ameide-gitops", "AMEIDE_BUILDKIT_ADDR", ENDPOINT],
            ["ameide-gitops", "AMEIDE_RUNS_ON", "arc-aks-v2"],
        ]);
    });

    it("declares no GitHub resource at all when the scope is none", async () => {
        const run = await runProgram("aks", ...appCredentials(editVariables((v) => (v.scope = "none"))));
        assert.deepStrictEqual(
            run.resources.filter((r) => r.type.startsWith("github:") || r.type === PROVIDER),
            [],
        );
    });
});

describe("GitHub variables on stack local", () => {
    it("touches no GitHub variable and creates no GitHub provider, but still gets ARC", async () => {
        const run = await runProgram("local", ...appCredentials());
        assert.deepStrictEqual(
            run.resources.filter((r) => r.type.startsWith("github:") || r.type === PROVIDER).map((r) => r.name),
            [],
        );
        assert.deepStrictEqual(
            run.calls.filter((c) => c.token.startsWith("github:")),
            [],
        );
        findResource(run, "kubernetes:helm.sh/v3:Release", "arc");
        findResource(run, "kubernetes:helm.sh/v3:Release", "arc-local");
    });
});

describe("GitHub variables: adopted when they exist, never deleted (components/github)", () => {
    afterEach(() => {
        MOCK_GITHUB_VARIABLES.organization.clear();
        MOCK_GITHUB_VARIABLES.repositories = {};
    });

    async function registrationsOf(edit: (config: Record<string, string>) => void = () => {}): Promise<Registration[]> {
        let registrations: Registration[] = [];
        const [withCredentials, opts] = appCredentials((config) => {
            edit(config);
            registrations = recordRegistrations();
        });
        await runProgram("aks", withCredentials, { ...opts, fresh: true });
        return registrations;
    }

    it("import IDs are the variable's name, or repository:name for a repository variable, and only for names that exist", () => {
        const existing = new Set(["AMEIDE_RUNS_ON"]);
        assert.strictEqual(importIdFor(existing, "AMEIDE_RUNS_ON"), "AMEIDE_RUNS_ON");
        assert.strictEqual(importIdFor(existing, "AMEIDE_RUNS_ON", "ameide"), "ameide:AMEIDE_RUNS_ON");
        assert.strictEqual(importIdFor(existing, "AMEIDE_BUILDKIT_ADDR"), undefined);
    });

    it("organization scope: a first up adopts the variable that exists (no 409), creates the other, and destroy deletes neither", async () => {
        MOCK_GITHUB_VARIABLES.organization.add("AMEIDE_RUNS_ON");
        MOCK_GITHUB_VARIABLES.organization.add("SOMETHING_ELSE");
        const variables = (await registrationsOf()).filter((x) => x.type === ORG_VARIABLE);
        assert.deepStrictEqual(variables.map((x) => [x.name, x.importId, x.retainOnDelete]).sort(), [
            ["AMEIDE_BUILDKIT_ADDR", "", true],
            ["AMEIDE_RUNS_ON", "AMEIDE_RUNS_ON", true],
        ]);
    });

    it("organization scope with none existing: nothing is imported, both are retained", async () => {
        const variables = (await registrationsOf()).filter((x) => x.type === ORG_VARIABLE);
        assert.strictEqual(variables.length, 2);
        for (const x of variables) {
            assert.strictEqual(x.importId, "", x.name);
            assert.strictEqual(x.retainOnDelete, true, x.name);
        }
    });

    it("repositories scope: adopts per repository with repository:name IDs, retains every variable", async () => {
        MOCK_GITHUB_VARIABLES.repositories = { "ameide-gitops": ["AMEIDE_BUILDKIT_ADDR"] };
        const variables = (
            await registrationsOf(
                editVariables((v) => {
                    v.scope = "repositories";
                    v.repositories = ["ameide", "ameide-gitops"];
                    delete v.visibility;
                }),
            )
        ).filter((x) => x.type === REPO_VARIABLE);
        assert.deepStrictEqual(variables.map((x) => [x.name, x.importId, x.retainOnDelete]).sort(), [
            ["ameide-AMEIDE_BUILDKIT_ADDR", "", true],
            ["ameide-AMEIDE_RUNS_ON", "", true],
            ["ameide-gitops-AMEIDE_BUILDKIT_ADDR", "ameide-gitops:AMEIDE_BUILDKIT_ADDR", true],
            ["ameide-gitops-AMEIDE_RUNS_ON", "", true],
        ]);
    });
});
