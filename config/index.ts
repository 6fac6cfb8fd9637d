import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { ConfigError, describeIssues } from "./errors";
import { GITHUB_CREDENTIAL_KEY_LIST, hasNoGithubCredentials, LOCAL_UP_CREDENTIAL_HINT, parseAdminToken, parseGithubCredentials } from "./github";
import { ARC_KEY_VAULT_CERTIFICATE_KEY } from "./credential-keys";
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
    let keyVaultCertificate: string | undefined;
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
        if (key === ARC_KEY_VAULT_CERTIFICATE_KEY) {
            keyVaultCertificate = raw; // Likewise.
            continue;
        }
        if (!(SETTINGS_KEYS as string[]).includes(key)) {
            problems.push(
                `${fullKey}: unknown key; expected one of ${[...SETTINGS_KEYS, ...GITHUB_CREDENTIAL_KEY_LIST, ARC_KEY_VAULT_CERTIFICATE_KEY].map((k) => prefix + k).join(", ")}`,
            );
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
    const keyVault = result.data.arc.keyVault;
    const githubAdminToken = adminCredential(result.data, !!keyVault, env, problems, prefix);
    if (keyVault) {
        // ARC reads its App from the vault: no GitHub credential in the stack, only the certificate that reads the vault.
        for (const key of GITHUB_CREDENTIAL_KEY_LIST.filter((k) => credentials[k] !== undefined)) {
            problems.push(
                `${prefix}${key}: not used because arc.keyVault is set (ARC reads its GitHub App from the vault); remove it with \`pulumi config rm --stack ${stack} ${prefix}${key}\``,
            );
        }
        const certificate = parseKeyVaultCertificate(prefix, keyVaultCertificate, isSecret(prefix + ARC_KEY_VAULT_CERTIFICATE_KEY), stack, problems);
        if (problems.length > 0 || !certificate) {
            throw new ConfigError(stack, problems);
        }
        return { ...result.data, githubCredentials: undefined, githubAdminToken, arcAccess: { kind: "keyVault", keyVault, certificatePem: certificate } };
    }
    if (keyVaultCertificate !== undefined) {
        problems.push(
            `${prefix}${ARC_KEY_VAULT_CERTIFICATE_KEY}: not used because arc.keyVault is not set; remove it with \`pulumi config rm --stack ${stack} ${prefix}${ARC_KEY_VAULT_CERTIFICATE_KEY}\` (or set arc.keyVault)`,
        );
    }
    // A k3d stack without any credential key deploys BuildKit, the PKI and the probe, and skips the runners
    // (program.ts says so). Every other stack registers runners, so its credentials are required; the auth
    // method decides which.
    if (result.data.cluster.kind === "k3d" && hasNoGithubCredentials(credentials)) {
        if (problems.length > 0) {
            throw new ConfigError(stack, problems);
        }
        return { ...result.data, githubCredentials: undefined, githubAdminToken, arcAccess: undefined };
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
    if (problems.length > 0 || !githubCredentials) {
        throw new ConfigError(stack, problems);
    }
    return { ...result.data, githubCredentials, githubAdminToken, arcAccess: { kind: "secret", credentials: githubCredentials } };
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

/**
 * The credential that writes organization variables and runner groups, needed only where the stack
 * writes to the organization (variables or tiers): the environment's token (`adminCredentials:
 * environment`), or undefined when ARC's own credentials are reused (`arc`). Problems are appended.
 */
function adminCredential(
    data: { github: { adminCredentials: string; variables: { scope: string } }; tiers: object },
    keyVault: boolean,
    env: Readonly<Record<string, string | undefined>>,
    problems: string[],
    prefix: string,
): pulumi.Output<string> | undefined {
    if (data.github.variables.scope === "none" && Object.keys(data.tiers).length === 0) {
        return undefined;
    }
    if (data.github.adminCredentials === "environment") {
        return parseAdminToken(CONFIG_NAMESPACE, env, problems);
    }
    if (keyVault) {
        problems.push(`${prefix}github.adminCredentials: expected "environment" because arc.keyVault is set: the stack holds no ARC credential to reuse`);
    } else if (env.GITHUB_TOKEN) {
        // @pulumi/github's Provider fills its `token` from GITHUB_TOKEN whenever none is given, so with ARC's
        // App credentials the environment's token would be used instead (and kept in the state).
        problems.push(
            `${prefix}github.adminCredentials: "arc", but GITHUB_TOKEN is set in the environment, and the GitHub provider would use it instead of ARC's credentials; unset it, or set github.adminCredentials to "environment"`,
        );
    }
    return undefined;
}

/** A PEM client certificate with its private key (what ARC's Key Vault client reads), as a secret; problems name the key, never the value. */
function parseKeyVaultCertificate(
    prefix: string,
    raw: string | undefined,
    secret: boolean,
    stack: string,
    problems: string[],
): pulumi.Output<string> | undefined {
    const key = `${prefix}${ARC_KEY_VAULT_CERTIFICATE_KEY}`;
    const set = `pulumi config set --secret --stack ${stack} ${key} < vault-reader.pem`;
    if (raw === undefined || raw.trim() === "") {
        problems.push(
            `${key}: missing; expected the Key Vault reader's client certificate and private key in PEM because arc.keyVault is set; set it with \`${set}\``,
        );
        return undefined;
    }
    if (!secret) {
        problems.push(`${key}: stored in clear text; expected a secret: remove it from the stack file and set it with \`${set}\``);
        return undefined;
    }
    if (!/-----BEGIN CERTIFICATE-----/.test(raw) || !/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(raw)) {
        problems.push(`${key}: expected a PEM certificate and its private key in one file (not shown); set it again with \`${set}\``);
        return undefined;
    }
    return pulumi.secret(raw.trim() + "\n");
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
