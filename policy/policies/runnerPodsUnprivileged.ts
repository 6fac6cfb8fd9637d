import { Check, policyFromCheck } from "../lib/adapt";
import { Finding, ResourceLike, unverifiable, violation } from "../lib/findings";
import { Container, PodTemplate, containersOf, envEntries, helmChart, helmLabel, imageRepository, isHelm, isKind, parseHelmValues, podTemplates } from "../lib/kube";
import { asArray, asRecord, asString, at, isUnknown } from "../lib/plain";
import { basename, commandTokens } from "../lib/text";

const FIX =
    "Runner pods build images through the shared BuildKit service over mutual TLS instead: remove privileged: true and added " +
    "SYS_ADMIN/ALL capabilities, drop containerMode 'dind' (leave containerMode unset, or use 'kubernetes'), and remove docker:dind " +
    "sidecars, DOCKER_HOST pointing at them and mounts of the node's Docker socket.";

/** The ARC runner scale set chart (not its controller chart). */
function isRunnerSetChart(resource: ResourceLike): boolean {
    const chart = helmChart(resource);
    const values = asRecord(parseHelmValues(resource).values);
    return (typeof chart === "string" && /gha-runner-scale-set(?!-controller)/.test(chart)) || "githubConfigUrl" in values;
}

/** Runner images: ARC's actions-runner and images derived from it. */
function isRunnerImage(image: unknown): boolean {
    return typeof image === "string" && basename(imageRepository(image)).includes("actions-runner");
}

/**
 * Pod specs that are ARC runner pods: runner-set charts, ARC resources, and pods that run a runner
 * image or ARC's runner entrypoint, carry ARC's labels, or live in the runner namespace `arc-runners`.
 */
export function runnerTemplates(resource: ResourceLike): PodTemplate[] {
    const templates = podTemplates(resource);
    if ((isHelm(resource) && isRunnerSetChart(resource)) || isKind(resource, "AutoscalingRunnerSet", "EphemeralRunnerSet", "EphemeralRunner")) {
        return templates;
    }
    return templates.filter((t) => {
        const containers = containersOf(t.spec);
        const labelled = Object.keys(t.labels).some((k) => k.startsWith("actions.github.com/"));
        const runsRunner = !isUnknown(containers) && containers.some((c) => isRunnerImage(c.image) || runsRunnerEntrypoint(c));
        return labelled || runsRunner || t.namespace === "arc-runners";
    });
}

/** ARC's runner container starts `/home/runner/run.sh`, whatever image it was built into. */
function runsRunnerEntrypoint(container: Container): boolean {
    return commandTokens(container.record.command, container.record.args).some((t) => typeof t === "string" && /\/home\/runner\/run\.sh$/.test(t));
}

function isDindContainer(container: Container): boolean {
    const image = typeof container.image === "string" ? container.image.toLowerCase() : "";
    const tokens = commandTokens(container.record.command, container.record.args);
    return /dind/.test(image) || tokens.some((t) => typeof t === "string" && /^dockerd(-entrypoint\.sh)?$/.test(basename(t)));
}

/** DOCKER_HOST aimed at a daemon inside the pod (a dind sidecar) or at a socket shared with one. */
function dockerHostTarget(container: Container): string | undefined {
    const env = envEntries(container).find((e) => e.name === "DOCKER_HOST");
    const value = asString(env?.value);
    return value && /^(tcp:\/\/(localhost|127\.0\.0\.1|\[::1\]|[^/:]*dind[^/:]*)(:|\/|$)|unix:\/\/)/i.test(value) ? value : undefined;
}

function judgeRunnerPod(template: PodTemplate): Finding[] {
    const urn = template.resource.urn;
    const findings: Finding[] = [];
    const containers = containersOf(template.spec);
    if (isUnknown(containers)) {
        return [unverifiable(`${template.where} is a runner pod whose containers are unknown during preview, so privilege and Docker-in-Docker cannot be checked yet.`, urn)];
    }
    for (const container of containers) {
        const subject = `${template.where} container '${container.name}'`;
        const privileged = at(container.record, "securityContext", "privileged");
        if (privileged === true || privileged === "true") {
            findings.push(violation(`${subject} is privileged. ${FIX}`, urn));
        } else if (isUnknown(privileged)) {
            findings.push(unverifiable(`${subject} has securityContext.privileged unknown during preview.`, urn));
        }
        const added = asArray(at(container.record, "securityContext", "capabilities", "add")).map((c) => String(asString(c) ?? "").toUpperCase());
        const powerful = added.filter((c) => ["ALL", "SYS_ADMIN", "CAP_SYS_ADMIN"].includes(c));
        if (powerful.length > 0) {
            findings.push(violation(`${subject} adds capabilities ${powerful.join(", ")}, which is privileged in effect. ${FIX}`, urn));
        }
        if (isDindContainer(container)) {
            findings.push(violation(`${subject} runs Docker-in-Docker (image '${String(container.image)}'). ${FIX}`, urn));
        }
        const dockerHost = dockerHostTarget(container);
        if (dockerHost) {
            findings.push(violation(`${subject} sets DOCKER_HOST=${dockerHost}, i.e. it builds with Docker-in-Docker (a Docker daemon inside the pod) or the node's Docker daemon. ${FIX}`, urn));
        }
    }
    for (const volume of asArray(template.spec.volumes).map(asRecord)) {
        const hostPath = asString(at(volume, "hostPath", "path"));
        if (hostPath && /docker\.sock$/.test(hostPath)) {
            findings.push(violation(`${template.where} mounts the node's Docker socket (${hostPath}). ${FIX}`, urn));
        }
    }
    return findings;
}

/** Policy 5. */
export const runnerPodsUnprivilegedCheck: Check = {
    scope: "resource",
    run: (resource) => {
        const findings: Finding[] = [];
        if (isHelm(resource) && isRunnerSetChart(resource)) {
            const mode = at(parseHelmValues(resource).values, "containerMode", "type");
            if (typeof mode === "string" && mode.toLowerCase() === "dind") {
                findings.push(violation(`${helmLabel(resource)} sets containerMode.type 'dind', which runs a privileged Docker-in-Docker sidecar in every runner pod. ${FIX}`));
            } else if (isUnknown(mode)) {
                findings.push(unverifiable(`${helmLabel(resource)} has containerMode.type unknown during preview, so Docker-in-Docker cannot be ruled out yet.`));
            }
        }
        for (const template of runnerTemplates(resource)) {
            findings.push(...judgeRunnerPod(template));
        }
        return findings;
    },
};

export const runnerPodsUnprivileged = policyFromCheck(
    {
        name: "runner-pods-unprivileged-no-dind",
        description:
            "ARC runner pods (gha-runner-scale-set values, AutoscalingRunnerSet resources, pods running actions-runner images) must not be " +
            "privileged and must not use Docker-in-Docker. " + FIX,
        enforcementLevel: "mandatory",
    },
    runnerPodsUnprivilegedCheck,
);
