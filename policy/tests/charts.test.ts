import { strict as assert } from "assert";
import { imageRef } from "../lib/kube";
import { DeclaredResource, runPolicies } from "../run";

// Generic application charts run any image from their values: bjw-s's app-template (containers keyed by
// name, image as {repository, tag}; bjw-s-labs.github.io/helm-charts/docs/app-template/) and Stakater's
// application chart (the container's fields under `deployment`, volumes as maps; github.com/stakater/
// application). What they run is judged as a container, and the Services they render from the same values
// publish it.
const release = (chart: string, values: Record<string, unknown>): DeclaredResource => ({
    type: "kubernetes:helm.sh/v3:Release",
    name: chart,
    urn: `urn:pulumi:test::arc-buildkit::kubernetes:helm.sh/v3:Release::${chart}`,
    props: { chart, namespace: "buildkit", values },
});
const TLS = ["--tlscacert", "/certs/ca.pem", "--tlscert", "/certs/cert.pem", "--tlskey", "/certs/key.pem"];
const IMAGE = { repository: "moby/buildkit", tag: "v0.31.2" };

function appTemplate(args: string[], serviceType: string): DeclaredResource {
    return release("app-template", {
        controllers: {
            buildkitd: {
                containers: { main: { image: IMAGE, args, securityContext: { privileged: true } } },
            },
        },
        persistence: { certs: { type: "secret", name: "buildkit-daemon-certs", globalMounts: [{ path: "/certs" }] } },
        service: { main: { controller: "buildkitd", type: serviceType, ports: { grpc: { port: 1234 } } } },
    });
}

function stakater(args: string[], serviceType: string): DeclaredResource {
    return release("application", {
        applicationName: "buildkitd",
        deployment: {
            image: IMAGE,
            args,
            containerSecurityContext: { privileged: true },
            volumes: { certs: { secret: { secretName: "buildkit-daemon-certs" } } },
            volumeMounts: { certs: { mountPath: "/certs", readOnly: true } },
        },
        service: { enabled: true, type: serviceType, ports: [{ port: 1234, name: "grpc", targetPort: 1234 }] },
    });
}

async function mandatory(resources: DeclaredResource[]): Promise<string[]> {
    return (await runPolicies(resources)).filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policyName}: ${v.message}`);
}

describe("generic application charts", () => {
    it("reads a chart's image object as the image Kubernetes pulls", () => {
        assert.equal(imageRef({ registry: "docker.io", repository: "moby/buildkit", tag: "v0.31.2" }), "docker.io/moby/buildkit:v0.31.2");
        assert.equal(imageRef({ repository: "moby/buildkit", digest: "sha256:abc" }), "moby/buildkit@sha256:abc");
        assert.equal(imageRef("moby/buildkit:v0.31.2"), "moby/buildkit:v0.31.2");
        assert.equal(imageRef({ pullPolicy: "IfNotPresent" }), undefined);
    });

    for (const [chart, make] of [
        ["app-template (containers keyed by name)", appTemplate],
        ["Stakater application (container fields under deployment)", stakater],
    ] as const) {
        it(`${chart}: a plaintext buildkitd is flagged, the mTLS one behind a ClusterIP passes`, async () => {
            const plaintext = await mandatory([make(["--addr", "tcp://0.0.0.0:1234"], "ClusterIP")]);
            assert.ok(
                plaintext.some((m) => m.includes("buildkitd-tcp-requires-mtls") || m.includes("mutual TLS") || m.includes("client certificate")),
                plaintext.join("\n"),
            );
            assert.deepEqual(await mandatory([make(["--addr", "tcp://0.0.0.0:1234", ...TLS], "ClusterIP")]), []);
        });

        it(`${chart}: the mTLS daemon behind a LoadBalancer or NodePort from the same values is exposed`, async () => {
            for (const type of ["LoadBalancer", "NodePort"]) {
                const found = await mandatory([make(["--addr", "tcp://0.0.0.0:1234", ...TLS], type)]);
                assert.ok(
                    found.some((m) => m.startsWith("buildkit-not-exposed") && m.includes("values publish a Service")),
                    `${type}: ${found.join("\n")}`,
                );
            }
        });
    }

    it("a chart's LoadBalancer for a workload that does not run buildkitd, or a daemon on its unix socket only, is not BuildKit's exposure", async () => {
        const web = release("application", {
            deployment: { image: { repository: "nginx", tag: "1.27" }, args: ["nginx", "-g", "daemon off;"] },
            service: { type: "LoadBalancer", ports: [{ port: 80 }] },
        });
        assert.deepEqual(await mandatory([web]), []);
        const socketOnly = await mandatory([stakater(["--addr", "unix:///run/buildkit/buildkitd.sock"], "LoadBalancer")]);
        assert.ok(!socketOnly.some((m) => m.includes("values publish a Service")), socketOnly.join("\n"));
    });
});
