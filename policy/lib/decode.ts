import { parse as parseToml } from "smol-toml";
import { Budget, asRecord, isUnknown, newBudget, toPlain } from "./plain";
import { parseYaml } from "./yaml";

/**
 * Structured text held in strings, decoded wherever the pack walks: a pod manifest in the `yaml` field of
 * Jenkins Configuration-as-Code held in a ConfigMap key (two string levels), gitlab-runner's
 * `runners.config` TOML in a Helm value, a JSON buildx store file. A pod spec is found wherever one is,
 * so a string is decoded as YAML (JSON is YAML) or TOML and the result walked like any object, again
 * decoding the strings inside it, down to `STRING_DEPTH` levels.
 *
 * Bounded per walk (one resource, one values tree): at most `chars` characters and `parses` strings are
 * parsed in all, every decoded document is copied within a shared node budget (YAML aliases count each
 * time they are reached, as for props), and a string seen twice (an alias, a repeated value) is parsed
 * once. What is past the budget is not decoded; `overflow` says so, and `skippedRelevant` whether the skipped
 * text mentions BuildKit, TCP, Docker or privilege.
 */
export interface DecodeBudget {
    chars: number;
    parses: number;
    nodes: Budget;
    memo: Map<string, unknown[]>;
    overflow?: string;
    /** Text left undecoded mentions BuildKit, TCP, Docker or privilege. */
    skippedRelevant?: boolean;
}

/** How many strings deep a walk decodes: a value in a string in a string in a string. */
export const STRING_DEPTH = 4;

/** Per-walk limits: twice the per-string YAML limit in characters, and a node budget of its own. */
export const DECODE_LIMITS = { chars: 2_000_000, parses: 2_000, nodes: 100_000, stringChars: 256_000 };

export function newDecodeBudget(): DecodeBudget {
    return { chars: DECODE_LIMITS.chars, parses: DECODE_LIMITS.parses, nodes: newBudget(DECODE_LIMITS.nodes), memo: new Map() };
}

/** Walks whose strings were not all decoded, by the resource they belong to: reported, never passed silently. */
const overflows = new WeakMap<object, string>();

/** Records that a walk of `resource` left structured text that matters undecoded because of the budget. */
export function noteDecodeOverflow(resource: object, budget: DecodeBudget, what: string): void {
    // Only text that mentions BuildKit, TCP, Docker or privilege can hide what the rules look for; a large
    // dashboard or bundle that does not is left alone rather than reported on every preview.
    if (budget.overflow !== undefined && budget.skippedRelevant === true && !overflows.has(resource)) {
        overflows.set(resource, `${what}: ${budget.overflow}, and the text mentions BuildKit, TCP, Docker or privilege`);
    }
}

/** Why a walk of `resource` left strings undecoded, if one did. */
export function decodeOverflowOf(resource: object): string | undefined {
    return overflows.get(resource);
}

const RELEVANT_TEXT = /buildkit|buildctl|buildx|tcp:\/\/|privileged|dind|dockerd|docker\.sock|DOCKER_HOST/i;

/** Lines that make a string worth parsing: a YAML mapping or list item, a TOML table or assignment, JSON. */
const STRUCTURED = /^[ \t]*(-[ \t]+)?["']?[A-Za-z0-9_.$/-]+["']?[ \t]*:([ \t]|$)|^[ \t]*\[\[?[^\]\n]+\]\]?[ \t]*$|^[ \t]*[A-Za-z0-9_."-]+[ \t]*=/m;

function looksStructured(text: string): boolean {
    const start = text.trimStart()[0];
    if (start === "{" || start === "[") {
        return true;
    }
    return text.includes("\n") && STRUCTURED.test(text.slice(0, 4096));
}

/**
 * The documents a string holds when it is structured text (a YAML or JSON mapping or list, or a TOML
 * table), copied as plain data; [] for a scalar, a script, prose or anything past the budget. Never throws.
 */
export function decodeString(text: string, budget: DecodeBudget): unknown[] {
    if (text.length < 4 || !looksStructured(text)) {
        return [];
    }
    const cached = budget.memo.get(text);
    if (cached) {
        return cached;
    }
    if (text.length > DECODE_LIMITS.stringChars || budget.chars < text.length || budget.parses <= 0) {
        budget.overflow ??= `structured text in strings beyond ${DECODE_LIMITS.chars} characters or ${DECODE_LIMITS.parses} strings per resource (or one string over ${DECODE_LIMITS.stringChars})`;
        if (RELEVANT_TEXT.test(text.slice(0, DECODE_LIMITS.stringChars))) {
            budget.skippedRelevant = true;
        }
        return [];
    }
    budget.chars -= text.length;
    budget.parses--;
    let docs: unknown[];
    const yaml = parseYaml(text, budget.nodes);
    const structured = yaml.docs.filter((d) => d !== null && typeof d === "object" && !isUnknown(d));
    if (yaml.error === undefined && structured.length > 0) {
        docs = structured;
    } else if (/^[ \t]*(\[[^\]\n]+\]|[A-Za-z0-9_."-]+[ \t]*=)/m.test(text)) {
        try {
            docs = [toPlain(parseToml(text), budget.nodes)];
        } catch {
            docs = structured;
        }
    } else {
        docs = structured;
    }
    if (budget.nodes.overflow) {
        budget.overflow ??= budget.nodes.overflow;
        budget.skippedRelevant ||= RELEVANT_TEXT.test(text);
    }
    budget.memo.set(text, docs);
    return docs;
}

/**
 * `KEY=VALUE` list (gitlab-runner's `environment = [...]`, Docker's `Env`, Compose's list form) or a
 * mapping of scalars (Compose's map form), as Kubernetes `env` entries; undefined for anything else.
 */
export function envListOf(value: unknown): { name: string; value: string }[] | undefined {
    if (Array.isArray(value)) {
        const entries = value.filter((v): v is string => typeof v === "string" && /^[A-Za-z_][A-Za-z0-9_.-]*=/.test(v));
        if (entries.length === 0 || entries.length !== value.length) {
            return undefined;
        }
        return entries.map((e) => ({ name: e.slice(0, e.indexOf("=")), value: e.slice(e.indexOf("=") + 1) }));
    }
    const record = asRecord(value);
    const keys = Object.keys(record);
    if (keys.length === 0 || !keys.every((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && ["string", "number", "boolean"].includes(typeof record[k]))) {
        return undefined;
    }
    return keys.map((k) => ({ name: k, value: String(record[k]) }));
}

/**
 * Volumes a CI runner's config declares for its job pods, as Kubernetes volumes and mounts: entries with
 * a `mount_path`/`mountPath` under a key naming their source (gitlab-runner's
 * `[[runners.kubernetes.volumes.secret]]`, `config_map`, `empty_dir`, `host_path`, `csi`; docs.gitlab.com
 * "Kubernetes executor": "Configure volume types"), or a `{name, mountPath}` naming a Kubernetes volume
 * declared in the same config (a chart's `extraVolumes`). Bounded walks of `root`.
 */
export function runnerVolumesOf(root: unknown): { volumes: Record<string, unknown>[]; volumeMounts: Record<string, unknown>[] } {
    const volumes: Record<string, unknown>[] = [];
    const volumeMounts: Record<string, unknown>[] = [];
    // Kubernetes-style volumes in the same config (a chart's `extraVolumes`): a mount names one of them.
    const declared = new Map<string, Record<string, unknown>>();
    let scan = 2_000;
    const collect = (value: unknown, depth: number) => {
        if (scan-- <= 0 || depth > 8 || value === null || typeof value !== "object") {
            return;
        }
        const record = value as Record<string, unknown>;
        if (
            !Array.isArray(value) &&
            typeof record.name === "string" &&
            ["secret", "configMap", "projected", "csi", "emptyDir", "hostPath"].some((k) => k in record)
        ) {
            declared.set(record.name, record);
            return;
        }
        Object.values(record).forEach((v) => collect(v, depth + 1));
    };
    collect(root, 0);
    let budget = 2_000;
    const visit = (value: unknown, key: string, depth: number) => {
        if (budget-- <= 0 || depth > 8 || value === null || typeof value !== "object") {
            return;
        }
        if (Array.isArray(value)) {
            value.forEach((v) => visit(v, key, depth + 1));
            return;
        }
        const record = value as Record<string, unknown>;
        const mountPath = record.mount_path ?? record.mountPath;
        if (typeof mountPath === "string" && typeof record.name === "string") {
            const name = `cfg-${volumes.length}`;
            const items = Object.entries(asRecord(record.items)).map(([k, p]) => ({ key: k, path: String(p) }));
            const source = key.toLowerCase().replace(/[_-]/g, "");
            const volume: Record<string, unknown> = { name };
            const known = declared.get(record.name);
            if (known) {
                volumes.push({ ...known, name });
                volumeMounts.push({ name, mountPath, ...(typeof record.subPath === "string" ? { subPath: record.subPath } : {}) });
                return;
            }
            if (source === "secret" || source === "secrets") {
                volume.secret = { secretName: record.name, ...(items.length ? { items } : {}) };
            } else if (source === "configmap" || source === "configmaps") {
                volume.configMap = { name: record.name, ...(items.length ? { items } : {}) };
            } else if (source === "csi") {
                volume.csi = { driver: record.driver };
            } else if (source === "hostpath" || source === "hostpaths") {
                volume.hostPath = { path: record.host_path ?? record.path ?? mountPath };
            } else {
                volume.emptyDir = {};
            }
            volumes.push(volume);
            volumeMounts.push({ name, mountPath, ...(typeof record.sub_path === "string" ? { subPath: record.sub_path } : {}) });
            return;
        }
        for (const [k, v] of Object.entries(record)) {
            visit(v, k, depth + 1);
        }
    };
    visit(root, "", 0);
    return { volumes, volumeMounts };
}
