import { Check, policyFromCheck } from "../lib/adapt";
import { DAEMON_FIX, judgeDaemon } from "../lib/buildkitd";
import { daemonContainers } from "../lib/daemons";
import { Finding, unverifiable } from "../lib/findings";
import { isUnknown } from "../lib/plain";

/**
 * Policy 1. A stack policy because a daemon's listeners may come from a buildkitd.toml in a ConfigMap
 * that is a separate resource; it joins each workload with the ConfigMaps it mounts.
 */
export const buildkitdTcpRequiresMtlsCheck: Check = {
    scope: "stack",
    run: (resources) => {
        const { daemons, unjudged } = daemonContainers(resources);
        const findings: Finding[] = [...unjudged];
        for (const daemon of daemons) {
            if (isUnknown(daemon.flags)) {
                findings.push(unverifiable(`${daemon.template.where} container '${daemon.container.name}' may run buildkitd, but its command is unknown during preview, so its listeners cannot be checked yet.`, daemon.template.resource.urn));
                continue;
            }
            findings.push(...judgeDaemon(daemon.template, daemon.container, daemon.flags, resources));
        }
        return findings;
    },
};

export const buildkitdTcpRequiresMtls = policyFromCheck(
    {
        name: "buildkitd-tcp-requires-mtls",
        description:
            "A BuildKit daemon (buildkitd in any Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob) that listens on tcp:// " +
            "must require mutual TLS. " + DAEMON_FIX,
        enforcementLevel: "mandatory",
    },
    buildkitdTcpRequiresMtlsCheck,
);
