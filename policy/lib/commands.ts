import type { KObject } from "./kobject";
import { ResourceLike } from "./findings";
import { asArray, asRecord, asString, isUnknown, UNKNOWN } from "./plain";

/**
 * The Command provider (`@pulumi/command`) runs shell on the machine running Pulumi (`command:local:Command`)
 * or on a host it reaches over SSH (`command:remote:Command`). That is how Pulumi programs set up what
 * has no resource of its own: `docker buildx create --driver remote tcp://...` (a buildx builder), a
 * `buildkitd` on a VM, `buildctl` calls. Each lifecycle script (`create`, `update`, `delete`) is judged as
 * the container it amounts to, so the same client, daemon and exposure rules apply as in a cluster:
 *
 * - the command is the interpreter (`interpreter`, local only; default `/bin/sh -c`, per the provider's
 *   docs) followed by the script; `environment` is its environment;
 * - it runs on a host, not in a pod: `hostNetwork: true`, so a daemon listening on tcp:// is on that
 *   host's network, as with a Docker container's published port;
 * - every path it names is a file on that host the pack cannot read: the host's filesystem is mounted at
 *   `/` as a Docker host directory is, so TLS paths count as TLS material, as a Secret mount does.
 *
 * Inputs per pulumi-command's provider (`BaseArgs`: `interpreter` — "On Linux and macOS, defaults to:
 * ["/bin/sh", "-c"]" —, `environment`, `stdin`; `create`, `update`, `delete` strings). A shell interpreter
 * without `-c` (`["/bin/bash"]`, `["sh", "-s"]`) reads its script from `stdin`, which is judged then.
 */
const COMMAND = /^command:(local|remote):Command$/;

export function isCommandResource(type: string): boolean {
    return COMMAND.test(type);
}

const SCRIPTS = ["create", "update", "delete", "stdin"] as const;
const SHELLS = /^(?:.*\/)?(?:sh|bash|dash|ash|zsh|ksh|mksh)$/;

export function commandPods(resource: ResourceLike): KObject[] {
    const p = resource.props;
    const remote = resource.type.startsWith("command:remote:");
    const interpreter = remote ? undefined : asArray(p.interpreter);
    const shell: unknown[] = interpreter && interpreter.length > 0 ? interpreter : ["/bin/sh", "-c"];
    const environment = isUnknown(p.environment) ? undefined : asRecord(p.environment);
    const env = environment
        ? Object.entries(environment).map(([name, value]) => ({ name, value: isUnknown(value) ? UNKNOWN : (asString(value) ?? String(value)) }))
        : [];
    // `stdin` is a script only for a shell that reads one from it (no -c); otherwise it is data for the commands.
    const readsStdin = typeof shell[0] === "string" && SHELLS.test(shell[0]) && !shell.includes("-c");
    return SCRIPTS.flatMap((step) => {
        if (step === "stdin" && !readsStdin) {
            return [];
        }
        const script = p[step];
        if (script === undefined || script === null || (!isUnknown(script) && typeof script !== "string")) {
            return [];
        }
        const name = `${resource.name}-${step}`;
        const container = {
            name: step,
            command: step === "stdin" ? [...shell.filter((w) => w !== "-s"), "-c", script] : [...shell, script],
            env,
            // Relative paths are relative to `dir`, or to where Pulumi runs: on the host, mounted whole at /.
            workingDir: "/",
            volumeMounts: [{ name: "host", mountPath: "/" }],
            securityContext: { privileged: false },
        };
        return [
            {
                kind: "Pod",
                apiVersion: "v1",
                name,
                namespace: undefined,
                body: {
                    metadata: { name },
                    spec: { containers: [container], volumes: [{ name: "host", dockerHostPath: "/" }], hostNetwork: true },
                },
                resource,
                where: `${remote ? "remote" : "local"} Command '${resource.name}' (${step})`,
                patch: false,
            } satisfies KObject,
        ];
    });
}
