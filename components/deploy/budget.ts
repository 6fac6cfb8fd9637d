import { rolloutSeconds } from "../buildkit/rollout";
import { HELM_MARGIN_SECONDS } from "../arc/lifecycle";

/**
 * The longest a `pulumi up` of a stack may wait, from the same numbers the resources' own timeouts
 * come from, so the CI job that runs it (.github/workflows/deploy.yml, `timeout-minutes`) outlasts it.
 * A job GitHub kills mid-update leaves the stack's state locked and the update half done
 * (docs/operations/deploy-timeouts.md), which is worse than a slow one; tests/deploy-budget.test.ts
 * ties the workflow's limit to this.
 *
 * Worst case, one after another (what waits for what in the program):
 * - the BuildKit node pools: a pool created (blue/green) or updated, bounded by azure-native's own
 *   timeout for AgentPool operations, taken here as {@link NODE_POOL_SECONDS};
 * - every builder set's rollout, in parallel with each other: the longest `update` bound (each pod in
 *   turn: drain, stop, schedule, pull, start, ready), or a replacement (`delete` then `create`);
 * - the cache claims' resize patches ({@link PATCH_SECONDS});
 * - ARC: on a minor upgrade, every scale set's uninstall waits for busy runners
 *   (`arc.runnerDrainSeconds` + Helm's margin), then the controller's and the scale sets' installs;
 * - the probe Job: its deadline plus the image pull allowance;
 * - {@link SETUP_SECONDS} for the job's own steps (checkout, npm ci, logins, preview of the program).
 */
export const NODE_POOL_SECONDS = 45 * 60;
export const PATCH_SECONDS = 10 * 60;
/** Helm's default wait for an install (`timeout` 300 s) of the controller and of a scale set. */
export const HELM_INSTALL_SECONDS = 300;
export const SETUP_SECONDS = 15 * 60;
/** pulumi-kubernetes' allowance past the probe Job's deadline (components/probe: customTimeouts). */
export const PROBE_PULL_SECONDS = 120;

export interface DeployBudgetInput {
    /** Whether the stack has AKS node pools. */
    nodePools: boolean;
    /** Replica count of every builder set. */
    builderSets: readonly number[];
    drainTimeoutSeconds: number;
    runnerDrainSeconds: number;
    probeTimeoutSeconds: number;
}

export interface DeployBudget {
    nodePools: number;
    builders: number;
    patches: number;
    arc: number;
    probe: number;
    setup: number;
    total: number;
}

export function deployBudgetSeconds(input: DeployBudgetInput): DeployBudget {
    const builders = Math.max(
        ...input.builderSets.map((replicas) => {
            const s = rolloutSeconds({ replicas, drainTimeoutSeconds: input.drainTimeoutSeconds });
            return Math.max(s.update, s.delete + s.create);
        }),
    );
    const parts = {
        nodePools: input.nodePools ? NODE_POOL_SECONDS : 0,
        builders,
        patches: PATCH_SECONDS,
        arc: input.runnerDrainSeconds + HELM_MARGIN_SECONDS + 2 * HELM_INSTALL_SECONDS,
        probe: input.probeTimeoutSeconds + PROBE_PULL_SECONDS,
        setup: SETUP_SECONDS,
    };
    return { ...parts, total: Object.values(parts).reduce((a, b) => a + b, 0) };
}
