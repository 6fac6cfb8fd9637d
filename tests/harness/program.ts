import * as pulumi from "@pulumi/pulumi";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
// The module object itself (not an ES namespace copy), so that replacing an export below reaches the SDK.
import runtimeDebuggable = require("@pulumi/pulumi/runtime/debuggable");
import * as runtimeSettings from "@pulumi/pulumi/runtime/settings";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { loadSettings, parseSettings, Settings } from "../../config";
import { createStack, StackOutputs } from "../../program";
import { MONITORING_CRDS, setCrdLister } from "../../components/monitoring/preflight";
import { APP_SECRET_KEYS, appCredentials, withAppCredentials } from "../fixtures/github-credentials";
import type { DeclaredResource } from "../../policy/run";
import { MOCK_GITHUB_VARIABLES, mockCall, mockResourceState } from "./mocks";
import { recordRegistrations } from "./registrations";
// test:quick reads: Pulumi.*.yaml

/**
 * The SDK stamps every promise it creates with `new Error().stack`, which it reads only to name
 * leaked promises at exit: after source maps, half of a program run's CPU. Stamped without stack
 * frames here; every other Error, the program's own included, keeps its full stack. (Internal to the
 * SDK, hence the cast; its modules call it through this exports object, so the replacement applies.)
 */
const debuggable = runtimeDebuggable as unknown as { debuggablePromise<T>(p: Promise<T>, ctx: unknown): Promise<T> };
const stampPromise = debuggable.debuggablePromise;
debuggable.debuggablePromise = (p, ctx) => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        return stampPromise(p, ctx);
    } finally {
        Error.stackTraceLimit = limit;
    }
};

export const REPO_ROOT = path.resolve(__dirname, "../..");

/**
 * CRDs the mock cluster has (the monitoring preflight asks for them with kubectl on a real cluster):
 * the Prometheus Operator's by default; a test may remove them (and run with `fresh: true`).
 */
export const MOCK_CLUSTER_CRDS = new Set<string>(MONITORING_CRDS);
setCrdLister((_target, names) => names.filter((n) => MOCK_CLUSTER_CRDS.has(n)));
export const PROJECT = "arc-buildkit";

/**
 * One resource the program asked the engine for, exactly as the engine would receive it: the policy
 * pack's {@link DeclaredResource} (type, name, real URN, and `props`: the inputs with secrets revealed,
 * as the pack sees them), so the program's resources go to `runPolicies` as they are, plus what the
 * mocks see.
 */
export interface ProgramResource extends DeclaredResource {
    props: Record<string, any>;
    /** Inputs after serialization: secrets are `{ [specialSigKey]: specialSecretSig, value }` wrappers. */
    inputs: Record<string, any>;
    provider: string;
    custom: boolean;
}
export type { DeclaredResource };

export interface ProgramRun {
    resources: ProgramResource[];
    outputs: StackOutputs;
    /** The engine calls the program made (function invokes), in order. */
    calls: { token: string; inputs: Record<string, any> }[];
}

/** The `config:` map of a committed stack file, as the Pulumi CLI hands it to the program. */
export function stackConfig(stack: string): Record<string, string> {
    const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
    const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
    return Object.fromEntries(Object.entries(doc.config ?? {}).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]));
}

/**
 * Runs the real program (config loading included) against Pulumi's mock monitor and returns every
 * resource it declared. `edit` may change the stack's config first, as `pulumi config set` would.
 * Runs of the same config are evaluated once (see `runs`).
 */
export async function runProgram(
    stack: string,
    edit: (config: Record<string, string>) => void = () => {},
    opts: {
        preview?: boolean;
        secretKeys?: string[];
        /** Changes a resource's inputs before the mock provider sees them: simulates a program that declared them so. */
        tamper?: (type: string, name: string, inputs: Record<string, any>) => Record<string, any>;
        /** Changes the validated settings (for benchmarks beyond the config limits). */
        settings?: (settings: Settings) => Settings;
        /** Real keys and certificates (default), or deterministic fakes: byte-identical across processes. */
        realTls?: boolean;
        /** Evaluates the program again even if a run of the same config is cached (tests of determinism). */
        fresh?: boolean;
    } = {},
): Promise<ProgramRun> {
    const resources: Omit<ProgramResource, "urn" | "props">[] = [];
    const calls: ProgramRun["calls"] = [];
    await pulumi.runtime.setMocks(
        {
            async newResource(args) {
                const inputs = opts.tamper ? opts.tamper(args.type, args.name, args.inputs) : args.inputs;
                resources.push({ type: args.type, name: args.name, inputs, provider: args.provider ?? "", custom: args.custom ?? true });
                return { id: `${args.name}-id`, state: await mockResourceState(args.type, args.name, inputs, { realTls: opts.realTls }) };
            },
            call(args) {
                calls.push({ token: args.token, inputs: args.inputs });
                return mockCall(args.token, args.inputs);
            },
        },
        PROJECT,
        stack,
        opts.preview ?? false,
    );
    // Registration requests carry the URN (parent included) the mocks' callback does not see; they are
    // recorded in the same order as the callback's resources (one synchronous call each).
    const registrations = recordRegistrations();
    const config = stackConfig(stack);
    const monitor = runtimeSettings.getMonitor() as unknown as Record<string, unknown>;
    const registerResource = monitor.registerResource;
    edit(config);
    pulumi.runtime.setAllConfig(config, opts.secretKeys);

    // A run depends only on the stack, its config, preview, which keys are secret and real or fake TLS. Runs with
    // tamper or settings (functions), and runs whose edit hooked the mock monitor (see
    // recordRegistrations) to watch this very evaluation, are never shared.
    const shareable = !opts.tamper && !opts.settings && monitor.registerResource === registerResource;
    if (!shareable) return evaluate(resources, registrations, calls, opts);
    // What the mock cluster and GitHub hold is part of a run's input too (the monitoring preflight, variable adoption).
    const world = [[...MOCK_CLUSTER_CRDS].sort(), [...MOCK_GITHUB_VARIABLES.organization].sort(), MOCK_GITHUB_VARIABLES.repositories];
    const key = JSON.stringify([stack, config, opts.preview ?? false, opts.secretKeys ?? [], opts.realTls ?? true, world]);
    let run = opts.fresh ? undefined : runs.get(key);
    if (!run) {
        run = evaluate(resources, registrations, calls, opts);
        runs.set(key, run);
        // A failed run (a config the schema refuses) is not kept: the next caller sees its own error.
        run.catch(() => runs.delete(key));
    }
    return copyRun(await run);
}

/**
 * Program runs by config: about 90 runs in the suite, 50 of them of the two committed stacks as they
 * are, each 100-300 ms of CPU. Every caller gets its own copy of the declared resources and calls
 * (tests may edit them); outputs are Pulumi Outputs, which no test can change, and are shared.
 */
const runs = new Map<string, Promise<ProgramRun>>();

function copyRun(run: ProgramRun): ProgramRun {
    return { resources: copyPlain(run.resources), outputs: run.outputs, calls: copyPlain(run.calls) };
}

/** Copies arrays and plain objects (secret wrappers included); anything else (assets) is shared. */
function copyPlain<T>(value: T): T {
    if (Array.isArray(value)) return value.map(copyPlain) as T;
    if (typeof value === "object" && value !== null) {
        const proto = Object.getPrototypeOf(value);
        if (proto === Object.prototype || proto === null) {
            return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copyPlain(v)])) as T;
        }
    }
    return value;
}

/** Evaluates the program under the mocks `runProgram` has just set, with the config it has just set. */
async function evaluate(
    resources: Omit<ProgramResource, "urn" | "props">[],
    registrations: { type: string; name: string; urn: string }[],
    calls: ProgramRun["calls"],
    opts: NonNullable<Parameters<typeof runProgram>[2]>,
): Promise<ProgramRun> {
    // Pulumi records `new Error().stack` for every promise and resource it creates; with the TypeScript
    // loader's source maps on, each of those maps every frame back to TypeScript, which was a third of
    // the suite's CPU. Off while the program runs; a stack formatted later (a failing assertion) is mapped.
    const sourceMaps = process.sourceMapsEnabled;
    process.setSourceMapsEnabled(false);
    try {
        const settings = loadSettings();
        const outputs = createStack(opts.settings ? opts.settings(settings) : settings);
        await settle();
        return { resources: resources.map((resource, i) => withUrn(resource, registrations[i])), outputs, calls };
    } finally {
        process.setSourceMapsEnabled(sourceMaps);
    }
}

function withUrn(resource: Omit<ProgramResource, "urn" | "props">, registration: { type: string; name: string; urn: string } | undefined): ProgramResource {
    if (registration?.type !== resource.type || registration.name !== resource.name) {
        throw new Error(`registration order differs from the mocks' at ${resource.type}/${resource.name}`);
    }
    let props: Record<string, any> | undefined;
    return {
        ...resource,
        urn: registration.urn,
        // Revealed on first use: most tests never hand resources to the pack.
        get props() {
            return (props ??= reveal(resource.inputs));
        },
    };
}

/** Waits until every registration, including those made inside `apply`, has reached the mock monitor. */
async function settle(): Promise<void> {
    // Internal to the SDK (not in its typings), hence the cast.
    const { waitForRPCs } = runtimeSettings as unknown as { waitForRPCs(): Promise<void> };
    for (let i = 0; i < 3; i++) {
        await waitForRPCs();
        await new Promise((resolve) => setImmediate(resolve));
    }
}

/** The value of an Output, for assertions. */
export function valueOf<T>(output: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(output).apply((v) => resolve(v as T)));
}

export function isSecretInput(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[specialSigKey] === specialSecretSig;
}

/** Replaces secret wrappers with their values, for assertions on content. */
export function reveal<T = any>(value: T): T {
    if (isSecretInput(value)) {
        return reveal(value.value as T);
    }
    if (Array.isArray(value)) {
        return value.map(reveal) as T;
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)])) as T;
    }
    return value;
}

export function findResource(run: ProgramRun, type: string, name: string): ProgramResource {
    const found = run.resources.filter((r) => r.type === type && r.name === name);
    if (found.length !== 1) {
        throw new Error(
            `expected exactly one ${type} named ${name}, found ${found.length}; declared: ${run.resources.map((r) => `${r.type}/${r.name}`).join(", ")}`,
        );
    }
    return found[0];
}

/** Kubernetes objects by `kind/namespace/name`, revealed, for assertions on manifests. */
export function kubernetesObjects(run: ProgramRun): ProgramResource[] {
    return run.resources.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm") && r.type !== "pulumi:providers:kubernetes");
}

/**
 * The committed stack file as an operator runs it: after `pulumi config set --secret` of the GitHub
 * App credentials (fake ones, see tests/fixtures/github-credentials.ts).
 */
export function runStack(
    stack: string,
    edit: (config: Record<string, string>) => void = () => {},
    opts: Omit<NonNullable<Parameters<typeof runProgram>[2]>, "secretKeys"> = {},
): Promise<ProgramRun> {
    const [withCredentials, { secretKeys }] = appCredentials(edit);
    return runProgram(stack, withCredentials, { ...opts, secretKeys });
}

/** The validated settings of a committed stack file (with the fake App credentials), without running the program. */
export function stackSettings(stack: string, edit: (config: Record<string, string>) => void = () => {}): Settings {
    const config = stackConfig(stack);
    withAppCredentials(config);
    edit(config);
    return parseSettings(config, stack, (key) => APP_SECRET_KEYS.includes(key));
}

/** `parseSettings` of a raw config as an operator's stack has it: the fake App credentials set as secrets. */
export function parseWithCredentials(config: Record<string, string>, stack: string): Settings {
    const withCredentials = { ...config };
    withAppCredentials(withCredentials);
    return parseSettings(withCredentials, stack, (key) => APP_SECRET_KEYS.includes(key));
}
