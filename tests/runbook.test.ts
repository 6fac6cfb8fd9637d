// Runbook and CI shell scripts: syntax, shellcheck (when installed), and refusal to run without --context.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROBE_NAME } from "../components/probe";
import { needTool } from "./harness/skip";

const root = path.join(__dirname, "..");
const scripts = [
    "scripts/runbook/inspect-buildkit.sh",
    "scripts/runbook/reach-buildkit.sh",
    "scripts/ci/check-pulumi-settings.sh",
    "scripts/test.sh",
    ".ci/run",
];
const bash = spawnSync("sh", ["-c", "command -v bash"], { encoding: "utf8" }).stdout.trim();
const run = (args: string[], env: NodeJS.ProcessEnv = { PATH: process.env.PATH }) => spawnSync(bash, args, { cwd: root, env, encoding: "utf8" });

describe("runbook scripts", () => {
    for (const s of scripts) {
        it(`${s} parses (bash -n) and uses strict mode`, () => {
            assert.equal(run(["-n", s]).status, 0);
            assert.match(fs.readFileSync(path.join(root, s), "utf8"), /^set -euo pipefail$/m);
        });
        it(`${s} passes shellcheck`, function () {
            needTool(this, "shellcheck");
            const r = spawnSync("shellcheck", ["--norc", path.join(root, s)], { encoding: "utf8" });
            assert.equal(r.status, 0, r.stdout + r.stderr);
        });
    }

    for (const s of scripts.slice(0, 2)) {
        it(`${s} refuses to run without --context, before calling kubectl`, () => {
            // PATH without kubectl: reaching kubectl would fail differently than the usage error.
            const r = run([s], { PATH: "/nonexistent" });
            assert.equal(r.status, 2);
            assert.match(r.stderr, /--context/);
        });
    }

    for (const s of scripts.slice(0, 2)) {
        it(`${s} says kubectl is missing, instead of blaming the cluster`, () => {
            const args = s.includes("reach") ? ["--context", "x", "--image", `moby/buildkit:v0.31.2@sha256:${"0".repeat(64)}`] : ["--context", "x"];
            const r = run([s, ...args], { PATH: "/nonexistent" });
            assert.equal(r.status, 127, r.stdout + r.stderr);
            assert.match(r.stderr, /^kubectl not found on PATH: /);
            assert.doesNotMatch(r.stdout + r.stderr, /unreachable|FAIL/);
        });
    }

    it("reach-buildkit --stack says pulumi is missing", () => {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "runbook-bin-"));
        fs.writeFileSync(path.join(bin, "kubectl"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
        try {
            const r = run(["scripts/runbook/reach-buildkit.sh", "--context", "x", "--stack", "aks"], { PATH: bin });
            assert.equal(r.status, 127, r.stdout + r.stderr);
            assert.match(r.stderr, /^not found on PATH: pulumi \(--stack reads the image/);
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
        const none = run(["scripts/runbook/reach-buildkit.sh", "--context", "x", "--stack", "aks"], { PATH: "/nonexistent" });
        assert.equal(none.status, 127, none.stdout + none.stderr);
        assert.match(none.stderr, /^not found on PATH: pulumi kubectl /, "both missing tools, named at once");
    });

    it("the ARC scripts say which tools are missing before they run anything, instead of blaming the cluster", () => {
        const crds = run(["scripts/arc/apply-crds.sh", "--context", "x", "--version", "0.14.2"], { PATH: "/nonexistent" });
        assert.equal(crds.status, 127, crds.stdout + crds.stderr);
        assert.match(crds.stderr, /^not found on PATH: helm kubectl \(/);
        const existing = run(["scripts/arc/check-existing-install.sh", "--context", "x", "--stack", "aks", "--provider", "aks"], { PATH: "/nonexistent" });
        assert.equal(existing.status, 127, existing.stdout + existing.stderr);
        assert.match(existing.stderr, /^kubectl not found on PATH: /);
        assert.doesNotMatch(existing.stdout + existing.stderr, /unreachable/);
    });

    it("reach-buildkit refuses an image that is not pinned by digest", () => {
        const r = run(["scripts/runbook/reach-buildkit.sh", "--context", "x", "--image", "moby/buildkit:latest"], { PATH: "/nonexistent" });
        assert.equal(r.status, 2);
        assert.match(r.stderr, /pinned by digest/);
    });

    it("inspect only reads: no kubectl verb other than get/describe/logs", () => {
        const text = fs.readFileSync(path.join(root, scripts[0]), "utf8");
        const verbs = [...text.matchAll(/\bk (?:-n "\$\w+" )?(\w+)/g)].map((m) => m[1]);
        assert.ok(verbs.length > 10);
        assert.deepEqual(
            [...new Set(verbs)].filter((v) => !["get", "describe", "logs"].includes(v)),
            [],
        );
    });

    it("reach-buildkit creates exactly one pod, in arc-runners, and deletes it on exit", () => {
        const text = fs.readFileSync(path.join(root, scripts[1]), "utf8");
        assert.match(text, /^trap cleanup EXIT INT TERM$/m);
        assert.match(text, /k -n "\$RUNNER_NS" delete pod "\$POD"/);
        assert.equal([...text.matchAll(/ create -f -/g)].length, 1);
        assert.match(text, /^RUNNER_NS=arc-runners$/m);
        assert.match(text, /secretName: buildkitd-client-tls/);
        // Its pod is not mistaken for the deploy-time probe: neither the Job's name prefix nor its label.
        assert.doesNotMatch(text, new RegExp(`${PROBE_NAME}-|app.kubernetes.io/name: ${PROBE_NAME}$`, "m"));
        assert.match(text, /^POD="buildkit-reach-/m);
    });

    it("check-pulumi-settings names what is missing", () => {
        const r = run(["scripts/ci/check-pulumi-settings.sh"], { PATH: process.env.PATH });
        assert.equal(r.status, 1);
        assert.match(r.stdout, /AZURE_CLIENT_ID/);
        assert.match(r.stdout, /PULUMI_BACKEND_URL .* PULUMI_ACCESS_TOKEN/);
        const ok = run(["scripts/ci/check-pulumi-settings.sh"], {
            PATH: process.env.PATH,
            ARM_CLIENT_ID: "c",
            ARM_TENANT_ID: "t",
            ARM_SUBSCRIPTION_ID: "s",
            PULUMI_BACKEND_URL: "azblob://state",
            AZURE_STORAGE_ACCOUNT: "acct",
        });
        assert.equal(ok.status, 0, ok.stdout);
    });
});
