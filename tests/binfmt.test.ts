// The binfmt DaemonSet must fail visibly when a requested emulator is not registered afterwards
// (tonistiigi/binfmt --install logs a failed registration and still exits 0). Its verify script is
// run for real under each shell available (dash, busybox sh as in the Alpine-based BuildKit image)
// against a stand-in binfmt_misc directory and a stand-in `uname`.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { binfmtVerifyScript, QEMU_EMULATORS } from "../components/buildkit/binfmt";
import { findResource, reveal, runStack, stackSettings } from "./harness/program";
import { needTool, skipBecause } from "./harness/skip";

// A busybox built to prefer its own applets (Debian's busybox-static) would run its real `uname` and
// `mount` instead of the stand-ins, and mount for real as root: only a busybox that honours PATH is used.
const honoursPath = (shell: string[]) => spawnSync(shell[0], [...shell.slice(1), "-c", "PATH=/nonexistent; uname -m"]).status !== 0;
const SHELLS = [["dash"], ["busybox", "sh"]].filter((shell) => spawnSync("sh", ["-c", `command -v ${shell[0]}`]).status === 0 && honoursPath(shell));

interface Node {
    machine: string;
    /** binfmt_misc entries: emulator file name -> first line ("enabled" or "disabled"). */
    entries: Record<string, string>;
    /** No `status` file: binfmt_misc is not mounted in the container. */
    unmounted?: boolean;
}

function verify(shell: string[], platforms: string[], node: Node) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "binfmt-"));
    try {
        const mnt = path.join(dir, "binfmt_misc");
        fs.mkdirSync(mnt);
        if (!node.unmounted) fs.writeFileSync(path.join(mnt, "status"), "enabled\n");
        for (const [name, state] of Object.entries(node.entries)) {
            fs.writeFileSync(path.join(mnt, name), `${state}\ninterpreter /usr/bin/${name}\nflags: POCF\n`);
        }
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.writeFileSync(path.join(bin, "uname"), `#!/bin/sh\necho ${node.machine}\n`, { mode: 0o755 });
        // mount fails as it would in an unprivileged container.
        fs.writeFileSync(path.join(bin, "mount"), `#!/bin/sh\necho "mount: permission denied" >&2\nexit 1\n`, { mode: 0o755 });
        const log = path.join(dir, "termination-log");
        const r = spawnSync(shell[0], [...shell.slice(1), "-c", binfmtVerifyScript(platforms)], {
            encoding: "utf8",
            env: { PATH: `${bin}:${process.env.PATH}`, BINFMT_MISC: mnt, TERMINATION_LOG: log },
        });
        return { status: r.status, stdout: r.stdout, terminationLog: fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "" };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("binfmt verify script", () => {
    before(function () {
        if (SHELLS.length === 0) skipBecause(this, "neither dash nor busybox is installed (apt-get install dash busybox)");
    });

    for (const shell of SHELLS) {
        describe(`under ${shell.join(" ")}`, () => {
            it("passes on an amd64 node with arm64 registered (amd64 is native)", () => {
                const r = verify(shell, ["linux/amd64", "linux/arm64"], { machine: "x86_64", entries: { "qemu-aarch64": "enabled" } });
                assert.strictEqual(r.status, 0, r.terminationLog);
                assert.match(r.stdout, /amd64: native on this x86_64 node/);
                assert.match(r.stdout, /arm64: qemu-aarch64 registered and enabled/);
            });

            it("passes on an arm64 node with amd64 registered (arm64 is native)", () => {
                const r = verify(shell, ["linux/amd64", "linux/arm64"], { machine: "aarch64", entries: { "qemu-x86_64": "enabled" } });
                assert.strictEqual(r.status, 0, r.terminationLog);
            });

            it("fails, naming the architecture and emulator, when an emulator is missing", () => {
                const r = verify(shell, ["linux/amd64", "linux/arm64", "linux/riscv64"], { machine: "x86_64", entries: { "qemu-aarch64": "enabled" } });
                assert.notStrictEqual(r.status, 0);
                assert.match(r.terminationLog, /binfmt FAILED: no enabled emulator on this x86_64 node for: riscv64 \(qemu-riscv64\)/);
            });

            it("fails when the emulator is registered but disabled", () => {
                const r = verify(shell, ["linux/arm64"], { machine: "x86_64", entries: { "qemu-aarch64": "disabled" } });
                assert.notStrictEqual(r.status, 0);
                assert.match(r.terminationLog, /arm64 \(qemu-aarch64\)/);
            });

            it("requires an emulator for 32-bit Arm even on an arm64 node", () => {
                const r = verify(shell, ["linux/arm64", "linux/arm/v7"], { machine: "aarch64", entries: {} });
                assert.notStrictEqual(r.status, 0);
                assert.match(r.terminationLog, /arm \(qemu-arm\)/);
            });

            it("fails when binfmt_misc is not there and cannot be mounted", () => {
                const r = verify(shell, ["linux/arm64"], { machine: "x86_64", entries: {}, unmounted: true });
                assert.notStrictEqual(r.status, 0);
                assert.match(r.terminationLog, /cannot mount binfmt_misc/);
            });
        });
    }

    it("knows the emulator file of every architecture tonistiigi/binfmt installs for supported platforms", () => {
        for (const arch of ["amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64"]) assert.ok(QEMU_EMULATORS[arch], arch);
    });
});

for (const stack of ["local", "aks"]) {
    describe(`binfmt DaemonSet on stack ${stack}`, () => {
        it("verifies the emulators after installing them, with the pinned BuildKit image", async () => {
            const run = await runStack(stack);
            const settings = stackSettings(stack);
            const spec = reveal(findResource(run, "kubernetes:apps/v1:DaemonSet", "binfmt").inputs).spec.template.spec;
            assert.deepStrictEqual(
                spec.initContainers.map((c: any) => c.name),
                ["install", "verify"],
            );
            const check = spec.initContainers[1];
            assert.strictEqual(check.image, settings.buildkit.image);
            assert.deepStrictEqual(check.command, ["/bin/sh", "-c", binfmtVerifyScript(settings.buildkit.platforms)]);
            assert.strictEqual(check.terminationMessagePolicy, "FallbackToLogsOnError");
            assert.strictEqual(check.securityContext.runAsUser, 0);
        });
    });
}

describe("binfmt verify script: shellcheck", () => {
    it("passes shellcheck as POSIX sh", function () {
        needTool(this, "shellcheck");
        const r = spawnSync("shellcheck", ["--norc", "-s", "sh", "-"], {
            input: binfmtVerifyScript(["linux/amd64", "linux/arm64", "linux/arm/v7"]),
            encoding: "utf8",
        });
        assert.strictEqual(r.status, 0, r.stdout);
    });
});
