import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CLIENT_TLS_SECRET, RUNNER_ENV, RUNNER_NAMESPACE } from "../components/contracts";
import { probeScript, RUNBOOK } from "../components/probe";
import { ProgramRun, reveal, runStack, stackSettings } from "./harness/program";
import { fileInPod } from "./harness/tls-material";

const JOB = "kubernetes:batch/v1:Job";

function probeJobs(run: ProgramRun) {
    return run.resources.filter((r) => r.type === JOB).map((r) => reveal(r.inputs));
}

function onlyProbe(run: ProgramRun) {
    const jobs = probeJobs(run);
    assert.strictEqual(jobs.length, 1, "exactly one probe Job");
    return jobs[0];
}

const withBuildkit = (change: (b: any) => void) => (config: Record<string, string>) => {
    const buildkit = JSON.parse(config["arc-buildkit:buildkit"]);
    change(buildkit);
    config["arc-buildkit:buildkit"] = JSON.stringify(buildkit);
};

describe("deploy-time probe Job", () => {
    for (const stack of ["local", "aks"]) {
        describe(`${stack} stack`, () => {
            let run: ProgramRun;
            let job: any;
            before(async () => {
                run = await runStack(stack);
                job = onlyProbe(run);
            });

            it("runs in the runner namespace with the runners' client certificate and environment", async () => {
                assert.strictEqual(job.metadata.namespace, RUNNER_NAMESPACE);
                const pod = job.spec.template.spec;
                const [container] = pod.containers;
                const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
                assert.strictEqual(env[RUNNER_ENV.addr], "tcp://buildkitd.buildkit.svc.cluster.local:1234");
                assert.strictEqual(env[RUNNER_ENV.serverName], "buildkitd.buildkit.svc.cluster.local");
                // Each TLS variable names a file that really holds the runners' client material.
                const clientSecret = reveal(run.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && r.name === CLIENT_TLS_SECRET)!.inputs).stringData;
                assert.strictEqual(fileInPod(run, RUNNER_NAMESPACE, pod, "probe", env[RUNNER_ENV.ca]), clientSecret["ca.crt"]);
                assert.strictEqual(fileInPod(run, RUNNER_NAMESPACE, pod, "probe", env[RUNNER_ENV.cert]), clientSecret["tls.crt"]);
                assert.strictEqual(fileInPod(run, RUNNER_NAMESPACE, pod, "probe", env[RUNNER_ENV.key]), clientSecret["tls.key"]);
            });

            it("uses the pinned BuildKit image (it has buildctl) and checks every configured platform", () => {
                const settings = stackSettings(stack);
                const [container] = job.spec.template.spec.containers;
                assert.strictEqual(container.image, settings.buildkit.image);
                const script = container.command[2];
                for (const platform of settings.buildkit.platforms) {
                    assert.ok(script.includes(`'${platform}'`), `script checks ${platform}`);
                }
            });

            it("is awaited, bounded and cleans up after itself", () => {
                const settings = stackSettings(stack);
                assert.strictEqual(job.metadata.annotations?.["pulumi.com/skipAwait"], undefined, "pulumi up must wait for the Job");
                assert.strictEqual(job.metadata.annotations?.["pulumi.com/replaceUnready"], "true");
                assert.strictEqual(job.spec.activeDeadlineSeconds, settings.probe.timeoutSeconds);
                assert.strictEqual(job.spec.ttlSecondsAfterFinished, settings.probe.keepFinishedSeconds);
                assert.ok(job.spec.backoffLimit <= 1);
                assert.strictEqual(job.spec.template.spec.restartPolicy, "Never");
            });

            it("is unprivileged: Pod Security restricted", () => {
                const pod = job.spec.template.spec;
                const [container] = pod.containers;
                assert.strictEqual(pod.securityContext.runAsNonRoot, true);
                assert.ok(pod.securityContext.runAsUser > 0);
                assert.strictEqual(pod.securityContext.seccompProfile.type, "RuntimeDefault");
                assert.strictEqual(container.securityContext.allowPrivilegeEscalation, false);
                assert.deepStrictEqual(container.securityContext.capabilities.drop, ["ALL"]);
                assert.strictEqual(container.securityContext.privileged, undefined);
                assert.strictEqual(pod.automountServiceAccountToken, false);
            });
        });
    }

    it("is renamed, and so rerun, when the daemon, its config or the certificates change, and only then", async () => {
        const name = async (edit?: (c: Record<string, string>) => void) => onlyProbe(await runStack("local", edit)).metadata.name as string;
        const base = await name();
        assert.match(base, /^buildkit-probe-[0-9a-f]{10}$/);
        assert.strictEqual(await name(), base, "same config, same probe");
        const changed = {
            "daemon config": withBuildkit((b) => (b.maxParallelism = 3)),
            image: withBuildkit((b) => (b.image = "moby/buildkit:v0.31.1@sha256:" + "a".repeat(64))),
            platforms: withBuildkit((b) => (b.platforms = ["linux/amd64"])),
            replicas: withBuildkit((b) => (b.replicas = 2)),
            certificates: (c: Record<string, string>) => (c["arc-buildkit:tls"] = JSON.stringify({ caValidityHours: 43800, validityHours: 2000, earlyRenewalHours: 720 })),
        };
        for (const [what, edit] of Object.entries(changed)) {
            assert.notStrictEqual(await name(edit), base, `a change of ${what} reruns the probe`);
        }
    });

    it("is off when arc-buildkit:probe.enabled is false", async () => {
        const run = await runStack("local", (c) => (c["arc-buildkit:probe"] = JSON.stringify({ enabled: false })));
        assert.strictEqual(probeJobs(run).length, 0);
    });

    it("rejects an unusable timeout in config", () => {
        assert.throws(() => stackSettings("local", (c) => (c["arc-buildkit:probe"] = JSON.stringify({ timeoutSeconds: 5 }))), /arc-buildkit:probe\.timeoutSeconds: expected a whole number of seconds from 30 to 3600/);
    });
});

/**
 * The probe script itself, run by a real shell against a stand-in `buildctl` that behaves like a
 * daemon in each situation: it prints workers only when given a client certificate (or always, when
 * mTLS is off), and lists the platforms it is told to.
 */
describe("probe script", () => {
    const shell = fs.existsSync("/bin/sh") ? "/bin/sh" : undefined;
    const ADDRESSES = ["tcp://buildkitd.buildkit.svc.cluster.local:1234", "tcp://buildkitd-0.buildkitd-headless.buildkit.svc.cluster.local:1234"];
    const PLATFORMS = ["linux/amd64", "linux/arm64", "linux/arm/v7"];

    function runScript(daemon: { mtls: boolean; platforms: string; down?: boolean }): { status: number | null; stdout: string; stderr: string; terminationLog: string } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "probe-"));
        try {
            const fake = [
                "#!/bin/sh",
                'has_cert=no; for a in "$@"; do [ "$a" = --tlscert ] && has_cert=yes; done',
                `[ "${daemon.down ? "yes" : "no"}" = yes ] && { echo 'error: connection refused' >&2; exit 1; }`,
                `if [ "$has_cert" = no ] && [ "${daemon.mtls ? "yes" : "no"}" = yes ]; then echo 'error: remote error: tls: certificate required' >&2; exit 1; fi`,
                'printf "ID:\\t\\tw1\\nPlatforms:\\t%s\\nBuildKit:\\tgithub.com/moby/buildkit v0.31.2\\n" "$FAKE_PLATFORMS"',
            ].join("\n");
            fs.writeFileSync(path.join(dir, "buildctl"), fake, { mode: 0o755 });
            const log = path.join(dir, "termination-log");
            const result = spawnSync(shell!, ["-c", probeScript({ addresses: ADDRESSES, platforms: PLATFORMS })], {
                encoding: "utf8",
                env: {
                    PATH: `${dir}:${process.env.PATH}`,
                    FAKE_PLATFORMS: daemon.platforms,
                    TERMINATION_LOG: log,
                    [RUNNER_ENV.ca]: "/etc/buildkit/tls/ca.crt",
                    [RUNNER_ENV.cert]: "/etc/buildkit/tls/tls.crt",
                    [RUNNER_ENV.key]: "/etc/buildkit/tls/tls.key",
                    [RUNNER_ENV.serverName]: "buildkitd.buildkit.svc.cluster.local",
                },
            });
            return { status: result.status, stdout: result.stdout, stderr: result.stderr, terminationLog: fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "" };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    before(function () {
        if (!shell) {
            this.skip();
        }
    });

    it("passes when the certificate is required and every platform is listed", () => {
        const r = runScript({ mtls: true, platforms: "linux/amd64,linux/amd64/v2,linux/arm64,linux/arm/v7,linux/arm/v6" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /buildkit probe passed/);
        assert.strictEqual((r.stdout.match(/refused the call, as it must/g) ?? []).length, ADDRESSES.length, "each address is checked without a certificate");
    });

    it("fails, saying so, when buildkitd accepts a client without a certificate", () => {
        const r = runScript({ mtls: false, platforms: "linux/amd64,linux/arm64,linux/arm/v7" });
        assert.notStrictEqual(r.status, 0);
        assert.match(r.terminationLog, /accepted a client without a certificate: mTLS is not enforced/);
        assert.ok(r.terminationLog.includes(RUNBOOK));
    });

    it("fails, naming the platform, when a required platform is missing", () => {
        const r = runScript({ mtls: true, platforms: "linux/amd64,linux/arm64" });
        assert.notStrictEqual(r.status, 0);
        assert.match(r.terminationLog, /no BuildKit worker at tcp:\/\/buildkitd\.buildkit\.svc\.cluster\.local:1234 lists the required platform linux\/arm\/v7/);
        assert.ok(r.terminationLog.includes(RUNBOOK));
    });

    it("fails, saying which call, when the certificate call itself fails", () => {
        const r = runScript({ mtls: true, platforms: "linux/amd64,linux/arm64,linux/arm/v7", down: true });
        assert.notStrictEqual(r.status, 0);
        assert.match(r.terminationLog, /with the runners' client certificate, 'buildctl debug workers -v' against tcp:\/\/buildkitd\.buildkit\.svc\.cluster\.local:1234 failed: error: connection refused/);
    });
});
