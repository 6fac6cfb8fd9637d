import * as pulumi from "@pulumi/pulumi";
import { allEdits, setConfigPath } from "./config-edit";
import { ProgramRun, runProgram, runStack } from "./program";
import { Registration, recordRegistrations } from "./registrations";

/**
 * Every resource a stack declares, with every resource option the engine receives, in a form that is
 * byte-identical across processes (fake, digest-derived keys and certificates instead of random real
 * ones). tests/declared-resources.test.ts compares it against a committed snapshot.
 */

/** The configurations compared: both committed stacks, AKS with its arm64 pool, k3d without GitHub credentials. */
export const VARIANTS = {
    local: (edit: (config: Record<string, string>) => void) => runStack("local", edit, { realTls: false }),
    "local-without-credentials": (edit: (config: Record<string, string>) => void) => runProgram("local", edit, { realTls: false }),
    aks: (edit: (config: Record<string, string>) => void) => runStack("aks", edit, { realTls: false }),
    "aks-arm64": (edit: (config: Record<string, string>) => void) =>
        runStack("aks", allEdits(setConfigPath("cluster", ["arm64", "enabled"], true), edit), { realTls: false }),
} as const;
export type Variant = keyof typeof VARIANTS;

export interface DeclaredStack {
    /** By URN, in declaration order. */
    resources: Record<string, Omit<Registration, "urn">>;
    outputs: Record<string, unknown>;
}

export async function declaredStack(variant: Variant): Promise<DeclaredStack & { run: ProgramRun }> {
    let registrations: Registration[] = [];
    const run = await VARIANTS[variant](() => {
        registrations = recordRegistrations();
    });
    const resources: DeclaredStack["resources"] = {};
    for (const { urn, ...registration } of registrations) {
        if (urn in resources) {
            throw new Error(`${variant}: two registrations of ${urn}`);
        }
        // Through JSON: undefined members dropped, as the engine's protobuf Struct drops them.
        resources[urn] = JSON.parse(JSON.stringify({ ...registration, dependencies: [...registration.dependencies].sort() }));
    }
    const outputs: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(run.outputs)) {
        outputs[key] = await new Promise((resolve) => pulumi.output(value).apply((v) => resolve(v === undefined ? null : v)));
    }
    return { resources, outputs, run };
}

/**
 * Custom resources (the ones the engine creates) that `urn` waits for, directly or through what it
 * waits for. Edges: a registration's `dependencies` (explicit `dependsOn`, expanded to a component's
 * children, and the resources whose outputs its inputs use), and its parent: a child is registered
 * only once its parent's URN is known, and the SDK registers a component only after everything in
 * the component's `dependsOn` is created, so a component's dependencies order all its children.
 */
export function transitiveDependencies(resources: DeclaredStack["resources"], urn: string): Set<string> {
    const seen = new Set<string>();
    const edges = (u: string) => [...(resources[u]?.dependencies ?? []), ...(resources[u]?.parent ? [resources[u].parent] : [])];
    const stack = edges(urn);
    while (stack.length > 0) {
        const next = stack.pop()!;
        if (!seen.has(next)) {
            seen.add(next);
            stack.push(...edges(next));
        }
    }
    return new Set([...seen].filter((u) => resources[u]?.custom));
}
