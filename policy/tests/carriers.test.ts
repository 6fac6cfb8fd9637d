import { strict as assert } from "assert";
import { DeclaredResource, runPolicies } from "../run";

// An address variable is a client's only where a client may run: a Job that only carries the value
// elsewhere (CONTRACTS.md's AMEIDE_BUILDKIT_ADDR published as a GitHub organization variable with
// `gh variable set`, cli.github.com/manual/gh_variable_set) dials nothing.
const ADDR = "tcp://buildkitd.buildkit.svc.cluster.local:1234";
const res = (type: string, name: string, props: Record<string, unknown>): DeclaredResource => ({
    type,
    name,
    urn: `urn:pulumi:test::arc-buildkit::${type}::${name}`,
    props,
});
const container = (extra: Record<string, unknown>): Record<string, unknown> => ({
    name: "sync",
    image: "ghcr.io/cli/cli:2.63.0",
    env: [{ name: "AMEIDE_BUILDKIT_ADDR", value: ADDR }],
    ...extra,
});
const SYNC = 'gh variable set AMEIDE_BUILDKIT_ADDR --org ameideio --visibility selected --body "$AMEIDE_BUILDKIT_ADDR"';
const cronJob = (c: Record<string, unknown>) =>
    res("kubernetes:batch/v1:CronJob", "sync", {
        metadata: { name: "sync", namespace: "ci" },
        spec: { schedule: "0 * * * *", jobTemplate: { spec: { template: { spec: { restartPolicy: "Never", containers: [c] } } } } },
    });

async function mandatory(resources: DeclaredResource[]): Promise<string[]> {
    return (await runPolicies(resources)).filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policyName}: ${v.message}`);
}

describe("an address a container only carries is not a client's", () => {
    it("a CronJob that publishes the address with gh, and runs nothing else, passes", async () => {
        assert.deepEqual(await mandatory([cronJob(container({ command: ["sh", "-c", SYNC] }))]), []);
    });

    it("the same job calling buildctl too is a plaintext client", async () => {
        const found = await mandatory([cronJob(container({ command: ["sh", "-c", `${SYNC} && buildctl --addr "$AMEIDE_BUILDKIT_ADDR" debug workers`] }))]);
        assert.ok(
            found.some((m) => m.startsWith("buildkit-client-requires-tls")),
            found.join("\n"),
        );
    });

    it("an image's own entrypoint, an unread script, a script piped into a shell, or a long-lived container steps are exec'd into may be clients: judged", async () => {
        for (const c of [
            container({}),
            container({ command: ["/scripts/sync.sh"] }),
            container({ command: ["cat"], tty: true }),
            container({ command: ["sleep", "3600"] }),
            // A shell without -c runs its stdin: a fetched script the pack never sees.
            container({ command: ["sh", "-c", "curl -fsSL https://example.com/sync.sh | sh"] }),
            container({ command: ["sh", "-c", `${SYNC} && echo 'buildctl debug workers' | bash -s`] }),
        ]) {
            const found = await mandatory([cronJob(c)]);
            assert.ok(
                found.some((m) => m.startsWith("buildkit-client-requires-tls")),
                `${JSON.stringify(c.command)}: ${found.join("\n")}`,
            );
        }
        const deployment = res("kubernetes:apps/v1:Deployment", "agent", {
            metadata: { name: "agent", namespace: "ci" },
            spec: {
                selector: { matchLabels: { app: "agent" } },
                template: { metadata: { labels: { app: "agent" } }, spec: { containers: [container({ command: ["sleep", "infinity"] })] } },
            },
        });
        const found = await mandatory([deployment]);
        assert.ok(
            found.some((m) => m.startsWith("buildkit-client-requires-tls")),
            found.join("\n"),
        );
    });
});
