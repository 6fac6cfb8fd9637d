import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * One `npm ci` at the root installs the program and the policy pack: `policy/` is an npm workspace
 * with no lock file of its own. The Pulumi CLI runs a local TypeScript pack (`--policy-pack policy`)
 * through the nodejs language host's RunPlugin, which locates `@pulumi/pulumi/cmd/run-policy-pack`
 * with `node -e "require.resolve(...)"` run in the pack's directory (pulumi/pulumi,
 * sdk/nodejs/cmd/pulumi-language-nodejs/main.go, locateModule) and installs nothing itself. Node's
 * resolution walks up from `policy/` to the root `node_modules`, so the hoisted install is enough.
 */
const root = path.resolve(__dirname, "..");
const policyDir = path.join(root, "policy");
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"));

/** What `require.resolve(mod)` gives in a `node -e` script whose working directory is `dir`, as the language host runs it. */
function resolveFrom(dir: string, mod: string, from?: string): string {
    const script = from
        ? `console.log(require.resolve(${JSON.stringify(mod)}, { paths: [require("path").dirname(require.resolve(${JSON.stringify(from)}))] }))`
        : `console.log(require.resolve(${JSON.stringify(mod)}))`;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: dir, encoding: "utf8" });
    assert.equal(r.status, 0, `cannot resolve ${mod} from ${dir}: ${r.stderr}`);
    return r.stdout.trim();
}

describe("one install: the policy pack is an npm workspace", () => {
    it("declares policy/ as the only workspace and keeps one lock file", () => {
        assert.deepEqual(readJson(path.join(root, "package.json")).workspaces, ["policy"]);
        assert.ok(!fs.existsSync(path.join(policyDir, "package-lock.json")), "policy/package-lock.json would be ignored by npm ci and drift");
        const lock = readJson(path.join(root, "package-lock.json"));
        assert.deepEqual(lock.packages[""].workspaces, ["policy"]);
        assert.equal(lock.packages["node_modules/arc-buildkit-policy"]?.link, true, "the lock file links the workspace");
        // Every policy dependency is in the root lock at the version the pack pins.
        const pack = readJson(path.join(policyDir, "package.json"));
        for (const [name, version] of Object.entries({ ...pack.dependencies, ...pack.devDependencies })) {
            assert.match(String(version), /^\d+\.\d+\.\d+$/, `${name} is not pinned exactly`);
            const locked = lock.packages[`policy/node_modules/${name}`] ?? lock.packages[`node_modules/${name}`];
            assert.equal(locked?.version, version, `${name}: policy/package.json pins ${version}, the lock has ${locked?.version}`);
        }
    });

    it("resolves run-policy-pack from the pack's directory as the Pulumi language host does", () => {
        const runner = resolveFrom(policyDir, "@pulumi/pulumi/cmd/run-policy-pack");
        assert.ok(fs.existsSync(runner), runner);
        for (const mod of ["@pulumi/policy", "ts-node", "typescript", "js-yaml", "smol-toml"]) resolveFrom(policyDir, mod);
    });

    it("gives the pack, @pulumi/policy and run-policy-pack one @pulumi/pulumi instance", () => {
        // The analyzer process loads run-policy-pack, the pack and @pulumi/policy; @pulumi/policy answers the
        // engine with protobuf classes of "its" @pulumi/pulumi, so two copies in one process could disagree.
        const fromPack = resolveFrom(policyDir, "@pulumi/pulumi");
        assert.equal(resolveFrom(policyDir, "@pulumi/pulumi", "@pulumi/policy"), fromPack);
        assert.equal(path.dirname(resolveFrom(policyDir, "@pulumi/pulumi/cmd/run-policy-pack")), path.join(path.dirname(fromPack), "cmd", "run-policy-pack"));
        // The program (a different process) uses the same pinned SDK, so what the pack sees matches what the program declared.
        assert.equal(resolveFrom(root, "@pulumi/pulumi"), fromPack);
    });
});
