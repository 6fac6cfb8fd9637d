// The cache benchmark's planning and reporting (npm run bench:cache, scripts/bench-cache.ts): its builds need
// real daemons (docs/cache-metrics.md), so what runs here is what it plans, how it reads a build's cache result,
// and its replay script. Pure and quick, apart from the real Pushgateway and Prometheus of cache-metrics.test.ts.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { rankBuilders } from "../components/arc/rendezvous";
import { podHostnames } from "../components/pki";
import { benchWorkload, dependencyStepCached, metricsHitRate, plan } from "../scripts/bench-cache";
import { population, simulate } from "../scripts/routing-sim";
import { needTool } from "./harness/skip";
// test:quick reads: tests/fixtures/buildkit/**

const progressOf = (name: string) => path.join(__dirname, "fixtures", "buildkit", `${name}.progress.json`);

describe("bench:cache (pure parts)", () => {
    it("plans exactly the simulator's build sequence: replaying it with rendezvous routing gives simulate()'s hit rate", () => {
        const w = { ...benchWorkload({}), builds: 300 };
        const builds = plan(w);
        assert.equal(builds.length, 300);
        const builders = podHostnames(3);
        const held = new Set<string>();
        let hits = 0;
        for (const b of builds) {
            const builder = rankBuilders(b.repository, builders)[0];
            const key = `${builder} ${b.repository} ${b.version}`;
            if (held.has(key)) hits++;
            held.add(key);
        }
        const ordinals = [0, 1, 2];
        const [predicted] = simulate(population(w), "selector", [{ label: "x", existing: ordinals, ready: ordinals, builds: 300, measured: true }], w.seed);
        assert.equal(hits / 300, predicted.hitRate);
        assert.ok(predicted.hitRate > 0.5 && predicted.hitRate < 1);
    });

    it("reads a build's dependency-step hit from its recorded stream, and the metrics' hit rate from a Pushgateway's text", () => {
        const stream = (cached: boolean) =>
            JSON.stringify({
                vertexes: [{ digest: "sha256:1", name: '[1/3] RUN echo "dependencies of a/b, version 0"', ...(cached ? { cached: true } : {}) }],
            });
        assert.equal(dependencyStepCached(stream(true)), true);
        assert.equal(dependencyStepCached(stream(false)), false);
        assert.equal(dependencyStepCached(fs.readFileSync(progressOf("warm"), "utf8")), false, "no dependency step in the fixture");
        const text =
            'arc_buildkit_build_cached_steps_total{builder="buildkitd-0"} 3\narc_buildkit_build_cached_steps_total{builder="buildkitd-1"} 2\narc_buildkit_build_steps_total{builder="buildkitd-0"} 10\n';
        assert.deepEqual(metricsHitRate(text), { cached: 5, total: 10 });
    });

    it("the replay script passes shellcheck", function () {
        needTool(this, "shellcheck");
        const r = spawnSync("shellcheck", ["--norc", "-s", "sh", path.join(__dirname, "..", "scripts", "bench-cache.sh")], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stdout + r.stderr);
    });
});
