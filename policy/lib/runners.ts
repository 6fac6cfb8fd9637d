import { ContainerContext } from "./container";
import { containerContexts } from "./buildkitd";
import { Finding, ResourceLike, unverifiable, violation } from "./findings";
import { helmChart, helmLabel, helmValues, isHelm, usesValuesFrom } from "./helm";
import { PodTemplate, imageRepository } from "./kube";
import { View } from "./objects";
import { asArray, asRecord, asString, at, isUnknown } from "./plain";
import { basename } from "./shell";

export const RUNNER_FIX =
    "Runner pods build images through the shared BuildKit service over mutual TLS instead: remove privileged: true and added " +
    "SYS_ADMIN/ALL capabilities, drop containerMode 'dind' (leave containerMode unset, or use 'kubernetes'), set dockerEnabled: false " +
    "on legacy ARC runners, and remove docker:dind sidecars, dockerd, DOCKER_HOST pointing at them and mounts of the node's Docker socket.";

/** The ARC runner scale set chart (not its controller chart), by name or by its values. */
export function isRunnerSetChart(resource: ResourceLike): boolean {
    const chart = helmChart(resource);
    const values = asRecord(helmValues(resource).values);
    return (
        (typeof chart === "string" && /gha-runner-scale-set(?!-controller)|actions-runner|github-runner|gha-runner/.test(chart)) ||
        "githubConfigUrl" in values ||
        "githubConfigSecret" in values
    );
}

/** Runner images: ARC's actions-runner, legacy summerwind images, myoung34/github-runner and look-alikes. */
function isRunnerImage(image: unknown): boolean {
    return typeof image === "string" && /(actions|github|gh|gha)[-_]?runner|^runner$|self-hosted-runner/.test(basename(imageRepository(image)));
}

const RUNNER_ENV =
    /^(RUNNER_TOKEN|RUNNER_NAME|RUNNER_SCOPE|RUNNER_WORKDIR|RUNNER_LABELS|RUNNER_GROUP|ACTIONS_RUNNER_[A-Z_]+|GITHUB_RUNNER_[A-Z_]+|REPO_URL|ORG_NAME)$/;

/** A container that is a GitHub Actions runner, whatever deploys it. */
function isRunnerContainer(ctx: ContainerContext): boolean {
    if (isRunnerImage(ctx.container.image)) {
        return true;
    }
    const names = [...ctx.env.keys()];
    if (
        names.filter((n) => RUNNER_ENV.test(n)).length >= 1 &&
        names.some((n) => /^(RUNNER_TOKEN|ACCESS_TOKEN|RUNNER_SCOPE|REPO_URL|ORG_NAME|ACTIONS_RUNNER_INPUT_URL|GITHUB_RUNNER_[A-Z_]*)$/.test(n))
    ) {
        return true;
    }
    return ctx.interpretation.invocations.some(
        (i) =>
            /^(run\.sh|config\.sh|Runner\.Listener|run-helper\.sh)$/.test(i.program) ||
            (i.program === "entrypoint.sh" && /runner/i.test(String(ctx.container.image))),
    );
}

function isRunnerTemplate(template: PodTemplate, contexts: ContainerContext[], helmRunner: boolean): boolean {
    if (template.runner || helmRunner) {
        return true;
    }
    const labelled = Object.keys(template.labels).some((k) => k.startsWith("actions.github.com/") || k.startsWith("actions-runner"));
    return labelled || isRunnerNamespace(template.namespace) || contexts.some(isRunnerContainer);
}

/**
 * The runner namespaces: one per trust tier, all named by one rule (CONTRACTS.md "Trust tiers";
 * `tierNames` in contracts/index.ts): `arc-runners` for the shared tier, `arc-runners-<tier>` for every
 * other (`arc-runners-protected`, and any tier added later). Every pod in one is a runner pod.
 */
export function isRunnerNamespace(namespace: string | undefined): boolean {
    return typeof namespace === "string" && /^arc-runners(-[a-z0-9]([a-z0-9-]*[a-z0-9])?)?$/.test(namespace);
}

/**
 * The official `docker` image's bare tags (`docker:27.3.1`, `docker:27`, `docker:latest`, no tag) are
 * the dind variant: Docker Hub lists them with `-dind`, and its entrypoint starts dockerd. Only the
 * `-cli` tags (and `-git`, `-windowsservercore`) are client-only. That holds from 22.06 on:
 * docker-library/docker#369 moved the bare tags from the CLI to the dind variant, so `docker:20.10`
 * and older bare versions are the CLI (their daemon was `-dind`).
 */
function isOfficialDockerDind(image: string): boolean {
    const repository = imageRepository(image);
    if (!/^((docker\.io|index\.docker\.io|mirror\.gcr\.io)\/)?(library\/)?docker$/.test(repository)) {
        return false;
    }
    const withoutDigest = image.split("@")[0];
    const tag = withoutDigest.lastIndexOf(":") > withoutDigest.lastIndexOf("/") ? withoutDigest.slice(withoutDigest.lastIndexOf(":") + 1) : "latest";
    const version = /^(\d+)(?:\.(\d+))?(?:\.\d+)*(-rc\d*)?(-alpine[\d.]*)?$/.exec(tag);
    if (version) {
        const [major, minor] = [Number(version[1]), Number(version[2] ?? 0)];
        return major > 22 || (major === 22 && minor >= 6);
    }
    // `rc` moved with the numbered tags; the long-retired `edge`, `test` and `stable` aliases were CLI images.
    return tag === "latest" || tag === "rc";
}

function isDind(ctx: ContainerContext): boolean {
    const raw = ctx.container.image;
    const image = typeof raw === "string" ? imageRepository(raw) + ":" + (raw.split(":").pop() ?? "") : "";
    return (
        /dind/.test(image) ||
        (typeof raw === "string" && isOfficialDockerDind(raw) && ctx.imageEntrypoint) ||
        ctx.interpretation.invocations.some((i) => /^(dockerd|dockerd-entrypoint\.sh|dockerd-rootless\.sh|dind)$/.test(i.program))
    );
}

/** The node's container runtime sockets: mounting one of them, or any directory above one, hands out the node. */
const RUNTIME_SOCKETS = [
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/containerd/containerd.sock",
    "/run/containerd/containerd.sock",
    "/run/k3s/containerd/containerd.sock",
    "/var/run/crio/crio.sock",
    "/run/crio/crio.sock",
    "/run/podman/podman.sock",
    "/var/run/cri-dockerd.sock",
];

function exposesRuntimeSocket(hostPath: string): boolean {
    const path = hostPath.replace(/\/+/g, "/").replace(/(.)\/$/, "$1");
    return /(docker|containerd|crio|podman|cri-dockerd)\.sock$/.test(path) || RUNTIME_SOCKETS.some((socket) => path === "/" || socket.startsWith(`${path}/`));
}

function dockerHostTarget(ctx: ContainerContext): string | undefined {
    const value = ctx.env.get("DOCKER_HOST");
    return typeof value === "string" && /^(tcp:\/\/(localhost|127\.0\.0\.1|\[::1\]|[^/:]*dind[^/:]*|docker)(:|\/|$)|unix:\/\/)/i.test(value)
        ? value
        : undefined;
}

function judgeRunnerPod(template: PodTemplate, contexts: ContainerContext[]): Finding[] {
    const urn = template.resource.urn;
    const findings: Finding[] = [];
    for (const ctx of contexts) {
        const subject = `${template.where} container '${ctx.container.name}'`;
        const added = asString(ctx.container.record.added);
        const privileged = at(ctx.container.record, "securityContext", "privileged");
        if (privileged === true || privileged === "true") {
            findings.push(violation(`${subject}${added ? ` (added ${added})` : ""} is privileged. ${RUNNER_FIX}`, urn));
        } else if (isUnknown(privileged)) {
            findings.push(unverifiable(`${subject} has securityContext.privileged unknown during preview.`, urn));
        }
        const caps = asArray(at(ctx.container.record, "securityContext", "capabilities", "add")).map((c) => String(asString(c) ?? "").toUpperCase());
        const powerful = caps.filter((c) => ["ALL", "SYS_ADMIN", "CAP_SYS_ADMIN"].includes(c));
        if (powerful.length > 0) {
            findings.push(violation(`${subject} adds capabilities ${powerful.join(", ")}, which is privileged in effect. ${RUNNER_FIX}`, urn));
        }
        if (isDind(ctx)) {
            findings.push(violation(`${subject} runs Docker-in-Docker (image '${String(ctx.container.image)}'). ${RUNNER_FIX}`, urn));
        }
        const dockerHost = dockerHostTarget(ctx);
        if (dockerHost) {
            findings.push(
                violation(
                    `${subject} sets DOCKER_HOST=${dockerHost}, i.e. it builds with Docker-in-Docker (a Docker daemon inside the pod) or the node's Docker daemon. ${RUNNER_FIX}`,
                    urn,
                ),
            );
        }
    }
    for (const volume of asArray(template.spec.volumes).map(asRecord)) {
        // `dockerHostPath`: a directory of the Docker host bind-mounted into a @pulumi/docker Container (objects.ts).
        const hostPath = asString(at(volume, "hostPath", "path")) ?? asString(volume.dockerHostPath);
        if (hostPath && (exposesRuntimeSocket(hostPath) || /^\/var\/run\/docker\/?$/.test(hostPath))) {
            findings.push(violation(`${template.where} mounts the node's container runtime socket (${hostPath}). ${RUNNER_FIX}`, urn));
        }
    }
    if (template.spec.hostPID === true) {
        findings.push(violation(`${template.where} is a runner pod with hostPID: true. ${RUNNER_FIX}`, urn));
    }
    return findings;
}

/** Rule 5: runner pods (ARC scale sets, ARC resources, legacy ARC, other self-hosted runners) are unprivileged, without Docker-in-Docker. */
export function runnerRule(view: View, helm: ResourceLike[]): Finding[] {
    const findings: Finding[] = [];
    const runnerCharts = new Set(helm.filter((r) => isHelm(r) && isRunnerSetChart(r)));
    for (const resource of runnerCharts) {
        // The same resolved values as every chart model (helmValues: valuesFrom objects of the stack, value
        // files, Argo CD parameters): a value from another resource makes the finding a cross-resource one,
        // and a value the pack cannot read may set containerMode, so it is reported, never passed silently.
        const hv = helmValues(resource);
        const path = ["containerMode", "type"];
        const mode = at(hv.values, ...path);
        if (typeof mode === "string" && mode.toLowerCase() === "dind") {
            const message = `${helmLabel(resource)} sets containerMode.type 'dind', which runs a privileged Docker-in-Docker sidecar in every runner pod. ${RUNNER_FIX}`;
            findings.push(
                hv.settled(path)
                    ? { ...violation(message, resource.urn), crossed: !hv.settled(path, true) }
                    : unverifiable(`${message} A source the policy pack cannot read (${hv.unseen.join("; ")}) may override it.`, resource.urn),
            );
        } else if (!hv.unknown && !isUnknown(mode) && !hv.settled(path)) {
            findings.push(
                unverifiable(
                    `${helmLabel(resource)}: containerMode.type may be set by what the policy pack cannot read (${hv.unseen.join("; ")}), so Docker-in-Docker cannot be ruled out here.`,
                    resource.urn,
                ),
            );
        } else if (isUnknown(mode)) {
            findings.push(
                unverifiable(
                    `${helmLabel(resource)} has containerMode.type unknown during preview, so Docker-in-Docker cannot be ruled out yet.`,
                    resource.urn,
                ),
            );
        }
    }
    for (const { template, contexts, unknownContainers } of containerContexts(view, helm)) {
        const helmRunner = runnerCharts.has(template.resource) && template.object === undefined;
        if (unknownContainers) {
            if (template.runner || helmRunner) {
                findings.push(
                    unverifiable(
                        `${template.where} is a runner pod whose containers are unknown during preview, so privilege and Docker-in-Docker cannot be checked yet.`,
                        template.resource.urn,
                    ),
                );
            }
            continue;
        }
        if (isRunnerTemplate(template, contexts, helmRunner)) {
            // A pod spec from Helm values that came (in part) from a valuesFrom object needs that object too.
            const crossed = template.object === undefined && usesValuesFrom(template.resource);
            findings.push(...judgeRunnerPod(template, contexts).map((f) => (crossed ? { ...f, crossed: true } : f)));
        }
    }
    // Legacy ARC autoscalers name their target; a target outside the stack cannot be judged.
    if (view.scope === "stack") {
        for (const hra of view.objects.filter((o) => o.kind === "HorizontalRunnerAutoscaler")) {
            const target = asString(at(hra.body, "spec", "scaleTargetRef", "name"));
            const kind = asString(at(hra.body, "spec", "scaleTargetRef", "kind")) ?? "RunnerDeployment";
            if (target && !view.objects.some((o) => o.kind === kind && o.name === target)) {
                findings.push(
                    unverifiable(
                        `${hra.where} scales ${kind} '${target}', which is not declared in this stack, so its runner pods cannot be checked for privilege or Docker-in-Docker.`,
                        hra.resource.urn,
                    ),
                );
            }
        }
    }
    return findings;
}
