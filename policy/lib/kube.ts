import { ResourceLike } from "./findings";
import { helmLabel, helmNamespace, helmValues, isHelm } from "./helm";
import { KObject, View, entriesOf } from "./objects";
import { gitlabJobContainer, jenkinsPipeline, jenkinsPodSpecs } from "./ciScripts";
import { DecodeBudget, STRING_DEPTH, decodeString, envListOf, newDecodeBudget, noteDecodeOverflow, runnerVolumesOf } from "./decode";
import { Unknown, UNKNOWN, asArray, asRecord, asString, at, isUnknown } from "./plain";
import { basename } from "./shell";
import { CORE_GROUP, isEmbeddedObject } from "./templates";

export { helmLabel, isHelm };

/** One pod spec found in an object or in Helm values, with enough context to name it in a message. */
export interface PodTemplate {
    /** Human description, e.g. `Deployment 'ci-builder'` or `Helm Release 'arc-runners' values.template.spec`. */
    where: string;
    spec: Record<string, unknown>;
    labels: Record<string, unknown>;
    namespace: string | undefined;
    resource: ResourceLike;
    /** The object the pod spec belongs to (undefined for Helm values). */
    object?: KObject;
    /** Set when the pod is a GitHub Actions runner by construction (ARC resources, legacy ARC resources). */
    runner?: string;
}

const POD_SPEC_PATHS: Record<string, string[][]> = {
    Pod: [["spec"]],
    PodTemplate: [["template", "spec"]],
    Deployment: [["spec", "template", "spec"]],
    StatefulSet: [["spec", "template", "spec"]],
    DaemonSet: [["spec", "template", "spec"]],
    ReplicaSet: [["spec", "template", "spec"]],
    ReplicationController: [["spec", "template", "spec"]],
    Job: [["spec", "template", "spec"]],
    CronJob: [["spec", "jobTemplate", "spec", "template", "spec"]],
    // Argo Rollouts and OpenKruise workloads nest their pod template like a Deployment.
    Rollout: [["spec", "template", "spec"]],
    CloneSet: [["spec", "template", "spec"]],
};

/** ARC (gha-runner-scale-set) custom resources: the runner pod is a plain pod spec. */
const ARC_PATHS: Record<string, string[]> = {
    AutoscalingRunnerSet: ["spec", "template", "spec"],
    EphemeralRunnerSet: ["spec", "ephemeralRunnerSpec", "spec"],
    EphemeralRunner: ["spec", "spec"],
};

/**
 * Legacy ARC (actions.summerwind.dev): the runner spec is a pod spec plus runner settings. Unless
 * `dockerEnabled: false` (or containerMode `kubernetes`), ARC adds a privileged `docker:dind` sidecar;
 * `dockerdWithinRunnerContainer: true` runs dockerd privileged in the runner container itself.
 */
const LEGACY_ARC_PATHS: Record<string, string[]> = {
    RunnerDeployment: ["spec", "template", "spec"],
    RunnerReplicaSet: ["spec", "template", "spec"],
    Runner: ["spec"],
    RunnerSet: ["spec"],
};

function podTemplate(object: KObject, path: string[], runner?: string): PodTemplate {
    const spec = at(object.body, ...path);
    const metadataPath = path.length === 1 ? ["metadata"] : [...path.slice(0, -1), "metadata"];
    return {
        where: object.where,
        spec: isUnknown(spec) ? { containers: UNKNOWN } : asRecord(spec),
        labels: asRecord(at(object.body, ...metadataPath, "labels")),
        namespace: object.namespace,
        resource: object.resource,
        object,
        runner,
    };
}

/** The pod spec ARC's legacy controller really creates from a RunnerDeployment/RunnerSet/Runner. */
function legacyRunnerTemplate(object: KObject): PodTemplate {
    const kind = object.kind;
    const runnerSpec = asRecord(at(object.body, ...LEGACY_ARC_PATHS[kind]));
    // RunnerSet: runner settings at spec, pod spec at spec.template.spec.
    const podSpec = kind === "RunnerSet" ? asRecord(at(runnerSpec, "template", "spec")) : runnerSpec;
    const labels = asRecord(
        kind === "RunnerSet" ? at(runnerSpec, "template", "metadata", "labels") : at(object.body, "spec", "template", "metadata", "labels"),
    );
    const dockerdInRunner = runnerSpec.dockerdWithinRunnerContainer === true || runnerSpec.dockerdWithinRunnerContainer === "true";
    const kubernetesMode = asString(runnerSpec.containerMode) === "kubernetes";
    const dockerEnabled = !(runnerSpec.dockerEnabled === false || runnerSpec.dockerEnabled === "false") && !kubernetesMode;
    const given = asArray(podSpec.containers).map(asRecord);
    const runnerGiven = given.find((c) => c.name === "runner");
    const runner: Record<string, unknown> = {
        name: "runner",
        image: runnerSpec.image ?? runnerGiven?.image ?? (dockerdInRunner ? "summerwind/actions-runner-dind" : "summerwind/actions-runner"),
        env: [...asArray(runnerSpec.env), ...asArray(runnerGiven?.env)],
        envFrom: [...asArray(runnerSpec.envFrom), ...asArray(runnerGiven?.envFrom)],
        volumeMounts: [...asArray(runnerSpec.volumeMounts), ...asArray(runnerGiven?.volumeMounts)],
        command: runnerGiven?.command,
        args: runnerGiven?.args,
        securityContext: dockerdInRunner
            ? { ...asRecord(runnerGiven?.securityContext ?? runnerSpec.securityContext), privileged: true }
            : (runnerGiven?.securityContext ?? runnerSpec.containerSecurityContext),
    };
    const containers: unknown[] = [runner, ...given.filter((c) => c.name !== "runner"), ...asArray(runnerSpec.sidecarContainers)];
    if (dockerEnabled && !dockerdInRunner && !given.some((c) => c.name === "docker")) {
        containers.push({
            name: "docker",
            image: asString(runnerSpec.dockerImage) ?? "docker:dind",
            securityContext: { privileged: true },
            added: "by ARC because dockerEnabled is not false",
        });
    }
    return {
        where: object.where,
        spec: {
            ...podSpec,
            volumes: [...asArray(podSpec.volumes), ...(kind === "RunnerSet" ? [] : asArray(runnerSpec.volumes))],
            containers,
            initContainers: podSpec.initContainers,
        },
        labels,
        namespace: object.namespace,
        resource: object.resource,
        object,
        runner: `legacy ARC ${kind}`,
    };
}

/** Every pod spec of one Kubernetes object. */
export function podTemplatesOfObject(object: KObject): PodTemplate[] {
    if (LEGACY_ARC_PATHS[object.kind] && /actions\.summerwind\.(dev|net)/.test(object.apiVersion + object.resource.type)) {
        return [legacyRunnerTemplate(object)];
    }
    if (ARC_PATHS[object.kind]) {
        return [podTemplate(object, ARC_PATHS[object.kind], `ARC ${object.kind}`)];
    }
    if ((isHelm(object.resource) && !object.embedded) || (/^argoproj\.io\//.test(object.apiVersion) && /^Application(Set)?$/.test(object.kind))) {
        // An Argo CD Application or ApplicationSet installs charts: its values are judged as Helm values
        // (helmUnits makes one unit per generated Application), not walked again here.
        // A Flux HelmRelease's values are judged as Helm values (helmPodTemplates), not walked twice.
        return [];
    }
    if ((object.kind === "ConfigMap" || object.kind === "Secret") && !object.patch) {
        return textPodTemplates(object);
    }
    const known = POD_SPEC_PATHS[object.kind];
    if (known) {
        return known.map((path) => podTemplate(object, path));
    }
    // A Knative Service is a `Service` too: only core and *.k8s.io kinds are known not to hold pods.
    const group = object.apiVersion.includes("/") ? object.apiVersion.split("/")[0] : "";
    return NOT_POD_KINDS.has(object.kind) && (group === "" || group.endsWith("k8s.io")) ? [] : embeddedPodSpecs(object);
}

/** Keys whose items (or value) are containers already judged as such. */
const CONTAINER_KEYS = new Set(["containers", "initContainers", "ephemeralContainers", "steps", "sidecars", "container", "script", "stepTemplate"]);

/** Core kinds that never hold a pod spec: the generic walker skips them (they are most of a large stack). */
const NOT_POD_KINDS = new Set([
    "ConfigMap",
    "Secret",
    "Service",
    "Endpoints",
    "EndpointSlice",
    "Ingress",
    "Namespace",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "NetworkPolicy",
    "PersistentVolumeClaim",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "CustomResourceDefinition",
]);

function isContainerList(value: unknown): boolean {
    return Array.isArray(value) && value.length > 0 && value.some((c) => c !== null && typeof c === "object" && "image" in (c as object));
}

function isContainer(value: unknown): boolean {
    return value !== null && typeof value === "object" && !Array.isArray(value) && "image" in (value as object);
}

/** Interpreters that read a script as POSIX shell (a path or a bare name, as `command[0]` or a shebang). */
const SHELLS = /^(sh|bash|ash|dash|ksh|mksh|zsh|busybox)$/;

/**
 * Script-valued fields run as shell with the container's command as the interpreter. An Argo Workflows
 * `script` template writes `source` to a file and runs `command` with that file as its last argument
 * (argo-workflows.readthedocs.io, "Scripts & Results"): `command: [bash]` runs it with bash,
 * `command: [python]` with Python, which the pack does not read. A Tekton step's `script` runs under its
 * shebang, `sh` without one (tekton.dev, Tasks: "Running scripts within Steps"). So a script whose
 * interpreter is a shell becomes `<interpreter...> -c <script>`; any other interpreter leaves it unread.
 */
function asScriptContainer(value: unknown, scriptField: "script" | "source"): unknown {
    const record = asRecord(value);
    const script = record[scriptField];
    if (typeof script !== "string") {
        return value;
    }
    const command = record.command;
    const shebang = /^#!\s*(\S+)(?:[ \t]+(\S+))?/.exec(script);
    if (command === undefined || (Array.isArray(command) && command.length === 0)) {
        const interpreter = shebang ? (basename(shebang[1]) === "env" ? (shebang[2] ?? "") : basename(shebang[1])) : "sh";
        return SHELLS.test(interpreter) ? { ...record, command: ["sh", "-c", script] } : value;
    }
    if (Array.isArray(command) && typeof command[0] === "string" && SHELLS.test(basename(command[0])) && !command.includes("-c")) {
        return { ...record, command: [...command, "-c", script] };
    }
    return value;
}

/**
 * Drone and Woodpecker steps list their shell lines as `commands` (docs.drone.io, "Pipeline steps":
 * "commands are executed as a shell script inside the container"; woodpecker-ci.org the same): run as
 * `sh -c` of those lines when the step has no command of its own.
 */
function commandsAsScript(value: unknown): unknown {
    const record = asRecord(value);
    const commands = record.commands;
    if (record.command !== undefined || record.script !== undefined || !Array.isArray(commands) || !commands.every((c) => typeof c === "string")) {
        return value;
    }
    return { ...record, command: ["sh", "-c", commands.join("\n")] };
}

/**
 * An object that declares an environment as a `KEY=VALUE` list or a scalar map under `environment`
 * (gitlab-runner's `[[runners]] environment = [...]`, passed to every job container; a Compose service's
 * `environment`), with no container of its own: its variables reach a container all the same, so it is
 * judged as one, with the volumes its config mounts into that container (`runnerVolumesOf`).
 */
function environmentContainer(record: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
    const env = envListOf(record.environment);
    if (!env || typeof record.image === "string" || Array.isArray(record.containers)) {
        return undefined;
    }
    const { volumes, volumeMounts } = runnerVolumesOf(record);
    return { name, env, volumeMounts, volumes };
}

/**
 * A Tekton Task's workspaces as the volumes its steps and sidecars see (tekton.dev, "Workspaces"): each
 * declared workspace is mounted at its `mountPath`, `/workspace/<name>` by default. Bound by a TaskRun in
 * view (`spec.workspaces[]` with `secret`, `configMap`, `projected` or `csi`), it is that volume, so a
 * client's TLS files in a Secret workspace count as a mounted Secret; bound to storage (`emptyDir`, a
 * claim) it holds no Secret. A workspace bound outside the stack (a PipelineRun, a trigger) holds files the
 * pack cannot read: it counts as TLS material, as a Docker host directory does.
 */
function tektonWorkspaces(
    task: Record<string, unknown>,
    body: Record<string, unknown>,
): { volumes: Record<string, unknown>[]; mounts: Record<string, unknown>[] } {
    // Only a TaskRun binds its Task's workspaces by name; a Task's own spec.workspaces are declarations, and a
    // PipelineRun binds the Pipeline's names, which its tasks map again: those count as bound elsewhere.
    const bindings = new Map(
        asArray(body.kind === "TaskRun" ? at(body, "spec", "workspaces") : [])
            .map(asRecord)
            .filter((b) => typeof b.name === "string")
            .map((b) => [b.name as string, b]),
    );
    const volumes: Record<string, unknown>[] = [];
    const mounts: Record<string, unknown>[] = [];
    for (const declared of asArray(task.workspaces).map(asRecord)) {
        if (typeof declared.name !== "string") {
            continue;
        }
        const volume = `tekton-workspace-${declared.name}`;
        const binding = bindings.get(declared.name);
        const source = binding ? ["secret", "configMap", "projected", "csi"].find((k) => k in binding) : undefined;
        volumes.push(
            source
                ? { name: volume, [source]: binding![source] }
                : binding
                  ? { name: volume, emptyDir: {} }
                  : { name: volume, dockerHostPath: `Tekton workspace '${declared.name}', bound outside the stack` },
        );
        mounts.push({
            name: volume,
            mountPath: typeof declared.mountPath === "string" ? declared.mountPath : `/workspace/${declared.name}`,
            readOnly: declared.readOnly === true,
        });
    }
    return { volumes, mounts };
}

/**
 * Pod specs inside any other object (custom resources: Knative Services, KEDA ScaledJobs, Tekton Tasks,
 * Argo Workflows, operators' own kinds): a bounded walk that takes as a pod spec every object with a
 * `containers`/`initContainers` list of objects with an `image`, Tekton's `steps`/`sidecars`, and
 * Argo's `container`/`script` templates. Their containers are judged like any workload's. Strings are
 * decoded on the way (YAML, JSON, TOML; `decode.ts`) and walked the same, so a pod template held as text
 * in a custom resource is found too.
 */
export function embeddedPodSpecs(object: KObject): PodTemplate[] {
    const body = withParameterDefaults(object.body);
    const decode = newDecodeBudget();
    const found = podSpecsIn(at(body, "spec"), ["spec"], object, at(body, "metadata", "labels"), false, decode);
    noteDecodeOverflow(object.resource, decode, `${object.where} has strings`);
    return found;
}

/**
 * The bounded walk behind `embeddedPodSpecs` and `textPodTemplates`. `text` is true for documents decoded
 * from a ConfigMap or Secret key, where a `containers` list counts even when its containers have no
 * image of their own (ARC's container-hook template: the runner fills in the `$job` image).
 */
function podSpecsIn(
    root: unknown,
    rootPath: string[],
    object: KObject,
    rootLabels: unknown,
    text: boolean,
    decode: DecodeBudget,
    label: (path: string[]) => string = (path) => `${object.where} ${path.join(".")}`,
): PodTemplate[] {
    const found: PodTemplate[] = [];
    let budget = 20_000;
    const containerList = (value: unknown) =>
        isContainerList(value) ||
        (text && Array.isArray(value) && value.length > 0 && value.every((c) => c !== null && typeof c === "object" && !Array.isArray(c)));
    const visit = (value: unknown, path: string[], labels: unknown, volumes: unknown, strings: number) => {
        if (budget-- <= 0 || path.length > 30 || found.length >= 100 || value === null) {
            return;
        }
        if (typeof value === "string") {
            // A pod spec (or a whole manifest, a CI config) held as YAML, JSON or TOML text in a field.
            if (strings < STRING_DEPTH) {
                const docs = decodeString(value, decode);
                for (const doc of docs) {
                    const decoded = asRecord(doc).spec !== undefined || Array.isArray(doc) ? doc : withParameterDefaults({ spec: doc }).spec;
                    visit(decoded, [...path, "(text)"], at(decoded, "metadata", "labels") ?? labels, undefined, strings + 1);
                }
                // A Jenkins Pipeline (a Jenkinsfile in a ConfigMap, a Job DSL script in JCasC): its pods and `sh` steps.
                const pipeline = docs.length === 0 ? jenkinsPipeline(value, decode) : undefined;
                for (const spec of pipeline ? jenkinsPodSpecs(pipeline) : []) {
                    found.push({
                        where: `${label([...path, "(text)"])} (a Jenkins pipeline)`,
                        spec,
                        labels: asRecord(labels),
                        namespace: object.namespace,
                        resource: object.resource,
                        object,
                    });
                }
            }
            return;
        }
        if (typeof value !== "object") {
            return;
        }
        if (Array.isArray(value)) {
            value.forEach((item, i) => visit(item, [...path, String(i)], labels, volumes, strings));
            return;
        }
        const record = value as Record<string, unknown>;
        if (path.length > 1 && strings === 0 && !CORE_GROUP(object.apiVersion) && isEmbeddedObject(record)) {
            // A whole object nested in a custom resource's structure (a Crossplane manifest) is judged as that
            // object by templates.ts. One found in decoded text, or inside a core object (a Pod manifest in a
            // ConfigMap's JCasC YAML), templates.ts does not reach: it is judged here, as a pod spec.
            return;
        }
        const here = {
            where: label(path),
            labels: asRecord(labels),
            namespace: object.namespace,
            resource: object.resource,
            object,
        };
        const ownVolumes = record.volumes ?? volumes;
        if (containerList(record.containers) || containerList(record.initContainers)) {
            found.push({ ...here, spec: record });
            return;
        }
        const environment = environmentContainer(record, path.join(".") || "environment");
        const underContainers = CONTAINER_KEYS.has(path[path.length - 2] ?? "") || CONTAINER_KEYS.has(path[path.length - 1] ?? "");
        const gitlabJob = underContainers ? undefined : gitlabJobContainer(record, path[path.length - 1] ?? "job");
        if (isContainerList(record.steps) || isContainerList(record.sidecars)) {
            const workspaces = tektonWorkspaces(record, object.body);
            const containers = [...asArray(record.steps), ...asArray(record.sidecars)]
                .filter(isContainer)
                .map((c) => asScriptContainer(commandsAsScript(c), "script"))
                .map((c) =>
                    workspaces.mounts.length === 0 ? c : { ...asRecord(c), volumeMounts: [...asArray(asRecord(c).volumeMounts), ...workspaces.mounts] },
                );
            found.push({ ...here, spec: { volumes: [...asArray(ownVolumes), ...workspaces.volumes], containers } });
        } else if (isContainer(record.container) || isContainer(record.script)) {
            const containers = [record.container, asScriptContainer(record.script, "source")].filter(isContainer);
            found.push({ ...here, spec: { volumes: ownVolumes, containers } });
        } else if (
            typeof record.image === "string" &&
            ["command", "args", "env", "securityContext", "ports"].some((k) => k in record) &&
            !CONTAINER_KEYS.has(path[path.length - 2] ?? "") &&
            !CONTAINER_KEYS.has(path[path.length - 1] ?? "")
        ) {
            // An image with a command line, environment or security context in a shape the pack does not know
            // (an operator's own `spec.image` + `spec.args`): it can run a container, so it is judged as one.
            found.push({ ...here, where: `${here.where} (a container in a form the pack does not know)`, spec: { volumes: ownVolumes, containers: [record] } });
            return;
        } else if (gitlabJob) {
            found.push({ ...here, where: `${here.where} (a CI job script)`, spec: gitlabJob.spec });
            return;
        } else if (environment) {
            const { volumes: declared, ...container } = environment;
            found.push({ ...here, where: `${here.where} (an environment passed to a container)`, spec: { volumes: declared, containers: [container] } });
        }
        const childLabels = at(record, "metadata", "labels") ?? labels;
        for (const [key, child] of Object.entries(record)) {
            if (key !== "metadata" && key !== "status") {
                visit(child, [...path, key], childLabels, ownVolumes, strings);
            }
        }
    };
    visit(root, rootPath, rootLabels, undefined, 0);
    return found;
}

/**
 * CI systems substitute parameters before a pod runs: Tekton `$(params.X)` (also `$(params['X'])`,
 * `$(inputs.params.X)`) and Argo Workflows `{{inputs.parameters.X}}` / `{{workflow.parameters.X}}`.
 * Each is replaced by the value or default the object itself declares for that name (a TaskRun's or
 * PipelineRun's `params[].value`, a Task's `params[].default`, Argo's `parameters[].value`/`default`),
 * so a plaintext address given as a default is judged as what runs. Names without a declared value stay
 * as written. Bounded like every walk of the pack.
 */
export function withParameterDefaults(body: Record<string, unknown>): Record<string, unknown> {
    const values = new Map<string, string>();
    let budget = 20_000;
    const collect = (value: unknown, depth: number) => {
        if (budget-- <= 0 || depth > 30 || value === null || typeof value !== "object") {
            return;
        }
        if (Array.isArray(value)) {
            value.forEach((v) => collect(v, depth + 1));
            return;
        }
        const record = value as Record<string, unknown>;
        for (const key of ["params", "parameters"]) {
            for (const param of asArray(record[key]).map(asRecord)) {
                const given = typeof param.value === "string" ? param.value : typeof param.default === "string" ? param.default : undefined;
                if (typeof param.name === "string" && given !== undefined && !values.has(param.name)) {
                    values.set(param.name, given);
                }
            }
        }
        Object.values(record).forEach((v) => collect(v, depth + 1));
    };
    collect(body.spec, 0);
    if (values.size === 0) {
        return body;
    }
    const pattern = /\$\((?:inputs\.)?params(?:\.([A-Za-z0-9_.-]+)|\[['"]([^'"\]]+)['"]\])\)|\{\{\s*(?:inputs|workflow)\.parameters\.([A-Za-z0-9_-]+)\s*\}\}/g;
    let copies = 100_000;
    const substitute = (value: unknown, depth: number): unknown => {
        if (copies-- <= 0 || depth > 64) {
            return value;
        }
        if (typeof value === "string") {
            return value.length > 100_000 ? value : value.replace(pattern, (whole, a, b, c) => values.get(a ?? b ?? c) ?? whole);
        }
        if (Array.isArray(value)) {
            return value.map((v) => substitute(v, depth + 1));
        }
        if (value !== null && typeof value === "object" && !isUnknown(value)) {
            return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, substitute(v, depth + 1)]));
        }
        return value;
    };
    return substitute(body, 0) as Record<string, unknown>;
}

/** Every pod spec the view's objects and the Helm resources among `helmResources` declare. */
export function podTemplates(view: View, helmResources: ResourceLike[] = []): PodTemplate[] {
    return [...view.objects.flatMap(podTemplatesOfObject), ...helmResources.filter(isHelm).flatMap(helmPodTemplates)];
}

/** Helm values are free-form: every object with a `containers` list is taken as a pod spec. */
/**
 * A container image as charts write it: a string, or an object of `registry`, `repository`, `tag` and
 * `digest` (Bitnami's, bjw-s's and Stakater's charts); undefined when it is neither.
 */
export function imageRef(value: unknown): string | undefined {
    if (typeof value === "string") {
        return value;
    }
    const image = asRecord(value);
    const repository = asString(image.repository) ?? asString(image.name);
    if (repository === undefined) {
        return undefined;
    }
    const registry = asString(image.registry);
    const tag = asString(image.tag) ?? (typeof image.tag === "number" ? String(image.tag) : undefined);
    const digest = asString(image.digest);
    return `${registry ? `${registry}/` : ""}${repository}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`;
}

/** A list charts write as a map keyed by name (`volumes: {certs: {...}}`), as the named list Kubernetes takes. */
function namedList(value: unknown): unknown {
    if (Array.isArray(value) || value === null || typeof value !== "object" || isUnknown(value)) {
        return value;
    }
    return Object.entries(value as Record<string, unknown>).map(([name, item]) => ({ name, ...asRecord(item) }));
}

/** A chart's container in Kubernetes' shape: the image as a string, keyed lists as lists, its security context. */
function chartContainer(name: string, record: Record<string, unknown>, image: string): Record<string, unknown> {
    return {
        name,
        ...record,
        image,
        ...(record.securityContext === undefined && record.containerSecurityContext !== undefined ? { securityContext: record.containerSecurityContext } : {}),
        ...(record.volumeMounts !== undefined ? { volumeMounts: namedList(record.volumeMounts) } : {}),
        ...(record.env !== undefined && !Array.isArray(record.env) ? { env: namedList(record.env) } : {}),
        ...(record.ports !== undefined ? { ports: namedList(record.ports) } : {}),
    };
}

/** `containers` written as a map of name to container (each with an image): the list Kubernetes takes, or undefined. */
function mapOfContainers(value: unknown): Record<string, unknown>[] | undefined {
    if (value === null || typeof value !== "object" || Array.isArray(value) || isUnknown(value)) {
        return undefined;
    }
    const entries = Object.entries(value as Record<string, unknown>).filter(([, c]) => imageRef(asRecord(c).image) !== undefined);
    return entries.length === 0 ? undefined : entries.map(([name, c]) => chartContainer(name, asRecord(c), imageRef(asRecord(c).image)!));
}

/**
 * bjw-s app-template's `persistence` (bjw-s-labs.github.io/helm-charts/docs/common-library/storage/): each
 * entry a volume (`type` secret, configMap, emptyDir, hostPath, ...; `name` the object) mounted at every
 * `globalMounts[].path` of every container.
 */
function persistenceVolumes(value: unknown): { volumes: Record<string, unknown>[]; mounts: Record<string, unknown>[] } {
    const volumes: Record<string, unknown>[] = [];
    const mounts: Record<string, unknown>[] = [];
    for (const [name, raw] of Object.entries(asRecord(value))) {
        const entry = asRecord(raw);
        const type = asString(entry.type) ?? "persistentVolumeClaim";
        const source =
            type === "secret"
                ? { secret: { secretName: entry.name ?? name } }
                : type === "configMap"
                  ? { configMap: { name: entry.name ?? name } }
                  : type === "hostPath"
                    ? { hostPath: { path: entry.hostPath } }
                    : { emptyDir: {} };
        volumes.push({ name: `persistence-${name}`, ...source });
        for (const mount of asArray(entry.globalMounts).map(asRecord)) {
            mounts.push({
                name: `persistence-${name}`,
                mountPath: mount.path ?? `/${name}`,
                readOnly: mount.readOnly === true,
                ...(mount.subPath !== undefined ? { subPath: mount.subPath } : {}),
            });
        }
    }
    return { volumes, mounts };
}

export function helmPodTemplates(resource: ResourceLike): PodTemplate[] {
    const found: PodTemplate[] = [];
    const rootValues = helmValues(resource).values;
    const namespace = helmNamespace(resource);
    let budget = 50_000;
    const decode = newDecodeBudget();
    const visit = (value: unknown, path: string[], parent: Record<string, unknown>) => {
        if (budget-- <= 0 || path.length > 40) {
            return;
        }
        if (Array.isArray(value)) {
            value.forEach((item, i) => visit(item, [...path, String(i)], parent));
            return;
        }
        if (typeof value === "string") {
            // Structured text in a value (a chart's `podTemplate: |`, gitlab-runner's `runners.config` TOML, a
            // JSON blob) is decoded and walked the same, down to STRING_DEPTH levels of strings.
            if (path.filter((p) => p === "(text)").length < STRING_DEPTH) {
                const docs = decodeString(value, decode);
                for (const doc of docs) {
                    visit(doc, [...path, "(text)"], parent);
                }
                const pipeline = docs.length === 0 ? jenkinsPipeline(value, decode) : undefined;
                for (const spec of pipeline ? jenkinsPodSpecs(pipeline) : []) {
                    found.push({ where: `${helmLabel(resource)} values.${path.join(".")} (a Jenkins pipeline)`, spec, labels: {}, namespace, resource });
                }
            }
            return;
        }
        const record = asRecord(value);
        const single = asRecord(record.container);
        if (typeof single.image === "string" && !("containers" in record)) {
            // A chart that takes one `container:` object instead of a list (a newer chart's keys).
            found.push({
                where: `${helmLabel(resource)} values.${[...path, "container"].join(".")}`,
                spec: { ...record, containers: [{ name: "container", ...single }] },
                labels: asRecord(at(parent, "metadata", "labels")),
                namespace,
                resource,
            });
            return;
        }
        const image = imageRef(record.image);
        if (
            image !== undefined &&
            ["command", "args", "env", "securityContext", "containerSecurityContext"].some((k) => k in record) &&
            !CONTAINER_KEYS.has(path[path.length - 2] ?? "") &&
            !("containers" in record && Array.isArray(record.containers))
        ) {
            // An image with a command line, environment or security context: it runs as a container, whatever the
            // chart calls it (Stakater's `application` chart puts one under `deployment`, its volumes beside it).
            const container = chartContainer(String(path[path.length - 1] ?? "container"), record, image);
            found.push({
                where: `${helmLabel(resource)} values.${path.join(".") || "(top level)"} (a container in a form the pack does not know)`,
                spec: { containers: [container], ...(record.volumes !== undefined ? { volumes: namedList(record.volumes) } : {}) },
                labels: asRecord(at(parent, "metadata", "labels")),
                namespace,
                resource,
            });
            return;
        }
        const containerMap = mapOfContainers(record.containers);
        if (containerMap) {
            // Containers keyed by name (bjw-s's app-template: controllers.<name>.containers.<name>), with the
            // chart's `persistence` entries as volumes mounted into every container at their globalMounts.
            const persisted = persistenceVolumes(at(rootValues, "persistence"));
            found.push({
                where: `${helmLabel(resource)} values.${path.join(".")}`,
                spec: {
                    ...record,
                    containers: containerMap.map((c) =>
                        persisted.mounts.length === 0 ? c : { ...c, volumeMounts: [...asArray(c.volumeMounts), ...persisted.mounts] },
                    ),
                    volumes: [...asArray(namedList(record.volumes)), ...persisted.volumes],
                },
                labels: asRecord(at(parent, "metadata", "labels")),
                namespace,
                resource,
            });
            return;
        }
        if ("containers" in record && (Array.isArray(record.containers) || isUnknown(record.containers))) {
            found.push({
                where: `${helmLabel(resource)} values.${path.join(".")}`,
                spec: record,
                labels: asRecord(at(parent, "metadata", "labels")),
                namespace,
                resource,
            });
            return;
        }
        const environment = environmentContainer(record, path.join(".") || "environment");
        if (environment) {
            const { volumes, ...container } = environment;
            found.push({
                where: `${helmLabel(resource)} values.${path.join(".") || "(top level)"} (an environment passed to a container)`,
                spec: { volumes, containers: [container] },
                labels: {},
                namespace,
                resource,
            });
        }
        for (const [key, child] of Object.entries(record)) {
            visit(child, [...path, key], record);
        }
    };
    visit(rootValues, [], {});
    noteDecodeOverflow(resource, decode, `${helmLabel(resource)} has value strings`);
    return found;
}

export interface Container {
    record: Record<string, unknown>;
    name: string;
    image: string | Unknown | undefined;
}

/** containers, initContainers and ephemeralContainers of a pod spec; UNKNOWN when the list itself is unknown. */
export function containersOf(spec: Record<string, unknown>): Container[] | Unknown {
    const all: Container[] = [];
    for (const field of ["containers", "initContainers", "ephemeralContainers"]) {
        const list = spec[field];
        if (isUnknown(list)) {
            return UNKNOWN;
        }
        asArray(list).forEach((item, i) => {
            const record = asRecord(item);
            const image = record.image;
            all.push({ record, name: asString(record.name) ?? `${field}[${i}]`, image: isUnknown(image) ? UNKNOWN : asString(image) });
        });
    }
    return all;
}

export interface Mount {
    volume: Record<string, unknown>;
    mountPath: string | Unknown;
    subPath?: string;
}

/** The pod's volumes that a container actually mounts, paired with where it mounts them. */
export function mountedVolumes(spec: Record<string, unknown>, container: Container): Mount[] {
    const volumes = asArray(spec.volumes).map(asRecord);
    const result: Mount[] = [];
    for (const mount of asArray(container.record.volumeMounts).map(asRecord)) {
        const volume = volumes.find((v) => v.name !== undefined && v.name === mount.name);
        if (volume) {
            const mountPath = isUnknown(mount.mountPath) ? UNKNOWN : (asString(mount.mountPath) ?? "");
            result.push({ volume, mountPath, subPath: asString(mount.subPath) ?? asString(mount.subPathExpr) });
        }
    }
    return result;
}

/** A container's environment as name -> value; `valueFrom` entries map to their reference object. */
export function envEntries(container: Container): { name: string; value: unknown; valueFrom: Record<string, unknown> | undefined }[] {
    return asArray(container.record.env)
        .map(asRecord)
        .filter((e) => typeof e.name === "string")
        .map((e) => ({ name: e.name as string, value: e.value, valueFrom: "valueFrom" in e ? asRecord(e.valueFrom) : undefined }));
}

export function imageRepository(image: string): string {
    const withoutDigest = image.split("@")[0];
    const lastSlash = withoutDigest.lastIndexOf("/");
    const colon = withoutDigest.indexOf(":", lastSlash + 1);
    return (colon >= 0 ? withoutDigest.slice(0, colon) : withoutDigest).toLowerCase();
}

export function isPinnedByDigest(image: string): boolean {
    return /@sha256:[0-9a-f]{64}$/.test(image);
}

/**
 * Pod templates held as text in a ConfigMap or Secret: ARC's container-hook templates
 * (`ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE`, a `spec:` whose `$job` container has no image of its own),
 * Jenkins or GitLab pod templates, pod manifests a CI job applies, and what those hold in their own
 * strings (a Jenkins Configuration-as-Code file whose Kubernetes cloud template carries a Pod manifest
 * in its `yaml` field). Whatever runs them, they are pods: a pod spec is found wherever one is. Each key
 * is decoded (YAML, JSON, TOML) and walked like a custom resource, strings decoded again down to
 * `STRING_DEPTH` levels; containers without an image count here (the runner fills it in).
 */
export function textPodTemplates(object: KObject): PodTemplate[] {
    const found: PodTemplate[] = [];
    const decode = newDecodeBudget();
    for (const entry of entriesOf(object)) {
        if (typeof entry.text !== "string") {
            continue;
        }
        const base = `${object.where} key '${entry.key}' (a pod spec held as text)`;
        // One level of text (the key's own document) is named by the key; deeper ones by their path too.
        const label = (path: string[]) => (path.filter((p) => p === "(text)").length > 1 ? `${base} at ${path.slice(1).join(".")}` : base);
        found.push(...podSpecsIn(entry.text, [], object, undefined, true, decode, label));
    }
    noteDecodeOverflow(object.resource, decode, `${object.where} has keys`);
    return found;
}
