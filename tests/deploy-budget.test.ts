// The deploy job's time limit comes from the rollout bound (components/deploy/budget.ts), and the CI
// login kubelogin uses outlives the first hour (scripts/ci/keep-azure-login.sh, run for real here).
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { deployBudgetSeconds, NODE_POOL_SECONDS, SETUP_SECONDS } from "../components/deploy/budget";
import { rolloutSeconds } from "../components/buildkit/rollout";
import { REPO_ROOT, stackSettings } from "./harness/program";
import { setConfigPath } from "./harness/config-edit";
// test:quick reads: .github/workflows/*

const workflow = (name: string) => yaml.load(fs.readFileSync(path.join(REPO_ROOT, ".github/workflows", name), "utf8")) as any;

function aksBudget(edit: (c: Record<string, string>) => void = () => {}) {
    const settings = stackSettings("aks", edit);
    return deployBudgetSeconds({
        nodePools: true,
        builderSets: [
            settings.buildkit.replicas,
            ...(settings.cluster.kind === "aks" && settings.cluster.arm64?.enabled ? [settings.cluster.arm64.replicas] : []),
        ],
        drainTimeoutSeconds: settings.buildkit.drainTimeoutSeconds,
        runnerDrainSeconds: settings.arc.runnerDrainSeconds,
        probeTimeoutSeconds: settings.probe.timeoutSeconds,
    });
}

describe("deploy job timeout derived from the rollout bound", () => {
    it("adds up the waits one after another, the slowest builder set counting once", () => {
        const b = deployBudgetSeconds({ nodePools: true, builderSets: [2, 3], drainTimeoutSeconds: 900, runnerDrainSeconds: 3600, probeTimeoutSeconds: 300 });
        const three = rolloutSeconds({ replicas: 3, drainTimeoutSeconds: 900 });
        assert.strictEqual(b.builders, Math.max(three.update, three.delete + three.create));
        assert.strictEqual(b.nodePools, NODE_POOL_SECONDS);
        assert.strictEqual(b.arc, 3600 + 300 + 600);
        assert.strictEqual(b.probe, 420);
        assert.strictEqual(b.setup, SETUP_SECONDS);
        assert.strictEqual(b.total, b.nodePools + b.builders + b.patches + b.arc + b.probe + b.setup);
        assert.strictEqual(
            deployBudgetSeconds({ nodePools: false, builderSets: [1], drainTimeoutSeconds: 900, runnerDrainSeconds: 3600, probeTimeoutSeconds: 300 }).nodePools,
            0,
        );
    });

    it("deploy.yml's up job outlasts the aks stack's worst case, by at most 15 minutes, within GitHub's 6 hours", () => {
        const minutes = workflow("deploy.yml").jobs.up["timeout-minutes"];
        const budget = aksBudget().total;
        assert.ok(minutes * 60 >= budget, `timeout-minutes ${minutes} < ${budget / 60} min of waits`);
        assert.ok(minutes * 60 <= budget + 15 * 60, `timeout-minutes ${minutes} is not derived from the ${Math.ceil(budget / 60)} min budget`);
        assert.ok(minutes <= 360, "GitHub-hosted jobs stop after 6 hours");
    });

    it("a longer drain or runner drain in the aks config would exceed it (the check follows the config)", () => {
        const minutes = workflow("deploy.yml").jobs.up["timeout-minutes"];
        assert.ok(aksBudget(setConfigPath("buildkit", ["drainTimeoutSeconds"], 3600)).total > minutes * 60);
        assert.ok(aksBudget(setConfigPath("arc", ["runnerDrainSeconds"], 4 * 3600)).total > minutes * 60);
    });

    it("renewal runs deploy.yml, so it gets the same limit", () => {
        assert.strictEqual(workflow("renew.yml").jobs.up.uses, "./.github/workflows/deploy.yml");
    });
});

describe("CI login that outlives the run (scripts/ci/keep-azure-login.sh)", function () {
    this.timeout(20000);

    it("starts in the background after azure/login and before pulumi, with the job's Azure identity", () => {
        const steps: any[] = workflow("deploy.yml").jobs.up.steps;
        const login = steps.findIndex((s) => String(s.uses ?? "").startsWith("azure/login@"));
        const keep = steps.findIndex((s) => /keep-azure-login\.sh/.test(s.run ?? ""));
        const pulumi = steps.findIndex((s) => String(s.uses ?? "").startsWith("pulumi/actions@"));
        assert.ok(login >= 0 && login < keep && keep < pulumi, `${login} ${keep} ${pulumi}`);
        assert.match(steps[keep].run, /^nohup bash scripts\/ci\/keep-azure-login\.sh >"\$RUNNER_TEMP\/keep-azure-login\.log" 2>&1 &$/);
        assert.deepStrictEqual(Object.keys(steps[keep].env).sort(), ["AZURE_CLIENT_ID", "AZURE_SUBSCRIPTION_ID", "AZURE_TENANT_ID"]);
        assert.strictEqual(workflow("deploy.yml").jobs.up.permissions["id-token"], "write");
    });

    /** Runs the loop until it exits, `enough` holds for the calls so far, or `ms` pass; then stops it. */
    function runLoop(
        env: Record<string, string>,
        ms: number,
        enough: (calls: string[]) => boolean = () => false,
    ): Promise<{ calls: string[]; stdout: string; stderr: string; code: number | null }> {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keep-login-"));
        const calls = path.join(dir, "calls");
        const fake = (name: string, body: string) =>
            fs.writeFileSync(path.join(dir, name), `#!/bin/sh\necho "${name} $*" >> '${calls}'\n${body}\n`, { mode: 0o755 });
        fake("curl", `n=$(wc -l < '${calls}'); printf '{"count":1,"value":"idtoken-%s"}' "$n"`);
        fake("az", "exit 0");
        const read = () => (fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : []);
        return new Promise((resolve) => {
            const child = spawn("bash", [path.join(REPO_ROOT, "scripts/ci/keep-azure-login.sh")], { env: { PATH: `${dir}:/usr/bin:/bin`, ...env } });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d) => (stdout += d));
            child.stderr.on("data", (d) => (stderr += d));
            const timer = setTimeout(() => child.kill("SIGTERM"), ms);
            // Stops as soon as the calls show what the test needs, instead of always waiting out `ms`.
            const poll = setInterval(() => enough(read()) && child.kill("SIGTERM"), 50);
            // 'close', not 'exit': only then has all of the loop's output been read.
            child.on("close", (code) => {
                clearTimeout(timer);
                clearInterval(poll);
                const lines = read();
                fs.rmSync(dir, { recursive: true, force: true });
                resolve({ calls: lines, stdout, stderr, code });
            });
        });
    }

    const env = {
        ACTIONS_ID_TOKEN_REQUEST_URL: "https://token.invalid/?api-version=2.0",
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: "request-token",
        AZURE_CLIENT_ID: "11111111-1111-1111-1111-111111111111",
        AZURE_TENANT_ID: "22222222-2222-2222-2222-222222222222",
        AZURE_SUBSCRIPTION_ID: "33333333-3333-3333-3333-333333333333",
        AZURE_LOGIN_REFRESH_SECONDS: "1",
    };

    it("logs the CLI in again with a fresh GitHub ID token every interval, and never prints the token", async () => {
        // Two logins a second apart are the first and one refresh; 5 s is the most that may take.
        const r = await runLoop(env, 5000, (calls) => calls.filter((c) => c.startsWith("az login")).length >= 2);
        const logins = r.calls.filter((c) => c.startsWith("az login"));
        assert.ok(logins.length >= 2, r.calls.join("\n"));
        const tokens = logins.map((c) => /--federated-token (\S+)/.exec(c)![1]);
        assert.strictEqual(new Set(tokens).size, tokens.length, "a new ID token each time");
        for (const c of logins) {
            assert.match(
                c,
                /^az login --service-principal --username 11111111-\S+ --tenant 22222222-\S+ --federated-token idtoken-\d+ --allow-no-subscriptions --output none$/,
            );
        }
        for (const call of r.calls.filter((c) => c.startsWith("curl"))) {
            assert.match(call, /audience=api:\/\/AzureADTokenExchange$/);
        }
        assert.ok(r.calls.includes(`az account set --subscription ${env.AZURE_SUBSCRIPTION_ID}`));
        assert.ok(!/idtoken/.test(r.stdout + r.stderr), "the token stays out of the log");
        assert.match(r.stdout, /Azure CLI login refreshed/);
    });

    it("refuses to start without the job's OIDC request variables", async () => {
        const rest: Record<string, string> = { ...env };
        delete rest.ACTIONS_ID_TOKEN_REQUEST_URL;
        const r = await runLoop(rest, 3000);
        assert.notStrictEqual(r.code, 0);
        assert.match(r.stderr, /needs permissions: id-token: write/);
        assert.deepStrictEqual(r.calls, []);
    });
});
