import * as assert from "assert";
import { ConfigError, parseSettings } from "../config";
import { parseGithubConfigUrl } from "../config/github";
import { CREDENTIAL_ENV } from "../scripts/local-env";
import { runProgram, stackConfig } from "./harness/program";
import { ALL_FAKE_SECRETS, APP_SECRET_KEYS, FAKE_TOKEN, TOKEN_SECRET_KEYS, withAppCredentials, withTokenCredentials } from "./fixtures/github-credentials";
import { allEdits, ConfigEdit, configProblems, editConfig, setConfig } from "./harness/config-edit";

type Edit = ConfigEdit;

/** Parses a committed stack file after `edit`, with the given keys stored as secrets. */
function parse(stack: string, edit: Edit, secretKeys: string[] = APP_SECRET_KEYS) {
    const config = stackConfig(stack);
    edit(config);
    return parseSettings(config, stack, (key) => secretKeys.includes(key));
}

/** The problems a bad config is rejected with (fails if it is accepted). */
function problems(stack: string, edit: Edit, secretKeys?: string[]): string[] {
    return configProblems(() => parse(stack, edit, secretKeys));
}

const setJson = editConfig;
const both = allEdits;

function assertOneProblem(found: string[], key: string, pattern: RegExp): void {
    assert.strictEqual(found.length, 1, `expected one problem, got:\n${found.join("\n")}`);
    assert.ok(found[0].startsWith(`${key}:`), `expected the problem to name ${key}: ${found[0]}`);
    assert.match(found[0], pattern);
}

describe("ARC and GitHub settings", () => {
    it("accept both committed stack files once credentials are set", () => {
        for (const stack of ["local", "aks"]) {
            const settings = parse(stack, withAppCredentials);
            assert.strictEqual(settings.arc.chartVersion, "0.14.2");
            assert.strictEqual(settings.github.auth, "app");
            assert.strictEqual(settings.githubCredentials?.method, "app");
        }
        assert.strictEqual(parse("local", withAppCredentials).github.variables.scope, "none");
        assert.strictEqual(parse("aks", withAppCredentials).github.variables.scope, "organization");
    });

    it("fill in defaults for a minimal arc and github block", () => {
        const settings = parse(
            "aks",
            both(
                withAppCredentials,
                setConfig("arc", { scaleSets: [{ name: "arc-aks-v2" }] }),
                setConfig("github", { configUrl: "https://github.com/ameideio" }),
            ),
        );
        assert.deepStrictEqual(settings.arc.scaleSets, [{ name: "arc-aks-v2", labels: [], minRunners: 0, maxRunners: 5, runnerGroup: "default" }]);
        assert.match(settings.arc.runnerImage, /^ghcr\.io\/actions\/actions-runner:2\.331\.0@sha256:[a-f0-9]{64}$/);
        assert.strictEqual(settings.arc.selectorTimeoutSeconds, 5);
        assert.deepStrictEqual(settings.github.variables, { scope: "organization", visibility: "private", selectedRepositories: [], repositories: [] });
    });

    describe("reject", () => {
        it("a scale set name over 45 characters (the chart's limit)", () => {
            const name = "arc-" + "x".repeat(42);
            const found = problems(
                "aks",
                both(
                    withAppCredentials,
                    setJson("arc", (a) => (a.scaleSets[0].name = name)),
                    setConfig("runnerLabel", "arc-aks-v2"),
                ),
            );
            assert.ok(
                found.some((p) => p.startsWith("arc-buildkit:arc.scaleSets[0].name:") && /at most 45 characters/.test(p)),
                found.join("\n"),
            );
        });

        it("a scale set name that is not a valid label", () => {
            const found = problems(
                "aks",
                both(
                    withAppCredentials,
                    setJson("arc", (a) => a.scaleSets.push({ name: "Arc_Big" })),
                ),
            );
            assertOneProblem(found, "arc-buildkit:arc.scaleSets[1].name", /lower-case letters, digits and '-'/);
        });

        it("minRunners greater than maxRunners", () => {
            const found = problems(
                "aks",
                both(
                    withAppCredentials,
                    setJson("arc", (a) => Object.assign(a.scaleSets[0], { minRunners: 4, maxRunners: 3 })),
                ),
            );
            assertOneProblem(found, "arc-buildkit:arc.scaleSets[0].minRunners", /no larger than maxRunners \(3\)/);
        });

        it("negative runner counts", () => {
            const found = problems(
                "aks",
                both(
                    withAppCredentials,
                    setJson("arc", (a) => Object.assign(a.scaleSets[0], { minRunners: -1, maxRunners: -2 })),
                ),
            );
            assert.ok(
                found.some((p) => p.startsWith("arc-buildkit:arc.scaleSets[0].minRunners:") && /not a negative number/.test(p)),
                found.join("\n"),
            );
            assert.ok(
                found.some((p) => p.startsWith("arc-buildkit:arc.scaleSets[0].maxRunners:") && /not a negative number/.test(p)),
                found.join("\n"),
            );
        });

        it("duplicate scale set names and a runner label that names no scale set", () => {
            const found = problems(
                "aks",
                both(
                    withAppCredentials,
                    setJson("arc", (a) => a.scaleSets.push({ name: "arc-aks-v2" })),
                ),
            );
            assertOneProblem(found, "arc-buildkit:arc.scaleSets", /every scale set name once/);
            const orphan = problems(
                "aks",
                both(
                    withAppCredentials,
                    setJson("arc", (a) => (a.scaleSets[0].name = "arc-aks-v3")),
                ),
            );
            assertOneProblem(orphan, "arc-buildkit:runnerLabel", /one of arc\.scaleSets \(arc-aks-v3\)/);
        });

        for (const bad of [0, 61, 2.5, "5"]) {
            it(`a select-buildkit timeout of ${JSON.stringify(bad)} seconds`, () => {
                const found = problems(
                    "aks",
                    both(
                        withAppCredentials,
                        setJson("arc", (a) => (a.selectorTimeoutSeconds = bad)),
                    ),
                );
                assertOneProblem(found, "arc-buildkit:arc.selectorTimeoutSeconds", /whole number of seconds from 1 to 60/);
            });
        }

        it("a runner image or chart version that is not pinned", () => {
            const found = problems(
                "aks",
                both(
                    withAppCredentials,
                    setJson("arc", (a) => Object.assign(a, { runnerImage: "ghcr.io/actions/actions-runner:latest", chartVersion: "latest" })),
                ),
            );
            assert.strictEqual(found.length, 2, found.join("\n"));
            assert.ok(found.some((p) => p.startsWith("arc-buildkit:arc.runnerImage:") && /pinned by digest/.test(p)));
            assert.ok(found.some((p) => p.startsWith("arc-buildkit:arc.chartVersion:")));
        });

        for (const url of [
            "https://github.com/enterprises/ameide",
            "https://gitlab.com/ameideio",
            "http://github.com/ameideio",
            "https://github.com/ameideio/ameide/tree/main",
            "https://github.com/",
            "ameideio",
        ]) {
            it(`a GitHub config URL that is not an organization or repository URL: ${url}`, () => {
                const found = problems(
                    "aks",
                    both(
                        withAppCredentials,
                        setJson("github", (g) => (g.configUrl = url)),
                    ),
                );
                assertOneProblem(found, "arc-buildkit:github.configUrl", /github\.com organization or repository URL/);
            });
        }

        it("missing GitHub App credentials, naming each key and the command that sets it", () => {
            const found = problems("aks", () => {});
            assert.deepStrictEqual(
                found.map((p) => p.split(":").slice(0, 2).join(":")),
                ["arc-buildkit:githubAppId", "arc-buildkit:githubAppInstallationId", "arc-buildkit:githubAppPrivateKey"],
            );
            assert.match(found[2], /missing/);
            assert.match(found[2], /`pulumi config set --secret --stack aks arc-buildkit:githubAppPrivateKey < app-private-key\.pem`/);
            assert.match(found[0], /`pulumi config set --secret --stack aks arc-buildkit:githubAppId 123456`/);
        });

        it("a missing token when github.auth is token", () => {
            const found = problems(
                "aks",
                setJson("github", (g) => (g.auth = "token")),
            );
            assertOneProblem(found, "arc-buildkit:githubToken", /missing.*`pulumi config set --secret --stack aks arc-buildkit:githubToken <token>`/);
        });

        it("names the stack in every printed fix, so it works whichever stack is selected", () => {
            const found = problems("aks", () => {});
            assert.ok(
                found.every((p) => p.includes("`pulumi config set --secret --stack aks arc-buildkit:")),
                found.join("\n"),
            );
            const unused = problems("aks", both(withAppCredentials, setConfig("githubToken", FAKE_TOKEN)), [...APP_SECRET_KEYS, ...TOKEN_SECRET_KEYS]);
            assert.match(unused[0], /`pulumi config rm --stack aks arc-buildkit:githubToken`/);
        });

        it("no credentials at all on local: accepted, the runners are skipped (the program says so)", () => {
            assert.strictEqual(parse("local", () => {}, []).githubCredentials, undefined);
        });

        it("some credentials on local: the rest are still required, with the same message", () => {
            const found = problems("local", setConfig("githubAppId", "123456"));
            assert.strictEqual(found.length, 3, found.join("\n"));
            assert.ok(found.slice(0, 2).every((p) => p.includes("pulumi config set --secret --stack local")));
            // The local:up way, with the variables it really reads.
            assert.match(found[2], /npm run local:up/);
            for (const name of Object.values(CREDENTIAL_ENV)) assert.ok(found[2].includes(name), name);
        });

        it("a private key or token stored in clear text, without echoing it", () => {
            const key = problems("aks", withAppCredentials, ["arc-buildkit:githubAppId", "arc-buildkit:githubAppInstallationId"]);
            assertOneProblem(key, "arc-buildkit:githubAppPrivateKey", /clear text/);
            const token = problems("aks", withTokenCredentials, []);
            assertOneProblem(token, "arc-buildkit:githubToken", /clear text/);
            assert.ok(!token[0].includes(FAKE_TOKEN));
        });

        it("credentials of the wrong shape, without echoing them", () => {
            const found = problems("aks", (c) => {
                withAppCredentials(c);
                c["arc-buildkit:githubAppId"] = "my-app";
                c["arc-buildkit:githubAppPrivateKey"] = "ghp_thisIsATokenNotAKey000000000";
            });
            assert.strictEqual(found.length, 2, found.join("\n"));
            assert.match(found[0], /^arc-buildkit:githubAppId: expected the GitHub App's numeric App ID/);
            assert.match(found[1], /^arc-buildkit:githubAppPrivateKey: expected the GitHub App's private key in PEM form/);
            assert.ok(found.every((p) => !p.includes("my-app") && !p.includes("ghp_thisIsATokenNotAKey")));
        });

        it("credentials of the other auth method, which would be silently ignored", () => {
            const found = problems("aks", both(withAppCredentials, setConfig("githubToken", FAKE_TOKEN)), [...APP_SECRET_KEYS, ...TOKEN_SECRET_KEYS]);
            assertOneProblem(found, "arc-buildkit:githubToken", /not used because github\.auth is "app"/);
        });

        it("visibility selected without repositories", () => {
            const found = problems(
                "aks",
                both(
                    withAppCredentials,
                    setJson("github", (g) => (g.variables.visibility = "selected")),
                ),
            );
            assertOneProblem(found, "arc-buildkit:github.variables.selectedRepositories", /at least one repository because visibility is "selected"/);
        });

        it("selected repositories that would be ignored, and an unknown visibility", () => {
            const ignored = problems(
                "aks",
                both(
                    withAppCredentials,
                    setJson("github", (g) => (g.variables.selectedRepositories = ["ameide"])),
                ),
            );
            assertOneProblem(ignored, "arc-buildkit:github.variables.selectedRepositories", /would be ignored/);
            const unknown = problems(
                "aks",
                both(
                    withAppCredentials,
                    setJson("github", (g) => (g.variables.visibility = "public")),
                ),
            );
            assertOneProblem(unknown, "arc-buildkit:github.variables.visibility", /expected one of all, private, selected/);
        });

        it("scope repositories without repositories, and invalid repository names", () => {
            const empty = problems(
                "aks",
                both(
                    withAppCredentials,
                    setJson("github", (g) => (g.variables = { scope: "repositories" })),
                ),
            );
            assertOneProblem(empty, "arc-buildkit:github.variables.repositories", /at least one repository because scope is "repositories"/);
            const bad = problems(
                "aks",
                both(
                    withAppCredentials,
                    // Without tiers, which refuse scope repositories on their own (tests/github.test.ts).
                    (c) => delete c["arc-buildkit:tiers"],
                    setJson("github", (g) => (g.variables = { scope: "repositories", repositories: ["ameideio/ameide"] })),
                ),
            );
            assertOneProblem(bad, "arc-buildkit:github.variables.repositories[0]", /without the organization/);
        });

        it("organization or repository variables on a k3d stack", () => {
            for (const variables of [{ scope: "organization" }, { scope: "repositories", repositories: ["ameide"] }]) {
                const found = problems(
                    "local",
                    both(
                        withAppCredentials,
                        setJson("github", (g) => (g.variables = variables)),
                    ),
                );
                assertOneProblem(found, "arc-buildkit:github.variables.scope", /"none" on a k3d stack/);
            }
        });

        it("stops the real program with a ConfigError before declaring anything", async () => {
            await assert.rejects(
                runProgram(
                    "aks",
                    setJson("arc", (a) => Object.assign(a.scaleSets[0], { minRunners: 3, maxRunners: 1 })),
                    { secretKeys: [] },
                ),
                (error: unknown) => error instanceof ConfigError && /arc\.scaleSets\[0\]\.minRunners/.test(error.message),
            );
        });
    });

    it("never prints a credential in any error", () => {
        const found = [
            ...problems(
                "aks",
                both(
                    withAppCredentials,
                    setJson("arc", (a) => (a.scaleSets[0].maxRunners = -1)),
                ),
            ),
            ...problems("aks", withAppCredentials, []),
            ...problems("aks", both(withAppCredentials, setConfig("githubToken", FAKE_TOKEN)), []),
        ];
        for (const secret of ALL_FAKE_SECRETS) {
            assert.ok(
                found.every((p) => !p.includes(secret)),
                `a problem echoes ${secret}`,
            );
        }
    });
});

describe("parseGithubConfigUrl", () => {
    it("reads the organization and the optional repository", () => {
        assert.deepStrictEqual(parseGithubConfigUrl("https://github.com/ameideio"), { organization: "ameideio" });
        assert.deepStrictEqual(parseGithubConfigUrl("https://github.com/ameideio/"), { organization: "ameideio" });
        assert.deepStrictEqual(parseGithubConfigUrl("https://github.com/ameideio/ameide-gitops"), { organization: "ameideio", repository: "ameide-gitops" });
        assert.strictEqual(parseGithubConfigUrl("https://github.com/-bad"), undefined);
    });
});
