import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { join } from "path";
import { policies } from "../policies";
import { runPolicies } from "../run";
import { budgetCorpus } from "./fixtures/bombs";
import { verdict } from "./fixtures/judge";

/** Per policy and input: the pack's fixed time budget (the red team asked for 2 s), in CPU time. */
const POLICY_BUDGET_MS = 2000;

describe("bounded work on any input", function () {
    this.timeout(120000);

    for (const c of budgetCorpus) {
        it(`every policy finishes within ${POLICY_BUDGET_MS} ms and never throws: ${c.id}`, async () => {
            for (const policy of policies) {
                // CPU time of this process, so other work on a shared machine does not count against the pack.
                const started = process.cpuUsage();
                const violations = await runPolicies(c.resources, [policy]);
                const used = process.cpuUsage(started);
                const took = Math.round((used.user + used.system) / 1000);
                assert.ok(took < POLICY_BUDGET_MS, `${policy.name} used ${took} ms of CPU on ${c.id}`);
                assert.ok(!violations.some((v) => v.message.includes("could not evaluate")), JSON.stringify(violations).slice(0, 2000));
            }
            assert.equal(
                verdict(
                    c,
                    (await runPolicies(c.resources)).filter((v) => v.enforcementLevel === "mandatory"),
                ),
                undefined,
            );
        });
    }

    it("runs the whole budget corpus in a separate process within 512 MB of heap, and reports its peak", () => {
        const script = join(__dirname, "fixtures", "measureBudget.ts");
        const child = spawnSync(process.execPath, ["--max-old-space-size=512", "--import", "tsx", script], {
            cwd: join(__dirname, ".."),
            encoding: "utf8",
            timeout: 110000,
        });
        assert.equal(child.status, 0, `${child.stderr}\n${child.stdout}`);
        const report = JSON.parse(child.stdout.trim().split("\n").pop()!) as { worst: { id: string; ms: number }; maxRssMb: number; heapMb: number };
        console.log(
            `      worst input: ${report.worst.id} in ${report.worst.ms} ms (all policies); peak RSS ${report.maxRssMb} MB, peak heap ${report.heapMb} MB`,
        );
        assert.ok(report.maxRssMb < 768, `peak RSS ${report.maxRssMb} MB`);
    });
});
