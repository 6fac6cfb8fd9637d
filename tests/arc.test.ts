import * as pulumi from "@pulumi/pulumi";
import * as assert from "assert";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { rankBuilders } from "../components/arc/rendezvous";
import { coversHostname, serverCertificateNames } from "../components/pki";
import { configValue, editConfig } from "./harness/config-edit";
import { findResource, isSecretInput, ProgramRun, reveal, runProgram, stackConfig } from "./harness/program";
import {
    ALL_FAKE_SECRETS,
    appCredentials,
    FAKE_APP_ID,
    FAKE_APP_INSTALLATION_ID,
    FAKE_APP_PRIVATE_KEY,
    FAKE_TOKEN,
    TOKEN_SECRET_KEYS,
    withTokenCredentials,
} from "./fixtures/github-credentials";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const OCI = "oci://ghcr.io/actions/actions-runner-controller-charts";

/** The contract's runner environment, spelled out rather than imported so a drifting constant fails here. */
const CONTRACT_ENV = {
    AMEIDE_BUILDKIT_ADDR: "tcp://buildkitd.buildkit.svc.cluster.local:1234",
    AMEIDE_BUILDKIT_TLS_CA: "/etc/buildkit/tls/ca.crt",
    AMEIDE_BUILDKIT_TLS_CERT: "/etc/buildkit/tls/tls.crt",
    AMEIDE_BUILDKIT_TLS_KEY: "/etc/buildkit/tls/tls.key",
    AMEIDE_BUILDKIT_TLS_SERVERNAME: "buildkitd.buildkit.svc.cluster.local",
};

const STACKS = [
    { stack: "local", label: "arc-local", min: 0, max: 2 },
    { stack: "aks", label: "arc-aks-v2", min: 1, max: 10 },
];

function stackSetting(stack: string, key: string): any {
    return configValue(stackConfig(stack), key);
}

/** Every object in a JSON-like tree, for "nowhere in the values" assertions. */
function* walk(value: unknown): Generator<Record<string, unknown>> {
    if (Array.isArray(value)) {
        for (const item of value) yield* walk(item);
    } else if (typeof value === "object" && value !== null) {
        yield value as Record<string, unknown>;
        for (const v of Object.values(value)) yield* walk(v);
    }
}

for (const { stack, label, min, max } of STACKS) {
    describe(`ARC on stack ${stack}`, () => {
        let run: ProgramRun;
        before(async () => {
            run = await runProgram(stack, ...appCredentials());
        });

        it("installs the controller chart as release `arc` in arc-systems, pinned, with a fixed service account", () => {
            const release = findResource(run, RELEASE, "arc");
            assert.strictEqual(release.inputs.name, "arc");
            assert.strictEqual(release.inputs.namespace, "arc-systems");
            assert.strictEqual(release.inputs.chart, `${OCI}/gha-runner-scale-set-controller`);
            assert.strictEqual(release.inputs.version, stackSetting(stack, "arc").chartVersion);
            assert.strictEqual(release.inputs.version, "0.14.2");
            assert.strictEqual(release.inputs.createNamespace, false);
            assert.strictEqual(release.inputs.values.fullnameOverride, "arc-gha-rs-controller");
            assert.deepStrictEqual(release.inputs.values.serviceAccount, { create: true, name: "arc-gha-rs-controller" });
            assert.ok(release.provider.includes("pulumi:providers:kubernetes"), `controller release uses ${release.provider}`);
        });

        it(`declares one scale set release named ${label} in arc-runners with the stack's settings`, () => {
            // The shared tier's sets, in arc-runners (each further tier's are in its own namespace: tests/tiers.test.ts).
            const scaleSets = run.resources.filter(
                (r) => r.type === RELEASE && r.inputs.chart === `${OCI}/gha-runner-scale-set` && r.inputs.namespace === "arc-runners",
            );
            assert.deepStrictEqual(
                scaleSets.map((r) => r.name),
                [label],
            );
            const release = scaleSets[0];
            assert.strictEqual(release.inputs.name, label);
            assert.strictEqual(release.inputs.namespace, "arc-runners");
            assert.strictEqual(release.inputs.version, "0.14.2");
            assert.strictEqual(release.inputs.createNamespace, false);
            assert.ok(release.provider.includes("pulumi:providers:kubernetes"));
            const values = release.inputs.values;
            assert.strictEqual(values.runnerScaleSetName, label);
            assert.strictEqual(values.githubConfigUrl, "https://github.com/ameideio");
            assert.strictEqual(values.githubConfigSecret, "arc-github-config");
            assert.deepStrictEqual(values.controllerServiceAccount, { namespace: "arc-systems", name: "arc-gha-rs-controller" });
            assert.strictEqual(values.minRunners, min);
            assert.strictEqual(values.maxRunners, max);
            // Never the organization's default group on a laptop (config/tiers.ts); the shared tier on AKS admits every repository.
            assert.strictEqual(values.runnerGroup, label === "arc-local" ? "arc-local" : "default");
            assert.ok(!("containerMode" in values), "containerMode must be unset: no Docker-in-Docker");
        });

        it("gives the runner container the five contract variables, ARC's command and the pinned image", () => {
            const spec = findResource(run, RELEASE, label).inputs.values.template.spec;
            const runner = spec.containers.find((c: any) => c.name === "runner");
            assert.deepStrictEqual(
                spec.containers.map((c: any) => c.name),
                ["runner"],
                "no sidecar (no dind)",
            );
            const env = Object.fromEntries(runner.env.map((e: any) => [e.name, e.value]));
            for (const [name, value] of Object.entries(CONTRACT_ENV)) {
                assert.strictEqual(env[name], value, name);
            }
            assert.deepStrictEqual(runner.command, ["/home/runner/run.sh"]);
            assert.strictEqual(runner.image, stackSetting(stack, "arc").runnerImage);
            assert.match(runner.image, /^ghcr\.io\/actions\/actions-runner:[0-9.]+@sha256:[a-f0-9]{64}$/);
        });

        it("mounts buildkitd-client-tls read-only where the TLS variables point", () => {
            const spec = findResource(run, RELEASE, label).inputs.values.template.spec;
            const runner = spec.containers.find((c: any) => c.name === "runner");
            const volume = spec.volumes.find((v: any) => v.secret?.secretName === "buildkitd-client-tls");
            assert.ok(volume, "a volume from secret buildkitd-client-tls");
            const mount = runner.volumeMounts.find((m: any) => m.name === volume.name);
            assert.strictEqual(mount.mountPath, "/etc/buildkit/tls");
            assert.strictEqual(mount.readOnly, true);
            for (const key of ["ca.crt", "tls.crt", "tls.key"]) {
                assert.ok(Object.values(CONTRACT_ENV).includes(`${mount.mountPath}/${key}`), key);
            }
            assert.strictEqual(volume.secret.defaultMode, 0o440, "the key is not world-readable");
        });

        it("puts buildctl from the daemon's own image on the runner's PATH", () => {
            const spec = findResource(run, RELEASE, label).inputs.values.template.spec;
            const daemonImage = findResource(run, "kubernetes:apps/v1:StatefulSet", "buildkitd").inputs.spec.template.spec.containers.find(
                (c: any) => c.name === "buildkitd",
            ).image;
            assert.strictEqual(daemonImage, stackSetting(stack, "buildkit").image);
            // install-buildctl, then install-select-buildkit (the selector beside it, see below).
            assert.deepStrictEqual(
                spec.initContainers.map((c: any) => c.name),
                ["install-buildctl", "install-select-buildkit"],
            );
            const init = spec.initContainers[0];
            assert.strictEqual(init.image, daemonImage, "same image, so buildctl and buildkitd are the same version");
            assert.strictEqual(init.command[0], "cp");
            assert.strictEqual(init.command[1], "/usr/bin/buildctl");
            const toolsDir = init.command[2].replace(/\/buildctl$/, "");
            const initMount = init.volumeMounts.find((m: any) => m.mountPath === toolsDir);
            assert.ok(initMount, "the init container writes into a mounted volume");
            assert.ok(spec.volumes.find((v: any) => v.name === initMount.name).emptyDir, "a shared emptyDir");
            const runner = spec.containers.find((c: any) => c.name === "runner");
            const runnerMount = runner.volumeMounts.find((m: any) => m.name === initMount.name);
            assert.strictEqual(runnerMount.mountPath, toolsDir);
            assert.strictEqual(runnerMount.readOnly, true);
            const searchPath = runner.env.find((e: any) => e.name === "PATH").value.split(":");
            assert.strictEqual(searchPath[0], toolsDir);
            // The runner image's own PATH (Ubuntu's default) follows, so nothing it ships is lost.
            assert.deepStrictEqual(searchPath.slice(1), ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]);
        });

        it("puts select-buildkit next to buildctl: ConfigMap in arc-runners, copied by an init container, executable", () => {
            const spec = findResource(run, RELEASE, label).inputs.values.template.spec;
            const configMap = findResource(run, "kubernetes:core/v1:ConfigMap", "arc-buildkit-selector");
            assert.strictEqual(configMap.inputs.metadata.namespace, "arc-runners");
            const script = fs.readFileSync(path.join(__dirname, "..", "components", "arc", "select-buildkit.sh"), "utf8");
            assert.deepStrictEqual(configMap.inputs.data, { "select-buildkit.sh": script });
            // The script's digest is on the runner pod template: ARC hashes the template, so a new script
            // replaces idle runners instead of leaving them with the copy they made when they started.
            const template = findResource(run, RELEASE, label).inputs.values.template;
            assert.deepStrictEqual(template.metadata, {
                annotations: { "arc-buildkit/select-buildkit-sha256": createHash("sha256").update(script).digest("hex") },
            });
            const volume = spec.volumes.find((v: any) => v.configMap?.name === "arc-buildkit-selector");
            assert.strictEqual(volume.configMap.defaultMode, 0o555);
            const init = spec.initContainers.find((c: any) => c.name === "install-select-buildkit");
            // The runner image itself has cp; it is already on the node for the runner container.
            assert.strictEqual(init.image, stackSetting(stack, "arc").runnerImage);
            const source = init.volumeMounts.find((m: any) => m.name === volume.name);
            assert.strictEqual(source.readOnly, true);
            const buildctlInit = spec.initContainers.find((c: any) => c.name === "install-buildctl");
            const toolsDir = buildctlInit.command[2].replace(/\/buildctl$/, "");
            assert.deepStrictEqual(init.command, ["cp", `${source.mountPath}/select-buildkit.sh`, `${toolsDir}/select-buildkit`]);
            assert.ok(init.volumeMounts.some((m: any) => m.mountPath === toolsDir && !m.readOnly));

            // Run the init container's copy for real (a 0555 ConfigMap file, cp, umask 022) and the copy under sh.
            const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "arc-selector-"));
            fs.mkdirSync(path.join(tmp, "src"));
            fs.mkdirSync(path.join(tmp, "tools"));
            fs.writeFileSync(path.join(tmp, "src", "select-buildkit.sh"), configMap.inputs.data["select-buildkit.sh"], { mode: 0o555 });
            const cp = spawnSync("sh", [
                "-c",
                'umask 022 && exec "$@"',
                "sh",
                init.command[0],
                path.join(tmp, "src", "select-buildkit.sh"),
                path.join(tmp, "tools", "select-buildkit"),
            ]);
            assert.strictEqual(cp.status, 0, String(cp.stderr));
            assert.strictEqual(fs.statSync(path.join(tmp, "tools", "select-buildkit")).mode & 0o777, 0o555);
            // With the runner container's own environment, the copy ranks exactly the builders the StatefulSet has.
            const runner = spec.containers.find((c: any) => c.name === "runner");
            const env = Object.fromEntries(runner.env.map((e: any) => [e.name, e.value]));
            const replicas = stackSetting(stack, "buildkit").replicas;
            const hosts = Array.from({ length: replicas }, (_, i) => `buildkitd-${i}.buildkitd-headless.buildkit.svc.cluster.local`);
            assert.strictEqual(env.AMEIDE_BUILDKIT_BUILDERS, hosts.join(" "));
            assert.strictEqual(env.AMEIDE_BUILDKIT_SELECT_TIMEOUT, "5");
            const ranked = spawnSync(path.join(tmp, "tools", "select-buildkit"), ["--rank"], {
                env: { ...env, PATH: process.env.PATH, GITHUB_REPOSITORY: "ameideio/app" },
                encoding: "utf8",
            });
            assert.strictEqual(ranked.status, 0, ranked.stderr);
            assert.deepStrictEqual(ranked.stdout.trim().split("\n"), rankBuilders("ameideio/app", hosts));
            // The runner's tools directory (read-only there) is first on PATH: `select-buildkit` is a bare command.
            assert.strictEqual(env.PATH.split(":")[0], toolsDir);
            // Every pod name the selector dials is in the server certificate, so --tlsservername verifies.
            const pkiNames = serverCertificateNames().dnsNames;
            for (const host of hosts) assert.ok(coversHostname(pkiNames, host), host);
        });

        it("runs the runner pod unprivileged, as non-root, with no way to escalate", () => {
            const spec = findResource(run, RELEASE, label).inputs.values.template.spec;
            assert.strictEqual(spec.securityContext.runAsNonRoot, true);
            assert.strictEqual(spec.securityContext.runAsUser, 1001);
            assert.strictEqual(spec.securityContext.seccompProfile.type, "RuntimeDefault");
            for (const container of [...spec.initContainers, ...spec.containers]) {
                const sc = container.securityContext;
                assert.strictEqual(sc.privileged, false, container.name);
                assert.strictEqual(sc.allowPrivilegeEscalation, false, container.name);
                assert.strictEqual(sc.runAsNonRoot, true, container.name);
                assert.deepStrictEqual(sc.capabilities, { drop: ["ALL"] }, container.name);
                assert.strictEqual(sc.seccompProfile.type, "RuntimeDefault", container.name);
            }
            // What Pod Security `baseline` forbids appears nowhere (arc-runners enforces `restricted`, see below).
            for (const node of walk(spec)) {
                assert.notStrictEqual(node.privileged, true);
                assert.ok(!("hostPath" in node) && !("hostNetwork" in node) && !("hostPID" in node) && !("hostIPC" in node));
                assert.ok(!("add" in node), "no added capabilities");
            }
        });

        it("creates arc-systems with Pod Security baseline and arc-runners with restricted, and the client TLS secret in arc-runners", () => {
            const enforced = (ns: string) => findResource(run, "kubernetes:core/v1:Namespace", ns).inputs.metadata.labels["pod-security.kubernetes.io/enforce"];
            assert.strictEqual(enforced("arc-systems"), "baseline");
            // Untrusted job code runs in arc-runners; ARC puts the listener in the controller namespace.
            assert.strictEqual(enforced("arc-runners"), "restricted");
            const tls = findResource(run, "kubernetes:core/v1:Secret", "buildkitd-client-tls");
            assert.strictEqual(tls.inputs.metadata.namespace, "arc-runners");
            assert.strictEqual(tls.inputs.type, "kubernetes.io/tls");
            assert.ok(isSecretInput(tls.inputs.stringData));
        });

        it("writes the GitHub App credentials only into a secret Kubernetes Secret in arc-runners", () => {
            const secret = findResource(run, "kubernetes:core/v1:Secret", "arc-github-config");
            assert.strictEqual(secret.inputs.metadata.name, "arc-github-config");
            assert.strictEqual(secret.inputs.metadata.namespace, "arc-runners");
            assert.ok(isSecretInput(secret.inputs.stringData), "stringData is a Pulumi secret");
            assert.deepStrictEqual(reveal(secret.inputs.stringData), {
                github_app_id: FAKE_APP_ID,
                github_app_installation_id: FAKE_APP_INSTALLATION_ID,
                github_app_private_key: FAKE_APP_PRIVATE_KEY + "\n",
            });
        });

        it("keeps every credential out of Helm values, other resources and stack outputs", async () => {
            for (const resource of run.resources) {
                // Each tier's runner namespace holds its own copy (`protected-arc-github-config`); the admin
                // provider holds the admin token. Both are checked for secrecy on their own.
                if (/^([a-z0-9]+-)?arc-github-config$/.test(resource.name) || resource.type === "pulumi:providers:github") {
                    assert.ok(resource.type === "pulumi:providers:github" || isSecretInput(resource.inputs.stringData), `${resource.name} is a secret`);
                    continue;
                }
                const text = JSON.stringify(reveal(resource.inputs));
                for (const secret of ALL_FAKE_SECRETS) {
                    assert.ok(!text.includes(secret), `${resource.type}/${resource.name} contains a credential`);
                }
            }
            for (const release of run.resources.filter((r) => r.type === RELEASE)) {
                assert.ok(![...walk(release.inputs)].some(isSecretInput) && !isSecretInput(release.inputs.values), `${release.name} values hold no secret`);
            }
            const outputs = JSON.stringify(reveal(await new Promise((resolve) => pulumi.output(run.outputs).apply(resolve))));
            for (const secret of ALL_FAKE_SECRETS) {
                assert.ok(!outputs.includes(secret), "stack outputs contain a credential");
            }
        });
    });
}

describe("ARC with token authentication", () => {
    it("stores only github_token, as a secret", async () => {
        const run = await runProgram("aks", withTokenCredentials, { secretKeys: TOKEN_SECRET_KEYS });
        const secret = findResource(run, "kubernetes:core/v1:Secret", "arc-github-config");
        assert.ok(isSecretInput(secret.inputs.stringData));
        assert.deepStrictEqual(reveal(secret.inputs.stringData), { github_token: FAKE_TOKEN });
        assert.strictEqual(findResource(run, RELEASE, "arc-aks-v2").inputs.values.githubConfigSecret, "arc-github-config");
    });
});

describe("ARC with several scale sets", () => {
    it("declares one release per scale set, each with its own name and counts", async () => {
        const run = await runProgram(
            "aks",
            ...appCredentials(editConfig("arc", (arc) => arc.scaleSets.push({ name: "arc-aks-large", minRunners: 0, maxRunners: 3, runnerGroup: "builders" }))),
        );
        const large = findResource(run, RELEASE, "arc-aks-large");
        assert.strictEqual(large.inputs.values.runnerScaleSetName, "arc-aks-large");
        assert.strictEqual(large.inputs.values.maxRunners, 3);
        assert.strictEqual(large.inputs.values.runnerGroup, "builders");
        assert.strictEqual(findResource(run, RELEASE, "arc-aks-v2").inputs.values.maxRunners, 10);
    });
});
