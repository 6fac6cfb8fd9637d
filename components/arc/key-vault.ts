import type { ArcKeyVaultSettings } from "../../config/arc";

/**
 * ARC 0.14's Azure Key Vault mode, as Helm values. At gha-runner-scale-set-0.14.2 the scale set chart
 * turns `keyVault` into the AutoscalingRunnerSet's `vaultConfig`
 * (charts/gha-runner-scale-set/templates/autoscalingrunnerset.yaml); the controller
 * (controllers/actions.github.com/secretresolver) and every listener (cmd/ghalistener/config) then
 * read the secret named by `githubConfigSecret` from the vault, authenticating with the client
 * certificate at `certificatePath` (vault/azurekeyvault/config.go checks that the file exists). Both
 * run in the controller's namespace, so the certificate is mounted there and nowhere else: no runner
 * namespace holds the App or anything that reads it.
 */

/** The Secret (in `arc-systems`) holding the vault reader's certificate and key. */
export const KEY_VAULT_CERTIFICATE_SECRET = "arc-key-vault-certificate";
export const KEY_VAULT_CERTIFICATE_FILE = "certificate.pem";
/** Where the controller and the listeners find it. */
export const KEY_VAULT_CERTIFICATE_DIR = "/etc/arc-key-vault";
const VOLUME = "key-vault-certificate";

function certificateVolume(): Record<string, unknown> {
    // World-readable inside the pod: the controller's and the listener's users are not known here (their
    // images pick them); the Secret is in arc-systems, which runs no job.
    return { name: VOLUME, secret: { secretName: KEY_VAULT_CERTIFICATE_SECRET, defaultMode: 0o444 } };
}

function certificateMount(): Record<string, unknown> {
    return { name: VOLUME, mountPath: KEY_VAULT_CERTIFICATE_DIR, readOnly: true };
}

/** What the controller release adds: the certificate, mounted read-only (the chart's `volumes`/`volumeMounts`). */
export function controllerKeyVaultValues(): Record<string, unknown> {
    return { volumes: [certificateVolume()], volumeMounts: [certificateMount()] };
}

/**
 * What a scale set release takes instead of a credentials Secret: the vault secret's name as
 * `githubConfigSecret`, the vault, and the certificate mounted into its listener (the controller merges
 * `listenerTemplate` into the listener pod by container name, `mergeListenerPodWithTemplate`).
 */
export function scaleSetKeyVaultValues(keyVault: ArcKeyVaultSettings): Record<string, unknown> {
    return {
        githubConfigSecret: keyVault.secretName,
        keyVault: {
            type: "azure_key_vault",
            azureKeyVault: {
                url: keyVault.url,
                tenantId: keyVault.tenantId,
                clientId: keyVault.clientId,
                certificatePath: `${KEY_VAULT_CERTIFICATE_DIR}/${KEY_VAULT_CERTIFICATE_FILE}`,
            },
        },
        listenerTemplate: { spec: { containers: [{ name: "listener", volumeMounts: [certificateMount()] }], volumes: [certificateVolume()] } },
    };
}
