/**
 * Secret config keys (top level of `arc-buildkit:`), never written to a stack file in clear text.
 * They are not part of the zod schema so that no error message can ever echo their values. This
 * module imports nothing, so that `npm run local:up` (scripts/local-env.ts) does not load the Pulumi
 * SDK (about 1.3 s of CPU per start) just for these names.
 */
export const GITHUB_CREDENTIAL_KEYS = {
    appId: "githubAppId",
    appInstallationId: "githubAppInstallationId",
    appPrivateKey: "githubAppPrivateKey",
    token: "githubToken",
} as const;
export const GITHUB_CREDENTIAL_KEY_LIST: readonly string[] = Object.values(GITHUB_CREDENTIAL_KEYS);

/**
 * The client certificate (PEM: certificate and private key) of the Entra application that reads ARC's
 * App from Key Vault (`arc.keyVault`). Secret config, like the keys above; only with `arc.keyVault`.
 */
export const ARC_KEY_VAULT_CERTIFICATE_KEY = "arcKeyVaultCertificate";
