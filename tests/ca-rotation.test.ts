import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { realTlsState, TLS_TYPES } from "./harness/certificates";
import { callOverTls, startMtlsServer } from "./harness/grpc";
import { findResource, ProgramRun, reveal, runStack, valueOf } from "./harness/program";
import { opensslVerify, RunnerView, runnerViews, ServerView, serverView, validityOf } from "./harness/tls-material";
import { RUNNER_ENV } from "../contracts";
import { caBundle, caSlotResourceName, earliest } from "../components/pki";
import { editConfig } from "./harness/config-edit";

/**
 * CA rotation without a cliff, proven with real certificates and real gRPC mTLS handshakes
 * (tests/harness: the same transport as buildkitd; certificates built from the exact @pulumi/tls
 * inputs the program declares).
 *
 * BuildKit reads a multi-certificate `ca.crt` on both sides: buildkitd's `[grpc.tls] ca` and
 * buildctl's `--tlscacert` both go through Go's `x509.CertPool.AppendCertsFromPEM`, which adds every
 * PEM block of the file (moby/buildkit cmd/buildkitd/main.go serverCredentials, client/client.go
 * loadCredentials). grpc-js (OpenSSL) loads every certificate of the buffer the same way.
 */

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g;

interface Stage {
    run: ProgramRun;
    server: ServerView;
    client: RunnerView;
}

async function stage(caSlots: string[], caSigner: string): Promise<Stage> {
    const run = await runStack(
        "local",
        editConfig("tls", (tls) => Object.assign(tls, { caSlots, caSigner })),
    );
    return { run, server: serverView(run), client: (await runnerViews(run))[0] };
}

/** Does a client holding `client`'s files complete a call to a server holding `server`'s files? */
async function connects(client: RunnerView, server: ServerView): Promise<boolean> {
    const listening = await startMtlsServer(server);
    try {
        await callOverTls(listening.port, { ca: client.ca, cert: client.cert, key: client.key, serverName: client.env[RUNNER_ENV.serverName] });
        return true;
    } catch {
        return false;
    } finally {
        await listening.close();
    }
}

describe("CA key rotation through two slots (real mTLS handshakes)", () => {
    let s0: Stage, s1: Stage, s2: Stage, s3: Stage;
    before(async () => {
        s0 = await stage(["a"], "a"); // before: one CA, as every stack has it today
        s1 = await stage(["a", "b"], "a"); // 1. trust both, a still signs
        s2 = await stage(["a", "b"], "b"); // 2. b signs (the overlap: both still trusted)
        s3 = await stage(["b"], "b"); // 3. a dropped
    });

    it("slot a keeps the single CA's resource names and ca.crt is exactly its certificate (upgrading changes nothing)", async () => {
        for (const type of [TLS_TYPES.privateKey, TLS_TYPES.selfSignedCert]) {
            findResource(s0.run, type, "buildkit-ca");
        }
        const slotA = await valueOf(s0.run.outputs.caCertPem);
        assert.strictEqual(s0.server.ca, slotA);
        assert.strictEqual(s0.client.ca, slotA);
        assert.strictEqual(slotA.match(PEM_BLOCK)?.length, 1);
        assert.strictEqual(caSlotResourceName("buildkit", "a"), "buildkit-ca");
        assert.strictEqual(caSlotResourceName("buildkit", "b"), "buildkit-ca-b");
    });

    it("the probe reruns at every step, including those that change only the trusted bundle (1 and 3)", () => {
        const probeName = (s: Stage) =>
            s.run.resources.filter((r) => r.type === "kubernetes:batch/v1:Job").map((r) => reveal(r.inputs).metadata.name as string);
        const names = [s0, s1, s2, s3].map(probeName);
        for (const n of names) assert.strictEqual(n.length, 1);
        assert.strictEqual(new Set(names.flat()).size, 4, `probe Jobs: ${names.join(", ")}`);
    });

    it("while rotating, both sides' ca.crt hold both CA certificates and the same bundle is the stack output", async () => {
        for (const s of [s1, s2]) {
            assert.strictEqual(s.server.ca.match(PEM_BLOCK)?.length, 2);
            assert.strictEqual(s.client.ca, s.server.ca);
            assert.strictEqual(await valueOf(s.run.outputs.caCertPem), s.server.ca);
        }
        assert.strictEqual(s1.server.ca, s2.server.ca, "switching the signer leaves the bundle alone");
        assert.strictEqual(s1.server.ca.match(PEM_BLOCK)![0], s0.server.ca, "slot a's certificate is the one already deployed");
    });

    it("openssl verifies each stage's certificates against its bundle", () => {
        for (const s of [s1, s2, s3]) {
            opensslVerify(s.server.ca, s.server.cert, "sslserver", s.client.env[RUNNER_ENV.serverName]);
            opensslVerify(s.client.ca, s.client.cert, "sslclient");
        }
    });

    it("step 1 (trust b) breaks nothing: pods from before and after it talk both ways", async () => {
        assert.ok(await connects(s0.client, s1.server), "old client → new server");
        assert.ok(await connects(s1.client, s0.server), "new client → old server");
    });

    it("step 2 (b signs) is the overlap: old client ↔ new server and new client ↔ old server both work", async () => {
        assert.ok(await connects(s1.client, s2.server), "old client (signed by a) → new server (signed by b)");
        assert.ok(await connects(s2.client, s1.server), "new client (signed by b) → old server (signed by a)");
        assert.ok(await connects(s2.client, s2.server));
    });

    it("step 3 (drop a) ends the overlap: a-signed pods stop working with b-only pods, b-signed pods keep working", async () => {
        assert.ok(!(await connects(s1.client, s3.server)), "old client (signed by a) → server trusting only b");
        assert.ok(!(await connects(s3.client, s1.server)), "client trusting only b → old server (signed by a)");
        assert.ok(await connects(s2.client, s3.server), "overlap client → final server");
        assert.ok(await connects(s3.client, s2.server), "final client → overlap server");
    });

    it("skipping step 1 would be a cliff: a pod that trusts only a cannot reach a server signed by b", async () => {
        assert.ok(!(await connects(s0.client, s2.server)));
        assert.ok(!(await connects(s2.client, s0.server)));
    });

    it("caNotAfter is the earliest CA of the bundle; server and client notAfter are the certificates' own", async () => {
        const [a, b] = s1.server.ca.match(PEM_BLOCK)!.map((pem) => validityOf(pem).notAfter.getTime());
        assert.strictEqual(Date.parse(await valueOf(s1.run.outputs.caNotAfter)), Math.min(a, b));
        assert.strictEqual(Date.parse(await valueOf(s2.run.outputs.serverCertNotAfter)), validityOf(s2.server.cert).notAfter.getTime());
        assert.strictEqual(Date.parse(await valueOf(s2.run.outputs.clientCertNotAfter)), validityOf(s2.client.cert).notAfter.getTime());
        // Public data: plain stack outputs, not secrets.
        for (const output of [s2.run.outputs.caNotAfter, s2.run.outputs.serverCertNotAfter, s2.run.outputs.clientCertNotAfter]) {
            assert.strictEqual(await pulumi.isSecret(output), false);
            assert.match(await valueOf(output), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
        }
    });
});

describe("CA renewal by @pulumi/tls keeps the key, so it needs no overlap (real mTLS handshakes)", () => {
    /**
     * When a CA certificate enters its early-renewal window, @pulumi/tls replaces the SelfSignedCert
     * but not the PrivateKey it is given, and the subject is unchanged: the renewed CA certificate has
     * the same name and key, so each of the two CA certificates verifies what the other signed. The
     * certificates signed by the renewed CA are re-issued in the same `pulumi up` (their caCertPem
     * input changed). Pods that have not rolled yet keep working until the old CA certificate expires.
     */
    let run: ProgramRun;
    let old: { server: ServerView; client: RunnerView };
    let renewed: { server: ServerView; client: RunnerView };

    before(async () => {
        run = await runStack("local");
        const [client] = await runnerViews(run);
        old = { server: serverView(run), client };
        const caInputs = reveal(findResource(run, TLS_TYPES.selfSignedCert, "buildkit-ca").inputs);
        // Same inputs, another resource name: the mock issues a new certificate, as the provider does on renewal.
        const ca = (await realTlsState(TLS_TYPES.selfSignedCert, "buildkit-ca-renewed", caInputs)!).certPem as string;
        const reissue = async (role: "server" | "client") => {
            const inputs = reveal(findResource(run, TLS_TYPES.locallySignedCert, `buildkit-${role}`).inputs);
            return (await realTlsState(TLS_TYPES.locallySignedCert, `buildkit-${role}-renewed`, { ...inputs, caCertPem: ca })!).certPem as string;
        };
        renewed = {
            server: { ...old.server, ca, cert: await reissue("server") },
            client: { ...old.client, ca, cert: await reissue("client") },
        };
        assert.notStrictEqual(ca, old.server.ca, "the renewed CA certificate is a new certificate");
    });

    it("old client ↔ renewed server and renewed client ↔ old server both work", async () => {
        assert.ok(await connects(old.client, renewed.server));
        assert.ok(await connects(renewed.client, old.server));
    });

    it("a CA certificate of another key (a re-keyed CA) is a cliff without the slot overlap", async () => {
        const key = await realTlsState(TLS_TYPES.privateKey, "rekeyed-ca", { algorithm: "ECDSA", ecdsaCurve: "P256" })!;
        const caInputs = reveal(findResource(run, TLS_TYPES.selfSignedCert, "buildkit-ca").inputs);
        const ca = (await realTlsState(TLS_TYPES.selfSignedCert, "rekeyed-ca", { ...caInputs, privateKeyPem: key.privateKeyPem })!).certPem as string;
        const inputs = reveal(findResource(run, TLS_TYPES.locallySignedCert, "buildkit-server").inputs);
        const cert = (await realTlsState(TLS_TYPES.locallySignedCert, "rekeyed-server", { ...inputs, caCertPem: ca, caPrivateKeyPem: key.privateKeyPem })!)
            .certPem as string;
        assert.ok(!(await connects(old.client, { ...old.server, ca, cert })));
    });

    it("once the old CA certificate has expired, a client still holding it is refused by the server it verifies", async () => {
        const caInputs = reveal(findResource(run, TLS_TYPES.selfSignedCert, "buildkit-ca").inputs);
        const realNow = Date.now;
        let expiredCa: string;
        try {
            // Issued 48 hours ago for 24 hours: the same key and subject, past its notAfter.
            Date.now = () => realNow() - 48 * 3_600_000;
            expiredCa = (await realTlsState(TLS_TYPES.selfSignedCert, "buildkit-ca-expired", { ...caInputs, validityPeriodHours: 24, earlyRenewalHours: 1 })!)
                .certPem as string;
        } finally {
            Date.now = realNow;
        }
        assert.ok(validityOf(expiredCa).notAfter.getTime() < Date.now());
        assert.ok(!(await connects({ ...old.client, ca: expiredCa }, renewed.server)));
    });
});

describe("CA bundle helpers", () => {
    it("joins PEMs with exactly one newline each and keeps a single PEM unchanged", () => {
        assert.strictEqual(caBundle(["A\n"]), "A\n");
        assert.strictEqual(caBundle(["A", "B\n"]), "A\nB\n");
    });
    it("earliest picks the first time to come", () => {
        assert.strictEqual(earliest(["2030-01-02T00:00:00Z", "2029-12-31T23:00:00Z"]), "2029-12-31T23:00:00Z");
    });
});
