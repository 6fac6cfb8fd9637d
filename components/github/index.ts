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
            for (const variable of variableValues(args)) {
                new github.ActionsOrganizationVariable(
                    variable.name,
                    { variableName: variable.name, value: variable.value, visibility: args.visibility, selectedRepositoryIds },
                    child,
                );
            }
        } else {
            for (const repository of args.repositories) {
                for (const variable of variableValues(args)) {
                    new github.ActionsVariable(`${repository}-${variable.name}`, { repository, variableName: variable.name, value: variable.value }, child);
                }
            }
        }
        this.registerOutputs({});
    }
}
