/**
 * How a builder leaves service without losing a build: the preStop hook marks the pod as draining,
 * the readiness check fails at its next run because of that mark, and the hook then waits until no
 * build is running (or the drain bound passes) before Kubernetes sends SIGTERM.
 *
 * Why readiness must fail, and fast: when a pod starts terminating, the EndpointSlice controller
 * sets its endpoint `ready: false, terminating: true`, but keeps `serving` equal to the pod's
 * readiness; kube-proxy sends new connections to terminating endpoints that are still `serving`
 * when a Service has no ready endpoint left (KEP-1669, "ProxyTerminatingEndpoints", GA in
 * Kubernetes 1.28). A set of one builder, or the last builder of a set during a rollout, would then
 * keep receiving new builds through the whole drain and be killed with them at its end. The kubelet
 * keeps running readiness checks while a container terminates, so a check that fails on the mark
 * makes the endpoint not `serving` within one period (READINESS_CHECK.periodSeconds).
 *
 * Pure: everything here is a string or a number, and the scripts are run for real under `sh` and
 * `dash` in tests/drain.test.ts.
 */

/**
 * The readiness check: one failure takes the endpoint out of the Service at once (failureThreshold 1),
 * every 2 s, so a draining builder is out within about 2 s. The same period bounds how long a builder
 * whose `buildctl debug workers` fails once stays out: until its next passing check.
 */
export const READINESS_CHECK = { periodSeconds: 2, timeoutSeconds: 5, failureThreshold: 1, successThreshold: 1 } as const;

/**
 * Seconds the hook waits after marking before it looks for running builds: one readiness period, then
 * time for the endpoint change to reach kube-proxy and cluster DNS on every node, so a build that was
 * routed here just before the mark has arrived and shows up as running.
 */
export const DRAIN_SETTLE_SECONDS = 10;
/** Seconds between two looks at BuildKit's build history during the drain. */
export const DRAIN_POLL_SECONDS = 5;

/** The drain mark: next to buildkitd's socket, on the container's own filesystem, so a restarted container starts unmarked. */
export function drainMarkPath(socket: string): string {
    const path = socket.replace(/^unix:\/\//, "");
    const dir = path.slice(0, path.lastIndexOf("/"));
    if (!dir.startsWith("/")) {
        throw new Error(`buildkitd socket ${socket} is not an absolute unix:// path`);
    }
    return `${dir}/arc-buildkit-draining`;
}

/** Single-quoted for sh. */
function q(s: string): string {
    return `'${s.replace(/'/g, `'"'"'`)}'`;
}

/** The readiness command: not ready once draining, else ready when the daemon answers with a usable worker. */
export function readinessCommand(socket: string): string[] {
    return ["/bin/sh", "-c", `[ ! -e ${q(drainMarkPath(socket))} ] && exec buildctl --addr ${q(socket)} debug workers`];
}

export interface DrainInput {
    socket: string;
    /** The drain bound: how long the hook waits for running builds. */
    timeoutSeconds: number;
    /** Default {@link DRAIN_SETTLE_SECONDS}. */
    settleSeconds?: number;
    /** Default {@link DRAIN_POLL_SECONDS}. */
    pollSeconds?: number;
}

/**
 * The preStop hook's script. It marks first (the readiness check fails from its next run), waits for
 * the endpoint change to spread, then polls BuildKit's history until no build is in the STARTED
 * state, or until the drain bound passes (the settle time counts against it). `buildctl debug
 * histories --format` calls `ListenBuildHistory` with `EarlyExit: true` and executes the template
 * once per event of the current records (moby/buildkit cmd/buildctl/debug/histories.go); `.Type` is
 * the event's `BuildHistoryEventType` (STARTED for a build still running, COMPLETE, DELETED). A daemon that no
 * longer answers has nothing left to drain. The kubelet gives the hook the pod's whole
 * terminationGracePeriodSeconds (the drain bound plus a margin), then sends SIGTERM.
 */
export function drainScript(input: DrainInput): string {
    const settle = input.settleSeconds ?? DRAIN_SETTLE_SECONDS;
    const poll = input.pollSeconds ?? DRAIN_POLL_SECONDS;
    const mark = q(drainMarkPath(input.socket));
    return [
        `deadline=$(( $(date +%s) + ${input.timeoutSeconds} ))`,
        `touch ${mark} || echo "arc-buildkit drain: cannot write the drain mark ${drainMarkPath(input.socket)}" >&2`,
        `echo "arc-buildkit drain: marked draining; readiness fails from its next check" >&2`,
        `sleep ${Math.min(settle, input.timeoutSeconds)}`,
        `while [ "$(date +%s)" -lt "$deadline" ]; do`,
        `  buildctl --addr ${q(input.socket)} debug histories --format '{{.Type}}' 2>/dev/null | grep -q STARTED || exit 0`,
        `  sleep ${poll}`,
        `done`,
        `echo "arc-buildkit drain: builds still running after ${input.timeoutSeconds}s; stopping anyway" >&2`,
    ].join("\n");
}

/** The preStop command. */
export function drainCommand(socket: string, timeoutSeconds: number): string[] {
    return ["/bin/sh", "-c", drainScript({ socket, timeoutSeconds })];
}
