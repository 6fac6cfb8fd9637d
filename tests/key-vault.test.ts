import * as assert from "assert";
import { parseSettings } from "../config";
import { KEY_VAULT_CERTIFICATE_DIR, KEY_VAULT_CERTIFICATE_FILE, KEY_VAULT_CERTIFICATE_SECRET } from "../components/arc";
import { allEdits, configProblems, editConfig, setConfig } from "./harness/config-edit";
import { isSecretInput, reveal, runProgram, stackConfig } from "./harness/program";
import { ALL_FAKE_SECRETS, APP_SECRET_KEYS, withAppCredentials } from "./fixtures/github-credentials";

/**
 * arc.keyVault: ARC reads its GitHub App from Azure Key Vault (ARC 0.14.2's azure_key_vault mode), so
 * no runner namespace, and no stack config, holds the App. Only the certificate that reads the vault
 * is stack config (a secret), and it reaches arc-systems only.
 */

const KEY_VAULT = {
    url: "https://arc-buildkit-ci.vault.azure.net/",
    tenantId: "00000000-0000-4000-8000-000000000001",
    clientId: "00000000-0000-4000-8000-000000000002",
    secretName: "arc-github-app",
};
// Not a real certificate or key: base64 of sentences, in PEM armour (the config checks the armour only).
const FAKE_VAULT_CERTIFICATE = [
    "-----BEGIN CERTIFICATE-----",
    Buffer.from("not a certificate: arc-buildkit test fixture for the Key Vault reader").toString("base64"),
    "-----END CERTIFICATE-----",
    "-----BEGIN PRIVATE KEY-----",
    Buffer.from("not a key: arc-buildkit test fixture for the Key Vault reader").toString("base64"),
    "-----END PRIVATE KEY-----",
].join("\n");
const CERTIFICATE_KEY = "arc-buildkit:arcKeyVaultCertificate";
const RELEASE = "kubernetes:helm.sh/v3:Release";

const withKeyVault = allEdits(
    editConfig("arc", (arc) => (arc.keyVault = { ...KEY_VAULT })),
    setConfig("arcKeyVaultCertificate", FAKE_VAULT_CERTIFICATE),
);

function problems(edit: (config: Record<string, string>) => void, secretKeys: string[] = [CERTIFICATE_KEY]): string[] {
    const config = stackConfig("aks");
    edit(config);
    return configProblems(() => parseSettings(config, "aks", (key) => secretKeys.includes(key)));
}

describe("ARC's GitHub App from Azure Key Vault (arc.keyVault)", () => {
    it("needs no GitHub credential in the stack, only the vault reader's certificate, as a secret", () => {
        const config = stackConfig("aks");
        withKeyVault(config);
        const settings = parseSettings(config, "aks", (key) => key === CERTIFICATE_KEY);
        assert.strictEqual(settings.githubCredentials, undefined);
        assert.strictEqual(settings.arcAccess?.kind, "keyVault");
    });

    it("rejects, one message each, a missing, clear-text or malformed certificate, and App credentials it would not use", () => {
        const noCertificate = problems(editConfig("arc", (arc) => (arc.keyVault = { ...KEY_VAULT })));
        assert.strictEqual(noCertificate.length, 1, noCertificate.join("\n"));
        assert.match(
            noCertificate[0],
            /^arc-buildkit:arcKeyVaultCertificate: missing; .*pulumi config set --secret --stack aks arc-buildkit:arcKeyVaultCertificate/,
        );

        const clear = problems(withKeyVault, []);
        assert.strictEqual(clear.length, 1, clear.join("\n"));
        assert.match(clear[0], /^arc-buildkit:arcKeyVaultCertificate: stored in clear text/);

        const malformed = problems(allEdits(withKeyVault, setConfig("arcKeyVaultCertificate", "just text")));
        assert.deepStrictEqual(malformed.length, 1, malformed.join("\n"));
        assert.match(malformed[0], /expected a PEM certificate and its private key in one file \(not shown\)/);
        assert.ok(!malformed[0].includes("just text"));

        const withApp = problems(allEdits(withKeyVault, withAppCredentials), [CERTIFICATE_KEY, ...APP_SECRET_KEYS]);
        assert.strictEqual(withApp.length, 3, withApp.join("\n"));
        for (const problem of withApp) assert.match(problem, /^arc-buildkit:githubApp\w+: not used because arc\.keyVault is set/);
    });

    it("rejects a certificate without arc.keyVault, adminCredentials arc with it, and a vault URL that is not a vault", () => {
        const stray = problems(allEdits(withAppCredentials, setConfig("arcKeyVaultCertificate", FAKE_VAULT_CERTIFICATE)), [
            CERTIFICATE_KEY,
            ...APP_SECRET_KEYS,
        ]);
        assert.strictEqual(stray.length, 1, stray.join("\n"));
        assert.match(stray[0], /^arc-buildkit:arcKeyVaultCertificate: not used because arc\.keyVault is not set/);

        const arcAdmin = problems(
            allEdits(
                withKeyVault,
                editConfig("github", (g) => (g.adminCredentials = "arc")),
            ),
        );
        assert.strictEqual(arcAdmin.length, 1, arcAdmin.join("\n"));
        assert.match(arcAdmin[0], /^arc-buildkit:github\.adminCredentials: expected "environment" because arc\.keyVault is set/);

        const url = problems(
            allEdits(
                withKeyVault,
                editConfig("arc", (arc) => (arc.keyVault.url = "https://example.com/")),
            ),
        );
        assert.strictEqual(url.length, 1, url.join("\n"));
        assert.match(url[0], /^arc-buildkit:arc\.keyVault\.url: expected a Key Vault URI/);
    });

    describe("on the aks stack", () => {
        let run: Awaited<ReturnType<typeof runProgram>>;
        before(async () => {
            run = await runProgram("aks", withKeyVault, { secretKeys: [CERTIFICATE_KEY] });
        });

        it("declares no credentials Secret in any runner namespace, and the certificate Secret in arc-systems only, as a secret", () => {
            const secrets = run.resources.filter((r) => r.type === "kubernetes:core/v1:Secret").map((r) => ({ r, inputs: reveal(r.inputs) }));
            assert.deepStrictEqual(
                secrets.filter(({ inputs }) => /github/.test(inputs.metadata.name)),
                [],
                "no arc-github-config anywhere",
            );
            const vault = secrets.filter(({ inputs }) => inputs.metadata.name === KEY_VAULT_CERTIFICATE_SECRET);
            assert.strictEqual(vault.length, 1);
            assert.strictEqual(vault[0].inputs.metadata.namespace, "arc-systems");
            assert.ok(isSecretInput(vault[0].r.inputs.stringData), "the certificate is a Pulumi secret");
            assert.deepStrictEqual(vault[0].inputs.stringData, { [KEY_VAULT_CERTIFICATE_FILE]: FAKE_VAULT_CERTIFICATE + "\n" });
            for (const { r, inputs } of secrets.filter((s) => s.inputs.metadata.namespace.startsWith("arc-runners"))) {
                const text = JSON.stringify(inputs);
                assert.ok(!text.includes("not a certificate"), `${r.name} holds the vault reader`);
                for (const secret of ALL_FAKE_SECRETS) assert.ok(!text.includes(secret), `${r.name} holds a credential`);
            }
        });

        it("mounts the certificate into the controller at the path every scale set's vault config names, and into each listener", () => {
            const releases = run.resources.filter((r) => r.type === RELEASE).map((r) => reveal(r.inputs));
            const controller = releases.find((r) => r.chart.endsWith("/gha-runner-scale-set-controller"))!;
            const path = `${KEY_VAULT_CERTIFICATE_DIR}/${KEY_VAULT_CERTIFICATE_FILE}`;
            const mountedAt = (volumes: any[], mounts: any[]) => {
                const volume = volumes.find((v) => v.secret?.secretName === KEY_VAULT_CERTIFICATE_SECRET);
                const mount = mounts.find((m) => m.name === volume?.name);
                return mount && `${mount.mountPath}/${KEY_VAULT_CERTIFICATE_FILE}`;
            };
            assert.strictEqual(mountedAt(controller.values.volumes, controller.values.volumeMounts), path);
            const scaleSets = releases.filter((r) => r.chart.endsWith("/gha-runner-scale-set"));
            assert.deepStrictEqual(scaleSets.map((r) => r.name).sort(), ["arc-aks-v2", "arc-aks-v2-protected"]);
            for (const release of scaleSets) {
                const values = release.values;
                assert.strictEqual(values.githubConfigSecret, KEY_VAULT.secretName, `${release.name}: the vault secret's name`);
                assert.deepStrictEqual(values.keyVault, {
                    type: "azure_key_vault",
                    azureKeyVault: { url: KEY_VAULT.url, tenantId: KEY_VAULT.tenantId, clientId: KEY_VAULT.clientId, certificatePath: path },
                });
                const listener = values.listenerTemplate.spec.containers.find((c: any) => c.name === "listener");
                assert.strictEqual(mountedAt(values.listenerTemplate.spec.volumes, listener.volumeMounts), path, `${release.name}: listener mount`);
                // The runner pods mount nothing of the vault.
                assert.ok(!JSON.stringify(values.template).includes(KEY_VAULT_CERTIFICATE_SECRET), `${release.name}: runner pods mount the vault reader`);
            }
        });
    });
});
