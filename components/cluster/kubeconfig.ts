import * as yaml from "js-yaml";
import type { KubeloginSettings } from "../../config/aks";

/**
 * AKS clusters with Microsoft Entra ID (AAD) integration hand out user kubeconfigs whose user runs
 * `kubelogin get-token` (the `exec` format of listClusterUserCredential). AKS writes the
 * interactive `devicecode` login into it, which would hang a `pulumi up`; this rewrites the exec
 * arguments to the configured non-interactive login mode, the way `kubelogin convert-kubeconfig -l
 * <mode>` does. Pure, so it is tested without a cluster.
 */

interface ExecConfig {
    command?: string;
    args?: string[];
    env?: { name: string; value: string }[] | null;
    [key: string]: unknown;
}

interface KubeconfigDoc {
    users?: { name: string; user?: { exec?: ExecConfig; [key: string]: unknown } }[];
    [key: string]: unknown;
}

/** The value following `flag` in an exec argument list (`--server-id <id>`). */
export function execArg(args: readonly string[], flag: string): string | undefined {
    const index = args.indexOf(flag);
    return index >= 0 && index + 1 < args.length ? args[index + 1] : undefined;
}

/** kubelogin `get-token` arguments for a login mode, from the arguments AKS wrote. */
export function kubeloginArgs(original: readonly string[], settings: KubeloginSettings): string[] {
    const serverId = execArg(original, "--server-id");
    if (!serverId) {
        throw new Error("the AKS kubeconfig's kubelogin arguments have no --server-id (the AKS AAD server application ID)");
    }
    const args = ["get-token", "--login", settings.login, "--server-id", serverId];
    const tenantId = settings.tenantId ?? execArg(original, "--tenant-id");
    const environment = execArg(original, "--environment");
    switch (settings.login) {
        case "azurecli":
            // The tenant of `az login` is used unless one is pinned in config.
            return settings.tenantId ? [...args, "--tenant-id", settings.tenantId] : args;
        case "workloadidentity":
            // AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE come from the environment
            // unless pinned in config.
            return [
                ...args,
                ...(settings.clientId ? ["--client-id", settings.clientId] : []),
                ...(settings.tenantId ? ["--tenant-id", settings.tenantId] : []),
            ];
        case "spn":
            if (!settings.clientId || !tenantId) {
                throw new Error("login spn needs the service principal's client ID and a tenant ID");
            }
            // The secret never enters the kubeconfig: kubelogin reads AAD_SERVICE_PRINCIPAL_CLIENT_SECRET
            // (or AZURE_CLIENT_SECRET) from the environment of `pulumi up`.
            return [...args, "--client-id", settings.clientId, "--tenant-id", tenantId, ...(environment ? ["--environment", environment] : [])];
        case "none":
            return [...original];
    }
}

function usesKubelogin(exec: ExecConfig | undefined): exec is ExecConfig {
    return !!exec && typeof exec.command === "string" && exec.command.toLowerCase().includes("kubelogin");
}

/** Names of the kubeconfig's users that authenticate through kubelogin. */
export function kubeloginUsers(kubeconfig: string): string[] {
    const doc = (yaml.load(kubeconfig) ?? {}) as KubeconfigDoc;
    return (doc.users ?? []).filter((u) => usesKubelogin(u.user?.exec)).map((u) => u.name);
}

/**
 * The kubeconfig with every kubelogin user switched to `settings.login`. Users that do not run
 * kubelogin (clusters with local accounts) and mode `none` leave the kubeconfig unchanged.
 */
export function applyKubeloginMode(kubeconfig: string, settings: KubeloginSettings): string {
    if (settings.login === "none") {
        return kubeconfig;
    }
    const doc = (yaml.load(kubeconfig) ?? {}) as KubeconfigDoc;
    let changed = false;
    for (const entry of doc.users ?? []) {
        const exec = entry.user?.exec;
        if (usesKubelogin(exec)) {
            exec.args = kubeloginArgs(exec.args ?? [], settings);
            changed = true;
        }
    }
    return changed ? yaml.dump(doc, { lineWidth: -1, noRefs: true }) : kubeconfig;
}
