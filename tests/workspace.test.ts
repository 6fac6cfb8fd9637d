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

type Query = [mod: string, from?: string];
const key = ([mod, from]: Query) => (from ? `${mod} from ${from}` : mod);

/**
 * What `require.resolve(mod)` gives in a `node -e` script whose working directory is `dir`, as the
 * language host runs it; with `from`, resolved from that module's own directory. All of one
 * directory's queries run in one `node -e` (each starts Node, about 0.15 s).
 */
function resolveAll(dir: string, queries: Query[]): (mod: string, from?: string) => string {
    const script = `const path = require("path");
const out = {};
for (const [mod, from] of ${JSON.stringify(queries)}) {
    try {
        out[from ? mod + " from " + from : mod] = from ? require.resolve(mod, { paths: [path.dirname(require.resolve(from))] }) : require.resolve(mod);
    } catch (error) {
        out[from ? mod + " from " + from : mod] = { error: error.message };
    }
}
console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: dir, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const resolved = JSON.parse(r.stdout) as Record<string, string | { error: string }>;
    return (mod, from) => {
        const found = resolved[key([mod, from])];
        assert.ok(found !== undefined, `${key([mod, from])} was not queried`);
        assert.equal(typeof found, "string", `cannot resolve ${mod} from ${dir}: ${JSON.stringify(found)}`);
        return found as string;
    };
}

const PACK_QUERIES: Query[] = [
    ["@pulumi/pulumi/cmd/run-policy-pack"],
    ["@pulumi/policy"],
    ["ts-node"],
    ["typescript"],
    ["js-yaml"],
    ["smol-toml"],
    ["@pulumi/pulumi"],
    ["@pulumi/pulumi", "@pulumi/policy"],
];

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
        const resolveFrom = resolveAll(policyDir, PACK_QUERIES);
        const runner = resolveFrom("@pulumi/pulumi/cmd/run-policy-pack");
        assert.ok(fs.existsSync(runner), runner);
        for (const mod of ["@pulumi/policy", "ts-node", "typescript", "js-yaml", "smol-toml"]) resolveFrom(mod);
    });

    it("gives the pack, @pulumi/policy and run-policy-pack one @pulumi/pulumi instance", () => {
        // The analyzer process loads run-policy-pack, the pack and @pulumi/policy; @pulumi/policy answers the
        // engine with protobuf classes of "its" @pulumi/pulumi, so two copies in one process could disagree.
        const resolveFrom = resolveAll(policyDir, PACK_QUERIES);
        const fromPack = resolveFrom("@pulumi/pulumi");
        assert.equal(resolveFrom("@pulumi/pulumi", "@pulumi/policy"), fromPack);
        assert.equal(path.dirname(resolveFrom("@pulumi/pulumi/cmd/run-policy-pack")), path.join(path.dirname(fromPack), "cmd", "run-policy-pack"));
        // The program (a different process) uses the same pinned SDK, so what the pack sees matches what the program declared.
        assert.equal(resolveAll(root, [["@pulumi/pulumi"]])("@pulumi/pulumi"), fromPack);
    });
});
