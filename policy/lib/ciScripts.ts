import { decodeString, DecodeBudget, envListOf } from "./decode";
import { asArray, asRecord } from "./plain";

/**
 * Script-valued fields of CI systems, run as shell in a container: GitLab CI jobs' `script` and Jenkins
 * Pipeline `sh` steps. Where the job's container and its files come from a runner or agent the stack does
 * not show (a GitLab runner's config, a Jenkins agent), the container gets one volume standing for the
 * agent's own files (`dockerHostPath`, as for a Docker host's directories): TLS paths the script gives
 * count as material there, since the pack cannot read them, while a client given no TLS at all is still
 * a plaintext client.
 */
const AGENT_FILES = { name: "ci-agent-files", dockerHostPath: "(files of the CI agent, not in the stack)" };
const AGENT_MOUNT = { name: "ci-agent-files", mountPath: "/" };

/**
 * A GitLab CI job (docs.gitlab.com, "CI/CD YAML syntax reference"): `before_script`, `script` (a string
 * or list of lines), `image` (a string or `{name}`), `variables`. Undefined for anything else.
 */
export function gitlabJobContainer(record: Record<string, unknown>, name: string): { spec: Record<string, unknown> } | undefined {
    const lines = (value: unknown): string[] | undefined =>
        typeof value === "string"
            ? [value]
            : Array.isArray(value) && value.length > 0 && value.every((l) => typeof l === "string")
              ? (value as string[])
              : undefined;
    const script = lines(record.script);
    if (!script || !(Array.isArray(record.script) || "stage" in record || "variables" in record || "image" in record)) {
        return undefined;
    }
    if (typeof record.image === "string" && ("command" in record || "args" in record)) {
        return undefined;
    }
    const image = typeof record.image === "string" ? record.image : asRecord(record.image).name;
    const env = envListOf(record.variables)?.filter((e) => typeof e.value === "string") ?? [];
    const all = [...(lines(record.before_script) ?? []), ...script, ...(lines(record.after_script) ?? [])];
    return {
        spec: {
            volumes: [AGENT_FILES],
            containers: [
                {
                    name,
                    ...(typeof image === "string" ? { image } : {}),
                    command: ["sh", "-c", all.join("\n")],
                    env,
                    volumeMounts: [AGENT_MOUNT],
                },
            ],
        },
    };
}

/** A Groovy string literal at `i`: `'''…'''`, `"""…"""`, `'…'` or `"…"`, with its end. */
function groovyString(text: string, i: number): { value: string; end: number } | undefined {
    for (const quote of ["'''", '"""', "'", '"']) {
        if (!text.startsWith(quote, i)) {
            continue;
        }
        let j = i + quote.length;
        let value = "";
        while (j < text.length && !text.startsWith(quote, j)) {
            if (text[j] === "\\" && j + 1 < text.length) {
                const next = text[j + 1];
                value += next === "n" ? "\n" : next === "t" ? "\t" : next;
                j += 2;
            } else {
                value += text[j++];
            }
            if (quote.length === 1 && text[j - 1] === "\n") {
                return undefined;
            }
        }
        return { value, end: j + quote.length };
    }
    return undefined;
}

export interface JenkinsPipeline {
    /** Pod manifests given to the Kubernetes agent (`yaml '''…'''`, `podTemplate(yaml: …)`), decoded. */
    pods: unknown[];
    /** `sh` steps and the container they run in (`container('name') { … }`; the agent's `jnlp` container otherwise). */
    steps: { container: string; script: string }[];
    /** `environment { NAME = 'value' }` and `withEnv(['NAME=value'])`, exported to every step. */
    env: { name: string; value: string }[];
    /**
     * The pipeline adds volumes or containers the pack does not read (`inheritFrom` a template configured
     * elsewhere, the plugin's `secretVolume(...)` DSL): the steps' containers may have files it cannot see.
     */
    opaqueVolumes: boolean;
}

/**
 * A Jenkins Pipeline (declarative `pipeline { … }` or scripted `node`/`podTemplate`), read as far as the
 * pack needs: the Kubernetes plugin's pod manifests, `sh` steps with the `container` block around them,
 * and the `environment` block (jenkins.io "Pipeline Syntax"; jenkinsci/kubernetes-plugin README,
 * "Pipeline support"). A bounded scan of string literals and braces, not a Groovy interpreter: Groovy
 * interpolation (`${…}`) is left to the shell, which expands the exported environment the same way.
 */
export function jenkinsPipeline(text: string, decode: DecodeBudget): JenkinsPipeline | undefined {
    if (text.length > 256_000 || !/\b(pipeline|node|podTemplate|stage)\s*[({]/.test(text) || !/\b(sh|yaml)\b/.test(text)) {
        return undefined;
    }
    const result: JenkinsPipeline = {
        pods: [],
        steps: [],
        env: [],
        opaqueVolumes: /\binheritFrom\b|\b(secretVolume|configMapVolume|persistentVolumeClaim|hostPathVolume|emptyDirVolume|nfsVolume)\s*\(/.test(text),
    };
    const blocks: { container?: string; environment?: boolean }[] = [];
    let pendingContainer: string | undefined;
    let pendingEnvironment = false;
    let i = 0;
    const skipSpace = (from: number) => {
        let j = from;
        while (j < text.length && /[\s(:]/.test(text[j])) {
            j++;
        }
        return j;
    };
    while (i < text.length) {
        const c = text[i];
        if (text.startsWith("//", i)) {
            const end = text.indexOf("\n", i);
            i = end < 0 ? text.length : end;
            continue;
        }
        if (text.startsWith("/*", i)) {
            const end = text.indexOf("*/", i + 2);
            i = end < 0 ? text.length : end + 2;
            continue;
        }
        if (c === "'" || c === '"') {
            const literal = groovyString(text, i);
            i = literal ? literal.end : i + 1;
            continue;
        }
        if (c === "{") {
            blocks.push({ container: pendingContainer, environment: pendingEnvironment });
            pendingContainer = undefined;
            pendingEnvironment = false;
            i++;
            continue;
        }
        if (c === "}") {
            blocks.pop();
            i++;
            continue;
        }
        const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 64));
        if (!word) {
            i++;
            continue;
        }
        const name = word[0];
        const after = skipSpace(i + name.length);
        if (blocks.some((b) => b.environment) && /^\s*=/.test(text.slice(i + name.length, i + name.length + 8))) {
            const eq = text.indexOf("=", i + name.length);
            const literal = groovyString(text, skipSpace(eq + 1));
            if (literal) {
                result.env.push({ name, value: literal.value });
                i = literal.end;
                continue;
            }
        }
        if (name === "environment" && text[after] === "{") {
            pendingEnvironment = true;
        } else if (name === "container" || name === "sh" || name === "yaml" || name === "withEnv" || name === "script") {
            let at = after;
            if (name === "sh" && text.startsWith("script", at)) {
                at = skipSpace(at + "script".length);
            }
            if (name === "withEnv" && text[at] === "[") {
                at = skipSpace(at + 1);
                while (at < text.length) {
                    const literal = groovyString(text, at);
                    if (!literal) {
                        break;
                    }
                    const pair = envListOf([literal.value]);
                    result.env.push(...(pair ?? []));
                    at = literal.end;
                    while (at < text.length && /[\s,]/.test(text[at])) {
                        at++;
                    }
                }
                i = at;
                continue;
            }
            const literal = groovyString(text, at);
            if (literal) {
                if (name === "container") {
                    pendingContainer = literal.value;
                } else if (name === "sh") {
                    const container = [...blocks].reverse().find((b) => b.container !== undefined)?.container ?? "jnlp";
                    result.steps.push({ container, script: literal.value });
                } else if (name === "yaml") {
                    result.pods.push(...decodeString(literal.value, decode));
                } else if (name === "script") {
                    // A Job DSL `cps { script('''…''') }` holds a whole pipeline: read it in place.
                    const inner = jenkinsPipeline(literal.value, decode);
                    if (inner) {
                        result.opaqueVolumes ||= inner.opaqueVolumes;
                        result.pods.push(...inner.pods);
                        result.steps.push(...inner.steps);
                        result.env.push(...inner.env);
                    }
                }
                i = literal.end;
                continue;
            }
        }
        i += name.length;
    }
    return result.pods.length > 0 || result.steps.length > 0 ? result : undefined;
}

/**
 * The pods a Jenkins Pipeline runs its steps in: each pod manifest it gives the Kubernetes agent, with
 * the `sh` steps of each `container` block run in that container (a step outside any block runs in
 * `jnlp`), the pipeline's environment exported to all; steps without a pod manifest run on an agent the
 * stack does not show.
 */
export function jenkinsPodSpecs(pipeline: JenkinsPipeline): Record<string, unknown>[] {
    const byContainer = new Map<string, string[]>();
    for (const step of pipeline.steps) {
        byContainer.set(step.container, [...(byContainer.get(step.container) ?? []), step.script]);
    }
    const withSteps = (container: Record<string, unknown>): Record<string, unknown> => {
        const scripts = byContainer.get(String(container.name));
        const mounts = asArray(container.volumeMounts);
        return {
            ...container,
            ...(pipeline.opaqueVolumes && scripts && !mounts.includes(AGENT_MOUNT) ? { volumeMounts: [...mounts, AGENT_MOUNT] } : {}),
            env: [...asArray(container.env), ...pipeline.env],
            ...(scripts ? { command: ["sh", "-c", scripts.join("\n")], args: [] } : {}),
        };
    };
    const specs: Record<string, unknown>[] = [];
    for (const pod of pipeline.pods) {
        const spec = asRecord(asRecord(pod).spec ?? pod);
        const containers = asArray(spec.containers).map(asRecord);
        const named = new Set(containers.map((c) => String(c.name)));
        const extra = [...byContainer.keys()].filter((n) => !named.has(n)).map((n) => withSteps({ name: n, volumeMounts: [AGENT_MOUNT] }));
        specs.push({
            ...spec,
            volumes: [...asArray(spec.volumes), ...(extra.length > 0 || pipeline.opaqueVolumes ? [AGENT_FILES] : [])],
            containers: [...containers.map(withSteps), ...extra],
        });
    }
    if (pipeline.pods.length === 0 && byContainer.size > 0) {
        specs.push({ volumes: [AGENT_FILES], containers: [...byContainer.keys()].map((n) => withSteps({ name: n, volumeMounts: [AGENT_MOUNT] })) });
    }
    return specs;
}
