import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CLIENT_TLS_SECRET, RUNNER_ENV, RUNNER_NAMESPACE } from "../contracts";
import { ProbeJobInput, probeJobName, probeJobSpec, probeScript, RUNBOOK } from "../components/probe";
import { ProgramRun, reveal, runStack, stackSettings, valueOf } from "./harness/program";
import { fileInPod } from "./harness/tls-material";
import { editConfig, setConfig, setConfigPath } from "./harness/config-edit";

const JOB = "kubernetes:batch/v1:Job";

function probeJobs(run: ProgramRun) {
    return run.resources.filter((r) => r.type === JOB).map((r) => reveal(r.inputs));
}

/** The shared tier's probe: the one Job in `arc-runners` (each further tier has its own, in its own runner namespace). */
function onlyProbe(run: ProgramRun) {
    const jobs = probeJobs(run).filter((job) => job.metadata.namespace === "arc-runners");
    assert.strictEqual(jobs.length, 1, "exactly one probe Job in arc-runners");
    return jobs[0];
}

const withBuildkit = (change: (b: any) => void) => editConfig("buildkit", change);

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
                const clientSecret = reveal(
                    run.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && r.name === CLIENT_TLS_SECRET)!.inputs,
                ).stringData;
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
        // A fresh evaluation, not the harness's cached run of the same config.
        assert.strictEqual(onlyProbe(await runStack("local", undefined, { fresh: true })).metadata.name, base, "same config, same probe");
        const changed = {
            "daemon config": withBuildkit((b) => (b.maxParallelism = 3)),
            image: withBuildkit((b) => (b.image = "moby/buildkit:v0.31.1@sha256:" + "a".repeat(64))),
            platforms: withBuildkit((b) => (b.platforms = ["linux/amd64"])),
            replicas: withBuildkit((b) => (b.replicas = 2)),
            certificates: setConfig("tls", { caValidityHours: 43800, validityHours: 2000, earlyRenewalHours: 720 }),
        };
        for (const [what, edit] of Object.entries(changed)) {
            assert.notStrictEqual(await name(edit), base, `a change of ${what} reruns the probe`);
        }
    });

    it("is off when arc-buildkit:probe.enabled is false", async () => {
        const run = await runStack("local", setConfig("probe", { enabled: false }));
        assert.strictEqual(probeJobs(run).length, 0);
    });

    it("rejects an unusable timeout in config", () => {
        assert.throws(
            () => stackSettings("local", setConfig("probe", { timeoutSeconds: 5 })),
            /arc-buildkit:probe\.timeoutSeconds: expected a whole number of seconds from 30 to 3600/,
        );
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

    function runScript(daemon: { mtls: boolean; platforms: string; down?: boolean }): {
        status: number | null;
        stdout: string;
        stderr: string;
        terminationLog: string;
    } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "probe-"));
        try {
            // buildctl's TLS as moby/buildkit's cmd/buildctl/common and client/client.go implement it
            // (v0.11 to v0.32): TLS only when a CA, certificate or key is given; the server certificate is
            // verified against --tlscacert (a private CA is not in the system roots) for --tlsservername;
            // a certificate needs its key. Then the daemon decides: with mTLS, no certificate is refused.
            const fake = [
                "#!/bin/sh",
                'addr=""; ca=""; cert=""; key=""; name=""',
                'while [ $# -gt 0 ]; do case "$1" in',
                '  --addr) addr="$2"; shift ;; --tlscacert) ca="$2"; shift ;; --tlscert) cert="$2"; shift ;;',
                '  --tlskey) key="$2"; shift ;; --tlsservername) name="$2"; shift ;;',
                "esac; shift; done",
                `[ "${daemon.down ? "yes" : "no"}" = yes ] && { echo 'error: connection refused' >&2; exit 1; }`,
                'if [ -z "$ca$cert$key" ]; then echo "error: plaintext client: connection closed before server preface received" >&2; exit 1; fi',
                'if [ "$ca" != "$FAKE_CA" ]; then echo "error: tls: failed to verify certificate: x509: certificate signed by unknown authority" >&2; exit 1; fi',
                'host="${addr#tcp://}"; host="${host%:*}"; [ -n "$name" ] || name="$host"',
                'case " $FAKE_SERVER_NAMES " in *" $name "*) ;; *) echo "error: x509: certificate is valid for $FAKE_SERVER_NAMES, not $name" >&2; exit 1 ;; esac',
                'if [ -n "$cert$key" ] && { [ -z "$cert" ] || [ -z "$key" ]; }; then echo "error: could not read certificate/key" >&2; exit 1; fi',
                `if [ -z "$cert" ] && [ "${daemon.mtls ? "yes" : "no"}" = yes ]; then echo 'error: remote error: tls: certificate required' >&2; exit 1; fi`,
                'printf "ID:\\t\\tw1\\nPlatforms:\\t%s\\nBuildKit:\\tgithub.com/moby/buildkit v0.31.2\\n" "$FAKE_PLATFORMS"',
            ].join("\n");
            fs.writeFileSync(path.join(dir, "buildctl"), fake, { mode: 0o755 });
            const log = path.join(dir, "termination-log");
            const result = spawnSync(shell!, ["-c", probeScript({ addresses: ADDRESSES, platforms: PLATFORMS })], {
                encoding: "utf8",
                env: {
                    PATH: `${dir}:${process.env.PATH}`,
                    FAKE_PLATFORMS: daemon.platforms,
                    FAKE_CA: "/etc/buildkit/tls/ca.crt",
                    FAKE_SERVER_NAMES: "buildkitd.buildkit.svc.cluster.local buildkitd-0.buildkitd-headless.buildkit.svc.cluster.local",
                    TERMINATION_LOG: log,
                    [RUNNER_ENV.ca]: "/etc/buildkit/tls/ca.crt",
                    [RUNNER_ENV.cert]: "/etc/buildkit/tls/tls.crt",
                    [RUNNER_ENV.key]: "/etc/buildkit/tls/tls.key",
                    [RUNNER_ENV.serverName]: "buildkitd.buildkit.svc.cluster.local",
                },
            });
            return {
                status: result.status,
                stdout: result.stdout,
                stderr: result.stderr,
                terminationLog: fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "",
            };
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
        assert.match(
            r.terminationLog,
            /no BuildKit worker at tcp:\/\/buildkitd\.buildkit\.svc\.cluster\.local:1234 lists the required platform linux\/arm\/v7/,
        );
        assert.ok(r.terminationLog.includes(RUNBOOK));
    });

    it("matches platforms exactly: linux/amd64/v2 listed does not stand for a required linux/amd64", () => {
        const r = runScript({ mtls: true, platforms: "linux/amd64/v2,linux/arm64,linux/arm/v7" });
        assert.notStrictEqual(r.status, 0);
        assert.match(r.terminationLog, /lists the required platform linux\/amd64 \(listed: linux\/amd64\/v2 /);
    });

    it("fails, saying which call, when the certificate call itself fails", () => {
        const r = runScript({ mtls: true, platforms: "linux/amd64,linux/arm64,linux/arm/v7", down: true });
        assert.notStrictEqual(r.status, 0);
        assert.match(
            r.terminationLog,
            /with the runners' client certificate, 'buildctl debug workers -v' against tcp:\/\/buildkitd\.buildkit\.svc\.cluster\.local:1234 failed: error: connection refused/,
        );
    });
});

/**
 * Job identity: pulumi-kubernetes updates a Job in place unless spec.template, completions,
 * parallelism or selector change, and an in-place update of a Job the TTL already deleted fails
 * with NotFound. So every input must be in the name: any change is a new name, a replacement.
 */
describe("probe Job identity", () => {
    const base: ProbeJobInput = {
        image: "moby/buildkit:v0.31.2@sha256:" + "b".repeat(64),
        endpoint: "tcp://buildkitd.buildkit.svc.cluster.local:1234",
        serverName: "buildkitd.buildkit.svc.cluster.local",
        addresses: ["tcp://buildkitd.buildkit.svc.cluster.local:1234", "tcp://buildkitd-0.buildkitd-headless.buildkit.svc.cluster.local:1234"],
        platforms: ["linux/amd64", "linux/arm64"],
        build: { image: "moby/buildkit:v0.31.2@sha256:" + "b".repeat(64) },
        clientSecretName: CLIENT_TLS_SECRET,
        timeoutSeconds: 300,
        keepFinishedSeconds: 3600,
    };
    const nameOf = (input: ProbeJobInput, metadata: Record<string, unknown> = { namespace: RUNNER_NAMESPACE }) =>
        probeJobName({ metadata, spec: probeJobSpec(input) }, ["toml", "certs"]);

    /** Every leaf of a JSON value, as a path and the value there. */
    function leaves(value: unknown, at: (string | number)[] = []): { path: (string | number)[]; value: unknown }[] {
        if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, [...at, i]));
        if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => leaves(v, [...at, k]));
        return [{ path: at, value }];
    }

    it("changes the name for a change of any field of the Job, and only for a change", () => {
        const spec = probeJobSpec(base);
        const metadata = { namespace: RUNNER_NAMESPACE, labels: { a: "b" }, annotations: { "pulumi.com/replaceUnready": "true" } };
        const original = probeJobName({ metadata, spec }, ["toml"]);
        assert.strictEqual(probeJobName({ metadata: structuredClone(metadata), spec: structuredClone(spec) }, ["toml"]), original, "deterministic");
        const all = leaves({ metadata, spec });
        assert.ok(all.length > 40, `walks the whole Job (${all.length} fields)`);
        for (const { path: at, value } of all) {
            const job: any = structuredClone({ metadata, spec });
            let node = job;
            for (const key of at.slice(0, -1)) node = node[key];
            node[at[at.length - 1]] = typeof value === "number" ? value + 1 : typeof value === "boolean" ? !value : `${String(value)}x`;
            assert.notStrictEqual(probeJobName(job, ["toml"]), original, `a change of ${at.join(".")} keeps the name`);
        }
        assert.notStrictEqual(probeJobName({ metadata, spec }, ["toml2"]), original, "what the Job checks without seeing it");
    });

    it("changes the name for each probe setting, including the fields Kubernetes updates in place", () => {
        const original = nameOf(base);
        const changed: Record<string, ProbeJobInput> = {
            "timeoutSeconds (activeDeadlineSeconds)": { ...base, timeoutSeconds: 301 },
            "keepFinishedSeconds (ttlSecondsAfterFinished)": { ...base, keepFinishedSeconds: 60 },
            "buildEachPlatform off": { ...base, build: undefined },
            platforms: { ...base, platforms: ["linux/amd64"] },
            image: { ...base, image: base.image.replace("b", "c") },
            addresses: { ...base, addresses: base.addresses.slice(0, 1) },
            clientSecretName: { ...base, clientSecretName: "other" },
        };
        for (const [what, input] of Object.entries(changed)) assert.notStrictEqual(nameOf(input), original, what);
        assert.notStrictEqual(nameOf(base, { namespace: "elsewhere" }), original, "namespace");
    });

    it("on the declared stack: every probe config key changes the Job's name", async () => {
        const name = async (edit?: (c: Record<string, string>) => void) => onlyProbe(await runStack("aks", edit)).metadata.name as string;
        const first = await name();
        assert.strictEqual(await name(), first);
        for (const probe of [{ timeoutSeconds: 301 }, { keepFinishedSeconds: 60 }, { buildEachPlatform: false }]) {
            assert.notStrictEqual(await name(setConfig("probe", probe)), first, JSON.stringify(probe));
        }
    });
});

describe("probe: certificate days left", () => {
    it("checks each certificate against its own notAfter, with the configured minimum", async () => {
        // Fake certificates, each issued at its own minute, so the three dates differ; a non-default minimum.
        const run = await runStack("aks", setConfigPath("probe", ["minCertificateDays"], 7), { realTls: false });
        const script = onlyProbe(run).spec.template.spec.containers[0].command[2] as string;
        const notAfter = {
            ca: await valueOf(run.outputs.caNotAfter),
            server: await valueOf(run.outputs.serverCertNotAfter),
            client: await valueOf(run.outputs.clientCertNotAfter),
        };
        assert.strictEqual(new Set(Object.values(notAfter)).size, 3, JSON.stringify(notAfter));
        for (const [certificate, date] of Object.entries(notAfter)) {
            const epoch = Date.parse(date as string) / 1000;
            assert.ok(
                script.includes(`days_left=$(( (${epoch} - $(date +%s)) / 86400 ))\necho "certificate ${certificate}: $days_left days left (probe minimum 7)"`),
                `${certificate}: ${epoch}`,
            );
        }
        assert.strictEqual(script.match(/\[ "\$days_left" -ge 7 \]/g)?.length, 3);
    });
});

describe("probe: a build step per platform", () => {
    it("is on by default and runs FROM the pinned BuildKit image", async () => {
        for (const stack of ["local", "aks"]) {
            const settings = stackSettings(stack);
            assert.strictEqual(settings.probe.buildEachPlatform, true);
            const script = onlyProbe(await runStack(stack)).spec.template.spec.containers[0].command[2] as string;
            assert.ok(script.includes(`FROM %s AS run`) && script.includes(`'${settings.buildkit.image}'`), stack);
            assert.match(script, / build --frontend dockerfile\.v0 /);
        }
    });

    it("is off with probe.buildEachPlatform false (clusters without registry egress)", async () => {
        const run = await runStack("local", setConfig("probe", { buildEachPlatform: false }));
        const script = onlyProbe(run).spec.template.spec.containers[0].command[2] as string;
        assert.doesNotMatch(script, / build /);
        assert.match(script, /debug workers -v/);
    });

    it("rejects platforms the BuildKit image is not published for while the build step is on, naming the keys", () => {
        const withPlatforms = (platforms: string[], probe?: object) => (c: Record<string, string>) => {
            withBuildkit((b) => (b.platforms = platforms))(c);
            if (probe) setConfig("probe", probe)(c);
        };
        assert.throws(
            () => stackSettings("local", withPlatforms(["linux/amd64", "linux/386"])),
            /arc-buildkit:probe\.buildEachPlatform: expected false, or only platforms .* in arc-buildkit:buildkit\.platforms: .* linux\/386/,
        );
        assert.doesNotThrow(() => stackSettings("local", withPlatforms(["linux/amd64", "linux/386"], { buildEachPlatform: false })));
        assert.doesNotThrow(() =>
            stackSettings("local", withPlatforms(["linux/amd64", "linux/arm/v7", "linux/s390x", "linux/ppc64le", "linux/riscv64", "linux/arm64"])),
        );
    });

    /**
     * A stand-in buildctl: `debug workers` as before; `build` reads the Dockerfile from the local
     * context, and for the requested platform writes what `uname -m` would print there, unless the
     * platform is "broken" (no emulator: exec format error) or "lying" (the step ran natively).
     */
    function runBuilds(daemon: { broken?: string; lying?: string }): { status: number | null; stdout: string; terminationLog: string; dockerfiles: string[] } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "probe-build-"));
        try {
            const fake = [
                "#!/bin/sh",
                'has_cert=no; for a in "$@"; do [ "$a" = --tlscert ] && has_cert=yes; done',
                'case " $* " in *" build "*) ;; *)',
                "  if [ \"$has_cert\" = no ]; then echo 'error: remote error: tls: certificate required' >&2; exit 1; fi",
                '  printf "ID:\\t\\tw1\\nPlatforms:\\tlinux/amd64,linux/arm64,linux/arm/v7\\n"; exit 0 ;;',
                "esac",
                'for a in "$@"; do case "$a" in platform=*) platform=${a#platform=} ;; type=local,dest=*) dest=${a#type=local,dest=} ;; context=*) ctx=${a#context=} ;; esac; done',
                `cat "$ctx/Dockerfile" >> "${dir}/dockerfiles"`,
                '[ "$platform" = "$FAKE_BROKEN" ] && { echo "process \\"/bin/sh -c uname -m > /probe-arch\\" did not complete successfully: exec format error" >&2; exit 1; }',
                'case "$platform" in linux/amd64) m=x86_64 ;; linux/arm64) m=aarch64 ;; linux/arm/v7) m=armv7l ;; esac',
                '[ "$platform" = "$FAKE_LYING" ] && m=x86_64',
                'mkdir -p "$dest" && echo "$m" > "$dest/probe-arch"',
            ].join("\n");
            fs.writeFileSync(path.join(dir, "buildctl"), fake, { mode: 0o755 });
            const log = path.join(dir, "termination-log");
            const image = "moby/buildkit:v0.31.2@sha256:" + "d".repeat(64);
            const r = spawnSync(
                "/bin/sh",
                [
                    "-c",
                    probeScript({ addresses: ["tcp://a:1234", "tcp://b:1234"], platforms: ["linux/amd64", "linux/arm64", "linux/arm/v7"], build: { image } }),
                ],
                {
                    encoding: "utf8",
                    env: {
                        PATH: `${dir}:${process.env.PATH}`,
                        TERMINATION_LOG: log,
                        TMPDIR: dir,
                        FAKE_BROKEN: daemon.broken ?? "",
                        FAKE_LYING: daemon.lying ?? "",
                        [RUNNER_ENV.ca]: "/ca",
                        [RUNNER_ENV.cert]: "/cert",
                        [RUNNER_ENV.key]: "/key",
                        [RUNNER_ENV.serverName]: "buildkitd.buildkit.svc.cluster.local",
                    },
                },
            );
            const dockerfiles = fs.existsSync(path.join(dir, "dockerfiles"))
                ? fs.readFileSync(path.join(dir, "dockerfiles"), "utf8").split(/(?=^FROM .* AS run$)/m)
                : [];
            return { status: r.status, stdout: r.stdout, terminationLog: fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "", dockerfiles };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    it("runs one build per platform and address, each proving its architecture", () => {
        const r = runBuilds({});
        assert.strictEqual(r.status, 0, r.terminationLog);
        assert.strictEqual((r.stdout.match(/a build step for \S+ ran on/g) ?? []).length, 6);
        assert.match(r.stdout, /a build step for linux\/arm\/v7 ran on tcp:\/\/b:1234 \(uname -m: armv7l\)/);
        assert.strictEqual(r.dockerfiles.length, 6);
        assert.strictEqual(
            r.dockerfiles[0],
            `FROM moby/buildkit:v0.31.2@sha256:${"d".repeat(64)} AS run\nRUN uname -m > /probe-arch\nFROM scratch\nCOPY --from=run /probe-arch /probe-arch\n`,
        );
        assert.match(r.stdout, /each ran a build step/);
    });

    it("fails, naming platform and address, when a platform cannot run a step", () => {
        const r = runBuilds({ broken: "linux/arm64" });
        assert.notStrictEqual(r.status, 0);
        assert.match(r.terminationLog, /a one-step build for linux\/arm64 on tcp:\/\/a:1234 failed \(is its QEMU emulator registered.*exec format error/);
        assert.ok(r.terminationLog.includes(RUNBOOK));
    });

    it("fails when the step ran as another architecture", () => {
        const r = runBuilds({ lying: "linux/arm64" });
        assert.notStrictEqual(r.status, 0);
        assert.match(r.terminationLog, /the build step for linux\/arm64 on tcp:\/\/a:1234 ran as 'x86_64', not as linux\/arm64/);
    });

    it("passes shellcheck as POSIX sh", function () {
        if (spawnSync("shellcheck", ["--version"]).status !== 0) this.skip();
        const script = probeScript({
            addresses: ["tcp://a:1234", "tcp://b:1234"],
            platforms: ["linux/amd64", "linux/arm/v7"],
            build: { image: "moby/buildkit:v0.31.2@sha256:" + "d".repeat(64) },
        });
        // SC2020: the existing platform parsing maps ',' and ' ' to newlines with tr on purpose.
        const r = spawnSync("shellcheck", ["--norc", "-s", "sh", "-e", "SC2020", "-"], { input: script, encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stdout);
    });
});
