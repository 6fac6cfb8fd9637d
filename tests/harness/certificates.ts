// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, randomBytes, webcrypto } from "crypto";
import { isIP } from "net";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";

/**
 * Real keys and certificates for the `@pulumi/tls` resources under Pulumi's mocks.
 *
 * The mocks build exactly what the Terraform TLS provider (which `@pulumi/tls` wraps) would build
 * from the same inputs: key algorithm and curve, subject, DNS/IP/URI SANs, key usages and extended
 * key usages from `allowedUses` (only the ones asked for), the CA flag, and a validity of
 * `validityPeriodHours` from now. A wrong input therefore yields a certificate that really fails a
 * TLS handshake or `openssl verify`, instead of a fake string that nothing checks.
 *
 * Keys are random, so results are memoized per (type, name, inputs): evaluating the same program
 * twice in one process yields byte-identical outputs, while any changed input yields new material.
 */

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;

/** Resource types this module implements. */
export const TLS_TYPES = {
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
    certRequest: "tls:index/certRequest:CertRequest",
    locallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
} as const;

/** `allowed_uses` → X.509 key usage, as in terraform-provider-tls `keyUsages`. */
const KEY_USAGES: Record<string, x509.KeyUsageFlags> = {
    digital_signature: x509.KeyUsageFlags.digitalSignature,
    content_commitment: x509.KeyUsageFlags.nonRepudiation,
    key_encipherment: x509.KeyUsageFlags.keyEncipherment,
    data_encipherment: x509.KeyUsageFlags.dataEncipherment,
    key_agreement: x509.KeyUsageFlags.keyAgreement,
    cert_signing: x509.KeyUsageFlags.keyCertSign,
    crl_signing: x509.KeyUsageFlags.cRLSign,
    encipher_only: x509.KeyUsageFlags.encipherOnly,
    decipher_only: x509.KeyUsageFlags.decipherOnly,
};

/** `allowed_uses` → extended key usage OIDs, as in terraform-provider-tls `extendedKeyUsages`. */
const EXTENDED_KEY_USAGES: Record<string, string> = {
    any_extended: "2.5.29.37.0",
    server_auth: "1.3.6.1.5.5.7.3.1",
    client_auth: "1.3.6.1.5.5.7.3.2",
    code_signing: "1.3.6.1.5.5.7.3.3",
    email_protection: "1.3.6.1.5.5.7.3.4",
    ipsec_end_system: "1.3.6.1.5.5.7.3.5",
    ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
    ipsec_user: "1.3.6.1.5.5.7.3.7",
    timestamping: "1.3.6.1.5.5.7.3.8",
    ocsp_signing: "1.3.6.1.5.5.7.3.9",
    microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
    netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
    microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
    microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};

/** Subject attribute → OID, in the order Go's `pkix.Name` writes them. */
const SUBJECT_OIDS: [string, string][] = [
    ["country", "2.5.4.6"],
    ["province", "2.5.4.8"],
    ["locality", "2.5.4.7"],
    ["streetAddresses", "2.5.4.9"],
    ["postalCode", "2.5.4.17"],
    ["organization", "2.5.4.10"],
    ["organizationalUnit", "2.5.4.11"],
    ["commonName", "2.5.4.3"],
    ["serialNumber", "2.5.4.5"],
    ["emailAddress", "1.2.840.113549.1.9.1"],
];

/** terraform-provider-tls `ecdsa_curve` → Node curve name. P224 is the provider's default. */
const CURVES: Record<string, string> = { P224: "secp224r1", P256: "prime256v1", P384: "secp384r1", P521: "secp521r1" };
const WEBCRYPTO_CURVES: Record<string, { namedCurve: string; hash: string }> = {
    prime256v1: { namedCurve: "P-256", hash: "SHA-256" },
    secp384r1: { namedCurve: "P-384", hash: "SHA-384" },
    secp521r1: { namedCurve: "P-521", hash: "SHA-512" },
};

const memo = new Map<string, Promise<Record<string, any>>>();

/**
 * Provider outputs of a `@pulumi/tls` resource, computed for real; undefined for other types.
 * Inputs that are not known yet (preview) produce no outputs, as the provider would leave them unknown.
 */
export function realTlsState(type: string, name: string, inputs: Record<string, any>): Promise<Record<string, any>> | undefined {
    if (!(Object.values(TLS_TYPES) as string[]).includes(type)) {
        return undefined;
    }
    const key = `${type}\u0000${name}\u0000${JSON.stringify(inputs)}`;
    let result = memo.get(key);
    if (!result) {
        result = compute(type, plain(inputs));
        memo.set(key, result);
    }
    return result;
}

async function compute(type: string, inputs: Record<string, any>): Promise<Record<string, any>> {
    switch (type) {
        case TLS_TYPES.privateKey:
            return { ...inputs, ...privateKey(inputs) };
        case TLS_TYPES.selfSignedCert:
            return isPem(inputs.privateKeyPem) ? { ...inputs, ...(await selfSignedCert(inputs)) } : { ...inputs };
        case TLS_TYPES.certRequest:
            return isPem(inputs.privateKeyPem) ? { ...inputs, ...(await certRequest(inputs)) } : { ...inputs };
        case TLS_TYPES.locallySignedCert:
            return [inputs.certRequestPem, inputs.caPrivateKeyPem, inputs.caCertPem].every(isPem)
                ? { ...inputs, ...(await locallySignedCert(inputs)) }
                : { ...inputs };
        default:
            throw new Error(`not a tls resource: ${type}`);
    }
}

/** Inputs with Pulumi's secret wrappers removed (the provider sees plain values too). */
function plain(value: any): any {
    if (Array.isArray(value)) {
        return value.map(plain);
    }
    if (typeof value === "object" && value !== null) {
        if (value[specialSigKey] === specialSecretSig) {
            return plain(value.value);
        }
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
    }
    return value;
}

function isPem(value: unknown): value is string {
    return typeof value === "string" && value.includes("-----BEGIN ");
}

function privateKey(inputs: Record<string, any>): Record<string, any> {
    const algorithm: string = inputs.algorithm;
    let keys: { privateKey: KeyObject; publicKey: KeyObject };
    let privateKeyPem: string;
    if (algorithm === "ECDSA") {
        const curve = CURVES[inputs.ecdsaCurve ?? "P224"];
        if (!curve) {
            throw new Error(`tls PrivateKey: unsupported ecdsaCurve ${inputs.ecdsaCurve}`);
        }
        keys = generateKeyPairSync("ec", { namedCurve: curve });
        privateKeyPem = keys.privateKey.export({ type: "sec1", format: "pem" }) as string;
    } else if (algorithm === "RSA") {
        keys = generateKeyPairSync("rsa", { modulusLength: inputs.rsaBits ?? 2048 });
        privateKeyPem = keys.privateKey.export({ type: "pkcs1", format: "pem" }) as string;
    } else if (algorithm === "ED25519") {
        keys = generateKeyPairSync("ed25519");
        privateKeyPem = keys.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    } else {
        throw new Error(`tls PrivateKey: unsupported algorithm ${algorithm}`);
    }
    const spki = keys.publicKey.export({ type: "spki", format: "der" });
    return {
        privateKeyPem,
        privateKeyPemPkcs8: keys.privateKey.export({ type: "pkcs8", format: "pem" }),
        publicKeyPem: keys.publicKey.export({ type: "spki", format: "pem" }),
        publicKeyFingerprintSha256: `SHA256:${createHash("sha256").update(spki).digest("base64").replace(/=+$/, "")}`,
    };
}

/** A PEM private key as the WebCrypto key pair and signature algorithm the provider would use. */
async function signingKeys(
    pem: string,
): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey; algorithm: any; keyAlgorithm: string; publicKeyObject: KeyObject }> {
    const keyObject = createPrivateKey(pem);
    const publicKeyObject = createPublicKey(keyObject);
    const pkcs8 = keyObject.export({ type: "pkcs8", format: "der" });
    const spki = publicKeyObject.export({ type: "spki", format: "der" });
    let importAlgorithm: any;
    let algorithm: any;
    let keyAlgorithm: string;
    if (keyObject.asymmetricKeyType === "ec") {
        const curve = WEBCRYPTO_CURVES[keyObject.asymmetricKeyDetails?.namedCurve ?? ""];
        if (!curve) {
            throw new Error(`tls mock: cannot sign with curve ${keyObject.asymmetricKeyDetails?.namedCurve}`);
        }
        importAlgorithm = { name: "ECDSA", namedCurve: curve.namedCurve };
        algorithm = { name: "ECDSA", hash: curve.hash };
        keyAlgorithm = "ECDSA";
    } else if (keyObject.asymmetricKeyType === "rsa") {
        importAlgorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
        algorithm = { name: "RSASSA-PKCS1-v1_5" };
        keyAlgorithm = "RSA";
    } else if (keyObject.asymmetricKeyType === "ed25519") {
        importAlgorithm = { name: "Ed25519" };
        algorithm = { name: "Ed25519" };
        keyAlgorithm = "ED25519";
    } else {
        throw new Error(`tls mock: unsupported key type ${keyObject.asymmetricKeyType}`);
    }
    const subtle = webcrypto.subtle;
    const signingKey = (await subtle.importKey("pkcs8", pkcs8, importAlgorithm, true, ["sign"])) as unknown as CryptoKey;
    const publicKey = (await subtle.importKey("spki", spki, importAlgorithm, true, ["verify"])) as unknown as CryptoKey;
    return { privateKey: signingKey, publicKey, algorithm, keyAlgorithm, publicKeyObject };
}

/** SHA-1 of the subject public key bits: what the provider's `generateSubjectKeyID` computes. */
function subjectKeyId(publicKey: KeyObject): string {
    let bits: Buffer;
    if (publicKey.asymmetricKeyType === "ec") {
        const jwk = publicKey.export({ format: "jwk" });
        bits = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
    } else if (publicKey.asymmetricKeyType === "rsa") {
        bits = publicKey.export({ type: "pkcs1", format: "der" });
    } else {
        bits = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
    }
    return createHash("sha1").update(bits).digest("hex");
}

function subjectName(subject: Record<string, any> | undefined): x509.JsonName {
    const name: x509.JsonName = [];
    for (const [field, oid] of SUBJECT_OIDS) {
        const value = subject?.[field];
        const values = Array.isArray(value) ? value : value === undefined || value === "" ? [] : [value];
        for (const v of values) {
            name.push({ [oid]: [String(v)] });
        }
    }
    return name;
}

function sanExtension(inputs: Record<string, any>): x509.SubjectAlternativeNameExtension | undefined {
    const entries: x509.JsonGeneralName[] = [
        ...((inputs.dnsNames ?? []) as string[]).map((value) => ({ type: "dns" as const, value })),
        ...((inputs.ipAddresses ?? []) as string[]).map((value) => {
            if (!isIP(value)) {
                throw new Error(`tls mock: invalid IP address ${value}`);
            }
            return { type: "ip" as const, value };
        }),
        ...((inputs.uris ?? []) as string[]).map((value) => ({ type: "url" as const, value })),
    ];
    return entries.length > 0 ? new x509.SubjectAlternativeNameExtension(entries, false) : undefined;
}

/** Key usage, extended key usage and basic constraints from `allowedUses` and `isCaCertificate`. */
function usageExtensions(inputs: Record<string, any>): x509.Extension[] {
    const uses: string[] = inputs.allowedUses ?? [];
    for (const use of uses) {
        if (!(use in KEY_USAGES) && !(use in EXTENDED_KEY_USAGES)) {
            throw new Error(`tls mock: unknown allowed use ${JSON.stringify(use)} (the provider rejects it too)`);
        }
    }
    const extensions: x509.Extension[] = [];
    const keyUsage = uses.reduce((flags, use) => flags | (KEY_USAGES[use] ?? 0), 0);
    if (keyUsage !== 0) {
        extensions.push(new x509.KeyUsagesExtension(keyUsage, true));
    }
    const extended = uses.filter((use) => use in EXTENDED_KEY_USAGES).map((use) => EXTENDED_KEY_USAGES[use]);
    if (extended.length > 0) {
        extensions.push(new x509.ExtendedKeyUsageExtension(extended, false));
    }
    extensions.push(
        new x509.BasicConstraintsExtension(
            !!inputs.isCaCertificate,
            inputs.maxPathLength >= 0 && inputs.isCaCertificate ? inputs.maxPathLength : undefined,
            true,
        ),
    );
    return extensions;
}

function serialNumber(): string {
    const bytes = randomBytes(16);
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    return bytes.toString("hex");
}

function validity(inputs: Record<string, any>): Record<string, any> & { notBefore: Date; notAfter: Date } {
    const hours = inputs.validityPeriodHours;
    if (!Number.isInteger(hours) || hours < 0) {
        throw new Error(`tls mock: validityPeriodHours must be a whole number, got ${hours}`);
    }
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
    const notAfter = new Date(notBefore.getTime() + hours * 3600 * 1000);
    const renewalAt = notAfter.getTime() - (inputs.earlyRenewalHours ?? 0) * 3600 * 1000;
    return {
        notBefore,
        notAfter,
        validityStartTime: rfc3339(notBefore),
        validityEndTime: rfc3339(notAfter),
        readyForRenewal: Date.now() >= renewalAt,
    };
}

function rfc3339(date: Date): string {
    return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

async function selfSignedCert(inputs: Record<string, any>): Promise<Record<string, any>> {
    const keys = await signingKeys(inputs.privateKeyPem);
    const name = subjectName(inputs.subject);
    if (inputs.isCaCertificate && name.length === 0) {
        throw new Error("tls mock: a CA certificate needs at least one subject attribute (the provider rejects it too)");
    }
    const ski = subjectKeyId(keys.publicKeyObject);
    const extensions = usageExtensions(inputs);
    if (inputs.isCaCertificate || inputs.setSubjectKeyId) {
        extensions.push(new x509.SubjectKeyIdentifierExtension(ski));
    }
    const san = sanExtension(inputs);
    if (san) {
        extensions.push(san);
    }
    const { notBefore, notAfter, ...times } = validity(inputs);
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serialNumber(),
        subject: name,
        issuer: name,
        notBefore,
        notAfter,
        signingAlgorithm: keys.algorithm,
        publicKey: keys.publicKey as any,
        signingKey: keys.privateKey as any,
        extensions,
    });
    return { certPem: cert.toString("pem") + "\n", keyAlgorithm: keys.keyAlgorithm, ...times };
}

async function certRequest(inputs: Record<string, any>): Promise<Record<string, any>> {
    const keys = await signingKeys(inputs.privateKeyPem);
    const san = sanExtension(inputs);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: subjectName(inputs.subject),
        keys: { privateKey: keys.privateKey, publicKey: keys.publicKey } as any,
        signingAlgorithm: keys.algorithm,
        extensions: san ? [san] : [],
    });
    return { certRequestPem: csr.toString("pem") + "\n", keyAlgorithm: keys.keyAlgorithm };
}

async function locallySignedCert(inputs: Record<string, any>): Promise<Record<string, any>> {
    const csr = new x509.Pkcs10CertificateRequest(inputs.certRequestPem);
    if (!(await csr.verify())) {
        throw new Error("tls mock: certificate request signature is invalid");
    }
    const ca = new x509.X509Certificate(inputs.caCertPem);
    const caKeys = await signingKeys(inputs.caPrivateKeyPem);
    const caPublic = createPublicKey(inputs.caCertPem);
    if (subjectKeyId(caPublic) !== subjectKeyId(caKeys.publicKeyObject)) {
        throw new Error("tls mock: caPrivateKeyPem does not belong to caCertPem");
    }
    const subjectPublic = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: "der", type: "spki" });
    const extensions = usageExtensions(inputs);
    if (inputs.isCaCertificate || inputs.setSubjectKeyId) {
        extensions.push(new x509.SubjectKeyIdentifierExtension(subjectKeyId(subjectPublic)));
    }
    // Go's x509.CreateCertificate copies the issuer's subject key id into the authority key id.
    const caSki = ca.getExtension(x509.SubjectKeyIdentifierExtension);
    if (caSki) {
        extensions.push(new x509.AuthorityKeyIdentifierExtension(caSki.keyId));
    }
    const san = csr.extensions.find((e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension);
    if (san) {
        extensions.push(new x509.SubjectAlternativeNameExtension(san.names.toJSON(), false));
    }
    const { notBefore, notAfter, ...times } = validity(inputs);
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serialNumber(),
        subject: csr.subjectName,
        issuer: ca.subjectName,
        notBefore,
        notAfter,
        signingAlgorithm: caKeys.algorithm,
        publicKey: await csr.publicKey.export(),
        signingKey: caKeys.privateKey as any,
        extensions,
    });
    return { certPem: cert.toString("pem") + "\n", caKeyAlgorithm: caKeys.keyAlgorithm, ...times };
}
