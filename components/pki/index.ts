import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { SHARED_TIER, TierNames, tierNames } from "../../contracts";
import { serverCertificateNames } from "./names";

export { builderSetCertificateNames, coversHostname, podHostname, podHostnames, podWildcards, serverCertificateNames, serviceDnsForms } from "./names";

export interface BuildkitPkiArgs {
    /**
     * Native arm64 builders (AKS only): when more than 0, their Services and (by wildcard) pods go into
     * the server certificate. Only whether there are any matters: pods are covered by a wildcard, so
     * no replica count changes the certificate. Default: 0.
     */
    arm64Replicas?: number;
    /** Lifetime of the CA certificate in hours. Default in config: 43800 (5 years). */
    caValidityHours: number;
    /** Lifetime of the server and client certificates in hours. Default in config: 2160 (90 days). */
    validityHours: number;
    /** Hours before expiry at which `pulumi up` re-issues a certificate. Default in config: 720 (30 days). */
    earlyRenewalHours: number;
    /** CA slots the trust bundle (`ca.crt`) holds, in order. Default in config: ["a"]. */
    caSlots?: readonly CaSlot[];
    /** The slot whose CA signs the server and client certificates; one of `caSlots`. Default in config: "a". */
    caSigner?: CaSlot;
    /** Organization written into every certificate subject. Default: `arc-buildkit`. */
    organization?: string;
    /** The tier whose CA and identities these are. Default: the shared tier (the contract names). */
    names?: TierNames;
    /**
     * The rotation period the server and client keys belong to ({@link keyGeneration}). When it
     * changes, both keys are replaced (and with them their requests and certificates), so a private
     * key never outlives one period: renewal alone would re-sign the same key forever. Default: none
     * (the keys are kept until replaced by hand).
     */
    keyGeneration?: number;
}

/**
 * Which key-rotation period `now` falls in: periods of `validityHours - earlyRenewalHours`, the
 * time a certificate is used before renewal, counted from the Unix epoch. Every `pulumi up` inside one
 * period computes the same number (a second `up` changes nothing); the first `up` of the next period
 * replaces the server and client keys, about when the provider would renew their certificates anyway.
 */
export function keyGeneration(now: Date, lifetimes: { validityHours: number; earlyRenewalHours: number }): number {
    const periodHours = Math.max(1, lifetimes.validityHours - lifetimes.earlyRenewalHours);
    return Math.floor(now.getTime() / 3_600_000 / periodHours);
}

export type CaSlot = "a" | "b";

/**
 * Pulumi names of a slot's key and certificate. Slot `a` keeps the names the single CA always had,
 * so upgrading to slots changes nothing in a running stack.
 */
export function caSlotResourceName(name: string, slot: CaSlot): string {
    return slot === "a" ? `${name}-ca` : `${name}-ca-${slot}`;
}

/** `ca.crt`: the PEM certificates of every trusted slot, in slot order, each ending in a newline. */
export function caBundle(pems: readonly string[]): string {
    return pems.map((pem) => (pem.endsWith("\n") ? pem : `${pem}\n`)).join("");
}

/** The earliest of RFC 3339 times (what expires first). */
export function earliest(times: readonly string[]): string {
    return [...times].sort((a, b) => Date.parse(a) - Date.parse(b))[0];
}

/** PEM material of one TLS identity. The private key is always a Pulumi secret. */
export interface TlsMaterial {
    /** The trust bundle: every CA slot's certificate (one while not rotating). */
    readonly caCertPem: pulumi.Output<string>;
    readonly certPem: pulumi.Output<string>;
    readonly privateKeyPem: pulumi.Output<string>;
}

/**
 * The program's own certificate authority and the two identities BuildKit's mTLS needs: a server
 * certificate for buildkitd and one client certificate shared by the runners. All keys are ECDSA
 * P-256. Nothing here is issued by a cluster component, so the endpoint works before cert-manager
 * or any other add-on exists.
 *
 * Renewal (automatic, every `pulumi up` inside the early-renewal window): @pulumi/tls replaces a CA
 * certificate but not its key (a separate PrivateKey), and the subject stays the same, so the old and
 * the new CA certificate verify the same signatures: pods that have not rolled yet keep working until
 * the old certificate's own notAfter. Key rotation (a new CA key) needs a trust overlap instead: each
 * CA slot is its own key and certificate, every `ca.crt` holds the certificates of all `caSlots`, and
 * `caSigner` picks the one that signs. Rotating from slot a to b is three deployments: trust both
 * (`caSlots: [a, b]`), sign with b (`caSigner: b`), drop a (`caSlots: [b]`); docs/runbook.md, "CA key rotation".
 */
export class BuildkitPki extends pulumi.ComponentResource {
    /** The CA bundle (public) that both sides trust: every slot's certificate. */
    public readonly caCertPem: pulumi.Output<string>;
    /** When the first CA certificate of the bundle expires (RFC 3339). */
    public readonly caNotAfter: pulumi.Output<string>;
    /** What buildkitd serves and the CA it checks client certificates against. */
    public readonly server: TlsMaterial & { notAfter: pulumi.Output<string> };
    /** What runner pods present to buildkitd. */
    public readonly client: TlsMaterial & { notAfter: pulumi.Output<string> };

    constructor(name: string, args: BuildkitPkiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("arc-buildkit:pki:BuildkitPki", name, {}, opts);
        const organization = args.organization ?? "arc-buildkit";
        const names = args.names ?? tierNames(SHARED_TIER);
        // Each tier has its own CA, and its subject says which: a certificate of one tier opens no daemon of another.
        const caName = names.tier === SHARED_TIER ? "arc-buildkit CA" : `arc-buildkit ${names.tier} CA`;

        const slots = args.caSlots ?? ["a"];
        const signerSlot = args.caSigner ?? slots[0];
        if (!slots.includes(signerSlot)) {
            throw new Error(`BuildkitPki: caSigner ${signerSlot} is not one of caSlots ${slots.join(", ")}`);
        }
        const cas = new Map(
            slots.map((slot) => {
                const resourceName = caSlotResourceName(name, slot);
                const key = newKey(resourceName, this);
                const cert = new tls.SelfSignedCert(
                    resourceName,
                    {
                        privateKeyPem: key.privateKeyPem,
                        isCaCertificate: true,
                        // Slot a keeps the subject the single CA always had; other slots say which they are.
                        subject: { commonName: slot === "a" ? caName : `${caName} ${slot}`, organization },
                        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
                        validityPeriodHours: args.caValidityHours,
                        earlyRenewalHours: Math.min(args.earlyRenewalHours, args.caValidityHours - 1),
                    },
                    { parent: this },
                );
                return [slot, { key, cert }] as const;
            }),
        );
        const signer = cas.get(signerSlot)!;
        const ca = signer.cert;
        const caKey = signer.key;
        this.caCertPem = pulumi.all(slots.map((slot) => cas.get(slot)!.cert.certPem)).apply(caBundle);
        this.caNotAfter = pulumi.all(slots.map((slot) => cas.get(slot)!.cert.validityEndTime)).apply(earliest);
        const bundle = this.caCertPem;

        const issue = (role: "server" | "client", request: Omit<tls.CertRequestArgs, "privateKeyPem">, uses: string[]) => {
            const key = newKey(`${name}-${role}`, this, args.keyGeneration);
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
            return { caCertPem: bundle, certPem: cert.certPem, privateKeyPem: pulumi.secret(key.privateKeyPem), notAfter: cert.validityEndTime };
        };

        // ECDSA keys only sign, so "digital_signature" is the one key usage; the extended usage makes
        // each certificate useless in the other role.
        this.server = issue(
            "server",
            { subject: { commonName: names.serviceFqdn, organization }, ...serverCertificateNames((args.arm64Replicas ?? 0) > 0, names) },
            ["digital_signature", "server_auth"],
        );
        this.client = issue("client", { subject: { commonName: names.runnerNamespace, organization } }, ["digital_signature", "client_auth"]);

        this.registerOutputs({ caCertPem: this.caCertPem, caNotAfter: this.caNotAfter });
    }
}

function newKey(name: string, parent: pulumi.Resource, generation?: number): tls.PrivateKey {
    return new tls.PrivateKey(
        name,
        { algorithm: "ECDSA", ecdsaCurve: "P256" },
        generation === undefined ? { parent } : { parent, replacementTrigger: generation },
    );
}
