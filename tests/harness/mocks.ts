import { createHash } from "crypto";
import { realTlsState } from "./certificates";

/**
 * Provider behaviour under mocks. Outputs a provider computes are filled in deterministically from
 * the inputs (same inputs, same outputs), so two evaluations of one config can be compared byte
 * for byte. `@pulumi/tls` resources get real keys and certificates (see ./certificates.ts), so
 * tests can run real TLS with what the program declares; pass `{ realTls: false }` for fakes.
 */
export function mockResourceState(
    type: string,
    name: string,
    inputs: Record<string, any>,
    opts: { realTls?: boolean } = {},
): Record<string, any> | Promise<Record<string, any>> {
    const real = opts.realTls === false ? undefined : realTlsState(type, name, inputs);
    if (real) {
        return real;
    }
    const digest = (label: string) =>
        createHash("sha256")
            .update(`${type}/${name}/${label}/${JSON.stringify(inputs)}`)
            .digest("hex");
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            return { ...inputs, privateKeyPem: `MOCK PRIVATE KEY ${digest("key")}`, publicKeyPem: `MOCK PUBLIC KEY ${digest("pub")}` };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { ...inputs, certPem: `MOCK CERTIFICATE ${digest("cert")}`, ...fakeValidity(name, inputs) };
        case "tls:index/certRequest:CertRequest":
            return { ...inputs, certRequestPem: `MOCK CSR ${digest("csr")}` };
        default:
            return { ...inputs };
    }
}

/** A fixed day for fake certificates, so their validity (and whatever reads it) is the same in every process. */
const FAKE_ISSUED_ON = Date.parse("2026-01-01T00:00:00Z");

/**
 * Each fake certificate is issued at its own minute of that day (from its resource name), as
 * certificates of one `pulumi up` are created at different moments: so a program that reported one
 * certificate's expiry for another's is caught, which equal dates would hide.
 */
function fakeValidity(name: string, inputs: Record<string, any>): { validityStartTime: string; validityEndTime: string } {
    const hours = Number(inputs.validityPeriodHours ?? 0);
    const issuedAt = FAKE_ISSUED_ON + (parseInt(createHash("sha256").update(name).digest("hex").slice(0, 8), 16) % 1440) * 60_000;
    return {
        validityStartTime: new Date(issuedAt).toISOString().replace(".000Z", "Z"),
        validityEndTime: new Date(issuedAt + hours * 3_600_000).toISOString().replace(".000Z", "Z"),
    };
}

/** A user kubeconfig as AKS returns it: base64 of YAML. Clearly not a real cluster. */
export const MOCK_AKS_KUBECONFIG = [
    "apiVersion: v1",
    "kind: Config",
    "clusters: [{name: mock, cluster: {server: 'https://mock-aks.invalid:443'}}]",
    "users: [{name: mock-user, user: {token: mock-token}}]",
    "contexts: [{name: mock, context: {cluster: mock, user: mock-user}}]",
    "current-context: mock",
].join("\n");

/**
 * A user kubeconfig as an Entra ID (AAD) cluster returns it in `exec` format: kubelogin with the
 * interactive devicecode login, the AKS AAD server app ID and the Azure CLI client app ID.
 */
export const MOCK_AKS_AAD_EXEC_KUBECONFIG = [
    "apiVersion: v1",
    "kind: Config",
    "clusters: [{name: mock, cluster: {server: 'https://mock-aks.invalid:443'}}]",
    "contexts: [{name: mock, context: {cluster: mock, user: clusterUser_mock}}]",
    "current-context: mock",
    "users:",
    "- name: clusterUser_mock",
    "  user:",
    "    exec:",
    "      apiVersion: client.authentication.k8s.io/v1beta1",
    "      command: kubelogin",
    "      args: [get-token, --environment, AzurePublicCloud, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630,",
    "             --client-id, 80faf920-1908-4b52-b5ef-a8e7bedfc67a, --tenant-id, 00000000-0000-0000-0000-00000000000a, --login, devicecode]",
    "      env: null",
    "      installHint: install kubelogin",
    "      provideClusterInfo: false",
].join("\n");

/** AKS's default pod (overlay) and Service ranges, as the network profile reports them. */
const AKS_DEFAULT_RANGES = { podCidr: "10.244.0.0/16", podCidrs: ["10.244.0.0/16"], serviceCidr: "10.0.0.0/16", serviceCidrs: ["10.0.0.0/16"] };

/**
 * Existing AKS clusters the mocks know, by cluster name (`arc-buildkit:cluster.clusterName`): what
 * `getManagedCluster` reports and whether they use Entra ID. A test picks a cluster by name.
 */
export const MOCK_AKS_CLUSTERS: Record<string, { networkProfile: Record<string, unknown>; aad: boolean; kubernetesVersion?: string }> = {
    // The committed aks stack's cluster: Azure CNI overlay powered by Cilium, Entra ID with Azure RBAC.
    "aks-ameide-ci": {
        networkProfile: { networkPlugin: "azure", networkPluginMode: "overlay", networkPolicy: "cilium", networkDataplane: "cilium", ...AKS_DEFAULT_RANGES },
        aad: true,
        kubernetesVersion: "1.33.2",
    },
    // Local accounts and Calico.
    "aks-calico-local": { networkProfile: { networkPlugin: "azure", networkPolicy: "calico", ...AKS_DEFAULT_RANGES }, aad: false, kubernetesVersion: "1.34.1" },
    // No policy engine: NetworkPolicy objects are stored but not enforced.
    "aks-no-policy": { networkProfile: { networkPlugin: "kubenet", networkPolicy: "none", ...AKS_DEFAULT_RANGES }, aad: false, kubernetesVersion: "1.33.2" },
    // Too old for user namespaces in pods (UserNamespacesSupport is on by default from 1.33).
    "aks-k8s-1-32": { networkProfile: { networkPlugin: "azure", networkPolicy: "cilium", ...AKS_DEFAULT_RANGES }, aad: false, kubernetesVersion: "1.32.7" },
    // A pod range outside the committed stack's network.clusterCidrs.
    "aks-other-ranges": {
        networkProfile: { networkPlugin: "azure", networkPolicy: "cilium", podCidrs: ["172.20.0.0/16"], serviceCidrs: ["10.0.0.0/16"] },
        aad: false,
        kubernetesVersion: "1.33.2",
    },
};

function mockAksCluster(token: string, inputs: Record<string, any>) {
    const cluster = MOCK_AKS_CLUSTERS[inputs.resourceName];
    if (!cluster) {
        throw new Error(`${token}: (ResourceNotFound) managed cluster ${inputs.resourceGroupName}/${inputs.resourceName} is not mocked`);
    }
    return cluster;
}

export function mockCall(token: string, inputs: Record<string, any>): Record<string, any> {
    if (token === "azure-native:containerservice:getManagedCluster") {
        const cluster = mockAksCluster(token, inputs);
        return {
            name: inputs.resourceName,
            ...(cluster.kubernetesVersion ? { currentKubernetesVersion: cluster.kubernetesVersion } : {}),
            networkProfile: { ...cluster.networkProfile },
            ...(cluster.aad ? { aadProfile: { managed: true, enableAzureRBAC: true, tenantID: "00000000-0000-0000-0000-00000000000a" } } : {}),
        };
    }
    if (token === "azure-native:containerservice:listManagedClusterUserCredentials") {
        const kubeconfig = inputs.resourceName in MOCK_AKS_CLUSTERS && mockAksCluster(token, inputs).aad ? MOCK_AKS_AAD_EXEC_KUBECONFIG : MOCK_AKS_KUBECONFIG;
        return { kubeconfigs: [{ name: "clusterUser", value: Buffer.from(kubeconfig).toString("base64") }] };
    }
    if (token === "github:index/getRepository:getRepository") {
        // A stable fake numeric ID per repository, so visibility "selected" can be asserted.
        const fullName = String(inputs.fullName);
        return { fullName, name: fullName.split("/")[1], repoId: mockRepositoryId(fullName) };
    }
    if (token === "github:index/getActionsOrganizationVariables:getActionsOrganizationVariables") {
        return { id: "org", variables: [...MOCK_GITHUB_VARIABLES.organization].map((name) => ({ name, createdAt: "", updatedAt: "" })) };
    }
    if (token === "github:index/getActionsVariables:getActionsVariables") {
        const names = MOCK_GITHUB_VARIABLES.repositories[String(inputs.name)] ?? [];
        return { id: String(inputs.name), name: inputs.name, fullName: "", variables: names.map((name) => ({ name, createdAt: "", updatedAt: "" })) };
    }
    throw new Error(`unexpected engine call ${token} with ${JSON.stringify(inputs)}`);
}

/**
 * Actions variables that already exist in the mock GitHub organization and repositories: none unless a
 * test adds some (and runs the program with `fresh: true`, then empties them again).
 */
export const MOCK_GITHUB_VARIABLES: { organization: Set<string>; repositories: Record<string, string[]> } = { organization: new Set(), repositories: {} };

/** The repository ID the mock GitHub API reports for `org/name`. */
export function mockRepositoryId(fullName: string): number {
    return parseInt(createHash("sha256").update(fullName).digest("hex").slice(0, 8), 16);
}
