import { ChildProcess, spawn } from "child_process";
import { join } from "path";
import { DeclaredResource } from "../../run";

// The pack as the Pulumi engine runs it: `index.ts` started as the CLI starts a TypeScript pack, and
// spoken to over gRPC with the engine's own Analyze and AnalyzeStack requests. The wire types come
// with @pulumi/pulumi (no typings are shipped for google-protobuf), hence the untyped requires.
/* eslint-disable @typescript-eslint/no-require-imports */
const grpc = require("@grpc/grpc-js");
const analyzerRpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const analyzerProto = require("@pulumi/pulumi/proto/analyzer_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");

const MANDATORY = 1;

/** One diagnostic as the engine receives it. Its message is the policy's description, a newline, then the violation. */
export interface Diagnostic {
    policy: string;
    mandatory: boolean;
    message: string;
}

export interface Engine {
    /** Every resource through Analyze (the resource policies), then all of them through AnalyzeStack. */
    analyze(resources: DeclaredResource[]): Promise<Diagnostic[]>;
}

type Rpc = (request: unknown, callback: (error: Error | null, response: never) => void) => void;

function toDiagnostics(response: { getDiagnosticsList(): { getPolicyname(): string; getEnforcementlevel(): number; getMessage(): string }[] }): Diagnostic[] {
    return response.getDiagnosticsList().map((d) => ({ policy: d.getPolicyname(), mandatory: d.getEnforcementlevel() === MANDATORY, message: d.getMessage() }));
}

async function start(): Promise<{ engine: Engine; stop(): void }> {
    // ts-node as the Pulumi CLI starts a TypeScript pack, but transpile-only: `npm run typecheck` checks the
    // pack's types, and a type-checking ts-node would spend about a second doing it again here.
    const pack: ChildProcess = spawn(process.execPath, ["-r", require.resolve("ts-node/register"), "index.ts"], {
        cwd: join(__dirname, "..", ".."),
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
        stdio: ["ignore", "pipe", "inherit"],
    });
    const port = await new Promise<string>((resolve, reject) => {
        pack.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString().trim().split("\n")[0]));
        pack.once("exit", (code) => reject(new Error(`policy pack exited with ${code} before listening`)));
    });
    const client: { analyze: Rpc; analyzeStack: Rpc; close(): void } = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const call = (method: "analyze" | "analyzeStack", request: unknown) =>
        new Promise<Diagnostic[]>((resolve, reject) =>
            client[method](request, (error: Error | null, response: never) => (error ? reject(error) : resolve(toDiagnostics(response)))),
        );
    const connected: Engine = {
        async analyze(resources) {
            // Each resource's properties are encoded once and sent in both requests, as the engine sends them.
            // AnalyzeRequest and AnalyzerResource carry a resource with the same fields.
            const structs = resources.map((r) => Struct.fromJavaScript(r.props));
            const describe = (message: any, i: number) =>
                message
                    .setType(resources[i].type)
                    .setName(resources[i].name)
                    .setUrn(resources[i].urn)
                    .setProperties(structs[i])
                    .setOptions(new analyzerProto.AnalyzerResourceOptions());
            const perResource = await Promise.all(resources.map((_, i) => call("analyze", describe(new analyzerProto.AnalyzeRequest(), i))));
            const stackRequest = new analyzerProto.AnalyzeStackRequest().setResourcesList(
                resources.map((_, i) => describe(new analyzerProto.AnalyzerResource(), i)),
            );
            return [...perResource.flat(), ...(await call("analyzeStack", stackRequest))];
        },
    };
    return {
        engine: connected,
        stop() {
            client.close();
            pack.kill();
        },
    };
}

let shared: Promise<{ engine: Engine; stop(): void }> | undefined;

/**
 * The one analyzer process of this mocha run, started on first use (about 2.5 s of CPU) and shared by
 * every test file that talks to the pack as the engine does.
 */
export function engine(): Promise<Engine> {
    shared ??= start();
    return shared.then((s) => s.engine);
}

// A root-level hook (this module is loaded while mocha loads the spec files): stop the analyzer after
// the last test, or its open pipe would keep mocha's process alive.
after(async () => {
    if (shared) (await shared).stop();
});
