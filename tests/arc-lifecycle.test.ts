// ARC on a real cluster: the CRDs Helm never upgrades, clusters that already run ARC or already have
// the namespaces (pulumi-kubernetes >= 4.29 fails with AlreadyExists), and the install-buildctl init
// container's memory. The scripts are run for real with stand-in helm and kubectl.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ARC_CHART_REGISTRY, arcMinor, BUILDCTL_MAX_MIB, CONTROLLER_CHART } from "../components/arc";
import { parseByteQuantity } from "../config/quantity";
import { REPO_ROOT, runStack, stackSettings } from "./harness/program";
import { Registration, recordRegistrations } from "./harness/registrations";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const CRDS = ["autoscalingrunnersets", "autoscalinglisteners", "ephemeralrunnersets", "ephemeralrunners"].map((n) => `${n}.actions.github.com`);

/** Runs a repository script with stand-in commands (name -> sh body) first on the PATH; each call is logged. */
function runScript(script: string, args: string[], fakes: Record<string, string>) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arc-script-"));
    try {
        const calls = path.join(dir, "calls");
        for (const [name, body] of Object.entries(fakes)) {
            fs.writeFileSync(path.join(dir, name), `#!/bin/sh\necho "${name} $*" >> "${calls}"\n${body}\n`, { mode: 0o755 });
        }
        const r = spawnSync("bash", [path.join(REPO_ROOT, script), ...args], { encoding: "utf8", cwd: dir, env: { PATH: `${dir}:/usr/bin:/bin` } });
        const files = Object.fromEntries(
            fs
                .readdirSync(dir)
                .filter((f) => f.endsWith(".json"))
                .map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]),
        );
        return { ...r, calls: fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : [], files };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("scripts/arc/apply-crds.sh (Helm never upgrades CRDs)", () => {
    const crdYaml = (names: string[]) =>
        names.map((n) => `---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: ${n}\n`).join("");
    const helm = (names: string[]) => `cat <<'YAML'\n${crdYaml(names)}YAML`;

    it("refuses to run without an explicit context and chart version", () => {
        for (const args of [[], ["--context", "x"], ["--version", "0.14.2"], ["--context", "x", "--version", "latest"]]) {
            const r = runScript("scripts/arc/apply-crds.sh", args, { helm: "exit 99", kubectl: "exit 99" });
            assert.strictEqual(r.status, 2, args.join(" "));
            assert.deepStrictEqual(r.calls, [], "nothing is called");
        }
    });

    it("server-side applies the CRDs of the controller chart at that version, then waits for them", () => {
        const r = runScript("scripts/arc/apply-crds.sh", ["--context", "aks-ctx", "--version", "0.14.2"], { helm: helm(CRDS), kubectl: "exit 0" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(r.calls[0], `helm show crds ${ARC_CHART_REGISTRY}/${CONTROLLER_CHART} --version 0.14.2`);
        assert.match(r.calls[1], /^kubectl --context aks-ctx .*apply --server-side --force-conflicts --field-manager=arc-buildkit-crds -f /);
        for (const crd of CRDS) assert.ok(r.calls.includes(`kubectl --context aks-ctx wait --for=condition=Established --timeout=60s crd/${crd}`), crd);
    });

    it("applies nothing when the chart lacks one of ARC's CRDs", () => {
        const r = runScript("scripts/arc/apply-crds.sh", ["--context", "c", "--version", "0.14.2"], { helm: helm(CRDS.slice(1)), kubectl: "exit 0" });
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /does not ship CRD autoscalingrunnersets\.actions\.github\.com/);
        assert.ok(!r.calls.some((c) => c.startsWith("kubectl")));
    });

    it("is what the pinned chart version needs (the controller chart at 0.14.2 ships exactly these four in crds/)", () => {
        assert.strictEqual(stackSettings("aks").arc.chartVersion, "0.14.2");
        const text = fs.readFileSync(path.join(REPO_ROOT, "scripts/arc/apply-crds.sh"), "utf8");
        for (const crd of CRDS) assert.ok(text.includes(crd), crd);
    });
});

describe("scripts/arc/check-existing-install.sh (AlreadyExists on a first up)", () => {
    /** A stand-in kubectl for a cluster with these namespaces (name -> part-of label) and ARC controller releases. */
    const cluster = (namespaces: Record<string, string>, releases: string[], crds = false) =>
        [
            'case "$*" in',
            '  *"get namespaces -o name"*) exit 0 ;;',
            ...Object.entries(namespaces).map(([ns, partOf]) => `  *"get namespace ${ns} "*) printf '%s' '${partOf}'; exit 0 ;;`),
            '  *"get namespace "*) echo "Error from server (NotFound)" >&2; exit 1 ;;',
            `  *"get deployments"*) printf '${releases.map((r) => `${r}\\n`).join("")}'; exit 0 ;;`,
            `  *"get crd"*) exit ${crds ? 0 : 1} ;;`,
            "esac",
            "exit 3",
        ].join("\n");

    it("says nothing is in the way on a clean cluster", () => {
        const r = runScript("scripts/arc/check-existing-install.sh", ["--context", "c"], { kubectl: cluster({}, []) });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /nothing in the way/);
    });

    it("stops with a clear message and writes an import file for existing namespaces and an existing arc release", async () => {
        const r = runScript("scripts/arc/check-existing-install.sh", ["--context", "c", "--chart-version", "0.14.2", "--import-file", "import.json"], {
            kubectl: cluster({ "arc-systems": "", "arc-runners": "something-else" }, ["arc-systems/arc 0.14.0"], true),
        });
        assert.strictEqual(r.status, 1);
        assert.match(r.stdout, /IN THE WAY: namespace arc-systems exists and was not created by arc-buildkit/);
        assert.match(r.stdout, /IN THE WAY: the ARC controller's Helm release arc-systems\/arc exists/);
        assert.match(r.stdout, /apply-crds\.sh/);
        assert.match(r.stdout, /pulumi import --stack aks --file import\.json --protect=false/);
        const plan = JSON.parse(r.files["import.json"]);
        // The URNs the import creates must be the ones the program declares, or the next up would create them again.
        let registrations: Registration[] = [];
        await runStack("aks", () => {
            registrations = recordRegistrations();
        });
        const urnOf = (type: string, name: string) => registrations.find((x) => x.type === type && x.name === name)?.urn;
        assert.strictEqual(plan.nameTable.aks, urnOf("pulumi:providers:kubernetes", "aks"));
        const byName = Object.fromEntries(plan.resources.map((x: any) => [`${x.type}/${x.name}`, x]));
        assert.deepStrictEqual(byName["arc-buildkit:arc:ArcRunners/arc"], { type: "arc-buildkit:arc:ArcRunners", name: "arc", component: true });
        for (const [type, name, id] of [
            ["kubernetes:core/v1:Namespace", "arc-systems", "arc-systems"],
            ["kubernetes:core/v1:Namespace", "arc-runners", "arc-runners"],
            [RELEASE, "arc", "arc-systems/arc"],
        ]) {
            const entry = byName[`${type}/${name}`];
            assert.deepStrictEqual(entry, { type, name, id, parent: "arc", provider: "aks" }, `${type}/${name}`);
            const urn = urnOf(type, name)!;
            assert.ok(
                urn && urn.endsWith(`arc-buildkit:arc:ArcRunners$${type}::${name}`),
                `the program declares ${type}/${name} under ArcRunners arc (${urn})`,
            );
        }
        assert.strictEqual(plan.resources.length, 4);
    });

    for (const [running, chartVersion, why] of [
        ["0.13.1", "0.14.2", "another minor"],
        ["1.14.2", "0.14.2", "another major"],
        ["", "0.14.2", "no version label"],
    ]) {
        it(`refuses to adopt the arc release of ${why} (${running || "unlabelled"} for arc.chartVersion ${chartVersion}): ARC would delete its scale sets`, () => {
            const r = runScript("scripts/arc/check-existing-install.sh", ["--context", "c", "--chart-version", chartVersion, "--import-file", "import.json"], {
                kubectl: cluster({}, [`arc-systems/arc ${running}`.trim()]),
            });
            assert.strictEqual(r.status, 1);
            assert.match(r.stdout, /REFUSED: it runs ARC .* not the 0\.14 minor of arc\.chartVersion 0\.14\.2/);
            assert.match(r.stdout, /docs\/operations\/arc-upgrade\.md/);
            // Nothing to import: the plan (if written at all) adopts no release.
            const plan = r.files["import.json"] ? JSON.parse(r.files["import.json"]) : { resources: [] };
            assert.ok(!plan.resources.some((x: any) => x.type === RELEASE), JSON.stringify(plan));
        });
    }

    it("does not adopt the arc release without --chart-version, and says how to check it", () => {
        const r = runScript("scripts/arc/check-existing-install.sh", ["--context", "c"], { kubectl: cluster({}, ["arc-systems/arc 0.14.2"]) });
        assert.strictEqual(r.status, 1);
        assert.match(r.stdout, /not adopted: run again with --chart-version/);
    });

    it("rejects a --chart-version that is not major.minor.patch before it calls kubectl", () => {
        const r = runScript("scripts/arc/check-existing-install.sh", ["--context", "c", "--chart-version", "0.14"], { kubectl: "exit 99" });
        assert.strictEqual(r.status, 2);
        assert.deepStrictEqual(r.calls, []);
    });

    it("refuses to adopt a second ARC controller installed under another release", () => {
        const r = runScript("scripts/arc/check-existing-install.sh", ["--context", "c"], { kubectl: cluster({}, ["actions-runner-system/arc-controller"]) });
        assert.strictEqual(r.status, 1);
        assert.match(r.stdout, /another ARC controller runs as Helm release actions-runner-system\/arc-controller/);
        assert.match(r.stdout, /it cannot be adopted/);
    });

    it("refuses to run without an explicit context", () => {
        const r = runScript("scripts/arc/check-existing-install.sh", [], { kubectl: "exit 99" });
        assert.strictEqual(r.status, 2);
        assert.deepStrictEqual(r.calls, []);
    });

    it("passes shellcheck (both scripts)", function () {
        if (spawnSync("shellcheck", ["--version"]).status !== 0) this.skip();
        for (const s of ["scripts/arc/apply-crds.sh", "scripts/arc/check-existing-install.sh"]) {
            const r = spawnSync("shellcheck", ["--norc", path.join(REPO_ROOT, s)], { encoding: "utf8" });
            assert.strictEqual(r.status, 0, `${s}\n${r.stdout}`);
        }
    });
});

describe("install-buildctl memory", () => {
    for (const stack of ["local", "aks"]) {
        it(`${stack}: leaves room for the page cache of copying buildctl (twice a 64 MiB binary plus the process)`, async () => {
            const run = await runStack(stack);
            const scaleSets = run.resources.filter((r) => r.type === RELEASE && r.inputs.values?.template);
            const settings = stackSettings(stack);
            const tierSets = Object.values(settings.tiers).flatMap((t) => t.scaleSets);
            assert.strictEqual(scaleSets.length, settings.arc.scaleSets.length + tierSets.length);
            for (const release of scaleSets) {
                const init = release.inputs.values.template.spec.initContainers.find((c: any) => c.name === "install-buildctl");
                const limit = parseByteQuantity(init.resources.limits.memory)!;
                const request = parseByteQuantity(init.resources.requests.memory)!;
                assert.ok(limit >= 2 * BUILDCTL_MAX_MIB * 2 ** 20 + 32 * 2 ** 20, `${release.name}: limit ${init.resources.limits.memory}`);
                assert.ok(request <= limit);
                // buildctl of the pinned image is about 40 MB; a cold copy charges it twice to the cgroup.
                assert.ok(BUILDCTL_MAX_MIB * 2 ** 20 > 40e6);
            }
        });
    }
});

describe("ARC minor upgrades follow ARC's documented order (components/arc/lifecycle.ts)", () => {
    it("compares major.minor as ARC's IsVersionAllowed does", () => {
        assert.strictEqual(arcMinor("0.14.2"), "0.14");
        assert.strictEqual(arcMinor("0.14.0"), arcMinor("0.14.9"));
        assert.notStrictEqual(arcMinor("0.14.2"), arcMinor("0.15.0"));
        assert.strictEqual(arcMinor("1.0.0"), "1.0");
        assert.throws(() => arcMinor("0.14"), /not major\.minor\.patch/);
    });

    for (const chartVersion of ["0.14.2", "0.15.1"]) {
        it(`chartVersion ${chartVersion}: the controller is replaced delete-first on a new minor, each scale set is replaced with it and waits for busy runners`, async () => {
            let registrations: Registration[] = [];
            await runStack("aks", (c) => {
                const arc = JSON.parse(c["arc-buildkit:arc"]);
                c["arc-buildkit:arc"] = JSON.stringify({ ...arc, chartVersion });
                registrations = recordRegistrations();
            });
            const minor = chartVersion.split(".").slice(0, 2).join(".");
            const releases = registrations.filter((x) => x.type === RELEASE);
            const controller = releases.find((x) => x.name === "arc")!;
            assert.strictEqual(controller.replacementTrigger, minor);
            assert.strictEqual(controller.deleteBeforeReplace, true);
            assert.deepStrictEqual(controller.replaceWith, []);
            const drain: number = stackSettings("aks").arc.runnerDrainSeconds;
            assert.strictEqual(drain, 3600);
            const scaleSets = releases.filter((x) => x !== controller);
            assert.ok(scaleSets.length >= 1);
            for (const set of scaleSets) {
                assert.strictEqual(set.replacementTrigger, minor, set.name);
                assert.strictEqual(set.deleteBeforeReplace, true, set.name);
                assert.deepStrictEqual(set.replaceWith, [controller.urn], set.name);
                assert.ok(set.dependencies.includes(controller.urn), `${set.name} is created after the controller`);
                assert.strictEqual(set.inputs.timeout, drain, `${set.name}: Helm's uninstall wait is the runner drain`);
                const limit: string = `${drain + 300}s`;
                assert.deepStrictEqual(set.customTimeouts, { create: limit, update: limit, delete: limit });
            }
        });
    }
});
