import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import type { GithubCredentials } from "../../config/github";
import { ARM64_ADDR_VARIABLE, GITHUB_VARIABLES, tierNames } from "../../contracts";

export interface GithubVariablesArgs {
    /** The organization that owns the variables (from the config URL). */
    organization: string;
    /** What the provider authenticates with: the admin token from the deploy job's environment, or ARC's own credentials. */
    credentials: GithubCredentials | { method: "token"; token: pulumi.Output<string> };
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
    /** Publish the shared tier's variables. False when the stack's scope is `none` and only tiers write to the organization. Default: true. */
    publishShared?: boolean;
    /** Value of `AMEIDE_BUILDKIT_ARM64_ADDR` when native arm64 builders exist; no variable otherwise. */
    arm64Endpoint?: pulumi.Input<string>;
    /**
     * Trust tiers beside the shared one: each gets a runner group (selected repositories, selected
     * workflows) and its own variables (`AMEIDE_RUNS_ON_<TIER>`, `AMEIDE_BUILDKIT_<TIER>_ADDR`), visible
     * only to the group's repositories. Default: none.
     */
    tiers?: readonly GithubTierArgs[];
}

/** One tier's GitHub side. */
export interface GithubTierArgs {
    tier: string;
    runnerGroup: { name: string; repositories: readonly string[]; workflows: readonly string[] };
    runsOn: string;
    endpoint: pulumi.Input<string>;
    arm64Endpoint?: pulumi.Input<string>;
}

/**
 * The runner group that owns a tier: only the listed repositories, only the listed workflows (each
 * pinned to a protected ref), never public repositories. GitHub checks the workflow restriction
 * against the job's workflow file and ref, so a pull request that edits the workflow runs as
 * `refs/pull/<n>/merge` and is not admitted (docs/trust-tiers.md lists what the restriction does not cover).
 */
export function runnerGroupArgs(group: GithubTierArgs["runnerGroup"], repositoryIds: pulumi.Input<number>[]): github.ActionsRunnerGroupArgs {
    return {
        name: group.name,
        visibility: "selected",
        selectedRepositoryIds: repositoryIds,
        restrictedToWorkflows: true,
        selectedWorkflows: [...group.workflows],
        allowsPublicRepositories: false,
    };
}

/** Not in CONTRACTS.md: published beside the contract's variables only when native arm64 builders exist. */
export { ARM64_ADDR_VARIABLE };

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
    /** Each tier's runner group name, from the declared group (the tier's scale sets register after it exists). */
    public readonly runnerGroups: Readonly<Record<string, pulumi.Output<string>>>;

    constructor(name: string, args: GithubVariablesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("arc-buildkit:github:GithubVariables", name, {}, opts);
        const provider = new github.Provider("github", { owner: args.organization, ...providerCredentials(args.credentials) }, { parent: this });
        const child = { parent: this, provider };

        // The API takes repository IDs; resolving the configured names keeps the stack file readable
        // and fails the preview if a repository does not exist.
        const repositoryIds = (names: readonly string[]) =>
            names.map((repo) => github.getRepositoryOutput({ fullName: `${args.organization}/${repo}` }, { parent: this, provider }).repoId);
        // Organization variables that exist already are adopted, never recreated (variableOptions). The
        // `import` option must be known when a resource is declared, so the organization's variables are
        // read first (an invoke, so also in preview) and these variables declared once the list is known.
        const existing = github.getActionsOrganizationVariablesOutput({ parent: this, provider }).variables.apply((list) => new Set(list.map((v) => v.name)));
        const groups: Record<string, pulumi.Output<string>> = {};
        for (const tier of args.tiers ?? []) {
            const ids = repositoryIds(tier.runnerGroup.repositories);
            const group = new github.ActionsRunnerGroup(`${tier.tier}-runner-group`, runnerGroupArgs(tier.runnerGroup, ids), child);
            groups[tier.tier] = group.name;
            // Only the group's repositories see where the tier is and which label reaches it.
            const names = tierNames(tier.tier);
            const values = [
                { name: names.variables.runsOn, value: tier.runsOn },
                { name: names.variables.addr, value: tier.endpoint },
                ...(tier.arm64Endpoint === undefined ? [] : [{ name: names.variables.arm64Addr, value: tier.arm64Endpoint }]),
            ];
            existing.apply((known) => {
                for (const variable of values) {
                    new github.ActionsOrganizationVariable(
                        variable.name,
                        { variableName: variable.name, value: variable.value, visibility: "selected", selectedRepositoryIds: ids },
                        { ...child, ...variableOptions(known, variable.name) },
                    );
                }
            });
        }
        this.runnerGroups = groups;

        if (args.publishShared === false) {
            // Only the tiers' runner groups and variables.
        } else if (args.scope === "organization") {
            const selectedRepositoryIds = args.visibility === "selected" ? repositoryIds(args.selectedRepositories) : undefined;
            existing.apply((known) => {
                for (const variable of variableValues(args)) {
                    new github.ActionsOrganizationVariable(
                        variable.name,
                        { variableName: variable.name, value: variable.value, visibility: args.visibility, selectedRepositoryIds },
                        { ...child, ...variableOptions(known, variable.name) },
                    );
                }
            });
        } else {
            for (const repository of args.repositories) {
                const repositoryVariables = github.getActionsVariablesOutput({ name: repository }, { parent: this, provider }).variables;
                repositoryVariables.apply((list) => {
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
        this.registerOutputs({ runnerGroups: this.runnerGroups });
    }
}
