import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as fs from "node:fs";
import * as yaml from "js-yaml";
import { parseSettings } from "../config";
import { scaleSetValues } from "../components/arc/values";
import {
    CLUSTER_ID_FILE,
    CLUSTER_NAME,
    K3S_IMAGE,
    STATE_DIR,
    TRACKED_CONFIG,
    USER_CONFIG,
    USER_STACK_DIR,
    credentialsFromEnv,
    ensureLocalState,
    mergeUserConfig,
    userRunnerLabel,
    PREREQUISITES,
    findMissing,
    makePathLookup,
    planDown,
    planUp,
    refreshReason,
    platformOf,
    prerequisiteReport,
    pulumiEnv,
    render,
    stackNames,
    writeUserConfig,
} from "../scripts/local-env";
import * as os from "node:os";

const repoRoot = "/src/arc-buildkit";

describe("local-env: prerequisites", () => {
    it("checks pulumi, k3d, docker and kubectl", () => {
        assert.deepEqual(
            PREREQUISITES.map((p) => p.tool),
            ["pulumi", "k3d", "docker", "kubectl"],
        );
    });

    it("finds tools through the PATH lookup only", () => {
        const present = new Set(["/usr/bin/docker", "/opt/k3d/k3d"]);
        const onPath = makePathLookup(["/usr/bin", "/opt/k3d", ""].join(path.delimiter), (f) => present.has(f));
        assert.deepEqual(
            findMissing(onPath).map((p) => p.tool),
            ["pulumi", "kubectl"],
        );
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
        const linux = prerequisiteReport(
            findMissing(() => false),
            "linux",
            undefined,
        );
        assert.doesNotMatch(linux, /macOS:/);
        const mac = prerequisiteReport(
            findMissing(() => false),
            "macos",
            undefined,
        );
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

describe("local-env: a fresh k3d cluster with surviving state", () => {
    it("refreshes when the cluster is new, re-created (another kube-system UID), or of unknown identity, and only with a stack", () => {
        assert.equal(refreshReason({ stackExists: false, clusterCreated: true }), undefined);
        assert.match(refreshReason({ stackExists: true, clusterCreated: true })!, /cluster is new but the stack's state survived/);
        assert.match(refreshReason({ stackExists: true, clusterCreated: false, recorded: "a", current: "b" })!, /re-created \(kube-system UID a -> b\)/);
        assert.match(refreshReason({ stackExists: true, clusterCreated: false, current: "b" })!, /no cluster identity was recorded/);
        assert.match(refreshReason({ stackExists: true, clusterCreated: false, recorded: "a" })!, /could not be read/);
        assert.equal(refreshReason({ stackExists: true, clusterCreated: false, recorded: "a", current: "a" }), undefined);
    });

    it("runs pulumi up --refresh when asked, and plain up otherwise", () => {
        const base = { repoRoot, clusterExists: true, stackExists: true, assumeYes: true };
        assert.deepEqual(planUp({ ...base, refresh: true }).map(render), [
            "pulumi up --stack local --config-file .pulumi-state/stack/Pulumi.local.yaml --policy-pack policy --refresh --yes --non-interactive",
        ]);
        assert.deepEqual(planUp(base).map(render), [
            "pulumi up --stack local --config-file .pulumi-state/stack/Pulumi.local.yaml --policy-pack policy --yes --non-interactive",
        ]);
    });

    it("records the cluster identity inside the git-ignored state directory", () => {
        assert.ok(CLUSTER_ID_FILE.startsWith(`${STATE_DIR}/`));
    });
});

describe("local-env: command plan for local:up", () => {
    const fresh = { repoRoot, clusterExists: false, stackExists: false, assumeYes: false };

    it("creates the cluster with the pinned k3s image, without switching the user's kube context", () => {
        const steps = planUp(fresh).map(render);
        assert.equal(steps[0], `k3d cluster create ${CLUSTER_NAME} --image ${K3S_IMAGE} --wait --kubeconfig-update-default --kubeconfig-switch-context=false`);
        assert.match(K3S_IMAGE, /^rancher\/k3s:v1\.\d+\.\d+-k3s\d+@sha256:[a-f0-9]{64}$/);
    });

    it("creates the stack inside the per-user directory, then runs pulumi up with the per-user config and the pack", () => {
        assert.deepEqual(planUp({ ...fresh, clusterExists: true }).map(render), [
            "(cd .pulumi-state/stack && pulumi stack init local --secrets-provider passphrase --non-interactive)",
            "pulumi up --stack local --config-file .pulumi-state/stack/Pulumi.local.yaml --policy-pack policy",
        ]);
        assert.deepEqual(planUp({ ...fresh, clusterExists: true, stackExists: true }).map(render), [
            "pulumi up --stack local --config-file .pulumi-state/stack/Pulumi.local.yaml --policy-pack policy",
        ]);
    });

    it("stores credentials from the environment as secrets, values on stdin, before the one pulumi up", () => {
        const app = credentialsFromEnv({
            ARC_BUILDKIT_GITHUB_APP_ID: "1",
            ARC_BUILDKIT_GITHUB_APP_INSTALLATION_ID: "2",
            ARC_BUILDKIT_GITHUB_APP_PRIVATE_KEY_FILE: "/k/app.pem",
        });
        assert.ok(app && !("error" in app));
        assert.deepEqual(planUp({ ...fresh, clusterExists: true, stackExists: true, credentials: app }).map(render), [
            `printf '%s' "$ARC_BUILDKIT_GITHUB_APP_ID" | pulumi config set --secret --stack local --config-file .pulumi-state/stack/Pulumi.local.yaml arc-buildkit:githubAppId`,
            `printf '%s' "$ARC_BUILDKIT_GITHUB_APP_INSTALLATION_ID" | pulumi config set --secret --stack local --config-file .pulumi-state/stack/Pulumi.local.yaml arc-buildkit:githubAppInstallationId`,
            "pulumi config set --secret --stack local --config-file .pulumi-state/stack/Pulumi.local.yaml arc-buildkit:githubAppPrivateKey < /k/app.pem",
            "pulumi up --stack local --config-file .pulumi-state/stack/Pulumi.local.yaml --policy-pack policy",
        ]);
        const token = credentialsFromEnv({ ARC_BUILDKIT_GITHUB_TOKEN: "ghp_x" });
        assert.deepEqual(token, { method: "token", values: [{ key: "githubToken", source: { env: "ARC_BUILDKIT_GITHUB_TOKEN" } }] });
        assert.equal(credentialsFromEnv({}), undefined);
        assert.match(
            (credentialsFromEnv({ ARC_BUILDKIT_GITHUB_APP_ID: "1" }) as { error: string }).error,
            /missing: ARC_BUILDKIT_GITHUB_APP_INSTALLATION_ID, ARC_BUILDKIT_GITHUB_APP_PRIVATE_KEY_FILE/,
        );
        assert.match((credentialsFromEnv({ ...{ ARC_BUILDKIT_GITHUB_APP_ID: "1" }, ARC_BUILDKIT_GITHUB_TOKEN: "t" }) as { error: string }).error, /not both/);
    });

    it("passes --yes only when asked (or when there is no terminal)", () => {
        const last = planUp({ ...fresh, clusterExists: true, assumeYes: true }).at(-1)!;
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

describe("local-env: per-user runner label and stack config", () => {
    const tracked = fs.readFileSync(path.join(__dirname, "..", "Pulumi.local.yaml"), "utf8");

    it("derives a valid, per-user runner label from $USER, or takes an explicit one", () => {
        assert.deepEqual(userRunnerLabel({ USER: "alice" }), { label: "arc-local-alice" });
        assert.deepEqual(userRunnerLabel({ USER: "Bob.Smith_2" }), { label: "arc-local-bob-smith-2" });
        assert.equal((userRunnerLabel({ USER: "x".repeat(80) }) as { label: string }).label.length, 45);
        assert.deepEqual(userRunnerLabel({ USER: "alice", ARC_BUILDKIT_RUNNER_LABEL: "arc-laptop-7" }), { label: "arc-laptop-7" });
        assert.match((userRunnerLabel({ ARC_BUILDKIT_RUNNER_LABEL: "Arc_Local" }) as { error: string }).error, /not a runner label/);
        assert.match((userRunnerLabel({ USER: "---" }, null) as { error: string }).error, /ARC_BUILDKIT_RUNNER_LABEL/);
        // Containers and CI often set no $USER: the account's login name is used then.
        assert.deepEqual(userRunnerLabel({}, "root"), { label: "arc-local-root" });
        assert.match((userRunnerLabel({}, null) as { error: string }).error, /cannot derive a runner label/);
    });

    it("names the user's scale set after the user and keeps the contract label arc-local on it, and the program accepts it", () => {
        const merged = yaml.load(mergeUserConfig(tracked, undefined, "arc-local-alice")) as { config: Record<string, any> };
        // CONTRACTS.md: the local stack's runner label is arc-local; only the scale set's name is per user.
        assert.equal(merged.config["arc-buildkit:runnerLabel"], "arc-local");
        assert.deepEqual(
            merged.config["arc-buildkit:arc"].scaleSets.map((s: { name: string; labels: string[] }) => [s.name, s.labels]),
            [["arc-local-alice", ["arc-local"]]],
        );
        const raw = Object.fromEntries(Object.entries(merged.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
        const settings = parseSettings(raw, "local");
        assert.equal(settings.runnerLabel, "arc-local");
        assert.deepEqual(settings.arc.scaleSets[0].labels, ["arc-local"]);
        assert.equal(settings.githubCredentials, undefined);
        // Merging twice (every local:up run) gives the same file.
        assert.equal(mergeUserConfig(tracked, undefined, "arc-local-alice"), mergeUserConfig(tracked, undefined, "arc-local-alice"));
    });

    it("gives the chart the contract label as scaleSetLabels, and only where labels are set", () => {
        const base = {
            githubConfigUrl: "https://github.com/acme",
            minRunners: 0,
            maxRunners: 2,
            runnerGroup: "default",
            runnerImage: "r",
            buildkitImage: "b",
            endpoint: "e",
            serverName: "s",
            builders: ["b0"],
            selectorTimeoutSeconds: 5,
            githubConfigSecretName: "gh",
            clientTlsSecretName: "tls",
            selectorConfigMapName: "sel",
            runnerResources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "4Gi" } },
        };
        const labelled = scaleSetValues({ ...base, name: "arc-local-alice", labels: ["arc-local"] });
        assert.equal(labelled.runnerScaleSetName, "arc-local-alice");
        assert.deepEqual(labelled.scaleSetLabels, ["arc-local"]);
        assert.equal("scaleSetLabels" in scaleSetValues({ ...base, name: "arc-aks-v2" }), false);
        assert.equal("scaleSetLabels" in scaleSetValues({ ...base, name: "arc-aks-v2", labels: [] }), false);
    });

    it("rejects a runner label that is neither a scale set's name nor one of its labels", () => {
        const raw = Object.fromEntries(
            Object.entries((yaml.load(tracked) as { config: Record<string, unknown> }).config).map(([k, v]) => [
                k,
                typeof v === "string" ? v : JSON.stringify(v),
            ]),
        );
        raw["arc-buildkit:runnerLabel"] = "arc-elsewhere";
        assert.throws(() => parseSettings(raw, "local"), /arc-buildkit:runnerLabel: expected the name or one of the labels of one of arc.scaleSets/);
    });

    it("keeps this user's salt and encrypted credentials, and follows them with github.auth", () => {
        const previous = [
            "encryptionsalt: v1:abc",
            "config:",
            "  arc-buildkit:githubToken:",
            "    secure: v1:tok",
            "  arc-buildkit:runnerLabel: arc-local-old",
        ].join("\n");
        const kept = yaml.load(mergeUserConfig(tracked, previous, "arc-local-alice")) as { encryptionsalt: string; config: Record<string, any> };
        assert.equal(kept.encryptionsalt, "v1:abc");
        assert.deepEqual(kept.config["arc-buildkit:githubToken"], { secure: "v1:tok" });
        assert.equal(kept.config["arc-buildkit:github"].auth, "token");
        const switched = yaml.load(mergeUserConfig(tracked, previous, "arc-local-alice", "app")) as { config: Record<string, any> };
        assert.equal(switched.config["arc-buildkit:githubToken"], undefined);
        assert.equal(switched.config["arc-buildkit:github"].auth, "app");
    });

    it("writes only git-ignored files: the per-user config lives under the ignored state directory", () => {
        for (const file of [USER_CONFIG, path.join(USER_STACK_DIR, "Pulumi.yaml"), path.join(STATE_DIR, "passphrase.txt")]) {
            const r = spawnSync("git", ["check-ignore", "-q", file], { cwd: path.join(__dirname, "..") });
            assert.equal(r.status, 0, `${file} is not git-ignored`);
        }
        assert.equal(TRACKED_CONFIG, "Pulumi.local.yaml");
        const trackedConfig = spawnSync("git", ["ls-files", "--error-unmatch", TRACKED_CONFIG], { cwd: path.join(__dirname, "..") });
        assert.equal(trackedConfig.status, 0, "the tracked stack file is what local:up reads");
    });
});

describe("local-env: command plan for local:down", () => {
    it("destroys, removes the stack keeping the tracked config, then deletes the cluster", () => {
        assert.deepEqual(planDown({ clusterExists: true, stackExists: true, force: false }).map(render), [
            "pulumi destroy --stack local --config-file .pulumi-state/stack/Pulumi.local.yaml --yes --non-interactive",
            "pulumi stack rm local --yes --force --preserve-config --non-interactive",
            "k3d cluster delete buildkit",
        ]);
    });

    it("never runs pulumi stack rm without --preserve-config", () => {
        for (const input of [
            { clusterExists: true, stackExists: true, force: true },
            { clusterExists: false, stackExists: true, force: false },
        ]) {
            const rm = planDown(input).filter((s) => s.args[0] === "stack" && s.args[1] === "rm");
            assert.equal(rm.length, 1);
            assert.ok(rm[0].args.includes("--preserve-config"));
        }
    });

    it("skips destroy with --force or without a cluster, and does nothing when nothing exists", () => {
        const forced = planDown({ clusterExists: true, stackExists: true, force: true }).map((s) => s.args[0]);
        assert.deepEqual(forced, ["stack", "cluster"]);
        assert.deepEqual(planDown({ clusterExists: false, stackExists: true, force: false }).map(render), [
            "pulumi stack rm local --yes --force --preserve-config --non-interactive",
        ]);
        assert.deepEqual(planDown({ clusterExists: false, stackExists: false, force: false }), []);
    });

    it("reads stack names from `pulumi stack ls --json`", () => {
        assert.deepEqual(stackNames('[{"name":"local","current":true},{"name":"aks"}]'), ["local", "aks"]);
        assert.deepEqual(stackNames("{}"), []);
    });
});

describe("local-env: files it writes (in a scratch repository)", () => {
    const mode = (file: string) => fs.statSync(file).mode & 0o777;
    let scratch: string;
    beforeEach(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "local-env-"));
        for (const file of ["Pulumi.yaml", TRACKED_CONFIG]) fs.copyFileSync(path.join(__dirname, "..", file), path.join(scratch, file));
    });
    afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

    it("generates the passphrase file readable by its owner only, even in a state directory that already existed world-readable, and never replaces it", () => {
        fs.mkdirSync(path.join(scratch, STATE_DIR), { mode: 0o755 });
        const env = pulumiEnv(scratch, {});
        ensureLocalState(scratch, env);
        const file = env.PULUMI_CONFIG_PASSPHRASE_FILE;
        assert.equal(mode(file), 0o600);
        const passphrase = fs.readFileSync(file, "utf8");
        assert.match(passphrase, /^[A-Za-z0-9_-]{32}\n$/);
        ensureLocalState(scratch, env);
        assert.equal(fs.readFileSync(file, "utf8"), passphrase, "a second up keeps the passphrase that encrypts the stack's secrets");
    });

    it("creates the state directory for its owner only", () => {
        ensureLocalState(scratch, pulumiEnv(scratch, {}));
        assert.equal(mode(path.join(scratch, STATE_DIR)), 0o700);
    });

    it("writes the per-user stack config (it holds the encrypted credentials) readable by its owner only", () => {
        writeUserConfig(scratch, "arc-local-alice");
        assert.equal(mode(path.join(scratch, USER_CONFIG)), 0o600);
        assert.equal(mode(path.join(scratch, USER_STACK_DIR)), 0o700);
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

    for (const mode of ["up", "down"]) {
        it(`--dry-run prints every ${mode} command even with no tool on PATH, and changes nothing`, () => {
            const root = path.join(__dirname, "..");
            const before = spawnSync("git", ["status", "--porcelain", "--ignored"], { cwd: root, encoding: "utf8" }).stdout;
            const r = spawnSync(process.execPath, [require.resolve("tsx/cli"), path.join(root, "scripts", "local-env.ts"), mode, "--dry-run"], {
                env: { PATH: "", HOME: process.env.HOME ?? "/tmp", USER: "alice" },
                encoding: "utf8",
            });
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stderr, /pulumi: not found on PATH/);
            const commands = r.stdout
                .split("\n")
                .filter((l) => l.startsWith("    $ "))
                .map((l) => l.slice(6));
            const plan =
                mode === "up"
                    ? planUp({ repoRoot: root, clusterExists: false, stackExists: false, assumeYes: true })
                    : planDown({ clusterExists: true, stackExists: true, force: false });
            assert.deepEqual(commands, plan.map(render));
            assert.match(r.stdout, new RegExp(`^export PULUMI_BACKEND_URL=file://${root.replace(/[/.]/g, "\\$&")}/\\.pulumi-state`, "m"));
            if (mode === "up") assert.match(r.stdout, /scale set arc-local-alice \(label arc-local\)/);
            assert.equal(spawnSync("git", ["status", "--porcelain", "--ignored"], { cwd: root, encoding: "utf8" }).stdout, before);
        });
    }

    it("rejects an unknown mode", () => {
        const r = spawnSync(process.execPath, [...TSX, path.join(__dirname, "..", "scripts", "local-env.ts"), "sideways"], {
            encoding: "utf8",
        });
        assert.equal(r.status, 2);
        assert.match(r.stderr, /usage:/);
    });
});
