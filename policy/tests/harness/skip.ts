// Skipped tests that say why, as the root project's tests/harness/skip.ts does: mocha's `this.skip()`
// prints only the title, so the reason goes into the title (the spec reporter prints it on the `- title`
// line, and scripts/test.sh points readers at '(skipped: '). The pack keeps its own copy because it is
// standalone (policy/README.md, "Adding the pack to another team's stacks"): its tests import nothing
// from the program.

/** Skips the running test, naming the reason in its title. */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
    if (ctx.test) {
        ctx.test.title += ` (skipped: ${reason})`;
    }
    ctx.skip();
}
