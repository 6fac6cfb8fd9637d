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
    checkSecretFiles,
    resolveSettings,
    clusterOf,
    nothingToTearDown,
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
        // After the step that writes the per-user config, the update.
        assert.deepEqual(planUp({ ...base, refresh: true }).map(render), [
            "node_modules/.bin/tsx scripts/local-env.ts config",
            "pulumi up --stack local --config-file .pulumi-state/stack/Pulumi.local.yaml --policy-pack policy --refresh --yes --non-interactive",
        ]);
        assert.deepEqual(planUp(base).map(render), [
            "node_modules/.bin/tsx scripts/local-env.ts config",
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
        assert.equal(steps[0], "node_modules/.bin/tsx scripts/local-env.ts config");
        assert.equal(steps[1], `k3d cluster create ${CLUSTER_NAME} --image ${K3S_IMAGE} --wait --kubeconfig-update-default --kubeconfig-switch-context=false`);
        assert.match(K3S_IMAGE, /^rancher\/k3s:v1\.\d+\.\d+-k3s\d+@sha256:[a-f0-9]{64}$/);
    });

    it("creates the stack inside the per-user directory, then runs pulumi up with the per-user config and the pack", () => {
        assert.deepEqual(planUp({ ...fresh, clusterExists: true }).map(render), [
            "node_modules/.bin/tsx scripts/local-env.ts config",
            "(cd .pulumi-state/stack && pulumi stack init local --secrets-provider passphrase --non-interactive)",
            "pulumi up --stack local --config-file .pulumi-state/stack/Pulumi.local.yaml --policy-pack policy",
        ]);
        assert.deepEqual(planUp({ ...fresh, clusterExists: true, stackExists: true }).map(render), [
            "node_modules/.bin/tsx scripts/local-env.ts config",
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
            "node_modules/.bin/tsx scripts/local-env.ts config",
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
            const r = spawnSync(process.execPath, [...TSX, path.join(root, "scripts", "local-env.ts"), mode, "--dry-run"], {
                env: { PATH: "", HOME: process.env.HOME ?? "/tmp", USER: "alice" },
                encoding: "utf8",
            });
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stderr, /pulumi: not found on PATH/);
            const commands = r.stdout.split("\n").filter((l) => l !== "" && !l.startsWith("#") && !/^(cd|export) /.test(l));
            const plan =
                mode === "up"
                    ? planUp({ repoRoot: root, clusterExists: false, stackExists: false, assumeYes: true })
                    : planDown({ clusterExists: true, stackExists: true, force: false });
            assert.deepEqual(commands, plan.map(render));
            assert.match(r.stdout, new RegExp(`^export PULUMI_BACKEND_URL=file://${root.replace(/[/.]/g, "\\$&")}/\\.pulumi-state`, "m"));
            if (mode === "up") assert.match(r.stdout, /^# Your runners: scale set arc-local-alice \(label arc-local\)/m);
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

describe("local-env: a dry run replays on a fresh clone, and bad inputs stop it before any change", function () {
    // Each case starts the script under tsx several times: room for a machine busy with other work.
    this.timeout(180_000);
    // The script under tsx's loader in one process (tsx's CLI would start a second one to run it).
    const TSX = ["--require", require.resolve("tsx/cjs")];
    let scratch: string;
    let bin: string;
    // A fresh clone of what local:up needs: the script, the module it imports, the stack files, and the
    // installed node_modules (npm ci), without any .pulumi-state.
    beforeEach(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "local-env-clone-"));
        const repo = path.join(__dirname, "..");
        for (const file of ["scripts/local-env.ts", "config/credential-keys.ts", "Pulumi.yaml", TRACKED_CONFIG]) {
            fs.mkdirSync(path.dirname(path.join(scratch, file)), { recursive: true });
            fs.copyFileSync(path.join(repo, file), path.join(scratch, file));
        }
        fs.symlinkSync(path.join(repo, "node_modules"), path.join(scratch, "node_modules"));
        // Stand-ins for pulumi and k3d that record where and how they ran (and swallow stdin, as pulumi does).
        bin = path.join(scratch, "fake-bin");
        fs.mkdirSync(bin);
        for (const tool of ["pulumi", "k3d", "docker", "kubectl"]) {
            fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\nprintf '%s|%s %s|%s\\n' "$PWD" "${tool}" "$*" "$(cat)" >> "${scratch}/calls"\n`, {
                mode: 0o755,
            });
        }
    });
    afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

    const dryRun = (mode: string, env: NodeJS.ProcessEnv) =>
        spawnSync(process.execPath, [...TSX, path.join(scratch, "scripts", "local-env.ts"), mode, "--dry-run"], {
            cwd: scratch,
            env: { PATH: "", HOME: process.env.HOME ?? "/tmp", USER: "alice", ...env },
            encoding: "utf8",
        });

    it("the printed commands, piped to sh on a fresh clone, do what local:up does (per-user config first, then cluster, stack, secrets, up)", () => {
        const env = {
            ARC_BUILDKIT_GITHUB_TOKEN: "ghp_example",
            ARC_BUILDKIT_GITHUB_CONFIG_URL: "https://github.com/acme",
            ARC_BUILDKIT_RUNNER_GROUP: "laptops",
        };
        const printed = dryRun("up", env);
        assert.equal(printed.status, 0, printed.stderr);
        // Run from elsewhere: the script's own `cd` takes it to the clone.
        const replay = spawnSync("sh", ["-e"], {
            cwd: os.tmpdir(),
            input: printed.stdout,
            env: {
                PATH: [bin, path.dirname(process.execPath), "/usr/bin", "/bin"].join(path.delimiter),
                HOME: process.env.HOME ?? "/tmp",
                USER: "alice",
                ...env,
            },
            encoding: "utf8",
        });
        assert.equal(replay.status, 0, replay.stderr + replay.stdout);
        const calls = fs
            .readFileSync(path.join(scratch, "calls"), "utf8")
            .trim()
            .split("\n")
            .map((l) => l.split("|"));
        const stackDir = fs.realpathSync(path.join(scratch, USER_STACK_DIR));
        assert.deepEqual(
            calls.map(([cwd, cmd]) => [
                cwd === stackDir ? "<stack dir>" : cwd === fs.realpathSync(scratch) ? "<repo>" : cwd,
                cmd.split(" ").slice(0, 3).join(" "),
            ]),
            [
                ["<repo>", "k3d cluster create"],
                ["<stack dir>", "pulumi stack init"],
                ["<repo>", "pulumi config set"],
                ["<repo>", "pulumi up --stack"],
            ],
        );
        assert.equal(calls[2][2], "ghp_example", "the token reaches pulumi on stdin");
        const written = yaml.load(fs.readFileSync(path.join(scratch, USER_CONFIG), "utf8")) as { config: Record<string, any> };
        assert.equal(written.config["arc-buildkit:github"].configUrl, "https://github.com/acme");
        assert.equal(written.config["arc-buildkit:github"].auth, "token");
        assert.deepEqual(
            written.config["arc-buildkit:arc"].scaleSets.map((s: { name: string; runnerGroup: string }) => [s.name, s.runnerGroup]),
            [["arc-local-alice", "laptops"]],
        );
        assert.ok(fs.existsSync(path.join(scratch, STATE_DIR, "passphrase.txt")));
        assert.ok(fs.existsSync(path.join(scratch, USER_STACK_DIR, "Pulumi.yaml")), "pulumi stack init finds the project file in the per-user directory");
    });

    it("stores the organization, runner group and cluster name for later runs; local:down uses the stored cluster", () => {
        const first = dryRun("up", { ARC_BUILDKIT_GITHUB_CONFIG_URL: "https://github.com/acme", ARC_BUILDKIT_CLUSTER_NAME: "builds" });
        assert.equal(first.status, 0, first.stderr);
        assert.match(first.stdout, /^k3d cluster create builds /m);
        // The dry run changed nothing: no settings stored yet, so a second dry run without the variables falls back.
        assert.match(dryRun("up", {}).stdout, /^k3d cluster create buildkit /m);
        // The config step stores them; later runs (and local:down) use them without the variables.
        const config = spawnSync(process.execPath, [...TSX, path.join(scratch, "scripts", "local-env.ts"), "config"], {
            cwd: scratch,
            env: { PATH: "", USER: "alice", ARC_BUILDKIT_GITHUB_CONFIG_URL: "https://github.com/acme", ARC_BUILDKIT_CLUSTER_NAME: "builds" },
            encoding: "utf8",
        });
        assert.equal(config.status, 0, config.stderr);
        assert.match(
            config.stdout,
            /organization https:\/\/github\.com\/acme, runner group arc-local \(Pulumi\.local\.yaml\); cluster builds \(kube context k3d-builds\)/,
        );
        const written = yaml.load(fs.readFileSync(path.join(scratch, USER_CONFIG), "utf8")) as { config: Record<string, any> };
        assert.equal(written.config["arc-buildkit:cluster"].kubeContext, "k3d-builds");
        assert.match(dryRun("up", {}).stdout, /^k3d cluster create builds /m);
        assert.match(dryRun("down", {}).stdout, /^k3d cluster delete builds$/m);
    });

    it("reads the cluster's identity (kube-system's UID) through the chosen cluster's context, not the default one", () => {
        const r = spawnSync(process.execPath, [...TSX, path.join(scratch, "scripts", "local-env.ts"), "up", "--yes"], {
            cwd: scratch,
            env: { PATH: [bin, path.dirname(process.execPath), "/usr/bin", "/bin"].join(path.delimiter), USER: "alice", ARC_BUILDKIT_CLUSTER_NAME: "builds" },
            encoding: "utf8",
        });
        assert.equal(r.status, 0, r.stderr + r.stdout);
        const kubectl = fs
            .readFileSync(path.join(scratch, "calls"), "utf8")
            .split("\n")
            .map((l) => l.split("|")[1] ?? "")
            .filter((c) => c.startsWith("kubectl "));
        assert.ok(kubectl.length > 0, "the fake k3d says the cluster exists, so its identity is read");
        for (const c of kubectl) assert.match(c, /^kubectl --context k3d-builds /);
    });

    it("a wrong private-key path stops local:up with one message, before any command", () => {
        const env = {
            ARC_BUILDKIT_GITHUB_APP_ID: "1",
            ARC_BUILDKIT_GITHUB_APP_INSTALLATION_ID: "2",
            ARC_BUILDKIT_GITHUB_APP_PRIVATE_KEY_FILE: path.join(scratch, "no-such.pem"),
            ARC_BUILDKIT_GITHUB_CONFIG_URL: "https://github.com/acme",
        };
        for (const mode of ["--dry-run", "--yes"]) {
            // PATH has the fake tools, so without the check local:up would go on to create the cluster.
            const r = spawnSync(process.execPath, [...TSX, path.join(scratch, "scripts", "local-env.ts"), "up", mode], {
                cwd: scratch,
                env: { PATH: [bin, path.dirname(process.execPath)].join(path.delimiter), USER: "alice", ...env },
                encoding: "utf8",
            });
            assert.equal(r.status, 1, r.stdout);
            assert.equal(
                r.stderr.trim(),
                `local:up: ARC_BUILDKIT_GITHUB_APP_PRIVATE_KEY_FILE=${env.ARC_BUILDKIT_GITHUB_APP_PRIVATE_KEY_FILE}: no such file. It must name the .pem file GitHub downloaded when you generated the App's private key.`,
            );
            assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
        }
        assert.ok(!fs.existsSync(path.join(scratch, "calls")), "no tool ran");
        assert.ok(!fs.existsSync(path.join(scratch, STATE_DIR)), "nothing was written");
    });

    it("credentials without an organization are refused (they would register runners with the tracked file's organization)", () => {
        const r = dryRun("up", { ARC_BUILDKIT_GITHUB_TOKEN: "ghp_example" });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /set ARC_BUILDKIT_GITHUB_CONFIG_URL=https:\/\/github\.com\/<your-organization>/);
    });
});

describe("local-env: inputs checked before any change", () => {
    it("a private key file that is missing, unreadable, a directory or not a PEM key is named with the reason", () => {
        const creds = credentialsFromEnv({
            ARC_BUILDKIT_GITHUB_APP_ID: "1",
            ARC_BUILDKIT_GITHUB_APP_INSTALLATION_ID: "2",
            ARC_BUILDKIT_GITHUB_APP_PRIVATE_KEY_FILE: "/k/app.pem",
        });
        assert.ok(creds && !("error" in creds));
        const failing = (code: string) => () => {
            throw Object.assign(new Error(code), { code });
        };
        assert.match(checkSecretFiles(creds, failing("ENOENT"))!, /^ARC_BUILDKIT_GITHUB_APP_PRIVATE_KEY_FILE=\/k\/app\.pem: no such file\./);
        assert.match(checkSecretFiles(creds, failing("EACCES"))!, /not readable by you/);
        assert.match(checkSecretFiles(creds, failing("EISDIR"))!, /a directory, not a file/);
        assert.match(
            checkSecretFiles(creds, () => "ssh-rsa AAAA")!,
            /not a PEM private key/,
        );
        assert.equal(
            checkSecretFiles(creds, () => "-----BEGIN RSA PRIVATE KEY-----\nMII...\n-----END RSA PRIVATE KEY-----\n"),
            undefined,
        );
        assert.equal(checkSecretFiles(credentialsFromEnv({ ARC_BUILDKIT_GITHUB_TOKEN: "t" }) as never, failing("ENOENT")), undefined, "a token has no file");
    });

    it("a relative key path is relative to where npm run was typed (INIT_CWD)", () => {
        const creds = credentialsFromEnv({
            ARC_BUILDKIT_GITHUB_APP_ID: "1",
            ARC_BUILDKIT_GITHUB_APP_INSTALLATION_ID: "2",
            ARC_BUILDKIT_GITHUB_APP_PRIVATE_KEY_FILE: "keys/app.pem",
            INIT_CWD: "/home/alice",
        });
        assert.deepEqual((creds as { values: { source: unknown }[] }).values[2].source, { file: "/home/alice/keys/app.pem" });
    });

    it("settings: the environment over what was stored; each checked with the schema's rule", () => {
        assert.deepEqual(resolveSettings({ ARC_BUILDKIT_RUNNER_GROUP: "laptops" }, { configUrl: "https://github.com/acme", runnerGroup: "old" }, false), {
            settings: { configUrl: "https://github.com/acme", runnerGroup: "laptops" },
        });
        assert.deepEqual(resolveSettings({ ARC_BUILDKIT_GITHUB_CONFIG_URL: " " }, {}, false), { settings: {} }, "an empty variable is unset");
        assert.match(
            (resolveSettings({ ARC_BUILDKIT_GITHUB_CONFIG_URL: "github.com/acme" }, {}, false) as { error: string }).error,
            /expected https:\/\/github\.com\/<organization>/,
        );
        assert.match(
            (resolveSettings({ ARC_BUILDKIT_CLUSTER_NAME: "My_Cluster" }, {}, false) as { error: string }).error,
            /ARC_BUILDKIT_CLUSTER_NAME="My_Cluster"/,
        );
        assert.match((resolveSettings({ ARC_BUILDKIT_RUNNER_GROUP: "a/b" }, {}, false) as { error: string }).error, /no '\/'/);
        // A laptop never joins an organization's default group; with a repository URL the group is the repository's own.
        assert.match(
            (resolveSettings({ ARC_BUILDKIT_RUNNER_GROUP: "Default" }, { configUrl: "https://github.com/acme" }, false) as { error: string }).error,
            /^ARC_BUILDKIT_RUNNER_GROUP=Default: the organization's default group admits every repository/,
        );
        assert.ok("settings" in resolveSettings({ ARC_BUILDKIT_RUNNER_GROUP: "default" }, { configUrl: "https://github.com/acme/app" }, false));
        assert.ok("settings" in resolveSettings({}, { configUrl: "https://github.com/acme" }, true), "a stored organization is enough for new credentials");
        assert.deepEqual(clusterOf({}), { name: CLUSTER_NAME, context: `k3d-${CLUSTER_NAME}` });
    });

    it("the merged per-user config carries the organization, runner group and kube context, and the program accepts it", () => {
        const merged = mergeUserConfig(fs.readFileSync(path.join(__dirname, "..", TRACKED_CONFIG), "utf8"), undefined, "arc-local-alice", "token", {
            configUrl: "https://github.com/acme/app",
            runnerGroup: "laptops",
            clusterName: "builds",
        });
        const config = (yaml.load(merged) as { config: Record<string, any> }).config;
        assert.equal(config["arc-buildkit:github"].configUrl, "https://github.com/acme/app");
        assert.equal(config["arc-buildkit:arc"].scaleSets[0].runnerGroup, "laptops");
        assert.equal(config["arc-buildkit:cluster"].kubeContext, "k3d-builds");
    });

    it("local:down with nothing to remove (no state, no k3d) needs no tool and says so", () => {
        assert.equal(nothingToTearDown(false, false), true);
        assert.equal(nothingToTearDown(true, false), false, "state without k3d: the stack is still to remove (pulumi is asked for)");
        assert.equal(nothingToTearDown(false, true), false, "k3d present: a cluster may exist");
        const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "local-down-"));
        try {
            fs.mkdirSync(path.join(scratch, "scripts"));
            fs.mkdirSync(path.join(scratch, "config"));
            for (const f of ["scripts/local-env.ts", "config/credential-keys.ts", "Pulumi.yaml", TRACKED_CONFIG]) {
                fs.copyFileSync(path.join(__dirname, "..", f), path.join(scratch, f));
            }
            fs.symlinkSync(path.join(__dirname, "..", "node_modules"), path.join(scratch, "node_modules"));
            const r = spawnSync(process.execPath, ["--require", require.resolve("tsx/cjs"), path.join(scratch, "scripts", "local-env.ts"), "down"], {
                env: { PATH: "", HOME: process.env.HOME ?? "/tmp" },
                encoding: "utf8",
            });
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stdout, /^Nothing to do: no local state/);
            assert.equal(r.stderr, "");
        } finally {
            fs.rmSync(scratch, { recursive: true, force: true });
        }
    });

    it("local:down asks only for the tools it runs (no kubectl)", () => {
        assert.deepEqual(
            findMissing(() => false, "down").map((p) => p.tool),
            ["pulumi", "k3d", "docker"],
        );
        const report = prerequisiteReport(
            findMissing(() => false, "down"),
            "linux",
            undefined,
            "down",
        );
        assert.doesNotMatch(report, /kubectl/);
        assert.match(report, /^local:down needs 3 missing tool\(s\)/);
        assert.match(report, /run `npm run local:down` again\.$/);
    });
});
