import { strict as assert } from "assert";
import { DeclaredResource, runPolicies } from "../run";

// @pulumi/command runs shell on the machine running Pulumi (local) or on a host over SSH (remote): the way a
// Pulumi program creates a buildx builder (`docker buildx create --driver remote`, docs.docker.com/build/
// builders/drivers/remote/) or starts buildkitd on a VM. Each script is judged as the container it amounts to.
const LOCAL = "command:local:Command";
const REMOTE = "command:remote:Command";
const res = (type: string, name: string, props: Record<string, unknown>): DeclaredResource => ({
    type,
    name,
    urn: `urn:pulumi:test::arc-buildkit::${type}::${name}`,
    props,
});

async function mandatory(resources: DeclaredResource[]): Promise<string[]> {
    return (await runPolicies(resources)).filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policyName}: ${v.message}`);
}

const TLS_OPTS = "--driver-opt cacert=/etc/buildkit/ca.pem,cert=/etc/buildkit/cert.pem,key=/etc/buildkit/key.pem";

describe("Command provider scripts (@pulumi/command) are judged as the containers they amount to", () => {
    it("a buildx remote builder on tcp:// without TLS driver options is a plaintext client", async () => {
        const found = await mandatory([
            res(LOCAL, "builder", { create: "docker buildx create --name ci --driver remote tcp://buildkitd.example.com:1234 && docker buildx use ci" }),
        ]);
        assert.ok(
            found.some((m) => m.startsWith("buildkit-client-requires-tls") && m.includes("local Command 'builder' (create)")),
            found.join("\n"),
        );
    });

    it("the same builder with cacert, cert and key driver options passes (files on the machine running Pulumi count)", async () => {
        assert.deepEqual(
            await mandatory([res(LOCAL, "builder", { create: `docker buildx create --name ci --driver remote ${TLS_OPTS} tcp://buildkitd.example.com:1234` })]),
            [],
        );
    });

    it("relative TLS paths are files where Pulumi runs (kubectl port-forward, then buildctl with ./certs)", async () => {
        const script =
            "kubectl port-forward -n buildkit svc/buildkitd 1234:1234 & pf=$!\nsleep 2\n" +
            "buildctl --addr tcp://127.0.0.1:1234 --tlscacert ./certs/ca.crt --tlscert ./certs/tls.crt --tlskey ./certs/tls.key debug workers\nkill $pf\n";
        assert.deepEqual(await mandatory([res(LOCAL, "smoke", { create: script })]), []);
    });

    it("a DOCKER_HOST at a Service elsewhere (a dotted name) is a remote daemon that needs TLS; a single-label alias is a daemon beside it", async () => {
        const remote = await mandatory([
            res(LOCAL, "remote", { create: "docker build .", environment: { DOCKER_HOST: "tcp://dind.ci-infra.svc.cluster.local:2375" } }),
        ]);
        assert.ok(
            remote.some((m) => m.startsWith("buildkit-client-requires-tls") && m.includes("DOCKER_HOST")),
            remote.join("\n"),
        );
        assert.deepEqual(await mandatory([res(LOCAL, "alias", { create: "docker build .", environment: { DOCKER_HOST: "tcp://docker:2375" } })]), []);
    });

    it("a single-label DOCKER_HOST is a daemon beside the client unless a Service of that name is in view", async () => {
        // GitLab CI's `services: docker:dind` makes `docker` a name for a container of the job's own pod; a
        // `dind` Deployment behind a Service of the same namespace is a remote daemon on the cluster network.
        const job = (host: string): DeclaredResource =>
            res("kubernetes:batch/v1:Job", "build", {
                metadata: { name: "build", namespace: "ci" },
                spec: {
                    template: {
                        spec: {
                            restartPolicy: "Never",
                            containers: [
                                { name: "build", image: "docker:27-cli", command: ["docker", "build", "."], env: [{ name: "DOCKER_HOST", value: host }] },
                            ],
                        },
                    },
                },
            });
        const dindService = res("kubernetes:core/v1:Service", "dind", {
            metadata: { name: "dind", namespace: "ci" },
            spec: { selector: { app: "dind" }, ports: [{ port: 2375 }] },
        });
        assert.deepEqual(await mandatory([job("tcp://dind:2375")]), []);
        const remote = await mandatory([job("tcp://dind:2375"), dindService]);
        assert.ok(
            remote.some((m) => m.includes("DOCKER_HOST") || m.includes("plaintext TCP")),
            remote.join("\n"),
        );
    });

    it("BUILDKIT_HOST from the resource's environment reaches buildctl", async () => {
        const found = await mandatory([
            res(LOCAL, "build", {
                create: "buildctl build --frontend dockerfile.v0 --local context=. --local dockerfile=.",
                environment: { BUILDKIT_HOST: "tcp://10.1.2.3:1234" },
            }),
        ]);
        assert.ok(
            found.some((m) => m.startsWith("buildkit-client-requires-tls") && m.includes("BUILDKIT_HOST")),
            found.join("\n"),
        );
    });

    it("a script piped on stdin to a shell without -c is read too, and so is the delete step", async () => {
        const piped = await mandatory([res(LOCAL, "piped", { interpreter: ["/bin/bash", "-s"], stdin: "buildctl --addr tcp://buildkitd:1234 debug workers" })]);
        assert.ok(
            piped.some((m) => m.startsWith("buildkit-client-requires-tls") && m.includes("(stdin)")),
            piped.join("\n"),
        );
        const onDelete = await mandatory([res(LOCAL, "cleanup", { create: "true", delete: "buildctl --addr tcp://buildkitd:1234 prune --all" })]);
        assert.ok(
            onDelete.some((m) => m.includes("(delete)")),
            onDelete.join("\n"),
        );
    });

    it("buildkitd started on a host over SSH with a tcp:// listener is on that host's network", async () => {
        const found = await mandatory([
            res(REMOTE, "daemon", {
                connection: { host: "10.0.0.4", user: "ci" },
                create: "nohup buildkitd --addr tcp://0.0.0.0:1234 >/var/log/buildkitd.log 2>&1 &",
            }),
        ]);
        assert.ok(
            found.some((m) => m.startsWith("buildkit-not-exposed") && m.includes("remote Command 'daemon' (create)")),
            found.join("\n"),
        );
    });

    it("buildkitd on its unix socket only, buildctl over ssh:// or a unix socket, and unrelated scripts pass", async () => {
        assert.deepEqual(
            await mandatory([
                res(REMOTE, "daemon", { connection: { host: "10.0.0.4" }, create: "nohup buildkitd --addr unix:///run/buildkit/buildkitd.sock &" }),
                res(LOCAL, "ssh", { create: "buildctl --addr ssh://ci@10.0.0.4 debug workers" }),
                res(LOCAL, "socket", { create: "buildctl --addr unix:///run/buildkit/buildkitd.sock du" }),
                res(LOCAL, "unrelated", { create: "echo hello > /tmp/x", delete: "rm -f /tmp/x", stdin: "not a script: the interpreter has -c" }),
            ]),
            [],
        );
    });
});
