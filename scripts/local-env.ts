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
export const KUBE_CONTEXT = `k3d-${CLUSTER_NAME}`;
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

export function findMissing(onPath: (cmd: string) => boolean): Prerequisite[] {
    return PREREQUISITES.filter((p) => !onPath(p.tool));
}

export type Platform = "linux" | "macos" | "other";

export function platformOf(nodePlatform: string): Platform {
    if (nodePlatform === "linux") return "linux";
    if (nodePlatform === "darwin") return "macos";
    return "other";
}

/** The message printed when tools are missing (or docker cannot reach its daemon). Empty when all is well. */
export function prerequisiteReport(missing: readonly Prerequisite[], platform: Platform, dockerDaemonReachable: boolean | undefined): string {
    const lines: string[] = [];
    if (missing.length > 0) {
        lines.push(`local:up needs ${missing.length} missing tool(s): ${missing.map((m) => m.tool).join(", ")}`);
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
    if (lines.length > 0) lines.push("", "Install what is listed above, then run `npm run local:up` again.");
    return lines.join("\n");
}

/**
 * k3s image of the local cluster, pinned. k3d 5.8.3 (the newest 5.x release binary) reports
 * `k3s version v1.31.5-k3s1 (default)`; its Makefile injects the k3s stable channel's tag at build time,
 * so the default would otherwise drift with the k3d build. The digest is what BuildKit resolved for
 * that tag in a public build log (see the README's "Local cluster" section).
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

/** Environment variables local:up stores as stack secrets before `pulumi up` (never on a command line). */
export const CREDENTIAL_ENV = {
    appId: "ARC_BUILDKIT_GITHUB_APP_ID",
    appInstallationId: "ARC_BUILDKIT_GITHUB_APP_INSTALLATION_ID",
    appPrivateKeyFile: "ARC_BUILDKIT_GITHUB_APP_PRIVATE_KEY_FILE",
    token: "ARC_BUILDKIT_GITHUB_TOKEN",
} as const;
/** Overrides the per-user scale set name (default `arc-local-<user>`; the contract label `arc-local` stays on it). */
export const RUNNER_LABEL_ENV = "ARC_BUILDKIT_RUNNER_LABEL";

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
                { key: GITHUB_CREDENTIAL_KEYS.appPrivateKey, source: { file: env[CREDENTIAL_ENV.appPrivateKeyFile]!.trim() } },
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
export function mergeUserConfig(trackedYaml: string, previousYaml: string | undefined, runnerLabel: string, incoming?: "app" | "token"): string {
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
    }

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
    const steps: Step[] = [];
    if (!input.clusterExists) {
        steps.push({
            title: `Create k3d cluster '${CLUSTER_NAME}' (kube context ${KUBE_CONTEXT}, k3s pinned)`,
            cmd: "k3d",
            args: ["cluster", "create", CLUSTER_NAME, "--image", K3S_IMAGE, "--wait", "--kubeconfig-update-default", "--kubeconfig-switch-context=false"],
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
        steps.push({ title: `Delete k3d cluster '${CLUSTER_NAME}'`, cmd: "k3d", args: ["cluster", "delete", CLUSTER_NAME] });
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
export function writeUserConfig(repoRoot: string, runnerLabel: string, incoming?: "app" | "token"): void {
    const dir = path.join(repoRoot, USER_STACK_DIR);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.copyFileSync(path.join(repoRoot, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const file = path.join(repoRoot, USER_CONFIG);
    const previous = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
    fs.writeFileSync(file, mergeUserConfig(fs.readFileSync(path.join(repoRoot, TRACKED_CONFIG), "utf8"), previous, runnerLabel, incoming), { mode: 0o600 });
}

function main(argv: string[]): number {
    const [mode, ...flags] = argv;
    if (mode !== "up" && mode !== "down") {
        console.error("usage: tsx scripts/local-env.ts up|down [--dry-run] [--yes] [--force]");
        return 2;
    }
    const dryRun = flags.includes("--dry-run");
    const repoRoot = path.resolve(__dirname, "..");

    const missing = findMissing(makePathLookup(process.env.PATH));
    const dockerOk = missing.some((m) => m.tool === "docker") ? undefined : quiet("docker", ["info"], process.env).ok;
    const report = prerequisiteReport(missing, platformOf(process.platform), dockerOk);
    if (report !== "" && !dryRun) {
        console.error(report);
        return 1;
    }

    let credentials: CredentialInput | undefined;
    let runnerLabel = "";
    if (mode === "up") {
        const found = credentialsFromEnv(process.env);
        const label = userRunnerLabel(process.env);
        const problem = (found && "error" in found ? found.error : undefined) ?? ("error" in label ? label.error : undefined);
        if (problem) {
            console.error(`local:up: ${problem}`);
            return 1;
        }
        credentials = found as CredentialInput | undefined;
        runnerLabel = (label as { label: string }).label;
    }

    const penv = pulumiEnv(repoRoot, process.env);
    const childEnv = { ...process.env, ...penv };
    // A dry run on a machine without the tools assumes nothing exists yet, so it shows every command.
    const canQuery = missing.length === 0;
    const clusterExists = canQuery && quiet("k3d", ["cluster", "get", CLUSTER_NAME], childEnv).ok;
    const ls = canQuery && fs.existsSync(path.join(repoRoot, STATE_DIR)) ? quiet("pulumi", ["stack", "ls", "--json"], childEnv) : undefined;
    const stackExists = ls?.ok === true && stackNames(ls.stdout).includes(STACK);
    const kubeSystemUid = () => {
        const r = quiet("kubectl", ["--context", KUBE_CONTEXT, "get", "namespace", "kube-system", "-o", "jsonpath={.metadata.uid}"], childEnv);
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
        });
    } else {
        const assumeAll = dryRun && !canQuery;
        steps = planDown({ clusterExists: clusterExists || assumeAll, stackExists: stackExists || assumeAll, force: flags.includes("--force") });
    }

    if (dryRun) {
        if (report !== "") console.error(`${report}\n\n(--dry-run: printing the commands anyway, as on a machine where nothing exists yet.)\n`);
        console.log("# Dry run: the commands, run from the repository root with this environment:");
        console.log(
            `export ${Object.entries(penv)
                .map(([k, v]) => `${k}=${quote(v)}`)
                .join(" ")}`,
        );
    } else {
        console.log(`State backend: ${penv.PULUMI_BACKEND_URL} (your global \`pulumi login\` is not changed)`);
    }
    if (mode === "up") {
        const what = `${USER_CONFIG}: ${TRACKED_CONFIG} with scale set ${runnerLabel} (label arc-local), your encryptionsalt and secrets (git-ignored)`;
        if (dryRun) {
            console.log(`\n==> Write ${what}`);
        } else {
            ensureLocalState(repoRoot, penv);
            writeUserConfig(repoRoot, runnerLabel, credentials?.method);
            console.log(`\n==> Wrote ${what}`);
        }
        if (!credentials) {
            console.log(
                `    No GitHub credentials in the environment: runners are added once ${CREDENTIAL_ENV.token} or the three ARC_BUILDKIT_GITHUB_APP_* variables are set (README: "Add runners to the local stack").`,
            );
        }
    }
    for (const step of steps) {
        console.log(`\n==> ${step.title}\n    $ ${render(step)}`);
        if (dryRun) continue;
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
    else if (!dryRun) console.log(`\nlocal:${mode} done.${mode === "up" ? ` kube context: ${KUBE_CONTEXT}` : ""}`);
    return 0;
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2));
}
