import * as TOML from "@iarna/toml";
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { findResource, isSecretInput, kubernetesObjects, ProgramRun, reveal, runStack, valueOf } from "./harness/program";
import { editConfig, setConfigPath } from "./harness/config-edit";
import { coversHostname } from "../components/pki/names";

const STS = "kubernetes:apps/v1:StatefulSet";
const SVC = "kubernetes:core/v1:Service";
const SECRET = "kubernetes:core/v1:Secret";
const NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy";

const expectations = {
    local: { cacheSize: "10Gi", storageClass: "local-path", placement: false },
    aks: { cacheSize: "64Gi", storageClass: "buildkit-premium-zrs", placement: true },
} as const;

for (const stack of ["local", "aks"] as const) {
    describe(`BuildKit service on stack ${stack}`, () => {
        let run: ProgramRun;
        before(async () => {
            run = await runStack(stack);
        });

        const sts = () => reveal(findResource(run, STS, "buildkitd").inputs);
        const pod = () => sts().spec.template.spec;
        const daemon = () => pod().containers.find((c: any) => c.name === "buildkitd");

        it("puts everything BuildKit in namespace buildkit, which allows the privileged daemon", () => {
            const ns = reveal(findResource(run, "kubernetes:core/v1:Namespace", "buildkit").inputs);
            assert.strictEqual(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "privileged");
            const inBuildkit = [
                "ConfigMap/buildkitd-config",
                "Secret/buildkitd-server-tls",
                "StatefulSet/buildkitd",
                "Service/buildkitd",
                "Service/buildkitd-headless",
                "PodDisruptionBudget/buildkitd",
                "NetworkPolicy/buildkitd",
            ];
            for (const id of inBuildkit) {
                const [kind, name] = id.split("/");
                const found = kubernetesObjects(run).find((r) => r.type.endsWith(`:${kind}`) && r.inputs.metadata?.name === name);
                assert.ok(found, id);
                assert.strictEqual(reveal(found.inputs).metadata.namespace, "buildkit", id);
            }
        });

        it("enforces at least baseline Pod Security on arc-runners", () => {
            const ns = reveal(findResource(run, "kubernetes:core/v1:Namespace", "arc-runners").inputs);
            assert.ok(["baseline", "restricted"].includes(ns.metadata.labels["pod-security.kubernetes.io/enforce"]));
        });

        it("runs a StatefulSet of digest-pinned buildkitd pods labelled for the Service", () => {
            const s = sts();
            assert.strictEqual(s.metadata.name, "buildkitd");
            assert.strictEqual(s.spec.replicas, stack === "aks" ? 2 : 1, "explicit per stack; at least 2 on aks");
            assert.deepStrictEqual(s.spec.selector.matchLabels, { "app.kubernetes.io/name": "buildkitd" });
            assert.strictEqual(s.spec.template.metadata.labels["app.kubernetes.io/name"], "buildkitd");
            assert.match(daemon().image, /^moby\/buildkit:v0\.31\.2@sha256:[0-9a-f]{64}$/);
            assert.deepStrictEqual(daemon().args, ["--config", "/etc/buildkit/config/buildkitd.toml"]);
            assert.deepStrictEqual(daemon().securityContext, { privileged: true });
        });

        it("gives every pod its own cache volume, removed with the pod's ordinal", () => {
            const s = sts();
            const [claim] = s.spec.volumeClaimTemplates;
            assert.strictEqual(claim.spec.resources.requests.storage, expectations[stack].cacheSize);
            assert.strictEqual(claim.spec.storageClassName, expectations[stack].storageClass);
            assert.deepStrictEqual(claim.spec.accessModes, ["ReadWriteOnce"]);
            assert.deepStrictEqual(s.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Delete", whenScaled: "Delete" });
            const mount = daemon().volumeMounts.find((m: any) => m.name === claim.metadata.name);
            assert.strictEqual(mount.mountPath, "/var/lib/buildkit");
        });

        it("mounts the config map and the server TLS secret read-only where buildkitd.toml points", () => {
            const volumes = Object.fromEntries(pod().volumes.map((v: any) => [v.name, v]));
            assert.strictEqual(volumes["config"].configMap.name, "buildkitd-config");
            assert.strictEqual(volumes["server-tls"].secret.secretName, "buildkitd-server-tls");
            const mounts = Object.fromEntries(daemon().volumeMounts.map((m: any) => [m.name, m]));
            assert.deepStrictEqual(mounts["config"], { name: "config", mountPath: "/etc/buildkit/config", readOnly: true });
            assert.deepStrictEqual(mounts["server-tls"], { name: "server-tls", mountPath: "/etc/buildkit/tls", readOnly: true });
            const toml = TOML.parse(reveal(findResource(run, "kubernetes:core/v1:ConfigMap", "buildkitd-config").inputs).data["buildkitd.toml"]) as any;
            for (const file of Object.values(toml.grpc.tls) as string[]) {
                assert.ok(file.startsWith("/etc/buildkit/tls/"), file);
            }
            assert.ok(toml.grpc.address.includes("tcp://0.0.0.0:1234"));
            assert.ok(toml.grpc.tls.ca, "client certificates are required");
        });

        it("probes the daemon itself over its local socket; readiness also fails once the pod drains", () => {
            const ask = ["buildctl", "--addr", "unix:///run/buildkit/buildkitd.sock", "debug", "workers"];
            for (const probe of ["startupProbe", "livenessProbe"]) {
                assert.deepStrictEqual(daemon()[probe].exec.command, ask, probe);
            }
            assert.deepStrictEqual(daemon().readinessProbe.exec.command, [
                "/bin/sh",
                "-c",
                "[ ! -e '/run/buildkit/arc-buildkit-draining' ] && exec buildctl --addr 'unix:///run/buildkit/buildkitd.sock' debug workers",
            ]);
        });

        it("drains running builds before stopping and allows the time for it", () => {
            const drain = daemon().lifecycle.preStop.exec.command[2];
            const timeout = Number(/\+ ([0-9]+) \)\)/.exec(drain)![1]);
            assert.ok(pod().terminationGracePeriodSeconds > timeout, "grace period outlasts the drain");
        });

        it("takes resources from config", () => {
            const r = daemon().resources;
            assert.ok(r.requests.cpu && r.requests.memory && r.limits.memory);
        });

        it("places builders on the BuildKit pool exactly when on AKS", () => {
            const p = pod();
            if (expectations[stack].placement) {
                assert.deepStrictEqual(p.nodeSelector, {
                    "ameide.io/pool": "buildkit",
                    "kubernetes.io/arch": "amd64",
                    "kubernetes.azure.com/agentpool": "buildkit",
                });
                assert.deepStrictEqual(p.tolerations, [{ key: "ameide.io/pool", operator: "Equal", value: "buildkit", effect: "NoSchedule" }]);
            } else {
                assert.strictEqual(p.nodeSelector, undefined);
                assert.strictEqual(p.tolerations, undefined);
            }
        });

        it("rolls the pods when the config or the server certificate changes", async () => {
            const annotations = sts().spec.template.metadata.annotations;
            const toml = reveal(findResource(run, "kubernetes:core/v1:ConfigMap", "buildkitd-config").inputs).data["buildkitd.toml"];
            assert.strictEqual(annotations["arc-buildkit/config-sha256"], createHash("sha256").update(toml).digest("hex"));
            const tls = reveal(findResource(run, SECRET, "buildkitd-server-tls").inputs).stringData;
            assert.strictEqual(
                annotations["arc-buildkit/tls-sha256"],
                createHash("sha256")
                    .update(tls["ca.crt"] + tls["tls.crt"])
                    .digest("hex"),
            );
        });

        it("exposes only the mTLS port on the ClusterIP Service, and per-pod names on the headless one", () => {
            const svc = reveal(findResource(run, SVC, "buildkitd").inputs);
            assert.strictEqual(svc.spec.type, "ClusterIP");
            // The shared tier's pods only: every tier's pods carry app.kubernetes.io/name=buildkitd.
            assert.deepStrictEqual(svc.spec.selector, { "app.kubernetes.io/name": "buildkitd", "ameide.io/tier": "shared" });
            assert.deepStrictEqual(
                svc.spec.ports.map((p: any) => p.port),
                [1234],
            );
            const headless = reveal(findResource(run, SVC, "buildkitd-headless").inputs);
            assert.strictEqual(headless.spec.clusterIP, "None");
            assert.strictEqual(sts().spec.serviceName, "buildkitd-headless");
        });

        it("never blocks a node drain with one replica", () => {
            const pdb = reveal(findResource(run, "kubernetes:policy/v1:PodDisruptionBudget", "buildkitd").inputs);
            assert.deepStrictEqual(pdb.spec.maxUnavailable, 1);
            assert.strictEqual(pdb.spec.minAvailable, undefined);
        });

        it("admits port 1234 only from arc-runners and buildkit, port 6060 only from the Prometheus pods of monitoring", () => {
            const policy = reveal(findResource(run, NETPOL, "buildkitd").inputs).spec;
            assert.deepStrictEqual(policy.podSelector.matchLabels, { "app.kubernetes.io/name": "buildkitd" });
            assert.deepStrictEqual(policy.policyTypes, ["Ingress"]);
            assert.deepStrictEqual(policy.ingress, [
                {
                    from: [
                        {
                            namespaceSelector: {
                                matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["arc-runners", "buildkit"] }],
                            },
                        },
                    ],
                    ports: [{ protocol: "TCP", port: 1234 }],
                },
                {
                    // One peer with both selectors: Prometheus pods of that namespace, never the whole namespace.
                    from: [
                        {
                            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
                            podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
                        },
                    ],
                    ports: [{ protocol: "TCP", port: 6060 }],
                },
            ]);
            const denyAll = reveal(findResource(run, NETPOL, "default-deny-ingress").inputs).spec;
            assert.deepStrictEqual(denyAll, { podSelector: {}, policyTypes: ["Ingress"] });
        });

        it("installs amd64 and arm64 emulation where builders run, privileged only while installing", () => {
            const ds = reveal(findResource(run, "kubernetes:apps/v1:DaemonSet", "binfmt").inputs);
            const spec = ds.spec.template.spec;
            assert.deepStrictEqual(spec.initContainers[0].args, ["--install", "amd64,arm64"]);
            assert.match(spec.initContainers[0].image, /^tonistiigi\/binfmt:.*@sha256:[0-9a-f]{64}$/);
            assert.strictEqual(spec.containers[0].securityContext.privileged, undefined);
            // Every node of the BuildKit pool(s), whatever its architecture; anywhere on k3d.
            assert.deepStrictEqual(spec.nodeSelector, expectations[stack].placement ? { "ameide.io/pool": "buildkit" } : undefined);
            assert.deepStrictEqual(spec.tolerations, pod().tolerations);
        });

        it("stores both TLS secrets with the keys buildctl --tlsdir reads, as Pulumi secrets", () => {
            for (const [name, namespace] of [
                ["buildkitd-server-tls", "buildkit"],
                ["buildkitd-client-tls", "arc-runners"],
            ]) {
                const secret = findResource(run, SECRET, name);
                assert.ok(isSecretInput(secret.inputs.stringData), `${name} payload must be a Pulumi secret`);
                const revealed = reveal(secret.inputs);
                assert.strictEqual(revealed.metadata.namespace, namespace);
                assert.strictEqual(revealed.type, "kubernetes.io/tls");
                assert.deepStrictEqual(Object.keys(revealed.stringData).sort(), ["ca.crt", "tls.crt", "tls.key"]);
            }
            const server = reveal(findResource(run, SECRET, "buildkitd-server-tls").inputs).stringData;
            const client = reveal(findResource(run, SECRET, "buildkitd-client-tls").inputs).stringData;
            assert.strictEqual(server["ca.crt"], client["ca.crt"], "both sides trust the same CA");
            assert.notStrictEqual(server["tls.key"], client["tls.key"]);
        });

        it("issues an ECDSA P-256 PKI with the right uses for each role", () => {
            const keys = run.resources.filter((r) => r.type === "tls:index/privateKey:PrivateKey");
            // CA, server and client per tier: the aks stack's protected tier has its own three.
            assert.strictEqual(keys.length, stack === "aks" ? 6 : 3);
            for (const key of keys) {
                assert.deepStrictEqual(key.inputs, { algorithm: "ECDSA", ecdsaCurve: "P256" });
            }
            const ca = reveal(findResource(run, "tls:index/selfSignedCert:SelfSignedCert", "buildkit-ca").inputs);
            assert.strictEqual(ca.isCaCertificate, true);
            assert.deepStrictEqual(ca.allowedUses.sort(), ["cert_signing", "crl_signing", "digital_signature"]);
            const server = reveal(findResource(run, "tls:index/locallySignedCert:LocallySignedCert", "buildkit-server").inputs);
            const client = reveal(findResource(run, "tls:index/locallySignedCert:LocallySignedCert", "buildkit-client").inputs);
            assert.deepStrictEqual(server.allowedUses, ["digital_signature", "server_auth"]);
            assert.deepStrictEqual(client.allowedUses, ["digital_signature", "client_auth"]);
            assert.strictEqual(server.validityPeriodHours, 2160);
            assert.strictEqual(server.earlyRenewalHours, 720);
            const csr = reveal(findResource(run, "tls:index/certRequest:CertRequest", "buildkit-server").inputs);
            assert.strictEqual(csr.subject.commonName, "buildkitd.buildkit.svc.cluster.local");
            assert.ok(csr.dnsNames.includes("*.buildkitd-headless.buildkit.svc.cluster.local"), "every pod, by wildcard");
            assert.ok(csr.dnsNames.includes("localhost"));
            assert.deepStrictEqual(csr.ipAddresses, ["127.0.0.1", "::1"]);
        });

        it("exports the endpoint, server name, secret names, pod endpoints, CA and label, and nothing private", async () => {
            const o = run.outputs;
            assert.strictEqual(await valueOf(o.endpoint), "tcp://buildkitd.buildkit.svc.cluster.local:1234");
            assert.strictEqual(await valueOf(o.tlsServerName), "buildkitd.buildkit.svc.cluster.local");
            assert.deepStrictEqual(
                await valueOf(o.podEndpoints),
                Array.from({ length: stack === "aks" ? 2 : 1 }, (_, i) => `tcp://buildkitd-${i}.buildkitd-headless.buildkit.svc.cluster.local:1234`),
            );
            assert.strictEqual(o.serverTlsSecret, "buildkitd-server-tls");
            assert.strictEqual(o.clientTlsSecret, "buildkitd-client-tls");
            assert.strictEqual(o.runnerLabel, stack === "aks" ? "arc-aks-v2" : "arc-local");
            assert.match(await valueOf(o.caCertPem), /CERTIFICATE/);
            assert.strictEqual(await valueOf(o.arm64Endpoint), undefined, "no native arm64 builders unless configured");
            for (const [name, value] of Object.entries(o)) {
                assert.strictEqual(await pulumi.isSecret(pulumi.output(value)), false, `${name} is public`);
                assert.doesNotMatch(JSON.stringify(await valueOf(value)) ?? "", /PRIVATE KEY/, name);
            }
        });

        it("declares byte-identical inputs when evaluated twice", async () => {
            const again = await runStack(stack, undefined, { fresh: true });
            const canonical = (r: ProgramRun) => JSON.stringify(r.resources.map((x) => [x.type, x.name, x.inputs]).sort());
            assert.strictEqual(canonical(again), canonical(run));
            assert.strictEqual(again.resources.length, run.resources.length);
        });
    });
}

describe("BuildKit service options", () => {
    it("lets one builder at a time go in disruptions, and covers every pod in the certificate without naming any", async () => {
        const run = await runStack("aks", setConfigPath("buildkit", ["replicas"], 3));
        const pdb = reveal(findResource(run, "kubernetes:policy/v1:PodDisruptionBudget", "buildkitd").inputs);
        assert.deepStrictEqual(pdb.spec.maxUnavailable, 1);
        assert.strictEqual(pdb.spec.minAvailable, undefined);
        const csr = reveal(findResource(run, "tls:index/certRequest:CertRequest", "buildkit-server").inputs);
        for (const ordinal of [0, 1, 2]) {
            assert.ok(coversHostname(csr.dnsNames, `buildkitd-${ordinal}.buildkitd-headless.buildkit.svc.cluster.local`));
        }
        // The same certificate request as with two builders: scaling re-issues nothing and rolls no builder.
        const two = reveal(findResource(await runStack("aks"), "tls:index/certRequest:CertRequest", "buildkit-server").inputs);
        assert.deepStrictEqual(csr, two);
        assert.strictEqual((await valueOf(run.outputs.podEndpoints)).length, 3);
    });

    it("mounts the server key read-only and never world-readable (mode 0440; root reads it in a rootful pod), and no API token", async () => {
        for (const stack of ["local", "aks"]) {
            const pod = reveal(findResource(await runStack(stack), STS, "buildkitd").inputs).spec.template.spec;
            // A privileged daemon that runs other people's build steps gets no Kubernetes API credentials.
            assert.strictEqual(pod.automountServiceAccountToken, false, stack);
            assert.strictEqual(pod.volumes.find((v: any) => v.name === "server-tls").secret.defaultMode, 0o440, stack);
            assert.strictEqual(pod.containers[0].volumeMounts.find((m: any) => m.name === "server-tls").readOnly, true, stack);
        }
    });

    it("runs rootless as UID 1000 with unconfined seccomp and AppArmor and its own state path", async () => {
        const run = await runStack(
            "aks",
            editConfig("buildkit", (buildkit) =>
                Object.assign(buildkit, {
                    rootless: true,
                    image: "moby/buildkit:v0.31.2-rootless@sha256:0eeb84626c0cd01aecae7848c5ed8f095aec279dd936d0cdb5a64110f42ca65b",
                }),
            ),
        );
        const pod = reveal(findResource(run, STS, "buildkitd").inputs).spec.template.spec;
        const daemon = pod.containers[0];
        assert.deepStrictEqual(daemon.securityContext, {
            runAsUser: 1000,
            runAsGroup: 1000,
            runAsNonRoot: true,
            seccompProfile: { type: "Unconfined" },
            appArmorProfile: { type: "Unconfined" },
            procMount: "Unmasked",
        });
        assert.strictEqual(pod.hostUsers, false, "an unmasked /proc only inside a user namespace");
        assert.strictEqual(pod.initContainers, undefined, "the rootless image has no iptables: no firewall init container");
        assert.strictEqual(pod.securityContext.fsGroup, 1000);
        // UID 1000 reads the server key through the group (fsGroup), never as a world-readable file.
        assert.strictEqual(pod.volumes.find((v: any) => v.name === "server-tls").secret.defaultMode, 0o440);
        assert.strictEqual(daemon.volumeMounts.find((m: any) => m.name === "cache").mountPath, "/home/user/.local/share/buildkit");
        assert.deepStrictEqual(daemon.livenessProbe.exec.command.slice(0, 3), ["buildctl", "--addr", "unix:///run/user/1000/buildkit/buildkitd.sock"]);
        assert.match(
            daemon.readinessProbe.exec.command[2],
            /\[ ! -e '\/run\/user\/1000\/buildkit\/arc-buildkit-draining' \] && exec buildctl --addr 'unix:\/\/\/run\/user\/1000\/buildkit\/buildkitd\.sock'/,
        );
    });

    it("drops the binfmt DaemonSet when emulation is off", async () => {
        const run = await runStack("local", setConfigPath("buildkit", ["binfmt"], { enabled: false }));
        assert.ok(!run.resources.some((r) => r.type === "kubernetes:apps/v1:DaemonSet"));
    });
});
