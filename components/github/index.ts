import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import type { GithubCredentials } from "../../config/github";
import { GITHUB_VARIABLES } from "../../contracts";

export interface GithubVariablesArgs {
    /** The organization that owns the variables (from the config URL). */
    organization: string;
    credentials: GithubCredentials;
    /** `organization` or `repositories`; `none` declares nothing (use no component at all). */
    scope: "organization" | "repositories";
    /** Organization variable visibility. */
    visibility: "all" | "private" | "selected";
    /** Repositories (names within the organization) that see the organization variables when `selected`. */
    selectedRepositories: readonly string[];
    /** Repositories that get their own variables when the scope is `repositories`. */
    repositories: readonly string[];
    /** Value of `AMEIDE_BUILDKIT_ADDR`: the BuildKit endpoint. */
    endpoint: pulumi.Input<string>;
    /** Value of `AMEIDE_RUNS_ON`: the stack's runner label. */
    runsOn: string;
    /** Value of `AMEIDE_BUILDKIT_ARM64_ADDR` when native arm64 builders exist; no variable otherwise. */
    arm64Endpoint?: pulumi.Input<string>;
}

/** Not in CONTRACTS.md: published beside the contract's variables only when native arm64 builders exist. */
export const ARM64_ADDR_VARIABLE = "AMEIDE_BUILDKIT_ARM64_ADDR";

/** The variables every workflow reads, by name. */
export function variableValues(args: Pick<GithubVariablesArgs, "endpoint" | "runsOn" | "arm64Endpoint">): { name: string; value: pulumi.Input<string> }[] {
    return [
        { name: GITHUB_VARIABLES.addr, value: args.endpoint },
        { name: GITHUB_VARIABLES.runsOn, value: args.runsOn },
        ...(args.arm64Endpoint === undefined ? [] : [{ name: ARM64_ADDR_VARIABLE, value: args.arm64Endpoint }]),
    ];
}

/**
 * Adopting and keeping the variables (terraform-provider-github, which @pulumi/github 6.15.0 wraps,
 * github/resource_github_actions_organization_variable.go): creating an organization variable is a
 * POST (`client.Actions.CreateOrgVariable`), which GitHub answers with 409 when the name exists, so a
 * first `up` in an organization that already has `AMEIDE_RUNS_ON` would fail. The resource's ID is
 * the variable's name and its importer passes it through (`ImportStatePassthroughContext`); a
 * repository variable's ID is `<repository>:<name>`. Where the variable exists, the resource is
 * declared with the `import` option: the engine imports it, then updates it to the program's value
 * (an import with differing inputs is an import followed by an update since pulumi/pulumi#19339), and
 * ignores the option once the resource is in the state with that ID (step_generator.go: "An import
 * occurs if there is no old resource or if the old resource's ID does not match"). A changed
 * `visibility` (ForceNew) would mean a replacement, which cannot work for a retained variable: keep
 * the existing visibility or delete the variable first (docs/operations/github-variables.md).
 *
 * `retainOnDelete`: workflows in every repository of the organization read these variables, so
 * `pulumi destroy` (or dropping the scope) leaves them in place instead of deleting them.
 */
export function importIdFor(existing: ReadonlySet<string>, variableName: string, repository?: string): string | undefined {
    if (!existing.has(variableName)) {
        return undefined;
    }
    return repository === undefined ? variableName : `${repository}:${variableName}`;
}

/** The options of one variable: retained on delete, adopted when it exists. */
export function variableOptions(existing: ReadonlySet<string>, variableName: string, repository?: string): { retainOnDelete: true; import?: string } {
    const id = importIdFor(existing, variableName, repository);
    return { retainOnDelete: true, ...(id === undefined ? {} : { import: id }) };
}

/** The provider's credentials: a GitHub App installation (preferred) or a token, all Pulumi secrets. */
export function providerCredentials(credentials: GithubCredentials): Pick<github.ProviderArgs, "appAuth" | "token"> {
    return credentials.method === "app"
        ? { appAuth: { id: credentials.appId, installationId: credentials.installationId, pemFile: credentials.privateKey } }
        : { token: credentials.token };
}

/**
 * Publishes `AMEIDE_BUILDKIT_ADDR` and `AMEIDE_RUNS_ON` (and `AMEIDE_BUILDKIT_ARM64_ADDR` with native
 * arm64 builders) as GitHub Actions variables: at organization
 * level, or per repository where the organization scope is not granted. Uses its own GitHub provider
 * (never ambient `GITHUB_TOKEN` defaults), so what it may touch is exactly what the stack config says.
 */
export class GithubVariables extends pulumi.ComponentResource {
    constructor(name: string, args: GithubVariablesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("arc-buildkit:github:GithubVariables", name, {}, opts);
        const provider = new github.Provider("github", { owner: args.organization, ...providerCredentials(args.credentials) }, { parent: this });
        const child = { parent: this, provider };

        if (args.scope === "organization") {
            // The API takes repository IDs; resolving the configured names keeps the stack file readable
            // and fails the preview if a repository does not exist.
            const selectedRepositoryIds =
                args.visibility === "selected"
                    ? args.selectedRepositories.map(
                          (repo) => github.getRepositoryOutput({ fullName: `${args.organization}/${repo}` }, { parent: this, provider }).repoId,
                      )
                    : undefined;
            // The names that exist decide which variables are adopted; the `import` option must be known when a
            // resource is declared, so they are declared once the list is read (an invoke, so also in preview).
            const existing = github.getActionsOrganizationVariablesOutput({ parent: this, provider }).variables;
            existing.apply((list) => {
                const names = new Set(list.map((v) => v.name));
                for (const variable of variableValues(args)) {
                    new github.ActionsOrganizationVariable(
                        variable.name,
                        { variableName: variable.name, value: variable.value, visibility: args.visibility, selectedRepositoryIds },
                        { ...child, ...variableOptions(names, variable.name) },
                    );
                }
            });
        } else {
            for (const repository of args.repositories) {
                const existing = github.getActionsVariablesOutput({ name: repository }, { parent: this, provider }).variables;
                existing.apply((list) => {
                    const names = new Set(list.map((v) => v.name));
                    for (const variable of variableValues(args)) {
                        new github.ActionsVariable(
                            `${repository}-${variable.name}`,
                            { repository, variableName: variable.name, value: variable.value },
                            { ...child, ...variableOptions(names, variable.name, repository) },
                        );
                    }
                });
            }
        }
        this.registerOutputs({});
    }
}
