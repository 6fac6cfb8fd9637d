// One-command local environment: `npm run local:up` / `npm run local:down`.
//
// Everything that decides something is a pure exported function (tested in tests/local-up.test.ts);
// only `main` touches PATH, the file system and child processes.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { GITHUB_CREDENTIAL_KEY_LIST, GITHUB_CREDENTIAL_KEYS } from "../config/credential-keys";

export const CLUSTER_NAME = "buildkit";
export const STACK = "local";
export const STATE_DIR = ".pulumi-state";
export const PASSPHRASE_FILE = "passphrase.txt";

export interface Prerequisite {
    tool: string;
    why: string;
    install: { linux: string; macos: string };
}

export const PREREQUISITES: readonly Prerequisite[] = [
    {
        tool: "pulumi",
        why: "runs the program (pulumi up/destroy)",
        install: {
            linux: "curl -fsSL https://get.pulumi.com | sh   (then open a new shell so ~/.pulumi/bin is on PATH)",
            macos: "brew install pulumi/tap/pulumi",
        },
    },
    {
        tool: "k3d",
        why: "creates the local k3s cluster in Docker",
        install: {
            linux: "curl -s https://raw.githubusercontent.com/k3d-io/k3d/main/install.sh | bash",
            macos: "brew install k3d",
        },
    },
    {
        tool: "docker",
        why: "k3d runs the cluster nodes as Docker containers",
        install: {
            linux: "install Docker Engine: https://docs.docker.com/engine/install/ (then add yourself to the docker group)",
            macos: "brew install --cask docker   (Docker Desktop; or: brew install colima docker && colima start)",
        },
    },
    {
        tool: "kubectl",
        why: "inspects the cluster (runbook scripts, troubleshooting)",
        install: {
            linux: "https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/ (or: sudo snap install kubectl --classic)",
            macos: "brew install kubectl",
        },
    },
];

/** Is `cmd` an executable file in one of the PATH directories? */
export function makePathLookup(pathEnv: string | undefined, isExecutable: (file: string) => boolean = defaultIsExecutable): (cmd: string) => boolean {
    const dirs = (pathEnv ?? "").split(path.delimiter).filter((d) => d !== "");
    return (cmd) => dirs.some((dir) => isExecutable(path.join(dir, cmd)));
}

function defaultIsExecutable(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

/**
 * The tools each command runs: local:up all four (kubectl for the checks it prints and the runbook
 * scripts), local:down only what it calls (pulumi destroy and stack rm, k3d cluster delete, which needs docker).
 */
export const TOOLS_FOR: Record<"up" | "down", readonly string[]> = {
    up: ["pulumi", "k3d", "docker", "kubectl"],
    down: ["pulumi", "k3d", "docker"],
};

/**
 * local:down on a machine that never ran local:up (no state directory, no k3d) has nothing to remove,
 * so it needs no tool at all rather than asking for three it would not use.
 */
export function nothingToTearDown(stateDirExists: boolean, k3dOnPath: boolean): boolean {
    return !stateDirExists && !k3dOnPath;
}

export function findMissing(onPath: (cmd: string) => boolean, mode: "up" | "down" = "up"): Prerequisite[] {
    return PREREQUISITES.filter((p) => TOOLS_FOR[mode].includes(p.tool) && !onPath(p.tool));
}

export type Platform = "linux" | "macos" | "other";

export function platformOf(nodePlatform: string): Platform {
    if (nodePlatform === "linux") return "linux";
    if (nodePlatform === "darwin") return "macos";
    return "other";
}

/** The message printed when tools are missing (or docker cannot reach its daemon). Empty when all is well. */
export function prerequisiteReport(
    missing: readonly Prerequisite[],
    platform: Platform,
    dockerDaemonReachable: boolean | undefined,
    mode: "up" | "down" = "up",
): string {
    const lines: string[] = [];
    if (missing.length > 0) {
        lines.push(`local:${mode} needs ${missing.length} missing tool(s): ${missing.map((m) => m.tool).join(", ")}`);
        for (const m of missing) {
            lines.push("", `  ${m.tool}: not found on PATH (${m.why}).`);
            if (platform !== "macos") lines.push(`    Linux: ${m.install.linux}`);
            if (platform !== "linux") lines.push(`    macOS: ${m.install.macos}`);
        }
    }
    if (dockerDaemonReachable === false && !missing.some((m) => m.tool === "docker")) {
        if (lines.length > 0) lines.push("");
        lines.push("docker is installed but `docker info` cannot reach a Docker daemon (k3d needs one).");
        if (platform !== "macos") lines.push("  Linux: sudo systemctl start docker (and check that your user is in the docker group)");
        if (platform !== "linux") lines.push("  macOS: start Docker Desktop (or: colima start)");
    }
    if (lines.length > 0) lines.push("", `Install what is listed above, then run \`npm run local:${mode}\` again.`);
    return lines.join("\n");
}

/**
 * k3s image of the local cluster, pinned. k3d 5.8.3 (the newest 5.x release binary) reports
 * `k3s version v1.31.5-k3s1 (default)`; its Makefile injects the k3s stable channel's tag at build time,
 * so the default would otherwise drift with the k3d build. The digest is what BuildKit resolved for
 * that tag in a public build log (see docs/local.md, "Notes").
 */
export const K3S_IMAGE = "rancher/k3s:v1.31.5-k3s1@sha256:53cf744fe2fabf140cee240d2db70d13a4f2d98f1a13c98f58f457f423096917";

/** The tracked stack file: local:up and local:down read it, never write it. */
export const TRACKED_CONFIG = `Pulumi.${STACK}.yaml`;
/**
 * The per-user project directory inside the git-ignored state: a copy of Pulumi.yaml (so `pulumi stack
 * init` run there writes the stack's `encryptionsalt` here, not into the tracked file) and the per-user
 * stack config that every pulumi command gets through `--config-file`.
 */
export const USER_STACK_DIR = path.join(STATE_DIR, "stack");
export const USER_CONFIG = path.join(USER_STACK_DIR, TRACKED_CONFIG);
/** The settings local:up was given through SETTING_ENV, kept for later runs (git-ignored, per user). */
export const SETTINGS_FILE = path.join(USER_STACK_DIR, "settings.json");

/** Environment variables local:up stores as stack secrets before `pulumi up` (never on a command line). */
export const CREDENTIAL_ENV = {
    appId: "ARC_BUILDKIT_GITHUB_APP_ID",
    appInstallationId: "ARC_BUILDKIT_GITHUB_APP_INSTALLATION_ID",
    appPrivateKeyFile: "ARC_BUILDKIT_GITHUB_APP_PRIVATE_KEY_FILE",
    token: "ARC_BUILDKIT_GITHUB_TOKEN",
} as const;
/** Overrides the per-user scale set name (default `arc-local-<user>`; the contract label `arc-local` stays on it). */
export const RUNNER_LABEL_ENV = "ARC_BUILDKIT_RUNNER_LABEL";

/**
 * Where this laptop's runners and cluster go: the one place a new team sets its organization, runner
 * group and cluster name for the `local` stack, without editing the tracked Pulumi.local.yaml. Each value
 * given is stored (SETTINGS_FILE) and kept for later runs of local:up and local:down.
 */
export const SETTING_ENV = {
    configUrl: "ARC_BUILDKIT_GITHUB_CONFIG_URL",
    runnerGroup: "ARC_BUILDKIT_RUNNER_GROUP",
    clusterName: "ARC_BUILDKIT_CLUSTER_NAME",
    runnerLabel: RUNNER_LABEL_ENV,
} as const;
export type LocalSettings = Partial<Record<keyof typeof SETTING_ENV, string>>;

/** What each setting accepts; the first two are the config schema's own rules (config/github.ts, config/arc.ts). */
const SETTING_RULES: Record<keyof typeof SETTING_ENV, { re: RegExp; expected: string }> = {
    configUrl: {
        re: /^https:\/\/github\.com\/[A-Za-z0-9][A-Za-z0-9-]{0,38}(\/[A-Za-z0-9._-]{1,100})?\/?$/,
        expected: "https://github.com/<organization> (or https://github.com/<organization>/<repository>)",
    },
    runnerGroup: { re: /^[^\s/\\][^/\\]{0,99}$/, expected: "a runner group name (no '/' or '\\', at most 100 characters)" },
    clusterName: { re: /^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/, expected: "lower-case letters, digits and '-', at most 32 characters" },
    runnerLabel: { re: /^[a-z0-9]([-a-z0-9]{0,43}[a-z0-9])?$/, expected: "lower-case letters, digits and '-', at most 45 characters" },
};

/**
 * This run's settings: what the environment sets now, over what an earlier run stored. An empty
 * variable counts as unset. Credentials without an organization are refused: the tracked file's
 * organization is the platform team's, and a laptop's GitHub App registering runners there by
 * accident is exactly what this prevents.
 */
export function resolveSettings(env: NodeJS.ProcessEnv, stored: LocalSettings, credentialsIncoming: boolean): { settings: LocalSettings } | { error: string } {
    const settings: LocalSettings = { ...stored };
    for (const [key, name] of Object.entries(SETTING_ENV) as [keyof typeof SETTING_ENV, string][]) {
        const value = env[name]?.trim();
        if (!value) continue;
        if (!SETTING_RULES[key].re.test(value)) return { error: `${name}="${value}": expected ${SETTING_RULES[key].expected}` };
        settings[key] = value;
    }
    if (credentialsIncoming && !settings.configUrl) {
        return {
            error:
                `GitHub credentials are set but no organization: set ${SETTING_ENV.configUrl}=https://github.com/<your-organization> ` +
                `(the organization your GitHub App is installed on; it is stored for later runs). Without it the runners would ` +
                `register with the organization in the tracked ${TRACKED_CONFIG}.`,
        };
    }
    // The program refuses it too (config/tiers.ts), but only after the cluster exists: say it first.
    const organizationLevel = settings.configUrl !== undefined && !/^https:\/\/github\.com\/[^/]+\/[^/]+\/?$/.test(settings.configUrl);
    if (organizationLevel && settings.runnerGroup?.toLowerCase() === "default") {
        return {
            error:
                `${SETTING_ENV.runnerGroup}=${settings.runnerGroup}: the organization's default group admits every repository, so any repository's job ` +
                `could run on your laptop. Use a runner group limited to your repositories, or a repository URL in ${SETTING_ENV.configUrl}.`,
        };
    }
    return { settings };
}

/** The k3d cluster this laptop uses, and its kube context (k3d names it k3d-<cluster>). */
export function clusterOf(settings: LocalSettings): { name: string; context: string } {
    const name = settings.clusterName ?? CLUSTER_NAME;
    return { name, context: `k3d-${name}` };
}

/**
 * A secret read from a file is checked before anything changes: a wrong path must not surface as a
 * stack trace after the cluster and the stack were created. `read` returns the file's text or throws.
 */
export function checkSecretFiles(credentials: CredentialInput | undefined, read: (file: string) => string): string | undefined {
    for (const { key, source } of credentials?.values ?? []) {
        if (!("file" in source)) continue;
        const name = key === GITHUB_CREDENTIAL_KEYS.appPrivateKey ? CREDENTIAL_ENV.appPrivateKeyFile : key;
        let text: string;
        try {
            text = read(source.file);
        } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            const why =
                code === "ENOENT" ? "no such file" : code === "EACCES" ? "not readable by you" : code === "EISDIR" ? "a directory, not a file" : String(e);
            return `${name}=${source.file}: ${why}. It must name the .pem file GitHub downloaded when you generated the App's private key.`;
        }
        if (!/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(text)) {
            return `${name}=${source.file}: not a PEM private key (no "-----BEGIN ... PRIVATE KEY-----" line). It must name the .pem file GitHub downloaded for the App.`;
        }
    }
    return undefined;
}

/** Where a secret's value comes from: an environment variable or a file, always on stdin. */
export type SecretSource = { env: string } | { file: string };

export interface CredentialInput {
    method: "app" | "token";
    /** config key (without namespace) → where its value comes from */
    values: { key: string; source: SecretSource }[];
}

/** The credentials named by the environment, or a message saying what is wrong. Values are never read here. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv): CredentialInput | undefined | { error: string } {
    const set = (name: string) => (env[name] ?? "").trim() !== "";
    const appNames = [CREDENTIAL_ENV.appId, CREDENTIAL_ENV.appInstallationId, CREDENTIAL_ENV.appPrivateKeyFile];
    const appSet = appNames.filter(set);
    if (appSet.length > 0 && set(CREDENTIAL_ENV.token)) {
        return { error: `set either the GitHub App variables or ${CREDENTIAL_ENV.token}, not both` };
    }
    if (appSet.length > 0 && appSet.length < appNames.length) {
        return { error: `the GitHub App needs all of ${appNames.join(", ")}; missing: ${appNames.filter((n) => !set(n)).join(", ")}` };
    }
    if (appSet.length === appNames.length) {
        return {
            method: "app",
            values: [
                { key: GITHUB_CREDENTIAL_KEYS.appId, source: { env: CREDENTIAL_ENV.appId } },
                { key: GITHUB_CREDENTIAL_KEYS.appInstallationId, source: { env: CREDENTIAL_ENV.appInstallationId } },
                // A relative path means relative to where `npm run` was typed (npm's INIT_CWD), not to the repository.
                {
                    key: GITHUB_CREDENTIAL_KEYS.appPrivateKey,
                    source: { file: path.resolve(env.INIT_CWD ?? "", env[CREDENTIAL_ENV.appPrivateKeyFile]!.trim()) },
                },
            ],
        };
    }
    if (set(CREDENTIAL_ENV.token)) {
        return { method: "token", values: [{ key: GITHUB_CREDENTIAL_KEYS.token, source: { env: CREDENTIAL_ENV.token } }] };
    }
    return undefined;
}

/** GitHub runner labels as the config schema accepts them (lower-case letters, digits, '-', at most 45). */
const RUNNER_LABEL = /^[a-z0-9]([-a-z0-9]{0,43}[a-z0-9])?$/;

/**
 * The per-user scale set name: two laptops registering the same scale set name in one organization
 * would share one scale set and steal each other's jobs. The contract label `arc-local` stays on every
 * laptop's scale set as an extra label (`scaleSetLabels`), so `runs-on: arc-local` keeps working and
 * `runs-on: arc-local-<user>` targets one laptop.
 */
export function userRunnerLabel(env: NodeJS.ProcessEnv, accountName: string | null = osAccountName() ?? null): { label: string } | { error: string } {
    const explicit = env[RUNNER_LABEL_ENV]?.trim();
    if (explicit) {
        return RUNNER_LABEL.test(explicit)
            ? { label: explicit }
            : { error: `${RUNNER_LABEL_ENV}="${explicit}" is not a runner label: lower-case letters, digits and '-', at most 45 characters` };
    }
    const user = (env.USER || env.LOGNAME || env.USERNAME || accountName || "")
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-+|-+$/g, "");
    if (user === "") {
        return { error: `cannot derive a runner label from $USER; set ${RUNNER_LABEL_ENV} (for example arc-local-yourname)` };
    }
    const label = `arc-local-${user}`.slice(0, 45).replace(/-+$/, "");
    return { label };
}

/** The login name of the process's account, for shells (containers, CI) that set no $USER. */
function osAccountName(): string | undefined {
    try {
        return os.userInfo().username;
    } catch {
        return undefined;
    }
}

type StackFile = { config?: Record<string, unknown>; [key: string]: unknown };

/**
 * The per-user stack config: the tracked `Pulumi.local.yaml` (so changes to it reach every laptop),
 * with this user's runner label, and with what only this user's file holds: the `encryptionsalt`
 * (and any other secrets-provider line) and the encrypted credentials. Credentials of the other auth
 * method are dropped when new ones come in; `github.auth` follows the credentials stored.
 */
export function mergeUserConfig(
    trackedYaml: string,
    previousYaml: string | undefined,
    runnerLabel: string,
    incoming?: "app" | "token",
    settings: LocalSettings = {},
): string {
    const tracked = (yaml.load(trackedYaml) ?? {}) as StackFile;
    const previous = ((previousYaml && yaml.load(previousYaml)) || {}) as StackFile;
    const config: Record<string, unknown> = JSON.parse(JSON.stringify(tracked.config ?? {}));
    const ns = "arc-buildkit:";

    // The scale set named after the contract label gets this user's name; the contract label
    // (`runnerLabel`, `arc-local`) stays on it as an extra runs-on label, and stays the stack's label.
    const trackedLabel = config[`${ns}runnerLabel`];
    const arc = config[`${ns}arc`] as { scaleSets?: { name: string; labels?: string[] }[] } | undefined;
    for (const set of arc?.scaleSets ?? []) {
        if (set.name === trackedLabel && typeof trackedLabel === "string" && runnerLabel !== trackedLabel) {
            set.name = runnerLabel;
            set.labels = [trackedLabel, ...(set.labels ?? []).filter((l) => l !== trackedLabel)];
        }
        if (settings.runnerGroup) (set as { runnerGroup?: string }).runnerGroup = settings.runnerGroup;
    }
    // This laptop's organization and cluster (SETTING_ENV), over the tracked file's.
    const githubConfig = config[`${ns}github`] as { configUrl?: string } | undefined;
    if (settings.configUrl && githubConfig) githubConfig.configUrl = settings.configUrl;
    const cluster = config[`${ns}cluster`] as { kubeContext?: string } | undefined;
    if (settings.clusterName && cluster) cluster.kubeContext = clusterOf(settings).context;

    const methodOf = (key: string) => (key === GITHUB_CREDENTIAL_KEYS.token ? "token" : "app");
    let stored: "app" | "token" | undefined;
    for (const key of GITHUB_CREDENTIAL_KEY_LIST) {
        const value = previous.config?.[`${ns}${key}`];
        if (value === undefined || (incoming && methodOf(key) !== incoming)) continue;
        config[`${ns}${key}`] = value;
        stored = methodOf(key);
    }
    const auth = incoming ?? stored;
    const github = config[`${ns}github`] as { auth?: string } | undefined;
    if (auth && github) github.auth = auth;

    const out: StackFile = {};
    for (const [key, value] of Object.entries(previous)) {
        if (key !== "config") out[key] = value; // encryptionsalt, secretsprovider, encryptedkey
    }
    out.config = config;
    return (
        `# Generated by \`npm run local:up\` from ${TRACKED_CONFIG} for ${runnerLabel}. Git-ignored and rewritten on every run:\n` +
        `# edit ${TRACKED_CONFIG} instead. Holds this laptop's encryptionsalt and encrypted GitHub credentials.\n` +
        yaml.dump(out, { lineWidth: -1, noRefs: true })
    );
}

export interface Step {
    /** Shown before the command runs. */
    title: string;
    cmd: string;
    args: string[];
    /** Working directory relative to the repository (default: the repository). */
    cwd?: string;
    /** A secret value given on stdin, never on the command line. */
    stdin?: SecretSource;
}

export interface PlanInput {
    repoRoot: string;
    clusterExists: boolean;
    stackExists: boolean;
    /** pass --yes to pulumi (non-interactive shells, or the user asked for it) */
    assumeYes: boolean;
    credentials?: CredentialInput;
    /** `pulumi up --refresh`: the state may describe another cluster than the one there now (see {@link refreshReason}). */
    refresh?: boolean;
    /** the k3d cluster (default CLUSTER_NAME; ARC_BUILDKIT_CLUSTER_NAME) */
    clusterName?: string;
}

/** Where local:up records which cluster the state describes: the UID of its kube-system namespace. */
export const CLUSTER_ID_FILE = path.join(STATE_DIR, "k3d-cluster-uid");

export interface ClusterIdentity {
    stackExists: boolean;
    /** The cluster is created by this run. */
    clusterCreated: boolean;
    /** kube-system's UID recorded by the last successful local:up, if any. */
    recorded?: string;
    /** kube-system's UID now (undefined when the cluster does not exist yet or cannot be read). */
    current?: string;
}

/**
 * Why the state cannot be trusted, or undefined when it can. A k3d cluster deleted and created again
 * (`k3d cluster delete`, Docker reset, a new laptop with the old state directory) keeps its name and
 * kube context, so the Kubernetes provider's identity (its `clusterIdentifier`, the context) is the
 * same and `pulumi up` would compare the program with a state that describes the old cluster: "no
 * changes" on an empty cluster. The kube-system namespace's UID is new in every cluster, so it tells
 * the two apart; with a refresh first, Pulumi drops what is gone from its state and creates it again.
 */
export function refreshReason(id: ClusterIdentity): string | undefined {
    if (!id.stackExists) {
        return undefined;
    }
    if (id.clusterCreated) {
        return "the k3d cluster is new but the stack's state survived";
    }
    if (id.current === undefined) {
        return "the cluster's identity could not be read";
    }
    if (id.recorded === undefined) {
        return "no cluster identity was recorded by an earlier local:up";
    }
    return id.recorded === id.current ? undefined : `the k3d cluster was re-created (kube-system UID ${id.recorded} -> ${id.current})`;
}

/**
 * Writes the per-user stack config (and the passphrase file): the first step of local:up, as a command
 * of its own so that a dry run's output replays on a fresh clone (every later step needs that directory).
 */
export const WRITE_CONFIG_STEP: Step = {
    title: `Write ${USER_CONFIG} (${TRACKED_CONFIG} with your scale set, organization and cluster; your encryptionsalt and secrets; git-ignored)`,
    cmd: "node_modules/.bin/tsx",
    args: ["scripts/local-env.ts", "config"],
};

/** Environment for every pulumi command: a repo-local file backend, never the user's global login. */
export function pulumiEnv(repoRoot: string, env: NodeJS.ProcessEnv): Record<string, string> {
    const out: Record<string, string> = { PULUMI_BACKEND_URL: `file://${path.join(repoRoot, STATE_DIR)}` };
    if (!env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
        out.PULUMI_CONFIG_PASSPHRASE_FILE = path.join(repoRoot, STATE_DIR, PASSPHRASE_FILE);
    }
    return out;
}

const stackFlags = ["--stack", STACK, "--config-file", USER_CONFIG];

export function planUp(input: PlanInput): Step[] {
    const steps: Step[] = [WRITE_CONFIG_STEP];
    const cluster = input.clusterName ?? CLUSTER_NAME;
    if (!input.clusterExists) {
        steps.push({
            title: `Create k3d cluster '${cluster}' (kube context k3d-${cluster}, k3s pinned)`,
            cmd: "k3d",
            args: ["cluster", "create", cluster, "--image", K3S_IMAGE, "--wait", "--kubeconfig-update-default", "--kubeconfig-switch-context=false"],
        });
    }
    if (!input.stackExists) {
        steps.push({
            title: `Create stack '${STACK}' in the repo-local backend (its encryptionsalt goes to ${USER_CONFIG}, not ${TRACKED_CONFIG})`,
            cmd: "pulumi",
            args: ["stack", "init", STACK, "--secrets-provider", "passphrase", "--non-interactive"],
            cwd: USER_STACK_DIR,
        });
    }
    for (const { key, source } of input.credentials?.values ?? []) {
        steps.push({
            title: `Store ${key} as a secret of '${STACK}' (from ${"env" in source ? `$${source.env}` : source.file})`,
            cmd: "pulumi",
            args: ["config", "set", "--secret", ...stackFlags, `arc-buildkit:${key}`],
            stdin: source,
        });
    }
    steps.push({
        title: `pulumi up on '${STACK}' with the policy pack${input.refresh ? ", refreshing the state from the cluster first" : ""}`,
        cmd: "pulumi",
        args: [
            "up",
            ...stackFlags,
            "--policy-pack",
            "policy",
            ...(input.refresh ? ["--refresh"] : []),
            ...(input.assumeYes ? ["--yes", "--non-interactive"] : []),
        ],
    });
    return steps;
}

export interface DownInput {
    clusterExists: boolean;
    stackExists: boolean;
    /** skip `pulumi destroy` (e.g. the cluster is broken) */
    force: boolean;
    /** the k3d cluster (default CLUSTER_NAME; ARC_BUILDKIT_CLUSTER_NAME) */
    clusterName?: string;
}

export function planDown(input: DownInput): Step[] {
    const steps: Step[] = [];
    if (input.stackExists && input.clusterExists && !input.force) {
        // Destroy first so Helm uninstalls the runner scale sets and ARC deregisters them from GitHub.
        steps.push({
            title: `pulumi destroy on '${STACK}'`,
            cmd: "pulumi",
            args: ["destroy", ...stackFlags, "--yes", "--non-interactive"],
        });
    }
    if (input.stackExists) {
        // --preserve-config: without it `pulumi stack rm` deletes Pulumi.local.yaml, a tracked file.
        steps.push({
            title: `Remove stack '${STACK}' from the repo-local backend (keeping ${TRACKED_CONFIG})`,
            cmd: "pulumi",
            args: ["stack", "rm", STACK, "--yes", "--force", "--preserve-config", "--non-interactive"],
        });
    }
    if (input.clusterExists) {
        const cluster = input.clusterName ?? CLUSTER_NAME;
        steps.push({ title: `Delete k3d cluster '${cluster}'`, cmd: "k3d", args: ["cluster", "delete", cluster] });
    }
    return steps;
}

/** Names of the stacks in `pulumi stack ls --json` output. */
export function stackNames(json: string): string[] {
    const parsed: unknown = JSON.parse(json);
    if (!Array.isArray(parsed)) return [];
    return parsed.flatMap((s) => (s && typeof s === "object" && typeof s.name === "string" ? [s.name as string] : []));
}

const quote = (a: string) => (/^[\w./:=@,-]+$/.test(a) ? a : JSON.stringify(a));

/** The step as a shell command that does exactly what local:up does (run from the repository root). */
export function render(step: Step): string {
    let line = [step.cmd, ...step.args].map(quote).join(" ");
    if (step.stdin) line = "env" in step.stdin ? `printf '%s' "$${step.stdin.env}" | ${line}` : `${line} < ${quote(step.stdin.file)}`;
    return step.cwd ? `(cd ${quote(step.cwd)} && ${line})` : line;
}

// ---------------------------------------------------------------------------------------------------
// Side effects below this line.

function quiet(cmd: string, args: string[], env: NodeJS.ProcessEnv): { ok: boolean; stdout: string } {
    const r = spawnSync(cmd, args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return { ok: r.status === 0, stdout: r.stdout ?? "" };
}

export function ensureLocalState(repoRoot: string, env: Record<string, string>): void {
    const dir = path.join(repoRoot, STATE_DIR);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = env.PULUMI_CONFIG_PASSPHRASE_FILE;
    if (file && !fs.existsSync(file)) {
        fs.writeFileSync(file, randomBytes(24).toString("base64url") + "\n", { mode: 0o600 });
        console.log(`Generated a passphrase for the local stack's secrets in ${file} (git-ignored; keep it with ${STATE_DIR}/).`);
    }
}

/** Writes the per-user project directory: a copy of Pulumi.yaml and the merged per-user stack config. */
export function writeUserConfig(repoRoot: string, runnerLabel: string, incoming?: "app" | "token", settings: LocalSettings = {}): void {
    const dir = path.join(repoRoot, USER_STACK_DIR);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.copyFileSync(path.join(repoRoot, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const file = path.join(repoRoot, USER_CONFIG);
    const previous = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
    const tracked = fs.readFileSync(path.join(repoRoot, TRACKED_CONFIG), "utf8");
    fs.writeFileSync(file, mergeUserConfig(tracked, previous, runnerLabel, incoming, settings), { mode: 0o600 });
    fs.writeFileSync(path.join(repoRoot, SETTINGS_FILE), JSON.stringify(settings, null, 2) + "\n", { mode: 0o600 });
}

/** The settings an earlier local:up stored ({} when none, or when the file is unreadable). */
export function readStoredSettings(repoRoot: string): LocalSettings {
    try {
        const parsed: unknown = JSON.parse(fs.readFileSync(path.join(repoRoot, SETTINGS_FILE), "utf8"));
        if (!parsed || typeof parsed !== "object") return {};
        return Object.fromEntries(Object.entries(parsed).filter(([k, v]) => k in SETTING_ENV && typeof v === "string")) as LocalSettings;
    } catch {
        return {};
    }
}

function describeSettings(runnerLabel: string, s: LocalSettings): string {
    const tracked = `(${TRACKED_CONFIG})`;
    return (
        `Your runners: scale set ${runnerLabel} (label arc-local), organization ${s.configUrl ?? `${trackedValue("configUrl")} ${tracked}`}, ` +
        `runner group ${s.runnerGroup ?? `${trackedValue("runnerGroup")} ${tracked}`}; cluster ${clusterOf(s).name} (kube context ${clusterOf(s).context})`
    );
}

/** A value of the tracked stack file, for messages. */
function trackedValue(key: "configUrl" | "runnerGroup"): string {
    try {
        const config = ((yaml.load(fs.readFileSync(path.resolve(__dirname, "..", TRACKED_CONFIG), "utf8")) ?? {}) as StackFile).config ?? {};
        if (key === "configUrl") return String((config["arc-buildkit:github"] as { configUrl?: string })?.configUrl);
        return String((config["arc-buildkit:arc"] as { scaleSets?: { runnerGroup?: string }[] })?.scaleSets?.[0]?.runnerGroup ?? "default");
    } catch {
        return "?";
    }
}

/** What local:up (and its config step) read from the environment, checked before anything changes. */
function readUpInputs(
    repoRoot: string,
    env: NodeJS.ProcessEnv,
): { error: string } | { credentials?: CredentialInput; runnerLabel: string; settings: LocalSettings } {
    const found = credentialsFromEnv(env);
    if (found && "error" in found) return { error: found.error };
    const resolved = resolveSettings(env, readStoredSettings(repoRoot), found !== undefined);
    if ("error" in resolved) return resolved;
    const label = resolved.settings.runnerLabel ? { label: resolved.settings.runnerLabel } : userRunnerLabel(env);
    if ("error" in label) return label;
    const keyProblem = checkSecretFiles(found, (file) => fs.readFileSync(file, "utf8"));
    if (keyProblem) return { error: keyProblem };
    return { credentials: found, runnerLabel: label.label, settings: resolved.settings };
}

function main(argv: string[]): number {
    const [mode, ...flags] = argv;
    const repoRoot = path.resolve(__dirname, "..");
    if (mode === "config") {
        // local:up's first step (WRITE_CONFIG_STEP), also run by hand when replaying a dry run.
        const inputs = readUpInputs(repoRoot, process.env);
        if ("error" in inputs) {
            console.error(`local:up: ${inputs.error}`);
            return 1;
        }
        // A replayed dry run exports PULUMI_CONFIG_PASSPHRASE_FILE as local:up sets it: still local:up's file to generate.
        const ownPassphrase = pulumiEnv(repoRoot, {}).PULUMI_CONFIG_PASSPHRASE_FILE;
        const env = process.env.PULUMI_CONFIG_PASSPHRASE_FILE === ownPassphrase ? { ...process.env, PULUMI_CONFIG_PASSPHRASE_FILE: undefined } : process.env;
        ensureLocalState(repoRoot, pulumiEnv(repoRoot, env));
        writeUserConfig(repoRoot, inputs.runnerLabel, inputs.credentials?.method, inputs.settings);
        console.log(`Wrote ${USER_CONFIG}. ${describeSettings(inputs.runnerLabel, inputs.settings)}`);
        return 0;
    }
    if (mode !== "up" && mode !== "down") {
        console.error("usage: tsx scripts/local-env.ts up|down [--dry-run] [--yes] [--force]   (or: config, local:up's first step)");
        return 2;
    }
    const dryRun = flags.includes("--dry-run");

    // Every input is checked first, before any command runs (even `docker info`): a bad one stops local:up with one message.
    let credentials: CredentialInput | undefined;
    let settings: LocalSettings = readStoredSettings(repoRoot);
    let runnerLabel = "";
    if (mode === "up") {
        const inputs = readUpInputs(repoRoot, process.env);
        if ("error" in inputs) {
            console.error(`local:up: ${inputs.error}`);
            return 1;
        }
        credentials = inputs.credentials;
        settings = inputs.settings;
        runnerLabel = inputs.runnerLabel;
    }
    const onPath = makePathLookup(process.env.PATH);
    if (mode === "down" && !dryRun && nothingToTearDown(fs.existsSync(path.join(repoRoot, STATE_DIR)), onPath("k3d"))) {
        console.log(`Nothing to do: no local state (${STATE_DIR}/) and no k3d on PATH, so there is no stack or cluster to remove.`);
        return 0;
    }
    const missing = findMissing(onPath, mode);
    const dockerOk = missing.some((m) => m.tool === "docker") ? undefined : quiet("docker", ["info"], process.env).ok;
    const report = prerequisiteReport(missing, platformOf(process.platform), dockerOk, mode);
    if (report !== "" && !dryRun) {
        console.error(report);
        return 1;
    }

    const cluster = clusterOf(settings);

    const penv = pulumiEnv(repoRoot, process.env);
    const childEnv = { ...process.env, ...penv };
    // A dry run on a machine without the tools assumes nothing exists yet, so it shows every command.
    const canQuery = missing.length === 0;
    const clusterExists = canQuery && quiet("k3d", ["cluster", "get", cluster.name], childEnv).ok;
    const ls = canQuery && fs.existsSync(path.join(repoRoot, STATE_DIR)) ? quiet("pulumi", ["stack", "ls", "--json"], childEnv) : undefined;
    const stackExists = ls?.ok === true && stackNames(ls.stdout).includes(STACK);
    const kubeSystemUid = () => {
        const r = quiet("kubectl", ["--context", cluster.context, "get", "namespace", "kube-system", "-o", "jsonpath={.metadata.uid}"], childEnv);
        return r.ok && r.stdout.trim() !== "" ? r.stdout.trim() : undefined;
    };
    const idFile = path.join(repoRoot, CLUSTER_ID_FILE);
    const recorded = fs.existsSync(idFile) ? fs.readFileSync(idFile, "utf8").trim() : undefined;
    const reason =
        mode === "up" && canQuery
            ? refreshReason({ stackExists, clusterCreated: !clusterExists, recorded, current: clusterExists ? kubeSystemUid() : undefined })
            : undefined;
    if (reason && !dryRun) console.log(`Refreshing the state before the update: ${reason}.`);
    let steps: Step[];
    if (mode === "up") {
        steps = planUp({
            repoRoot,
            clusterExists,
            stackExists,
            assumeYes: flags.includes("--yes") || !process.stdin.isTTY,
            credentials,
            refresh: reason !== undefined,
            clusterName: cluster.name,
        });
    } else {
        const assumeAll = dryRun && !canQuery;
        steps = planDown({
            clusterExists: clusterExists || assumeAll,
            stackExists: stackExists || assumeAll,
            force: flags.includes("--force"),
            clusterName: cluster.name,
        });
    }

    if (dryRun) {
        if (report !== "") console.error(`${report}\n\n(--dry-run: printing the commands anyway, as on a machine where nothing exists yet.)\n`);
        // Replayable as printed: paste the lines below into a shell at the repository root, with the same
        // ARC_BUILDKIT_* variables exported, and they do what local:up would do.
        console.log(
            "# Dry run: a shell script of what local:" + mode + " would run (paste it, or pipe it to sh, with the same ARC_BUILDKIT_* variables exported).",
        );
        console.log(`cd ${quote(repoRoot)}`);
        console.log(
            `export ${Object.entries(penv)
                .map(([k, v]) => `${k}=${quote(v)}`)
                .join(" ")}`,
        );
    } else {
        console.log(`State backend: ${penv.PULUMI_BACKEND_URL} (your global \`pulumi login\` is not changed)`);
    }
    // A dry run's output is a shell script: everything but the commands is a comment.
    const note = (text: string) => console.log(dryRun ? text.replace(/^/gm, "# ") : text);
    if (mode === "up") note(describeSettings(runnerLabel, settings));
    if (mode === "up" && !credentials) {
        note(
            `No GitHub credentials in the environment: runners are added once ${CREDENTIAL_ENV.token} or the three ARC_BUILDKIT_GITHUB_APP_* variables are set, with ${SETTING_ENV.configUrl} (docs/local.md: "Add runners").`,
        );
    }
    for (const step of steps) {
        if (dryRun) {
            console.log(`\n# ==> ${step.title}\n${render(step)}`);
            continue;
        }
        console.log(`\n==> ${step.title}\n    $ ${render(step)}`);
        const stdin = step.stdin ? ("env" in step.stdin ? Buffer.from(process.env[step.stdin.env] ?? "") : fs.readFileSync(step.stdin.file)) : undefined;
        const r = spawnSync(step.cmd, step.args, {
            cwd: path.join(repoRoot, step.cwd ?? "."),
            env: childEnv,
            input: stdin,
            stdio: [stdin ? "pipe" : "inherit", "inherit", "inherit"],
        });
        if (r.status !== 0) {
            console.error(`\nlocal:${mode} stopped: \`${render(step)}\` exited with ${r.status ?? r.signal}.`);
            if (mode === "down" && step.args[0] === "destroy") {
                console.error("If the cluster is unusable, `npm run local:down -- --force` skips the destroy and deletes it.");
            }
            return 1;
        }
    }
    if (mode === "up" && !dryRun) {
        // The state now describes this cluster: record which one, for the next local:up.
        const uid = kubeSystemUid();
        if (uid) fs.writeFileSync(idFile, `${uid}\n`, { mode: 0o600 });
    }
    if (mode === "down" && !dryRun && steps.some((step) => step.cmd === "k3d")) fs.rmSync(idFile, { force: true });
    if (steps.length === 0) console.log("Nothing to do.");
    else if (!dryRun) console.log(`\nlocal:${mode} done.${mode === "up" ? ` kube context: ${cluster.context}` : ""}`);
    return 0;
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2));
}
