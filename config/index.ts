import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { ConfigError, describeIssues } from "./errors";
import { GITHUB_CREDENTIAL_KEY_LIST, hasNoGithubCredentials, LOCAL_UP_CREDENTIAL_HINT, parseAdminToken, parseGithubCredentials } from "./github";
import { Settings, SETTINGS_KEYS, settingsSchema } from "./schema";

export { ConfigError } from "./errors";
export * from "./schema";

/** The config namespace of this project (`name:` in Pulumi.yaml). */
export const CONFIG_NAMESPACE = "arc-buildkit";

/**
 * Validates raw stack config (`arc-buildkit:key` → string, as Pulumi hands it to the program) and
 * returns the typed settings, or throws one {@link ConfigError} listing every problem.
 */
export function parseSettings(
    rawConfig: Record<string, string>,
    stack: string,
    isSecret: (fullKey: string) => boolean = () => false,
    env: Readonly<Record<string, string | undefined>> = process.env,
): Settings {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const values: Record<string, unknown> = {};
    const credentials: Record<string, string> = {};
    const problems: string[] = [];
    for (const [fullKey, raw] of Object.entries(rawConfig).sort(([a], [b]) => a.localeCompare(b))) {
        if (!fullKey.startsWith(prefix)) {
            continue; // Provider config (kubernetes:, azure-native:, github:) is not ours to judge.
        }
        const key = fullKey.slice(prefix.length);
        if (GITHUB_CREDENTIAL_KEY_LIST.includes(key)) {
            credentials[key] = raw; // Kept out of the schema so that no message can echo a secret.
            continue;
        }
        if (!(SETTINGS_KEYS as string[]).includes(key)) {
            problems.push(`${fullKey}: unknown key; expected one of ${[...SETTINGS_KEYS, ...GITHUB_CREDENTIAL_KEY_LIST].map((k) => prefix + k).join(", ")}`);
            continue;
        }
        values[key] = decode(raw);
    }
    const result = settingsSchema.safeParse(values, { reportInput: true });
    if (!result.success) {
        problems.push(...describeIssues(CONFIG_NAMESPACE, result.error.issues));
    }
    if (!result.success) {
        throw new ConfigError(stack, problems);
    }
    // A k3d stack without any credential key deploys BuildKit, the PKI and the probe, and skips the runners
    // (program.ts says so). Every other stack registers runners, so its credentials are required; the auth
    // method decides which.
    if (result.data.cluster.kind === "k3d" && hasNoGithubCredentials(credentials)) {
        if (problems.length > 0) {
            throw new ConfigError(stack, problems);
        }
        return { ...result.data, githubCredentials: undefined, githubAdminToken: undefined };
    }
    const before = problems.length;
    const githubCredentials = parseGithubCredentials(CONFIG_NAMESPACE, result.data.github.auth, credentials, (key) => isSecret(prefix + key), problems, stack);
    if (result.data.cluster.kind === "k3d" && problems.length > before) {
        // local:up keeps the stack's config in a per-user file and state outside the default backend, so the
        // plain `pulumi config set` above is not the whole fix there.
        problems.push(
            `${prefix}github*: with \`npm run local:up\`, export ${LOCAL_UP_CREDENTIAL_HINT} instead and run it again; it stores them in its own per-user stack config`,
        );
    }
    // The admin credential is needed only where the stack writes to the organization: variables or runner groups.
    const writesOrganization = result.data.github.variables.scope !== "none" || Object.keys(result.data.tiers).length > 0;
    const githubAdminToken =
        writesOrganization && result.data.github.adminCredentials === "environment" ? parseAdminToken(CONFIG_NAMESPACE, env, problems) : undefined;
    if (writesOrganization && result.data.github.adminCredentials === "arc" && env.GITHUB_TOKEN) {
        // @pulumi/github's Provider fills its `token` from GITHUB_TOKEN whenever none is given, so with ARC's
        // App credentials the environment's token would be used instead (and kept in the state).
        problems.push(
            `${prefix}github.adminCredentials: "arc", but GITHUB_TOKEN is set in the environment, and the GitHub provider would use it instead of ARC's credentials; unset it, or set github.adminCredentials to "environment"`,
        );
    }
    if (problems.length > 0 || !githubCredentials) {
        throw new ConfigError(stack, problems);
    }
    return { ...result.data, githubCredentials, githubAdminToken };
}

/** Reads and validates this stack's config. Call it before declaring any resource. */
export function loadSettings(): Settings {
    return parseSettings(pulumi.runtime.allConfig(), pulumi.getStack(), isConfigSecret);
}

/**
 * Whether the stack stores a key encrypted (`pulumi config set --secret`). The SDK exposes this only
 * as an internal function of `@pulumi/pulumi/runtime/config` (pinned SDK 3.248.0); if a future SDK
 * drops it, every key is treated as not secret, so the program fails loudly instead of trusting.
 */
function isConfigSecret(fullKey: string): boolean {
    const { isConfigSecret: isSecret } = runtimeConfig as { isConfigSecret?: (key: string) => boolean };
    return isSecret?.(fullKey) ?? false;
}

/** Structured values arrive as JSON; scalars arrive as their text. */
function decode(raw: string): unknown {
    const trimmed = raw.trim();
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
        try {
            return JSON.parse(trimmed);
        } catch {
            return raw;
        }
    }
    return raw;
}
