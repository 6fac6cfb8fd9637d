// Skipped tests that say why. Mocha's `this.skip()` prints only the title, so a reader cannot tell a
// test skipped for a missing tool from one that never runs; these add the reason to the title of every
// test they skip (the spec reporter prints it on the `- title` line), and scripts/test.sh counts them.
import { spawnSync } from "node:child_process";

/** Tools some tests run for real, and how to get them (.ci/run installs the apt packages). */
export const TOOLS = {
    shellcheck: "apt-get install shellcheck; .ci/run installs it",
    promtool: "apt-get install prometheus, promtool's Debian package; .ci/run installs it",
    zip: "apt-get install zip; .ci/run installs it",
    "prometheus-pushgateway": "apt-get install prometheus-pushgateway; .ci/run installs it",
} as const;

const found = new Map<string, boolean>();
/** Is `tool` on PATH? Looked up once per process. */
export function hasTool(tool: string): boolean {
    if (!found.has(tool)) found.set(tool, spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0);
    return found.get(tool)!;
}

/** Skips the running test (or, from a `before` hook, every test of its suite), naming the reason in each title. */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
    const runnable = ctx.test;
    const suffix = ` (skipped: ${reason})`;
    if (runnable && (runnable as { type?: string }).type === "hook") {
        const mark = (suite: Mocha.Suite) => {
            for (const t of suite.tests) t.title += suffix;
            suite.suites.forEach(mark);
        };
        if (runnable.parent) mark(runnable.parent);
    } else if (runnable) {
        runnable.title += suffix;
    }
    ctx.skip();
}

/**
 * Skips the running test when `tool` is missing, saying so and how to install it; with CI=true a missing
 * tool fails the test instead, so CI never passes on a check that did not run.
 */
export function needTool(ctx: Mocha.Context, tool: keyof typeof TOOLS): void {
    if (hasTool(tool)) return;
    if (process.env.CI === "true") throw new Error(`${tool} is not installed (${TOOLS[tool]}); CI=true makes that a failure`);
    skipBecause(ctx, `${tool} is not installed; ${TOOLS[tool]}`);
}
