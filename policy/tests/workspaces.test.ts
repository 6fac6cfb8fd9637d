import { strict as assert } from "assert";
import { DeclaredResource, runPolicies } from "../run";

// Tekton workspaces (tekton.dev/docs/pipelines/workspaces/): a Task declares them (`mountPath`, default
// /workspace/<name>), a TaskRun binds each to a Secret, ConfigMap, storage or a projected/CSI volume.
// "A mount point for credentials held in Secrets" is one of their documented uses.
const res = (type: string, name: string, props: Record<string, unknown>): DeclaredResource => ({
    type,
    name,
    urn: `urn:pulumi:test::arc-buildkit::${type}::${name}`,
    props,
});
const ADDR = "tcp://buildkitd.buildkit.svc.cluster.local:1234";
const STEP = {
    name: "build",
    image: "moby/buildkit:v0.31.2",
    script: `#!/bin/sh\nbuildctl --addr ${ADDR} --tlscacert /certs/ca.pem --tlscert /certs/cert.pem --tlskey /certs/key.pem build --frontend dockerfile.v0 --local context=. --local dockerfile=.\n`,
};
const CERTS = res("kubernetes:core/v1:Secret", "certs", {
    metadata: { name: "buildkit-client-certs", namespace: "ci" },
    stringData: { "ca.pem": "-----BEGIN CERTIFICATE-----", "cert.pem": "-----BEGIN CERTIFICATE-----", "key.pem": "-----BEGIN PRIVATE KEY-----" },
});

function taskRun(
    binding: Record<string, unknown> | undefined,
    declared: Record<string, unknown>[] = [{ name: "certs", mountPath: "/certs", readOnly: true }],
): DeclaredResource {
    return res("kubernetes:tekton.dev/v1:TaskRun", "build", {
        apiVersion: "tekton.dev/v1",
        kind: "TaskRun",
        metadata: { name: "build", namespace: "ci" },
        spec: { taskSpec: { workspaces: declared, steps: [STEP] }, workspaces: binding ? [{ name: "certs", ...binding }] : [] },
    });
}

async function mandatory(resources: DeclaredResource[]): Promise<string[]> {
    return (await runPolicies(resources)).filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policyName}: ${v.message}`);
}

describe("Tekton workspaces are the volumes their steps see", () => {
    it("a TaskRun binding the client Secret as a workspace gives the step its TLS files", async () => {
        assert.deepEqual(await mandatory([CERTS, taskRun({ secret: { secretName: "buildkit-client-certs" } })]), []);
    });

    it("the same workspace bound to empty storage holds no TLS material: a plaintext client", async () => {
        const found = await mandatory([taskRun({ emptyDir: {} })]);
        assert.ok(
            found.some((m) => m.startsWith("buildkit-client-requires-tls")),
            found.join("\n"),
        );
    });

    it("a workspace bound outside the stack (a Task alone) counts, as files the pack cannot read; no workspace at all does not", async () => {
        const task = (workspaces: Record<string, unknown>[]) =>
            res("kubernetes:tekton.dev/v1:Task", "build", {
                apiVersion: "tekton.dev/v1",
                kind: "Task",
                metadata: { name: "build", namespace: "ci" },
                spec: { workspaces, steps: [STEP] },
            });
        assert.deepEqual(await mandatory([task([{ name: "certs", mountPath: "/certs" }])]), []);
        const bare = await mandatory([task([])]);
        assert.ok(
            bare.some((m) => m.startsWith("buildkit-client-requires-tls")),
            bare.join("\n"),
        );
    });

    it("a workspace without mountPath is at /workspace/<name>", async () => {
        const found = await mandatory([CERTS, taskRun({ secret: { secretName: "buildkit-client-certs" } }, [{ name: "certs" }])]);
        assert.ok(
            found.some((m) => m.startsWith("buildkit-client-requires-tls")),
            "the flags point at /certs, the workspace is at /workspace/certs",
        );
    });
});
