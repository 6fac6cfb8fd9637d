import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { GITHUB_CREDENTIAL_KEYS, GITHUB_CREDENTIAL_KEY_LIST } from "./credential-keys";

/**
 * GitHub settings: where the runner scale sets register, how the program authenticates, and where
 * the `AMEIDE_*` Actions variables are published. Pure except for wrapping credentials in
 * `pulumi.secret`, so it is tested directly.
 *
 * Only github.com is supported: ARC's config URL, the Pulumi GitHub provider and the variable
 * resources all address one organization on github.com. (GitHub Enterprise Server would also need
 * the provider's `baseUrl` and ARC's `githubServerTLS`; neither is wired, so such a URL is rejected
 * instead of half-working.)
 */

/** `https://github.com/<org>` or `https://github.com/<org>/<repo>`; a trailing slash is tolerated. */
const CONFIG_URL = /^https:\/\/github\.com\/([A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?)(?:\/([A-Za-z0-9._-]{1,100}))?\/?$/;
/** What GitHub accepts as a repository name (inside the organization of the config URL). */
const REPOSITORY_NAME = /^[A-Za-z0-9._-]{1,100}$/;

export const AUTH_METHODS = ["app", "token"] as const;
export type GithubAuthMethod = (typeof AUTH_METHODS)[number];

export const VARIABLE_SCOPES = ["organization", "repositories", "none"] as const;
/** See `github.adminCredentials`. */
export const ADMIN_CREDENTIAL_SOURCES = ["environment", "arc"] as const;
export const VARIABLE_VISIBILITIES = ["all", "private", "selected"] as const;

/** The organization (and repository, for a repository URL) a config URL names; undefined if it is not one. */
export function parseGithubConfigUrl(url: string): { organization: string; repository?: string } | undefined {
    const match = CONFIG_URL.exec(url);
    if (!match || match[1].toLowerCase() === "enterprises" || match[2] === "." || match[2] === "..") {
        return undefined;
    }
    return match[2] ? { organization: match[1], repository: match[2] } : { organization: match[1] };
}

const repositoryName = z
    .string({ error: "expected a repository name (without the organization)" })
    .regex(REPOSITORY_NAME, { error: "expected a repository name of letters, digits, '.', '_' and '-' (without the organization)" });

const repositoryList = z
    .array(repositoryName)
    .refine((names) => new Set(names.map((n) => n.toLowerCase())).size === names.length, { error: "expected each repository at most once" });

const variables = z
    .strictObject({
        /**
         * Where `AMEIDE_BUILDKIT_ADDR` and `AMEIDE_RUNS_ON` are published: `organization` (needs the
         * organization's Variables permission), `repositories` (the fallback when the organization
         * scope is not granted: one variable pair per listed repository), or `none`.
         */
        scope: z.enum(VARIABLE_SCOPES, { error: `expected one of ${VARIABLE_SCOPES.join(", ")}` }).default("organization"),
        /** Which repositories see the organization variables. Default `private` (private and internal repositories). */
        visibility: z.enum(VARIABLE_VISIBILITIES, { error: `expected one of ${VARIABLE_VISIBILITIES.join(", ")}` }).default("private"),
        /** The repositories that see the organization variables when visibility is `selected`. */
        selectedRepositories: repositoryList.default([]),
        /** The repositories that get the variables when scope is `repositories`. */
        repositories: repositoryList.default([]),
    })
    .check((ctx) => {
        const { scope, visibility, selectedRepositories, repositories } = ctx.value;
        if (scope === "organization" && visibility === "selected" && selectedRepositories.length === 0) {
            ctx.issues.push({
                code: "custom",
                path: ["selectedRepositories"],
                input: selectedRepositories,
                message: 'expected at least one repository because visibility is "selected"',
            });
        }
        if (selectedRepositories.length > 0 && !(scope === "organization" && visibility === "selected")) {
            ctx.issues.push({
                code: "custom",
                path: ["selectedRepositories"],
                input: selectedRepositories,
                message: 'expected no repositories here unless scope is "organization" and visibility is "selected" (they would be ignored)',
            });
        }
        if (scope === "repositories" && repositories.length === 0) {
            ctx.issues.push({
                code: "custom",
                path: ["repositories"],
                input: repositories,
                message: 'expected at least one repository because scope is "repositories"',
            });
        }
        if (repositories.length > 0 && scope !== "repositories") {
            ctx.issues.push({
                code: "custom",
                path: ["repositories"],
                input: repositories,
                message: 'expected no repositories here unless scope is "repositories" (they would be ignored)',
            });
        }
    });

/** `arc-buildkit:github`. */
export const githubSchema = z.strictObject({
    /** Where the runner scale sets register: `https://github.com/<org>` or `https://github.com/<org>/<repo>`. */
    configUrl: z.string({ error: "expected a URL string" }).refine((url) => parseGithubConfigUrl(url) !== undefined, {
        error: "expected a github.com organization or repository URL such as https://github.com/my-org or https://github.com/my-org/my-repo (enterprise URLs and other hosts are not supported)",
    }),
    /** How the program authenticates to GitHub, for ARC and for the variables: `app` (preferred) or `token`. */
    auth: z.enum(AUTH_METHODS, { error: `expected one of ${AUTH_METHODS.join(", ")}` }).default("app"),
    variables: variables.prefault({}),
    /**
     * Where the credential that writes organization variables and runner groups comes from.
     * `environment` (default): a short-lived token in the `GITHUB_TOKEN` environment variable of
     * `pulumi up`/`preview`, minted by the deploy job from an admin GitHub App
     * (actions/create-github-app-token), so it never enters the cluster and expires within the hour.
     * `arc`: reuse ARC's own App (weaker: the key in the cluster could then rewrite the variables and
     * the runner groups that keep tiers apart).
     */
    adminCredentials: z.enum(ADMIN_CREDENTIAL_SOURCES, { error: `expected one of ${ADMIN_CREDENTIAL_SOURCES.join(", ")}` }).default("environment"),
});

/** The environment variable the admin token comes from with `adminCredentials: environment`. */
export const ADMIN_TOKEN_ENV = "GITHUB_TOKEN";

export type GithubSettings = z.output<typeof githubSchema>;

// In a module of their own, without the Pulumi SDK, for `npm run local:up` (scripts/local-env.ts).
export { GITHUB_CREDENTIAL_KEYS, GITHUB_CREDENTIAL_KEY_LIST } from "./credential-keys";

/** The keys each auth method needs, in the order docs/github.md tells you to set them. */
export const REQUIRED_CREDENTIAL_KEYS: Record<GithubAuthMethod, readonly string[]> = {
    app: [GITHUB_CREDENTIAL_KEYS.appId, GITHUB_CREDENTIAL_KEYS.appInstallationId, GITHUB_CREDENTIAL_KEYS.appPrivateKey],
    token: [GITHUB_CREDENTIAL_KEYS.token],
};

/**
 * The admin credential (organization variables, runner groups) from the environment: a token, a
 * Pulumi secret from the moment it is read. Problems name the key and the fix, never the value.
 */
export function parseAdminToken(namespace: string, env: Readonly<Record<string, string | undefined>>, problems: string[]): pulumi.Output<string> | undefined {
    const token = env[ADMIN_TOKEN_ENV]?.trim();
    if (!token) {
        problems.push(
            `${namespace}:github.adminCredentials: "environment" needs ${ADMIN_TOKEN_ENV} in the environment of pulumi preview/up: ` +
                "a token of the admin GitHub App (Organization permissions: Variables and Self-hosted runners, read and write), " +
                "such as the deploy workflow mints with actions/create-github-app-token (docs/github.md); " +
                'or set github.adminCredentials to "arc" to reuse ARC\'s own credentials (weaker: docs/trust-tiers.md)',
        );
        return undefined;
    }
    if (!TOKEN.test(token)) {
        problems.push(`${namespace}:github.adminCredentials: ${ADMIN_TOKEN_ENV} does not look like a GitHub token (letters, digits and '_' only; not shown)`);
        return undefined;
    }
    return pulumi.secret(token);
}

/** GitHub credentials, each one a Pulumi secret from the moment it is read. */
export type GithubCredentials =
    | { method: "app"; appId: pulumi.Output<string>; installationId: pulumi.Output<string>; privateKey: pulumi.Output<string> }
    | { method: "token"; token: pulumi.Output<string> };

const NUMERIC_ID = /^[1-9][0-9]{0,19}$/;
const PEM_PRIVATE_KEY = /^-----BEGIN (RSA )?PRIVATE KEY-----\r?\n[A-Za-z0-9+/=\r\n]+\r?\n-----END (RSA )?PRIVATE KEY-----\s*$/;
const TOKEN = /^[A-Za-z0-9_]{20,255}$/;

/**
 * What a credential must look like and how to set it. Messages never mention the value itself.
 * The App and installation IDs are not secret by nature, so a stack may keep them in clear text;
 * the private key and the token must be encrypted.
 */
const CREDENTIAL_RULES: Record<string, { valid: (v: string) => boolean; expectation: string; setArgs: string; mustBeSecret: boolean }> = {
    [GITHUB_CREDENTIAL_KEYS.appId]: {
        valid: (v) => NUMERIC_ID.test(v),
        expectation: "the GitHub App's numeric App ID",
        setArgs: "123456",
        mustBeSecret: false,
    },
    [GITHUB_CREDENTIAL_KEYS.appInstallationId]: {
        valid: (v) => NUMERIC_ID.test(v),
        expectation: "the numeric ID of the App's installation on the organization",
        setArgs: "12345678",
        mustBeSecret: false,
    },
    [GITHUB_CREDENTIAL_KEYS.appPrivateKey]: {
        valid: (v) => PEM_PRIVATE_KEY.test(v + "\n"),
        expectation: "the GitHub App's private key in PEM form (-----BEGIN RSA PRIVATE KEY----- ... -----END RSA PRIVATE KEY-----)",
        setArgs: "< app-private-key.pem",
        mustBeSecret: true,
    },
    [GITHUB_CREDENTIAL_KEYS.token]: {
        valid: (v) => TOKEN.test(v),
        expectation: "a GitHub personal access token (letters, digits and '_' only, such as github_pat_... or ghp_...)",
        setArgs: "<token>",
        mustBeSecret: true,
    },
};

/** The exact command that sets a credential on this stack (the stack flag included: it may not be the selected one). */
function setCommand(namespace: string, key: string, stack?: string): string {
    return `pulumi config set --secret ${stack ? `--stack ${stack} ` : ""}${namespace}:${key} ${CREDENTIAL_RULES[key].setArgs}`;
}

/** The environment variables `npm run local:up` stores as these secrets (scripts/local-env.ts, CREDENTIAL_ENV). */
export const LOCAL_UP_CREDENTIAL_HINT =
    "ARC_BUILDKIT_GITHUB_APP_ID, ARC_BUILDKIT_GITHUB_APP_INSTALLATION_ID and ARC_BUILDKIT_GITHUB_APP_PRIVATE_KEY_FILE (or ARC_BUILDKIT_GITHUB_TOKEN)";

/** Whether a stack's config names none of the GitHub credential keys (what a k3d stack may run without). */
export function hasNoGithubCredentials(raw: Readonly<Record<string, string>>): boolean {
    return GITHUB_CREDENTIAL_KEY_LIST.every((key) => raw[key] === undefined);
}

/**
 * Validates and wraps the credentials of the chosen auth method. `raw` holds the raw values by
 * key (without namespace); `isSecret` tells whether the stack stores a key encrypted. Problems are
 * appended to `problems` and name the key and the command that fixes it, never the value.
 */
export function parseGithubCredentials(
    namespace: string,
    method: GithubAuthMethod,
    raw: Readonly<Record<string, string>>,
    isSecret: (key: string) => boolean,
    problems: string[],
    stack?: string,
): GithubCredentials | undefined {
    const before = problems.length;
    for (const key of REQUIRED_CREDENTIAL_KEYS[method]) {
        const value = raw[key];
        const rule = CREDENTIAL_RULES[key];
        if (value === undefined || value.trim() === "") {
            problems.push(
                `${namespace}:${key}: missing; expected ${rule.expectation} because github.auth is "${method}"; set it with \`${setCommand(namespace, key, stack)}\``,
            );
        } else if (rule.mustBeSecret && !isSecret(key)) {
            problems.push(
                `${namespace}:${key}: stored in clear text; expected a secret: remove it from the stack file and set it with \`${setCommand(namespace, key, stack)}\``,
            );
        } else if (!rule.valid(value.trim())) {
            problems.push(
                `${namespace}:${key}: expected ${rule.expectation}; the value set does not look like one (not shown); set it again with \`${setCommand(namespace, key, stack)}\``,
            );
        }
    }
    const unused = GITHUB_CREDENTIAL_KEY_LIST.filter((key) => raw[key] !== undefined && !REQUIRED_CREDENTIAL_KEYS[method].includes(key));
    for (const key of unused) {
        problems.push(
            `${namespace}:${key}: not used because github.auth is "${method}"; remove it with \`pulumi config rm ${stack ? `--stack ${stack} ` : ""}${namespace}:${key}\` (or change github.auth)`,
        );
    }
    if (problems.length > before) {
        return undefined;
    }
    const secret = (key: string) => pulumi.secret(raw[key].trim());
    return method === "app"
        ? {
              method,
              appId: secret(GITHUB_CREDENTIAL_KEYS.appId),
              installationId: secret(GITHUB_CREDENTIAL_KEYS.appInstallationId),
              // A PEM file keeps its final newline; Go's PEM decoder does not need it, but it costs nothing.
              privateKey: pulumi.secret(raw[GITHUB_CREDENTIAL_KEYS.appPrivateKey].trim() + "\n"),
          }
        : { method, token: secret(GITHUB_CREDENTIAL_KEYS.token) };
}
