import { createHash } from "crypto";
import { realTlsState } from "./certificates";

/**
 * Provider behaviour under mocks. Outputs a provider computes are filled in deterministically from
 * the inputs (same inputs, same outputs), so two evaluations of one config can be compared byte
 * for byte. `@pulumi/tls` resources get real keys and certificates (see ./certificates.ts), so
 * tests can run real TLS with what the program declares; pass `{ realTls: false }` for fakes.
 */
export function mockResourceState(type: string, name: string, inputs: Record<string, any>, opts: { realTls?: boolean } = {}): Record<string, any> | Promise<Record<string, any>> {
    const real = opts.realTls === false ? undefined : realTlsState(type, name, inputs);
    if (real) {
        return real;
    }
    const digest = (label: string) => createHash("sha256").update(`${type}/${name}/${label}/${JSON.stringify(inputs)}`).digest("hex");
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            return { ...inputs, privateKeyPem: `MOCK PRIVATE KEY ${digest("key")}`, publicKeyPem: `MOCK PUBLIC KEY ${digest("pub")}` };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { ...inputs, certPem: `MOCK CERTIFICATE ${digest("cert")}` };
        case "tls:index/certRequest:CertRequest":
            return { ...inputs, certRequestPem: `MOCK CSR ${digest("csr")}` };
        default:
            return { ...inputs };
    }
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

export function mockCall(token: string, inputs: Record<string, any>): Record<string, any> {
    if (token === "azure-native:containerservice:listManagedClusterUserCredentials") {
        return { kubeconfigs: [{ name: "clusterUser", value: Buffer.from(MOCK_AKS_KUBECONFIG).toString("base64") }] };
    }
    if (token === "github:index/getRepository:getRepository") {
        // A stable fake numeric ID per repository, so visibility "selected" can be asserted.
        const fullName = String(inputs.fullName);
        return { fullName, name: fullName.split("/")[1], repoId: mockRepositoryId(fullName) };
    }
    throw new Error(`unexpected engine call ${token} with ${JSON.stringify(inputs)}`);
}

/** The repository ID the mock GitHub API reports for `org/name`. */
export function mockRepositoryId(fullName: string): number {
    return parseInt(createHash("sha256").update(fullName).digest("hex").slice(0, 8), 16);
}
