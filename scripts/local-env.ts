// One-command local environment: `npm run local:up` / `npm run local:down`.
//
// Everything that decides something is a pure exported function (tested in tests/local-up.test.ts);
// only `main` touches PATH, the file system and child processes.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

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
export function makePathLookup(
  pathEnv: string | undefined,
  isExecutable: (file: string) => boolean = defaultIsExecutable,
): (cmd: string) => boolean {
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
export function prerequisiteReport(
  missing: readonly Prerequisite[],
  platform: Platform,
  dockerDaemonReachable: boolean | undefined,
): string {
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

export interface Step {
  /** Shown before the command runs. */
  title: string;
  cmd: string;
  args: string[];
}

export interface PlanInput {
  repoRoot: string;
  clusterExists: boolean;
  /** pass --yes to pulumi (non-interactive shells, or the user asked for it) */
  assumeYes: boolean;
}

/** Environment for every pulumi command: a repo-local file backend, never the user's global login. */
export function pulumiEnv(repoRoot: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = { PULUMI_BACKEND_URL: `file://${path.join(repoRoot, STATE_DIR)}` };
  if (!env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    out.PULUMI_CONFIG_PASSPHRASE_FILE = path.join(repoRoot, STATE_DIR, PASSPHRASE_FILE);
  }
  return out;
}

export function planUp(input: PlanInput): Step[] {
  const steps: Step[] = [];
  if (!input.clusterExists) {
    steps.push({
      title: `Create k3d cluster '${CLUSTER_NAME}' (kube context ${KUBE_CONTEXT})`,
      cmd: "k3d",
      args: ["cluster", "create", CLUSTER_NAME, "--wait", "--kubeconfig-update-default", "--kubeconfig-switch-context=false"],
    });
  }
  steps.push(
    { title: "Install the policy pack's dependencies", cmd: "npm", args: ["ci", "--prefix", "policy", "--no-audit", "--no-fund"] },
    {
      title: `Select (or create) stack '${STACK}' in the repo-local backend`,
      cmd: "pulumi",
      args: ["stack", "select", STACK, "--create", "--secrets-provider", "passphrase", "--non-interactive"],
    },
    {
      title: `pulumi up on '${STACK}' with the policy pack`,
      cmd: "pulumi",
      args: ["up", "--stack", STACK, "--policy-pack", "policy", ...(input.assumeYes ? ["--yes", "--non-interactive"] : [])],
    },
  );
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
      args: ["destroy", "--stack", STACK, "--yes", "--non-interactive"],
    });
  }
  if (input.stackExists) {
    steps.push({
      title: `Remove stack '${STACK}' from the repo-local backend`,
      cmd: "pulumi",
      args: ["stack", "rm", STACK, "--yes", "--force", "--non-interactive"],
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

export function render(step: Step): string {
  return [step.cmd, ...step.args].map((a) => (/^[\w./:=@,-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
}

// ---------------------------------------------------------------------------------------------------
// Side effects below this line.

function quiet(cmd: string, args: string[], env: NodeJS.ProcessEnv): { ok: boolean; stdout: string } {
  const r = spawnSync(cmd, args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return { ok: r.status === 0, stdout: r.stdout ?? "" };
}

function ensureLocalState(repoRoot: string, env: Record<string, string>): void {
  const dir = path.join(repoRoot, STATE_DIR);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (file && !fs.existsSync(file)) {
    fs.writeFileSync(file, randomBytes(24).toString("base64url") + "\n", { mode: 0o600 });
    console.log(`Generated a passphrase for the local stack's secrets in ${file} (git-ignored; keep it with ${STATE_DIR}/).`);
  }
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
  if (report !== "") {
    console.error(report);
    return 1;
  }

  const penv = pulumiEnv(repoRoot, process.env);
  const childEnv = { ...process.env, ...penv };
  const clusterExists = quiet("k3d", ["cluster", "get", CLUSTER_NAME], childEnv).ok;
  let steps: Step[];
  if (mode === "up") {
    steps = planUp({ repoRoot, clusterExists, assumeYes: flags.includes("--yes") || !process.stdin.isTTY });
  } else {
    const ls = fs.existsSync(path.join(repoRoot, STATE_DIR)) ? quiet("pulumi", ["stack", "ls", "--json"], childEnv) : undefined;
    const stackExists = ls?.ok === true && stackNames(ls.stdout).includes(STACK);
    steps = planDown({ clusterExists, stackExists, force: flags.includes("--force") });
  }

  console.log(`State backend: ${penv.PULUMI_BACKEND_URL} (your global \`pulumi login\` is not changed)`);
  if (!dryRun && mode === "up") ensureLocalState(repoRoot, penv);
  for (const step of steps) {
    console.log(`\n==> ${step.title}\n    $ ${render(step)}`);
    if (dryRun) continue;
    const r = spawnSync(step.cmd, step.args, { cwd: repoRoot, env: childEnv, stdio: "inherit" });
    if (r.status !== 0) {
      console.error(`\nlocal:${mode} stopped: \`${render(step)}\` exited with ${r.status ?? r.signal}.`);
      if (mode === "down" && step.args[0] === "destroy") {
        console.error("If the cluster is unusable, `npm run local:down -- --force` skips the destroy and deletes it.");
      }
      return 1;
    }
  }
  if (steps.length === 0) console.log("Nothing to do.");
  else if (!dryRun) console.log(`\nlocal:${mode} done.${mode === "up" ? ` kube context: ${KUBE_CONTEXT}` : ""}`);
  return 0;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
