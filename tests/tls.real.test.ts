import * as assert from "assert";
import { RUNNER_ENV } from "../contracts";
import { SERVICE_HOSTS } from "../config";
import { realTlsState, TLS_TYPES } from "./harness/certificates";
import { callOverTls, startMtlsServer, TlsServer } from "./harness/grpc";
import { allEdits, configValue, setConfig, setConfigPath } from "./harness/config-edit";
import { findResource, ProgramRun, reveal, runStack, stackConfig, valueOf } from "./harness/program";
import { extendedKeyUsages, hostOf, opensslVerify, RunnerView, runnerViews, ServerView, serverView, validityOf } from "./harness/tls-material";

/**
 * Real mTLS with exactly what the program declares: the server side is what buildkitd loads (its
 * TOML's [grpc.tls] paths through its mounts), the client side is what a runner pod holds (its
 * AMEIDE_BUILDKIT_* variables and the files they name). Certificates are real (see
 * harness/certificates.ts), so a wrong input to @pulumi/tls makes these tests fail.
 */

const SERVER_ROLE = "TLS Web Server Authentication";
const CLIENT_ROLE = "TLS Web Client Authentication";

/** Names a runner may dial: the published endpoint, the server name it is told, every pod endpoint, every endpoint host config accepts. */
async function publishedNames(run: ProgramRun, runner: RunnerView): Promise<string[]> {
    const podHosts = (await valueOf(run.outputs.podEndpoints)).map(hostOf);
    return [...new Set([runner.env[RUNNER_ENV.serverName], hostOf(runner.env[RUNNER_ENV.addr]), ...podHosts, ...SERVICE_HOSTS, "buildkitd"])];
}

/** The runner connects with the server name it is given, and with every other published name. */
async function assertRunnersConnect(run: ProgramRun): Promise<void> {
    const server = serverView(run);
    const listening = await startMtlsServer(server);
    try {
        // The shared tier's runners against the shared tier's daemon; tests/tiers.test.ts crosses tiers.
        for (const runner of await runnerViews(run, "shared")) {
            for (const serverName of await publishedNames(run, runner)) {
                await callOverTls(listening.port, { ca: runner.ca, cert: runner.cert, key: runner.key, serverName }).catch((err) => {
                    throw new Error(`${runner.source}: connection with server name ${serverName} failed: ${err.message}`);
                });
            }
        }
    } finally {
        await listening.close();
    }
}

/** The client certificate is a client certificate only, the server certificate a server certificate only. */
function assertRolesAreSeparate(server: ServerView, runner: RunnerView): void {
    assert.deepStrictEqual(extendedKeyUsages(server.cert), [SERVER_ROLE], "server certificate must be limited to server authentication");
    assert.deepStrictEqual(extendedKeyUsages(runner.cert), [CLIENT_ROLE], "client certificate must be limited to client authentication");
}

async function rejected(promise: Promise<void>, what: string, server: TlsServer): Promise<string> {
    const before = server.calls;
    const err = await promise.then(
        () => undefined,
        (e: Error) => e,
    );
    assert.ok(err, `${what} was accepted`);
    assert.strictEqual(server.calls, before, `${what}: the call reached the handler`);
    return err.message;
}

/** A second, unrelated PKI built through the same mock path as the program's, with the program's own client inputs. */
async function foreignClient(run: ProgramRun): Promise<{ cert: string; key: string }> {
    const key = await realTlsState(TLS_TYPES.privateKey, "foreign-ca", { algorithm: "ECDSA", ecdsaCurve: "P256" })!;
    const caInputs = { ...reveal(findResource(run, TLS_TYPES.selfSignedCert, "buildkit-ca").inputs), privateKeyPem: key.privateKeyPem };
    const ca = await realTlsState(TLS_TYPES.selfSignedCert, "foreign-ca", caInputs)!;
    const clientKey = await realTlsState(TLS_TYPES.privateKey, "foreign-client", { algorithm: "ECDSA", ecdsaCurve: "P256" })!;
    const csrInputs = { ...reveal(findResource(run, TLS_TYPES.certRequest, "buildkit-client").inputs), privateKeyPem: clientKey.privateKeyPem };
    const csr = await realTlsState(TLS_TYPES.certRequest, "foreign-client", csrInputs)!;
    const certInputs = {
        ...reveal(findResource(run, TLS_TYPES.locallySignedCert, "buildkit-client").inputs),
        certRequestPem: csr.certRequestPem,
        caCertPem: ca.certPem,
        caPrivateKeyPem: key.privateKeyPem,
    };
    const cert = await realTlsState(TLS_TYPES.locallySignedCert, "foreign-client", certInputs)!;
    return { cert: cert.certPem, key: clientKey.privateKeyPem };
}

for (const stack of ["local", "aks"]) {
    describe(`real mTLS with the ${stack} stack's declared certificates`, () => {
        let run: ProgramRun;
        let server: ServerView;
        let runners: RunnerView[];
        let listening: TlsServer;

        before(async () => {
            run = await runStack(stack);
            server = serverView(run);
            runners = await runnerViews(run, "shared");
            listening = await startMtlsServer(server);
        });
        after(async () => listening?.close());

        it("gives runners the contract's environment", () => {
            assert.ok(runners.length >= 1);
            for (const runner of runners) {
                for (const variable of Object.values(RUNNER_ENV)) {
                    assert.ok(runner.env[variable], `${runner.source}: ${variable} is set`);
                }
            }
        });

        it("lets every runner connect with the published server name and every per-pod name", async () => {
            await assertRunnersConnect(run);
        });

        it("rejects a client without a certificate", async () => {
            for (const runner of runners) {
                await rejected(
                    callOverTls(listening.port, { ca: runner.ca, serverName: runner.env[RUNNER_ENV.serverName] }),
                    "a client without a certificate",
                    listening,
                );
            }
        });

        it("rejects a client whose certificate comes from another CA", async () => {
            const foreign = await foreignClient(run);
            for (const runner of runners) {
                await rejected(
                    callOverTls(listening.port, { ca: runner.ca, ...foreign, serverName: runner.env[RUNNER_ENV.serverName] }),
                    "a client certificate from another CA",
                    listening,
                );
            }
        });

        it("rejects the server certificate presented as a client certificate", async () => {
            for (const runner of runners) {
                await rejected(
                    callOverTls(listening.port, { ca: runner.ca, cert: server.cert, key: server.key, serverName: runner.env[RUNNER_ENV.serverName] }),
                    "the server certificate used by a client",
                    listening,
                );
            }
        });

        it("makes runners refuse a server that presents the client certificate, even without a host name check", async () => {
            const impostor = await startMtlsServer({ ca: server.ca, cert: runners[0].cert, key: runners[0].key });
            try {
                for (const runner of runners) {
                    await rejected(
                        callOverTls(impostor.port, {
                            ca: runner.ca,
                            cert: runner.cert,
                            key: runner.key,
                            serverName: runner.env[RUNNER_ENV.serverName],
                            skipHostnameCheck: true,
                        }),
                        "a server presenting the client certificate",
                        impostor,
                    );
                }
            } finally {
                await impostor.close();
            }
        });

        it("rejects server names outside the certificate", async () => {
            for (const name of ["buildkitd.other.svc.cluster.local", "buildkitd-headless.buildkit.svc.cluster.example", "evil.example.com"]) {
                for (const runner of runners) {
                    await rejected(
                        callOverTls(listening.port, { ca: runner.ca, cert: runner.cert, key: runner.key, serverName: name }),
                        `server name ${name}`,
                        listening,
                    );
                }
            }
        });

        it("limits each certificate to its role", () => {
            for (const runner of runners) {
                assertRolesAreSeparate(server, runner);
            }
        });

        it("passes openssl verify for its purpose and fails it for the other", async () => {
            const serverName = runners[0].env[RUNNER_ENV.serverName];
            opensslVerify(server.ca, server.cert, "sslserver", serverName);
            for (const pod of (await valueOf(run.outputs.podEndpoints)).map(hostOf)) {
                opensslVerify(server.ca, server.cert, "sslserver", pod);
            }
            for (const runner of runners) {
                opensslVerify(runner.ca, runner.cert, "sslclient");
                assert.throws(() => opensslVerify(runner.ca, runner.cert, "sslserver"), /unsuitable certificate purpose/);
                assert.throws(() => opensslVerify(server.ca, server.cert, "sslclient"), /unsuitable certificate purpose/);
                assert.strictEqual(runner.ca, server.ca, "both sides trust the same CA");
            }
        });

        it("issues certificates with the configured validity and early renewal", () => {
            const tls = configValue(stackConfig(stack), "tls");
            const hours = (cert: string) => {
                const { notBefore, notAfter } = validityOf(cert);
                assert.ok(notBefore.getTime() <= Date.now() + 1000, "valid from now");
                return (notAfter.getTime() - notBefore.getTime()) / 3_600_000;
            };
            assert.strictEqual(hours(server.cert), tls.validityHours);
            assert.strictEqual(hours(runners[0].cert), tls.validityHours);
            assert.strictEqual(hours(server.ca), tls.caValidityHours);
            for (const role of ["buildkit-server", "buildkit-client"]) {
                const inputs = reveal(findResource(run, TLS_TYPES.locallySignedCert, role).inputs);
                assert.strictEqual(inputs.earlyRenewalHours, tls.earlyRenewalHours, `${role} early renewal`);
                assert.strictEqual(inputs.validityPeriodHours, tls.validityHours, `${role} validity`);
            }
        });
    });
}

describe("real mTLS follows the config", () => {
    it("issues certificates for a changed validity, and for every pod when there are three", async () => {
        const run = await runStack(
            "local",
            allEdits(
                setConfig("tls", { caValidityHours: 720, validityHours: 48, earlyRenewalHours: 36, renewalIntervalHours: 6 }),
                setConfig("probe", { minCertificateDays: 1 }),
                setConfigPath("buildkit", ["replicas"], 3),
            ),
        );
        const server = serverView(run);
        const { notBefore, notAfter } = validityOf(server.cert);
        assert.strictEqual((notAfter.getTime() - notBefore.getTime()) / 3_600_000, 48);
        assert.strictEqual((await valueOf(run.outputs.podEndpoints)).length, 3);
        await assertRunnersConnect(run);
    });
});

/**
 * The checks above must fail when the program's certificate inputs are wrong. Each case runs the
 * program with one input broken on its way to the provider and expects the same check to fail.
 */
describe("broken certificate inputs make the real-TLS checks fail", () => {
    const without = (list: string[] | undefined, drop: string) => (list ?? []).filter((x) => x !== drop);

    it("a server certificate missing the published service name: runners cannot connect", async () => {
        const run = await runStack("local", undefined, {
            tamper: (type, name, inputs) =>
                type === TLS_TYPES.certRequest && name === "buildkit-server"
                    ? { ...inputs, dnsNames: without(inputs.dnsNames, "buildkitd.buildkit.svc.cluster.local") }
                    : inputs,
        });
        await assert.rejects(assertRunnersConnect(run), /server name buildkitd\.buildkit\.svc\.cluster\.local failed/);
    });

    it("a server certificate without the pods' wildcard: runners cannot reach a pod by its own name", async () => {
        const pod = "buildkitd-0.buildkitd-headless.buildkit.svc.cluster.local";
        const run = await runStack("local", undefined, {
            tamper: (type, name, inputs) =>
                type === TLS_TYPES.certRequest && name === "buildkit-server"
                    ? { ...inputs, dnsNames: without(inputs.dnsNames, "*.buildkitd-headless.buildkit.svc.cluster.local") }
                    : inputs,
        });
        await assert.rejects(assertRunnersConnect(run), new RegExp(`server name ${pod.replace(/\./g, "\\.")} failed`));
    });

    it("a client certificate without client_auth: the role check fails and a server accepts it as its own", async () => {
        const run = await runStack("local", undefined, {
            tamper: (type, name, inputs) =>
                type === TLS_TYPES.locallySignedCert && name === "buildkit-client"
                    ? { ...inputs, allowedUses: without(inputs.allowedUses, "client_auth") }
                    : inputs,
        });
        const [runner] = await runnerViews(run);
        assert.throws(() => assertRolesAreSeparate(serverView(run), runner), /client certificate must be limited to client authentication/);
        // Without any extended key usage the certificate is good for every purpose, server included.
        opensslVerify(runner.ca, runner.cert, "sslserver");
    });

    it("a client certificate with server_auth instead of client_auth: the server rejects the runner", async () => {
        const run = await runStack("local", undefined, {
            tamper: (type, name, inputs) =>
                type === TLS_TYPES.locallySignedCert && name === "buildkit-client"
                    ? { ...inputs, allowedUses: [...without(inputs.allowedUses, "client_auth"), "server_auth"] }
                    : inputs,
        });
        await assert.rejects(assertRunnersConnect(run), /failed/);
    });

    it("a server certificate without server_auth use: the role check fails", async () => {
        const run = await runStack("local", undefined, {
            tamper: (type, name, inputs) =>
                type === TLS_TYPES.locallySignedCert && name === "buildkit-server"
                    ? { ...inputs, allowedUses: without(inputs.allowedUses, "server_auth") }
                    : inputs,
        });
        const [runner] = await runnerViews(run);
        assert.throws(() => assertRolesAreSeparate(serverView(run), runner), /server certificate must be limited to server authentication/);
    });
});
