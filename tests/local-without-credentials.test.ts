import * as assert from "assert";
import { ConfigError } from "../config";
import { CLIENT_TLS_SECRET, RUNNER_NAMESPACE } from "../contracts";
import { runnersSkippedMessage } from "../program";
import { reveal, runProgram, runStack } from "./harness/program";
import log = require("@pulumi/pulumi/log");

/**
 * The committed `local` stack with no secrets at all (a fresh clone, no GitHub App yet): BuildKit,
 * its PKI, the client Secret and the probe are declared, the runners are skipped with one line
 * that says how to add them. `aks` still refuses to run without credentials.
 */
describe("local stack without GitHub credentials", () => {
    /** Runs the program with `pulumi.log.info` recorded. */
    async function runRecordingInfo(run: () => ReturnType<typeof runProgram>) {
        const original = log.info;
        const infos: string[] = [];
        log.info = async (msg: string) => {
            infos.push(msg);
        };
        try {
            return { run: await run(), infos };
        } finally {
            log.info = original;
        }
    }

    it("declares BuildKit, the PKI, the client Secret in arc-runners and the probe, and no ARC or GitHub resource", async () => {
        const { run, infos } = await runRecordingInfo(() => runProgram("local"));
        const types = run.resources.map((r) => r.type);
        for (const type of [
            "tls:index/privateKey:PrivateKey",
            "tls:index/selfSignedCert:SelfSignedCert",
            "tls:index/locallySignedCert:LocallySignedCert",
            "kubernetes:apps/v1:StatefulSet",
            "kubernetes:batch/v1:Job",
        ]) {
            assert.ok(types.includes(type), `no ${type}; declared: ${types.join(", ")}`);
        }
        const service = run.resources.find((r) => r.type === "kubernetes:core/v1:Service" && r.inputs.metadata?.name === "buildkitd");
        assert.ok(service, "no Service buildkitd");
        const clientSecret = run.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && r.inputs.metadata?.name === CLIENT_TLS_SECRET);
        assert.strictEqual(reveal(clientSecret?.inputs.metadata.namespace), RUNNER_NAMESPACE);
        const namespaces = run.resources.filter((r) => r.type === "kubernetes:core/v1:Namespace").map((r) => r.inputs.metadata.name);
        assert.deepStrictEqual(namespaces.sort(), ["arc-runners", "buildkit"]);
        const probe = run.resources.find((r) => r.type === "kubernetes:batch/v1:Job");
        assert.strictEqual(reveal(probe?.inputs.metadata.namespace), RUNNER_NAMESPACE);
        assert.deepStrictEqual(
            run.resources
                .filter((r) => r.type.startsWith("kubernetes:helm") || r.type.startsWith("github:") || r.type === "pulumi:providers:github")
                .map((r) => r.name),
            [],
        );
        assert.ok(!run.resources.some((r) => r.inputs.metadata?.name === "arc-github-config"));
        assert.strictEqual(infos.length, 1, infos.join("\n"));
        assert.strictEqual(infos[0], runnersSkippedMessage("local", "app"));
        assert.strictEqual(await new Promise((resolve) => run.outputs.endpoint.apply(resolve)), "tcp://buildkitd.buildkit.svc.cluster.local:1234");
    });

    it("says in one line that runners are skipped and how to add them", () => {
        const app = runnersSkippedMessage("local", "app");
        assert.doesNotMatch(app, /\n/);
        assert.match(app, /^Runners skipped: stack "local" has no GitHub credentials/);
        for (const name of [
            "ARC_BUILDKIT_GITHUB_APP_ID",
            "ARC_BUILDKIT_GITHUB_APP_INSTALLATION_ID",
            "ARC_BUILDKIT_GITHUB_APP_PRIVATE_KEY_FILE",
            "ARC_BUILDKIT_GITHUB_TOKEN",
            "npm run local:up",
        ]) {
            assert.ok(app.includes(name), name);
        }
        assert.match(runnersSkippedMessage("local", "token"), /export ARC_BUILDKIT_GITHUB_TOKEN and run/);
    });

    it("with credentials, deploys the controller and the scale set in the same run, without the message", async () => {
        const { run, infos } = await runRecordingInfo(() => runStack("local"));
        const releases = run.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => r.name);
        assert.deepStrictEqual(releases.sort(), ["arc", "arc-local"]);
        assert.deepStrictEqual(infos, []);
    });

    it("the aks stack still requires credentials (secure default), naming the stack in the fix", async () => {
        await assert.rejects(runProgram("aks"), (error: unknown) => {
            assert.ok(error instanceof ConfigError);
            assert.ok(
                error.problems.some((p) => p.includes("pulumi config set --secret --stack aks arc-buildkit:githubAppPrivateKey")),
                error.problems.join("\n"),
            );
            return true;
        });
    });
});
