/**
 * CONTRACTS.md, "Stacks": the `aks` stack runs at least two builders per builder set, because a
 * rollout (a new config, image or certificate, a node-pool upgrade) replaces one builder at a time
 * and a set of one would have none serving while it drains. The `local` stack keeps one.
 */

/** Fewest builders per builder set on a stack whose kind is not k3d. */
export const MIN_AKS_REPLICAS = 2;

type ConfigIssue = { code: "custom"; path: (string | number)[]; input: unknown; message: string };

/** Builder sets with fewer than {@link MIN_AKS_REPLICAS} builders on an AKS stack. Pure; the schema calls it. */
export function availabilityIssues(value: {
    cluster: { kind: string; arm64?: { enabled: boolean; replicas: number } };
    buildkit: { replicas: number };
}): ConfigIssue[] {
    if (value.cluster.kind !== "aks") {
        return [];
    }
    const why = `at least ${MIN_AKS_REPLICAS} on an aks stack: a rollout drains one builder at a time, and a set of one would leave no builder serving (CONTRACTS.md, Stacks)`;
    const issues: ConfigIssue[] = [];
    if (value.buildkit.replicas < MIN_AKS_REPLICAS) {
        issues.push({ code: "custom", path: ["buildkit", "replicas"], input: value.buildkit.replicas, message: `expected ${why}` });
    }
    const arm64 = value.cluster.arm64;
    if (arm64?.enabled && arm64.replicas < MIN_AKS_REPLICAS) {
        issues.push({ code: "custom", path: ["cluster", "arm64", "replicas"], input: arm64.replicas, message: `expected ${why}` });
    }
    return issues;
}
