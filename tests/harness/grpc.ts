import * as grpc from "@grpc/grpc-js";

/**
 * A one-method gRPC service over TLS on loopback: the smallest thing that speaks the same transport
 * as buildkitd (gRPC over TLS 1.2/1.3 with client-certificate checking), so a test can prove which
 * certificates a real handshake accepts.
 */
const rawBytes = (b: Buffer) => b;
const SERVICE: grpc.ServiceDefinition = {
    check: {
        path: "/arc_buildkit.test.Probe/Check",
        requestStream: false,
        responseStream: false,
        requestSerialize: rawBytes,
        requestDeserialize: rawBytes,
        responseSerialize: rawBytes,
        responseDeserialize: rawBytes,
    },
};
const ProbeClient = grpc.makeGenericClientConstructor(SERVICE, "Probe");

export interface ServerIdentity {
    /** CA bundle client certificates must chain to. */
    ca: string;
    cert: string;
    key: string;
}

export interface TlsServer {
    port: number;
    /** How many calls reached the handler, i.e. passed the TLS handshake. */
    calls: number;
    close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 that requires and verifies a client certificate, as buildkitd does. */
export async function startMtlsServer(identity: ServerIdentity): Promise<TlsServer> {
    const server = new grpc.Server();
    const state = { calls: 0 };
    server.addService(SERVICE, {
        check: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
            state.calls++;
            callback(null, Buffer.from("ok"));
        },
    });
    const credentials = grpc.ServerCredentials.createSsl(
        Buffer.from(identity.ca),
        [{ cert_chain: Buffer.from(identity.cert), private_key: Buffer.from(identity.key) }],
        true,
    );
    const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    return {
        port,
        get calls() {
            return state.calls;
        },
        close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    };
}

export interface ClientIdentity {
    /** CA the server certificate must chain to. */
    ca: string;
    cert?: string;
    key?: string;
    /** Name the server certificate is verified against (buildctl's `--tlsservername`). */
    serverName?: string;
    /** Skip the host name check (chain and key-usage checks stay), to isolate what else fails. */
    skipHostnameCheck?: boolean;
}

/** One call from a client on loopback; resolves on success, rejects with the gRPC error otherwise. */
export async function callOverTls(port: number, client: ClientIdentity, host = "127.0.0.1"): Promise<void> {
    const credentials = grpc.credentials.createSsl(
        Buffer.from(client.ca),
        client.key ? Buffer.from(client.key) : null,
        client.cert ? Buffer.from(client.cert) : null,
        client.skipHostnameCheck ? { checkServerIdentity: () => undefined } : {},
    );
    const options: grpc.ChannelOptions = client.serverName
        ? { "grpc.ssl_target_name_override": client.serverName, "grpc.default_authority": client.serverName }
        : {};
    const stub = new ProbeClient(`${host}:${port}`, credentials, options) as unknown as grpc.Client & {
        check(req: Buffer, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): void;
    };
    try {
        await new Promise<void>((resolve, reject) =>
            stub.check(Buffer.from("ping"), { deadline: Date.now() + 5000 }, (err, res) =>
                err ? reject(err) : res?.toString() === "ok" ? resolve() : reject(new Error(`unexpected reply ${res}`)),
            ),
        );
    } finally {
        stub.close();
    }
}
