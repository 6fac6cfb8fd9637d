import * as assert from "assert";
import { parseSettings } from "../config";
import { findResource, isSecretInput, reveal, runProgram, stackConfig } from "./harness/program";
import { MOCK_GITHUB_VARIABLES, mockRepositoryId } from "./harness/mocks";
import { Registration, recordRegistrations } from "./harness/registrations";
import { importIdFor } from "../components/github";
import { allEdits, configProblems, editConfig, setConfig } from "./harness/config-edit";
import {
    APP_SECRET_KEYS,
    appCredentials,
    FAKE_ADMIN_TOKEN,
    FAKE_APP_ID,
    FAKE_APP_INSTALLATION_ID,
    FAKE_APP_PRIVATE_KEY,
    FAKE_TOKEN,
    TOKEN_SECRET_KEYS,
    withAppCredentials,
    withTokenCredentials,
} from "./fixtures/github-credentials";

const ORG_VARIABLE = "github:index/actionsOrganizationVariable:ActionsOrganizationVariable";
const REPO_VARIABLE = "github:index/actionsVariable:ActionsVariable";
const PROVIDER = "pulumi:providers:github";
const ENDPOINT = "tcp://buildkitd.buildkit.svc.cluster.local:1234";

function editVariables(change: (variables: Record<string, unknown>) => void) {
    return editConfig("github", (github) => change(github.variables));
}

/** The aks stack without its protected tier: scope `repositories` is refused with tiers (config/tiers.ts). */
const withoutTiers = (config: Record<string, string>) => {
    delete config["arc-buildkit:tiers"];
};

/** Runs `f` with no GITHUB_TOKEN in the environment (tests/harness/environment.ts sets the fake admin token). */
async function withoutAdminToken<T>(f: () => Promise<T>): Promise<T> {
    const saved = process.env.GITHUB_TOKEN;
    delete process.env.GITHUB_TOKEN;
    try {
        return await f();
    } finally {
        process.env.GITHUB_TOKEN = saved;
    }
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

    it("authenticates its provider with the admin token from the environment, as a secret, never with ARC's App", async () => {
        const run = await runProgram("aks", ...appCredentials());
        const provider = findResource(run, PROVIDER, "github");
        assert.strictEqual(provider.inputs.owner, "ameideio");
        assert.ok(isSecretInput(provider.inputs.token), "token is a secret");
        assert.strictEqual(reveal(provider.inputs.token), FAKE_ADMIN_TOKEN);
        assert.strictEqual(provider.inputs.appAuth, undefined);
    });
    it("fails before declaring anything when the admin token is missing from the environment, naming the key and the fix", () => {
        const config = stackConfig("aks");
        withAppCredentials(config);
        const problems = configProblems(() => parseSettings(config, "aks", (key) => APP_SECRET_KEYS.includes(key), {}));
        assert.deepStrictEqual(problems.length, 1, problems.join("\n"));
        assert.match(problems[0], /^arc-buildkit:github\.adminCredentials: "environment" needs GITHUB_TOKEN .*actions\/create-github-app-token/);
        assert.ok(!problems[0].includes(FAKE_ADMIN_TOKEN));
    });
    it("rejects an admin token that is not a token, without echoing it", () => {
        const config = stackConfig("aks");
        withAppCredentials(config);
        const problems = configProblems(() => parseSettings(config, "aks", (key) => APP_SECRET_KEYS.includes(key), { GITHUB_TOKEN: "not a token!" }));
        assert.deepStrictEqual(problems, [
            "arc-buildkit:github.adminCredentials: GITHUB_TOKEN does not look like a GitHub token (letters, digits and '_' only; not shown)",
        ]);
    });
    it("authenticates its provider as ARC's GitHub App only when github.adminCredentials is arc (the weaker, named option)", async () => {
        const run = await withoutAdminToken(() => runProgram("aks", ...appCredentials(editConfig("github", (g) => (g.adminCredentials = "arc")))));
        const provider = findResource(run, PROVIDER, "github");
        assert.strictEqual(provider.inputs.token, undefined);
        // The provider receives appAuth as one JSON-encoded input; it must be a secret as a whole.
        assert.ok(isSecretInput(provider.inputs.appAuth), "appAuth is a secret");
        const appAuth = reveal(provider.inputs.appAuth);
        const parsed = typeof appAuth === "string" ? JSON.parse(appAuth) : appAuth;
        assert.deepStrictEqual(parsed, { id: FAKE_APP_ID, installationId: FAKE_APP_INSTALLATION_ID, pemFile: FAKE_APP_PRIVATE_KEY + "\n" });
    });
    it("refuses adminCredentials arc while GITHUB_TOKEN is set: the provider would silently use that token instead", () => {
        const config = stackConfig("aks");
        withAppCredentials(config);
        editConfig("github", (g) => (g.adminCredentials = "arc"))(config);
        const problems = configProblems(() => parseSettings(config, "aks", (key) => APP_SECRET_KEYS.includes(key), { GITHUB_TOKEN: FAKE_ADMIN_TOKEN }));
        assert.strictEqual(problems.length, 1, problems.join("\n"));
        assert.match(problems[0], /^arc-buildkit:github\.adminCredentials: "arc", but GITHUB_TOKEN is set in the environment/);
    });
    it("authenticates its provider with ARC's token, as a secret, when adminCredentials is arc and github.auth is token", async () => {
        const run = await withoutAdminToken(() =>
            runProgram(
                "aks",
                allEdits(
                    withTokenCredentials,
                    editConfig("github", (g) => (g.adminCredentials = "arc")),
                ),
                { secretKeys: TOKEN_SECRET_KEYS },
            ),
        );
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
        // The protected tier's runner group and variables look up their own repositories (Pulumi.aks.yaml: arc-buildkit).
        assert.deepStrictEqual([...new Set(lookups)].sort(), ["ameideio/ameide", "ameideio/ameide-gitops", "ameideio/arc-buildkit"]);
    });

    it("publishes all-repository visibility when configured", async () => {
        const run = await runProgram("aks", ...appCredentials(editVariables((v) => (v.visibility = "all"))));
        assert.strictEqual(findResource(run, ORG_VARIABLE, "AMEIDE_RUNS_ON").inputs.visibility, "all");
    });

    it("falls back to per-repository variables on the configured list (a stack without tiers)", async () => {
        const run = await runProgram(
            "aks",
            ...appCredentials(
                allEdits(
                    withoutTiers,
                    editVariables((v) => {
                        v.scope = "repositories";
                        v.repositories = ["ameide", "ameide-gitops"];
                        delete v.visibility;
                    }),
                ),
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

    it("declares no GitHub resource at all when the scope is none and the stack has no further tier", async () => {
        const run = await runProgram(
            "aks",
            ...appCredentials(
                allEdits(
                    editVariables((v) => (v.scope = "none")),
                    (config) => {
                        delete config["arc-buildkit:tiers"];
                    },
                ),
            ),
        );
        assert.deepStrictEqual(
            run.resources.filter((r) => r.type.startsWith("github:") || r.type === PROVIDER),
            [],
        );
    });
    it("refuses scope repositories with tiers, naming the key, before anything is declared", () => {
        const config = stackConfig("aks");
        withAppCredentials(config);
        editVariables((v) => {
            v.scope = "repositories";
            v.repositories = ["ameide"];
            delete v.visibility;
        })(config);
        const problems = configProblems(() => parseSettings(config, "aks", (key) => APP_SECRET_KEYS.includes(key)));
        assert.strictEqual(problems.length, 1, problems.join("\n"));
        assert.match(problems[0], /^arc-buildkit:github\.variables\.scope: expected "organization" \(or "none"\) with tiers/);
    });
    it("with scope none, still declares each tier's runner group and its variables, and nothing of the shared tier", async () => {
        const run = await runProgram("aks", ...appCredentials(editVariables((v) => (v.scope = "none"))));
        assert.deepStrictEqual(
            run.resources
                .filter((r) => r.type.startsWith("github:"))
                .map((r) => `${r.type.split(":").pop()}/${r.name}`)
                .sort(),
            [
                "ActionsOrganizationVariable/AMEIDE_BUILDKIT_PROTECTED_ADDR",
                "ActionsOrganizationVariable/AMEIDE_RUNS_ON_PROTECTED",
                "ActionsRunnerGroup/protected-runner-group",
            ],
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
        // The protected tier's variables are adopted and retained the same way.
        assert.deepStrictEqual(variables.map((x) => [x.name, x.importId, x.retainOnDelete]).sort(), [
            ["AMEIDE_BUILDKIT_ADDR", "", true],
            ["AMEIDE_BUILDKIT_PROTECTED_ADDR", "", true],
            ["AMEIDE_RUNS_ON", "AMEIDE_RUNS_ON", true],
            ["AMEIDE_RUNS_ON_PROTECTED", "", true],
        ]);
    });

    it("organization scope with none existing: nothing is imported, all four are retained", async () => {
        const variables = (await registrationsOf()).filter((x) => x.type === ORG_VARIABLE);
        assert.strictEqual(variables.length, 4);
        for (const x of variables) {
            assert.strictEqual(x.importId, "", x.name);
            assert.strictEqual(x.retainOnDelete, true, x.name);
        }
    });

    it("repositories scope: adopts per repository with repository:name IDs, retains every variable", async () => {
        MOCK_GITHUB_VARIABLES.repositories = { "ameide-gitops": ["AMEIDE_BUILDKIT_ADDR"] };
        const variables = (
            await registrationsOf(
                allEdits(
                    withoutTiers,
                    editVariables((v) => {
                        v.scope = "repositories";
                        v.repositories = ["ameide", "ameide-gitops"];
                        delete v.visibility;
                    }),
                ),
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
