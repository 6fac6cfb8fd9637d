import { READINESS_CHECK, SHUTDOWN_MARGIN_SECONDS, STARTUP_CHECK } from "./workload";

/**
 * How long `pulumi up` and `pulumi destroy` may wait for a builder StatefulSet.
 *
 * pulumi-kubernetes awaits a StatefulSet create or update until every replica is ready and updated,
 * and a delete until the object is gone (foreground deletion: after its pods). Without
 * `customTimeouts` it gives up after 10 minutes (provider/pkg/await: `DefaultStatefulSetTimeoutMins`,
 * and the 10-minute default of `Creation`, `Update` and `Deletion`), which a single draining
 * builder (up to `drainTimeoutSeconds`, 900 s on `aks`) already exceeds. The resource's
 * `customTimeouts` are what the provider uses instead (`metadata.TimeoutDuration`), so they are
 * derived here from what a rollout really takes.
 */

/** Scheduling a replacement pod and pulling the image: allows one cluster-autoscaler scale-up on AKS. */
export const SCHEDULE_AND_PULL_SECONDS = 300;
/** Longest a started buildkitd may take to answer its startup check before the kubelet restarts it. */
export const STARTUP_SECONDS = STARTUP_CHECK.periodSeconds * STARTUP_CHECK.failureThreshold;
/** Slack for the provider's own watch and status updates after the last pod is ready or gone. */
export const AWAIT_MARGIN_SECONDS = 120;
/** The provider's default for every operation; derived timeouts never go below it. */
export const PROVIDER_DEFAULT_SECONDS = 600;

export interface RolloutInput {
    replicas: number;
    /** The preStop drain: how long a stopping builder may wait for running builds. */
    drainTimeoutSeconds: number;
}

export interface RolloutSeconds {
    /** One pod: drain and stop the old one, schedule, pull, start and ready the new one. */
    perPod: number;
    /** Every pod starts at once (`podManagementPolicy: Parallel`), so a create is one pod's start. */
    create: number;
    /** RollingUpdate replaces one pod at a time (maxUnavailable 1): every pod in turn. */
    update: number;
    /**
     * Foreground deletion: the garbage collector deletes the pods together, so a delete usually
     * takes one grace period; the bound still allows them one after another, because a timeout that
     * is too long only delays reporting a stuck delete, while one too short fails `pulumi destroy`
     * and every replacement of the StatefulSet (a cache size change deletes before it creates).
     */
    delete: number;
}

/** The seconds each operation on a builder StatefulSet may take. Pure, so the relation is tested directly. */
export function rolloutSeconds(input: RolloutInput): RolloutSeconds {
    const stop = input.drainTimeoutSeconds + SHUTDOWN_MARGIN_SECONDS;
    const start = SCHEDULE_AND_PULL_SECONDS + STARTUP_SECONDS + READINESS_CHECK.periodSeconds;
    const perPod = stop + start;
    const atLeastDefault = (seconds: number) => Math.max(PROVIDER_DEFAULT_SECONDS, seconds);
    return {
        perPod,
        create: atLeastDefault(start + AWAIT_MARGIN_SECONDS),
        update: atLeastDefault(input.replicas * perPod + AWAIT_MARGIN_SECONDS),
        delete: atLeastDefault(input.replicas * stop + AWAIT_MARGIN_SECONDS),
    };
}

/** The same, as Pulumi `customTimeouts` (Go duration strings, which the engine hands to the provider). */
export function rolloutTimeouts(input: RolloutInput): { create: string; update: string; delete: string } {
    const s = rolloutSeconds(input);
    return { create: `${s.create}s`, update: `${s.update}s`, delete: `${s.delete}s` };
}
