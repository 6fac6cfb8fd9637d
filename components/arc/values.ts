import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { ARC_CONTROLLER_NAMESPACE, ARM64_ADDR_VARIABLE } from "../../contracts";
import { tierAntiAffinity, tierPodLabels } from "../kubernetes/tier-isolation";
import { CLIENT_TLS_VOLUME, clientTlsMount, clientTlsVolume, runnerBuildkitEnv } from "../kubernetes/buildkit-client";
import { SELECTOR_COMMAND, SELECTOR_CONFIGMAP_KEY, SELECTOR_DIGEST_ANNOTATION, SELECTOR_SOURCE_DIR, SELECTOR_VOLUME, selectorDigest } from "./selector";

/**
 * Helm values for ARC's two charts, as pure functions of the settings so they are asserted without
 * a cluster. Value names follow actions/actions-runner-controller's `charts/gha-runner-scale-set*`
 * `values.yaml` and `_helpers.tpl` at the pinned chart version.
 */

type PodSpec = k8s.types.input.core.v1.PodSpec;
type SecurityContext = k8s.types.input.core.v1.SecurityContext;

export const ARC_CHART_REGISTRY = "oci://ghcr.io/actions/actions-runner-controller-charts";
export const CONTROLLER_CHART = "gha-runner-scale-set-controller";
export const SCALE_SET_CHART = "gha-runner-scale-set";

/** Helm release name of the controller: fixed, so nothing is generated with a random suffix. */
export const CONTROLLER_RELEASE = "arc";
/**
 * The controller's `fullnameOverride` and service account name. The scale set chart binds its
 * manager Role to this account; passing it explicitly as `controllerServiceAccount` keeps the chart
 * from running `lookup` against the live cluster (which fails in `pulumi preview` and under mocks).
 */
export const CONTROLLER_SERVICE_ACCOUNT = "arc-gha-rs-controller";

/** The Kubernetes Secret (in `arc-runners`) holding the keys ARC reads: github_app_* or github_token. */
export const GITHUB_CONFIG_SECRET = "arc-github-config";

// The client side of mTLS (mount and variables) is shared with the probe: ../kubernetes/buildkit-client.ts.

/**
 * Where the init container puts `buildctl`. A directory of its own, placed first on PATH: mounting
 * over a directory the image already uses (such as /usr/local/bin) would hide whatever is there.
 */
export const TOOLS_DIR = "/opt/arc-buildkit/bin";
export const TOOLS_VOLUME = "buildkit-tools";
/** Path of `buildctl` in every moby/buildkit image, rootful and rootless. */
export const BUILDKIT_IMAGE_BUILDCTL = "/usr/bin/buildctl";

/**
 * The runner image's own PATH. actions/runner's images/Dockerfile sets no PATH, so it is the one of
 * its Ubuntu base (mcr.microsoft.com/dotnet/runtime-deps:8.0-noble); Kubernetes replaces the image's
 * PATH when the container sets one, so it is repeated here after the tools directory.
 */
export const RUNNER_IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The runner image's `runner` user (UID 1001) and `docker` group (GID 123), both created with these
 * numbers by actions/runner's images/Dockerfile. Numeric IDs are needed for `runAsNonRoot`, because
 * the image's `USER runner` is a name the kubelet cannot verify.
 */
export const RUNNER_UID = 1001;
export const RUNNER_GID = 123;

/**
 * Memory of the `install-buildctl` init container. `cp` itself needs a few MiB, but a container's
 * memory cgroup is also charged for the page cache it creates: reading buildctl from the image
 * (about 40 MB in moby/buildkit v0.31, more as it grows) and writing the copy into the emptyDir
 * can hold both in cache, and dirty pages cannot be reclaimed before they are written back, so a
 * limit near the binary's size risks an OOM kill (a cold copy of 40 MiB under a memory cgroup
 * peaked at 86 MB: 80 MiB of page cache, 40 MiB of it dirty). The limit allows twice a binary of
 * up to 64 MiB (source and destination pages) plus 64 MiB for the process and slack.
 */
export const BUILDCTL_MAX_MIB = 64;
export const INSTALL_BUILDCTL_RESOURCES = {
    requests: { cpu: "10m", memory: "64Mi" },
    limits: { memory: `${2 * BUILDCTL_MAX_MIB + 64}Mi` },
} as const;

/** Restricted-profile container settings, shared by the runner, its init container and the controller. */
export const UNPRIVILEGED_CONTAINER: SecurityContext = {
    privileged: false,
    allowPrivilegeEscalation: false,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
};

/** Values of the controller release: deterministic names, unprivileged pod. */
export function controllerValues(): Record<string, unknown> {
    return {
        fullnameOverride: CONTROLLER_SERVICE_ACCOUNT,
        serviceAccount: { create: true, name: CONTROLLER_SERVICE_ACCOUNT },
        // The controller image is distroless and runs as a non-root user; nothing more is needed.
        podSecurityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        flags: { logLevel: "info", logFormat: "json" },
    };
}

export interface RunnerPodInput {
    /** Runner image pinned by digest. */
    runnerImage: string;
    /** The BuildKit daemon's own image: its `buildctl` is the client, so both are the same version. */
    buildkitImage: string;
    /** Address and TLS server name published to workflows. */
    endpoint: pulumi.Input<string>;
    serverName: pulumi.Input<string>;
    /** Each builder's stable DNS name (StatefulSet pod through the headless Service): what `select-buildkit` ranks. */
    builders: readonly string[];
    /** The native arm64 builders, when they exist: their Service address and server name, and each pod's name. */
    arm64?: { endpoint: pulumi.Input<string>; serverName: pulumi.Input<string>; builders: readonly string[] };
    /** Seconds `select-buildkit` waits for one builder to answer before trying the next. */
    selectorTimeoutSeconds: number;
    /** Name of the client TLS Secret the pods mount: the declared Secret's `metadata.name`, so the release waits for it. */
    clientTlsSecretName: pulumi.Input<string>;
    /** Name of the ConfigMap holding `select-buildkit`: the declared ConfigMap's `metadata.name`, likewise. */
    selectorConfigMapName: pulumi.Input<string>;
    /** More runner environment, after the contract's and the selector's (the build metrics' push URL). Default: none. */
    extraEnv?: readonly { name: string; value: string }[];
    /** Requests and limits of the runner container (config `arc.runnerResources`). */
    runnerResources: RunnerResources;
    /**
     * The runner's trust tier and the stack's other tiers: runner pods carry their tier's label and
     * never share a node with another tier's (../kubernetes/tier-isolation.ts). Default: the shared
     * tier alone (no affinity).
     */
    tier?: { name: string; others: readonly string[] };
}

/** The runner container's requests and limits, as Kubernetes quantities. */
export interface RunnerResources {
    requests: { cpu: string; memory: string };
    limits: { cpu: string; memory: string };
}

/**
 * What `select-buildkit` reads besides the contract variables. Not in CONTRACTS.md: names this
 * program adds; the contract's five keep their meaning.
 */
export const SELECTOR_ENV = {
    builders: "AMEIDE_BUILDKIT_BUILDERS",
    timeout: "AMEIDE_BUILDKIT_SELECT_TIMEOUT",
    arm64Addr: ARM64_ADDR_VARIABLE,
    arm64ServerName: "AMEIDE_BUILDKIT_ARM64_TLS_SERVERNAME",
    arm64Builders: "AMEIDE_BUILDKIT_ARM64_BUILDERS",
} as const;

/** The builder lists (space separated, as the script splits them), the timeout, and the arm64 Service when it exists. */
export function runnerSelectorEnv(
    input: Pick<RunnerPodInput, "builders" | "arm64" | "selectorTimeoutSeconds">,
): { name: string; value: pulumi.Input<string> }[] {
    return [
        { name: SELECTOR_ENV.builders, value: input.builders.join(" ") },
        { name: SELECTOR_ENV.timeout, value: String(input.selectorTimeoutSeconds) },
        ...(input.arm64
            ? [
                  { name: SELECTOR_ENV.arm64Addr, value: input.arm64.endpoint },
                  { name: SELECTOR_ENV.arm64ServerName, value: input.arm64.serverName },
                  { name: SELECTOR_ENV.arm64Builders, value: input.arm64.builders.join(" ") },
              ]
            : []),
    ];
}

/**
 * The runner pod: ARC's default mode (no `containerMode`, so no Docker-in-Docker), unprivileged,
 * with the client certificate mounted read-only and `buildctl` copied from the BuildKit image by an
 * init container. It passes Pod Security `restricted`, which `arc-runners` enforces. Untrusted job
 * code runs here, so the pod gets no service-account token (ARC's chart gives it an account without
 * permissions, `gha-runner-scale-set.noPermissionServiceAccountName`, but a token still names the
 * cluster's API to a job), no Service environment variables (they list every Service of the
 * namespace), and bounded resources.
 */
export function runnerPodSpec(input: RunnerPodInput): PodSpec {
    const affinity = tierAntiAffinity(input.tier?.others ?? []);
    return {
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        ...(affinity ? { affinity } : {}),
        securityContext: {
            runAsNonRoot: true,
            runAsUser: RUNNER_UID,
            runAsGroup: RUNNER_GID,
            // Volumes (the TLS secret, the tools directory) become group-owned by the runner's group.
            fsGroup: RUNNER_GID,
            seccompProfile: { type: "RuntimeDefault" },
        },
        initContainers: [
            {
                name: "install-buildctl",
                image: input.buildkitImage,
                command: ["cp", BUILDKIT_IMAGE_BUILDCTL, `${TOOLS_DIR}/buildctl`],
                securityContext: UNPRIVILEGED_CONTAINER,
                resources: { requests: { ...INSTALL_BUILDCTL_RESOURCES.requests }, limits: { ...INSTALL_BUILDCTL_RESOURCES.limits } },
                volumeMounts: [{ name: TOOLS_VOLUME, mountPath: TOOLS_DIR }],
            },
            {
                // select-buildkit from its ConfigMap, next to buildctl; the runner image has `cp`.
                name: "install-select-buildkit",
                image: input.runnerImage,
                command: ["cp", `${SELECTOR_SOURCE_DIR}/${SELECTOR_CONFIGMAP_KEY}`, `${TOOLS_DIR}/${SELECTOR_COMMAND}`],
                securityContext: UNPRIVILEGED_CONTAINER,
                resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
                volumeMounts: [
                    { name: SELECTOR_VOLUME, mountPath: SELECTOR_SOURCE_DIR, readOnly: true },
                    { name: TOOLS_VOLUME, mountPath: TOOLS_DIR },
                ],
            },
        ],
        containers: [
            {
                name: "runner",
                image: input.runnerImage,
                // ARC's runner entry point; the controller passes the JIT config through the environment.
                command: ["/home/runner/run.sh"],
                env: [
                    ...runnerBuildkitEnv(input),
                    ...runnerSelectorEnv(input),
                    ...(input.extraEnv ?? []),
                    { name: "PATH", value: `${TOOLS_DIR}:${RUNNER_IMAGE_PATH}` },
                ],
                securityContext: UNPRIVILEGED_CONTAINER,
                resources: {
                    requests: { cpu: input.runnerResources.requests.cpu, memory: input.runnerResources.requests.memory },
                    limits: { cpu: input.runnerResources.limits.cpu, memory: input.runnerResources.limits.memory },
                },
                volumeMounts: [clientTlsMount(CLIENT_TLS_VOLUME), { name: TOOLS_VOLUME, mountPath: TOOLS_DIR, readOnly: true }],
            },
        ],
        volumes: [
            // 0440 + fsGroup: the key is readable by the runner's group and nobody else.
            clientTlsVolume(CLIENT_TLS_VOLUME, input.clientTlsSecretName),
            { name: TOOLS_VOLUME, emptyDir: { sizeLimit: "256Mi" } },
            // 0555: the copy keeps the execute bits (cp applies only the umask).
            { name: SELECTOR_VOLUME, configMap: { name: input.selectorConfigMapName, defaultMode: 0o555 } },
        ],
    };
}

export interface ScaleSetValuesInput extends RunnerPodInput {
    name: string;
    /** The Secret with the GitHub credentials: the declared Secret's `metadata.name`, so the release waits for it. */
    githubConfigSecretName: pulumi.Input<string>;
    githubConfigUrl: string;
    minRunners: number;
    maxRunners: number;
    runnerGroup: pulumi.Input<string>;
    /** More `runs-on` labels (the chart's `scaleSetLabels`); none by default. */
    labels?: readonly string[];
}

/** Values of one gha-runner-scale-set release. Credentials are referenced by Secret name only. */
export function scaleSetValues(input: ScaleSetValuesInput): Record<string, unknown> {
    return {
        githubConfigUrl: input.githubConfigUrl,
        githubConfigSecret: input.githubConfigSecretName,
        runnerScaleSetName: input.name,
        // Only when set, so stacks without labels keep the values they always had.
        ...(input.labels && input.labels.length > 0 ? { scaleSetLabels: [...input.labels] } : {}),
        runnerGroup: input.runnerGroup,
        minRunners: input.minRunners,
        maxRunners: input.maxRunners,
        controllerServiceAccount: { namespace: ARC_CONTROLLER_NAMESPACE, name: CONTROLLER_SERVICE_ACCOUNT },
        template: {
            metadata: {
                ...(input.tier ? { labels: tierPodLabels(input.tier.name) } : {}),
                annotations: { [SELECTOR_DIGEST_ANNOTATION]: selectorDigest() },
            },
            spec: runnerPodSpec(input),
        },
    };
}
