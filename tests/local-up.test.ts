import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import {
  CLUSTER_NAME,
  PREREQUISITES,
  findMissing,
  makePathLookup,
  planDown,
  planUp,
  platformOf,
  prerequisiteReport,
  pulumiEnv,
  render,
  stackNames,
} from "../scripts/local-env";

const repoRoot = "/src/arc-buildkit";

describe("local-env: prerequisites", () => {
  it("checks pulumi, k3d, docker and kubectl", () => {
    assert.deepEqual(PREREQUISITES.map((p) => p.tool), ["pulumi", "k3d", "docker", "kubectl"]);
  });

  it("finds tools through the PATH lookup only", () => {
    const present = new Set(["/usr/bin/docker", "/opt/k3d/k3d"]);
    const onPath = makePathLookup(["/usr/bin", "/opt/k3d", ""].join(path.delimiter), (f) => present.has(f));
    assert.deepEqual(findMissing(onPath).map((p) => p.tool), ["pulumi", "kubectl"]);
  });

  it("reports every tool as missing with an empty PATH", () => {
    assert.equal(findMissing(makePathLookup(undefined, () => true)).length, 4);
  });

  it("names each missing tool with Linux and macOS install instructions", () => {
    const missing = findMissing(() => false);
    const text = prerequisiteReport(missing, "other", undefined);
    for (const tool of ["pulumi", "k3d", "docker", "kubectl"]) assert.match(text, new RegExp(`^  ${tool}: not found on PATH`, "m"));
    assert.match(text, /get\.pulumi\.com/);
    assert.match(text, /brew install k3d/);
    assert.match(text, /Linux: .*docs\.docker\.com\/engine\/install/);
    assert.match(text, /brew install kubectl/);
  });

  it("shows only the current platform's instructions", () => {
    const linux = prerequisiteReport(findMissing(() => false), "linux", undefined);
    assert.doesNotMatch(linux, /macOS:/);
    const mac = prerequisiteReport(findMissing(() => false), "macos", undefined);
    assert.doesNotMatch(mac, /Linux:/);
    assert.equal(platformOf("darwin"), "macos");
    assert.equal(platformOf("linux"), "linux");
    assert.equal(platformOf("win32"), "other");
  });

  it("says when docker is installed but its daemon is unreachable", () => {
    const text = prerequisiteReport([], "linux", false);
    assert.match(text, /cannot reach a Docker daemon/);
    assert.match(text, /systemctl start docker/);
    assert.doesNotMatch(text, /Docker Desktop/);
    assert.equal(prerequisiteReport([], "linux", true), "");
  });
});

describe("local-env: command plan for local:up", () => {
  it("creates the cluster when absent, without switching the user's kube context", () => {
    const steps = planUp({ repoRoot, clusterExists: false, assumeYes: false }).map(render);
    assert.equal(steps[0], `k3d cluster create ${CLUSTER_NAME} --wait --kubeconfig-update-default --kubeconfig-switch-context=false`);
  });

  it("installs the policy pack, selects or creates 'local', then runs pulumi up with the pack", () => {
    const steps = planUp({ repoRoot, clusterExists: true, assumeYes: false }).map(render);
    assert.deepEqual(steps, [
      "npm ci --prefix policy --no-audit --no-fund",
      "pulumi stack select local --create --secrets-provider passphrase --non-interactive",
      "pulumi up --stack local --policy-pack policy",
    ]);
  });

  it("passes --yes only when asked (or when there is no terminal)", () => {
    const last = planUp({ repoRoot, clusterExists: true, assumeYes: true }).at(-1)!;
    assert.deepEqual(last.args.slice(-2), ["--yes", "--non-interactive"]);
  });

  it("uses a repo-local file backend and a generated passphrase file unless one is given", () => {
    assert.deepEqual(pulumiEnv(repoRoot, {}), {
      PULUMI_BACKEND_URL: `file://${repoRoot}/.pulumi-state`,
      PULUMI_CONFIG_PASSPHRASE_FILE: `${repoRoot}/.pulumi-state/passphrase.txt`,
    });
    assert.deepEqual(pulumiEnv(repoRoot, { PULUMI_CONFIG_PASSPHRASE: "x" }), {
      PULUMI_BACKEND_URL: `file://${repoRoot}/.pulumi-state`,
    });
    assert.deepEqual(Object.keys(pulumiEnv(repoRoot, { PULUMI_CONFIG_PASSPHRASE_FILE: "/p" })), ["PULUMI_BACKEND_URL"]);
  });
});

describe("local-env: command plan for local:down", () => {
  it("destroys, removes the stack, then deletes the cluster", () => {
    assert.deepEqual(planDown({ clusterExists: true, stackExists: true, force: false }).map(render), [
      "pulumi destroy --stack local --yes --non-interactive",
      "pulumi stack rm local --yes --force --non-interactive",
      "k3d cluster delete buildkit",
    ]);
  });

  it("skips destroy with --force or without a cluster, and does nothing when nothing exists", () => {
    const forced = planDown({ clusterExists: true, stackExists: true, force: true }).map((s) => s.args[0]);
    assert.deepEqual(forced, ["stack", "cluster"]);
    assert.deepEqual(planDown({ clusterExists: false, stackExists: true, force: false }).map(render), [
      "pulumi stack rm local --yes --force --non-interactive",
    ]);
    assert.deepEqual(planDown({ clusterExists: false, stackExists: false, force: false }), []);
  });

  it("reads stack names from `pulumi stack ls --json`", () => {
    assert.deepEqual(stackNames('[{"name":"local","current":true},{"name":"aks"}]'), ["local", "aks"]);
    assert.deepEqual(stackNames("{}"), []);
  });
});

describe("local-env: entry point", () => {
  // The script under tsx's loader in one process, as `tsx scripts/local-env.ts` runs it (tsx's CLI
  // only adds a second process that starts the first one).
  const TSX = ["--require", require.resolve("tsx/cjs")];
  it("exits 1 and lists every missing tool when none is on PATH", () => {
    const r = spawnSync(process.execPath, [...TSX, path.join(__dirname, "..", "scripts", "local-env.ts"), "up"], {
      env: { PATH: "", HOME: process.env.HOME ?? "/tmp" },
      encoding: "utf8",
    });
    assert.equal(r.status, 1, r.stderr);
    for (const tool of ["pulumi", "k3d", "docker", "kubectl"]) assert.match(r.stderr, new RegExp(`${tool}: not found on PATH`));
    assert.equal(r.stdout, "");
  });

  it("rejects an unknown mode", () => {
    const r = spawnSync(process.execPath, [...TSX, path.join(__dirname, "..", "scripts", "local-env.ts"), "sideways"], {
      encoding: "utf8",
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /usage:/);
  });
});
