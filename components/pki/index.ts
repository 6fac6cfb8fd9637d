import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { BUILDKIT_SERVICE_FQDN } from "../contracts";
import { serverCertificateNames } from "./names";

export { podHostname, podHostnames, serverCertificateNames, serviceDnsForms } from "./names";

export interface BuildkitPkiArgs {
    /** BuildKit replicas: each pod's stable name goes into the server certificate. Required. */
    replicas: number;
    /** Native arm64 builders (AKS only): their Service and pod names go into the server certificate. Default: 0. */
    arm64Replicas?: number;
    /** Lifetime of the CA certificate in hours. Default in config: 43800 (5 years). */
    caValidityHours: number;
    /** Lifetime of the server and client certificates in hours. Default in config: 2160 (90 days). */
    validityHours: number;
    /** Hours before expiry at which `pulumi up` re-issues a certificate. Default in config: 720 (30 days). */
    earlyRenewalHours: number;
    /** Organization written into every certificate subject. Default: `arc-buildkit`. */
    organization?: string;
}

/** PEM material of one TLS identity. The private key is always a Pulumi secret. */
export interface TlsMaterial {
    readonly caCertPem: pulumi.Output<string>;
    readonly certPem: pulumi.Output<string>;
    readonly privateKeyPem: pulumi.Output<string>;
}

/**
 * The program's own certificate authority and the two identities BuildKit's mTLS needs: a server
 * certificate for buildkitd and one client certificate shared by the runners. All keys are ECDSA
 * P-256. Nothing here is issued by a cluster component, so the endpoint works before cert-manager
 * or any other add-on exists.
 */
export class BuildkitPki extends pulumi.ComponentResource {
    /** The CA certificate (public) that both sides trust. */
    public readonly caCertPem: pulumi.Output<string>;
    /** What buildkitd serves and the CA it checks client certificates against. */
    public readonly server: TlsMaterial;
    /** What runner pods present to buildkitd. */
    public readonly client: TlsMaterial;

    constructor(name: string, args: BuildkitPkiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("arc-buildkit:pki:BuildkitPki", name, {}, opts);
        const organization = args.organization ?? "arc-buildkit";

        const caKey = newKey(`${name}-ca`, this);
        const ca = new tls.SelfSignedCert(
            `${name}-ca`,
            {
                privateKeyPem: caKey.privateKeyPem,
                isCaCertificate: true,
                subject: { commonName: "arc-buildkit CA", organization },
                allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
                validityPeriodHours: args.caValidityHours,
                earlyRenewalHours: Math.min(args.earlyRenewalHours, args.caValidityHours - 1),
            },
            { parent: this },
        );
        this.caCertPem = ca.certPem;

        const issue = (role: "server" | "client", request: Omit<tls.CertRequestArgs, "privateKeyPem">, uses: string[]) => {
            const key = newKey(`${name}-${role}`, this);
            const csr = new tls.CertRequest(`${name}-${role}`, { ...request, privateKeyPem: key.privateKeyPem }, { parent: this });
            const cert = new tls.LocallySignedCert(
                `${name}-${role}`,
                {
                    certRequestPem: csr.certRequestPem,
                    caPrivateKeyPem: caKey.privateKeyPem,
                    caCertPem: ca.certPem,
                    allowedUses: uses,
                    validityPeriodHours: args.validityHours,
                    earlyRenewalHours: args.earlyRenewalHours,
                },
                { parent: this },
            );
            return { caCertPem: ca.certPem, certPem: cert.certPem, privateKeyPem: pulumi.secret(key.privateKeyPem) };
        };

        // ECDSA keys only sign, so "digital_signature" is the one key usage; the extended usage makes
        // each certificate useless in the other role.
        this.server = issue(
            "server",
            { subject: { commonName: BUILDKIT_SERVICE_FQDN, organization }, ...serverCertificateNames(args.replicas, args.arm64Replicas ?? 0) },
            ["digital_signature", "server_auth"],
        );
        this.client = issue("client", { subject: { commonName: "arc-runners", organization } }, ["digital_signature", "client_auth"]);

        this.registerOutputs({ caCertPem: this.caCertPem });
    }
}

function newKey(name: string, parent: pulumi.Resource): tls.PrivateKey {
    return new tls.PrivateKey(name, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent });
}
