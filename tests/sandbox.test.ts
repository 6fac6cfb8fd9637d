import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { skipBecause } from "./harness/skip";
import { renderBuildkitdToml } from "../components/buildkit/toml";
import { builderEgressExceptionPolicy, builderEgressPolicy, internetEgressRule, runnerNetworkPolicy } from "../components/buildkit/network";
import { daemonPodSpec, sandboxFirewallCommand, SANDBOX_FIREWALL_CONTAINER } from "../components/buildkit/workload";
import { kubernetesMinor, sandboxPreflight } from "../components/cluster/sandbox-preflight";
import { byteQuantity } from "../config/quantity";
import { cidrContains, cidrsOverlap, parseIpv4Cidr } from "../config/sandbox";
import { decodeBuildkitdToml } from "./harness/buildkitd-config";
import { allEdits, configProblems, editConfig, setConfigPath } from "./harness/config-edit";
import { declaredObjectProblems } from "./harness/kubernetes-schema";
import { kubernetesObjects, ProgramRun, reveal, runStack, stackSettings } from "./harness/program";
import { runStoppedByPreflight } from "./harness/failed-run";

const ROOTLESS_IMAGE = "moby/buildkit:v0.31.2-rootless@sha256:0eeb84626c0cd01aecae7848c5ed8f095aec279dd936d0cdb5a64110f42ca65b";
const NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const STS = "kubernetes:apps/v1:StatefulSet";
const CONFIGMAP = "kubernetes:core/v1:ConfigMap";
const RELEASE = "kubernetes:helm.sh/v3:Release";

const rootless = editConfig("buildkit", (b) => Object.assign(b, { rootless: true, image: ROOTLESS_IMAGE, sandbox: { ...b.sandbox, userNamespace: true } }));
const withArm64 = setConfigPath("cluster", ["arm64", "enabled"], true);

/** Each stack variant the sandbox must hold on: both stacks, rootful and rootless, and AKS with native arm64 builders. */
const VARIANTS: { name: string; stack: string; edit?: (c: Record<string, string>) => void; rootless: boolean; userNamespace: boolean }[] = [
    { name: "local, rootful", stack: "local", rootless: false, userNamespace: false },
    { name: "local, rootless", stack: "local", edit: rootless, rootless: true, userNamespace: true },
    { name: "aks, rootful", stack: "aks", rootless: false, userNamespace: true },
    { name: "aks, rootful with arm64 builders", stack: "aks", edit: withArm64, rootless: false, userNamespace: true },
    { name: "aks, rootless", stack: "aks", edit: rootless, rootless: true, userNamespace: true },
];

const objectsOf = (run: ProgramRun, type: string) => run.resources.filter((r) => r.type === type).map((r) => reveal(r.inputs));

describe("build sandbox: config", () => {
    it("parses IPv4 CIDRs strictly and compares ranges", () => {
        assert.deepStrictEqual(parseIpv4Cidr("10.244.0.0/16"), { text: "10.244.0.0/16", base: (10 * 256 + 244) * 65536, prefix: 16 });
        for (const bad of ["10.244.0.1/16", "10.244.0.0", "256.0.0.0/8", "10.0.0.0/33", "fd00::/8", " 10.0.0.0/8"]) {
            assert.strictEqual(parseIpv4Cidr(bad), undefined, bad);
        }
        const p = (t: string) => parseIpv4Cidr(t)!;
        assert.ok(cidrsOverlap(p("10.0.0.0/8"), p("10.10.0.0/16")));
        assert.ok(!cidrsOverlap(p("10.10.0.0/16"), p("10.11.0.0/16")));
        assert.ok(cidrContains(p("10.224.0.0/12"), p("10.224.0.0/16")));
        assert.ok(!cidrContains(p("10.224.0.0/16"), p("10.224.0.0/12")));
        assert.ok(cidrContains(p("0.0.0.0/0"), p("255.255.255.255/32")));
    });

    it("defaults: user namespace on, BuildKit's bridge subnet, per-tier history, Prometheus pods only, runner limits", () => {
        const aks = stackSettings("aks");
        assert.deepStrictEqual(aks.buildkit.sandbox, { userNamespace: true, bridgeSubnet: "10.10.0.0/16" });
        assert.deepStrictEqual(aks.buildkit.history, { shared: { maxAgeHours: 24, maxEntries: 50 }, protected: { maxAgeHours: 168, maxEntries: 200 } });
        assert.ok(aks.buildkit.history.shared.maxAgeHours < aks.buildkit.history.protected.maxAgeHours, "shorter on the shared tier");
        assert.deepStrictEqual(aks.network.prometheusPodLabels, { "app.kubernetes.io/name": "prometheus" });
        assert.deepStrictEqual(aks.network.clusterCidrs, ["10.244.0.0/16", "10.0.0.0/16", "10.224.0.0/12"]);
        assert.deepStrictEqual(aks.arc.runnerResources, { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "4Gi" } });
        // The pinned k3s (v1.31) gives pods no user namespaces: the local stack says so explicitly.
        assert.strictEqual(stackSettings("local").buildkit.sandbox.userNamespace, false);
    });

    const cases: [string, string, (c: Record<string, string>) => void, RegExp][] = [
        [
            "AKS without cluster ranges",
            "aks",
            editConfig("network", (n) => delete n.clusterCidrs),
            /arc-buildkit:network\.clusterCidrs: missing; expected the cluster's pod, Service and node address ranges \(AKS defaults: 10\.244\.0\.0\/16, 10\.0\.0\.0\/16, 10\.224\.0\.0\/12/,
        ],
        [
            "a range with host bits",
            "aks",
            setConfigPath("network", ["clusterCidrs"], ["10.244.0.1/16"]),
            /network\.clusterCidrs\[0\]: expected an IPv4 network in CIDR notation with no host bits set/,
        ],
        [
            "a cluster range over the metadata endpoint",
            "aks",
            setConfigPath("network", ["clusterCidrs"], ["169.254.0.0/16"]),
            /network\.clusterCidrs\[0\]: expected a cluster range outside 169\.254\.0\.0\/16/,
        ],
        [
            "a bridge subnet inside a cluster range",
            "aks",
            setConfigPath("buildkit", ["sandbox"], { bridgeSubnet: "10.0.128.0/24" }),
            /buildkit\.sandbox\.bridgeSubnet: expected a subnet that overlaps no cluster range \(it overlaps 10\.0\.0\.0\/16\)/,
        ],
        [
            "a bridge subnet inside k3d's default ranges",
            "local",
            setConfigPath("buildkit", ["sandbox"], { userNamespace: false, bridgeSubnet: "10.42.0.0/24" }),
            /overlaps 10\.42\.0\.0\/16/,
        ],
        [
            "rootless without a user namespace",
            "local",
            editConfig("buildkit", (b) => Object.assign(b, { rootless: true, image: ROOTLESS_IMAGE })),
            /buildkit\.sandbox\.userNamespace: expected true with rootless: the rootless daemon keeps BuildKit's process sandbox/,
        ],
        [
            "no Prometheus labels (a whole namespace)",
            "aks",
            setConfigPath("network", ["prometheusPodLabels"], {}),
            /network\.prometheusPodLabels: expected at least one label/,
        ],
        [
            "an exception with both pods and a range",
            "aks",
            setConfigPath(
                "network",
                ["builderEgressExceptions"],
                [{ name: "mirror", namespace: "registry", podLabels: { app: "zot" }, cidr: "10.1.0.0/24", ports: [{ port: 5000 }] }],
            ),
            /network\.builderEgressExceptions\[0\]: expected either namespace and podLabels \(pods in the cluster\) or cidr/,
        ],
        [
            "an exception to the metadata endpoint",
            "aks",
            setConfigPath("network", ["builderEgressExceptions"], [{ name: "imds", cidr: "169.254.169.254/32", ports: [{ port: 80 }] }]),
            /builderEgressExceptions\[0\]\.cidr: expected a range outside 169\.254\.0\.0\/16 and 168\.63\.129\.16\/32/,
        ],
        [
            "an exception without ports",
            "aks",
            setConfigPath("network", ["builderEgressExceptions"], [{ name: "mirror", cidr: "10.1.0.0/24", ports: [] }]),
            /builderEgressExceptions\[0\]\.ports: expected at least one port/,
        ],
        [
            "history of zero entries",
            "aks",
            setConfigPath("buildkit", ["history"], { shared: { maxAgeHours: 24, maxEntries: 0 } }),
            /buildkit\.history\.shared\.maxEntries: expected a whole number from 1 to 10000/,
        ],
        [
            "a runner request above its limit",
            "aks",
            setConfigPath("arc", ["runnerResources"], { requests: { cpu: "4", memory: "1Gi" }, limits: { cpu: "2", memory: "4Gi" } }),
            /arc\.runnerResources\.requests\.cpu: expected a CPU request no larger than the CPU limit/,
        ],
        [
            "runner resources without a memory limit",
            "aks",
            setConfigPath("arc", ["runnerResources"], { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "2" } }),
            /arc\.runnerResources\.limits\.memory/,
        ],
    ];
    for (const [what, stack, edit, message] of cases) {
        it(`rejects ${what}`, () => {
            const problems = configProblems(() => stackSettings(stack, edit));
            assert.ok(
                problems.some((p) => message.test(p)),
                problems.join("\n"),
            );
        });
    }

    it("accepts named in-cluster exceptions of either kind", () => {
        const settings = stackSettings(
            "aks",
            setConfigPath(
                "network",
                ["builderEgressExceptions"],
                [
                    { name: "registry-mirror", namespace: "registry", podLabels: { "app.kubernetes.io/name": "zot" }, ports: [{ port: 5000 }] },
                    { name: "acr-endpoint", cidr: "10.224.8.0/28", ports: [{ port: 443, protocol: "TCP" }] },
                ],
            ),
        );
        assert.deepStrictEqual(
            settings.network.builderEgressExceptions.map((e) => e.ports),
            [[{ port: 5000, protocol: "TCP" }], [{ port: 443, protocol: "TCP" }]],
        );
    });
});

describe("build sandbox: pure objects", () => {
    it("egress: DNS to CoreDNS pods, everything else only outside link-local, the WireServer and the cluster ranges", () => {
        const spec = builderEgressPolicy({ matchLabels: { "app.kubernetes.io/name": "buildkitd" } }, ["10.244.0.0/16", "10.0.0.0/16"]);
        assert.deepStrictEqual(spec, {
            podSelector: { matchLabels: { "app.kubernetes.io/name": "buildkitd" } },
            policyTypes: ["Egress"],
            egress: [
                {
                    to: [
                        {
                            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
                            podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
                        },
                    ],
                    ports: [
                        { protocol: "UDP", port: 53 },
                        { protocol: "TCP", port: 53 },
                    ],
                },
                { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/16", "10.244.0.0/16", "168.63.129.16/32", "169.254.0.0/16"] } }] },
            ],
        });
        // Deterministic whatever the order of the configured ranges, with no duplicates.
        assert.deepStrictEqual(internetEgressRule(["10.0.0.0/16", "10.244.0.0/16", "10.0.0.0/16"]), internetEgressRule(["10.244.0.0/16", "10.0.0.0/16"]));
    });

    it("an exception opens exactly its destination and ports to the builders", () => {
        assert.deepStrictEqual(
            builderEgressExceptionPolicy(
                { matchLabels: { a: "b" } },
                { name: "m", namespace: "registry", podLabels: { app: "zot" }, ports: [{ port: 5000, protocol: "TCP" }] },
            ).egress,
            [
                {
                    to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "registry" } }, podSelector: { matchLabels: { app: "zot" } } }],
                    ports: [{ protocol: "TCP", port: 5000 }],
                },
            ],
        );
        assert.deepStrictEqual(
            builderEgressExceptionPolicy({ matchLabels: { a: "b" } }, { name: "m", cidr: "10.1.0.0/24", ports: [{ port: 443, protocol: "TCP" }] }).egress,
            [{ to: [{ ipBlock: { cidr: "10.1.0.0/24" } }], ports: [{ protocol: "TCP", port: 443 }] }],
        );
    });

    it("runner pods: no ingress; egress DNS, their tier's builders on 1234 only, and the internet", () => {
        const spec: any = runnerNetworkPolicy(
            {
                namespace: "buildkit",
                podSelectors: [{ matchLabels: { "app.kubernetes.io/name": "buildkitd" } }, { matchLabels: { "app.kubernetes.io/name": "buildkitd-arm64" } }],
            },
            ["10.42.0.0/16"],
        );
        assert.deepStrictEqual(spec.podSelector, {});
        assert.deepStrictEqual(spec.policyTypes, ["Ingress", "Egress"]);
        assert.strictEqual(spec.ingress, undefined, "no ingress rule: nothing may connect to a runner");
        assert.deepStrictEqual(spec.egress[1], {
            to: ["buildkitd", "buildkitd-arm64"].map((name) => ({
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "buildkit" } },
                podSelector: { matchLabels: { "app.kubernetes.io/name": name } },
            })),
            ports: [{ protocol: "TCP", port: 1234 }],
        });
        assert.deepStrictEqual(spec.egress[2].to[0].ipBlock.except, ["10.42.0.0/16", "168.63.129.16/32", "169.254.0.0/16"]);
    });

    it("the firewall rule drops the bridge's packets to the pod itself, idempotently", () => {
        assert.deepStrictEqual(sandboxFirewallCommand("10.10.0.0/16"), [
            "/bin/sh",
            "-ec",
            "iptables -w -C INPUT -s 10.10.0.0/16 -j DROP 2>/dev/null || iptables -w -I INPUT -s 10.10.0.0/16 -j DROP; [ ! -e /proc/net/if_inet6 ] || ip6tables -w -C INPUT -p tcp -s fe80::/10 -j DROP 2>/dev/null || ip6tables -w -I INPUT -p tcp -s fe80::/10 -j DROP",
        ]);
        assert.throws(() => sandboxFirewallCommand("10.10.0.0/16; reboot"), /not an IPv4 CIDR/);
    });

    it("the firewall runs for real under dash: both address families inserted, and it fails closed when either cannot be", function () {
        if (!fs.existsSync("/proc/net/if_inet6")) skipBecause(this, "this machine has no IPv6, so the ip6tables half would not run");
        const [shell, flags, script] = sandboxFirewallCommand("10.10.0.0/16");
        assert.strictEqual(shell, "/bin/sh");
        const run = (failing: string) => {
            const bin = fs.mkdtempSync(path.join(os.tmpdir(), "firewall-"));
            const log = path.join(bin, "calls");
            for (const tool of ["iptables", "ip6tables"]) {
                // -C (check) finds no rule; -I inserts, unless this tool is the one that fails.
                const body = `echo "${tool} $*" >>"${log}"\ncase "$2" in -C) exit 1 ;; esac\n${tool === failing ? "exit 4" : "exit 0"}\n`;
                fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\n${body}`, { mode: 0o755 });
            }
            const r = spawnSync("dash", [flags, script], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: "utf8" });
            const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
            fs.rmSync(bin, { recursive: true, force: true });
            return { status: r.status, calls };
        };
        const ok = run("none");
        assert.strictEqual(ok.status, 0);
        assert.ok(ok.calls.includes("iptables -w -I INPUT -s 10.10.0.0/16 -j DROP"), ok.calls.join("; "));
        assert.ok(ok.calls.includes("ip6tables -w -I INPUT -p tcp -s fe80::/10 -j DROP"), ok.calls.join("; "));
        assert.notStrictEqual(run("iptables").status, 0, "an IPv4 rule that cannot be set stops the pod");
        assert.notStrictEqual(run("ip6tables").status, 0, "an IPv6 rule that cannot be set stops the pod");
    });

    const podInput = {
        image: "moby/buildkit:v0.31.2@sha256:" + "a".repeat(64),
        resources: { requests: { cpu: "1", memory: byteQuantity("1Gi") }, limits: { memory: byteQuantity("2Gi") } },
        drainTimeoutSeconds: 60,
        configMapName: "c",
        serverTlsSecretName: "s",
        placement: {},
        bridgeSubnet: "10.10.0.0/16",
    };
    it("rootful: user namespace when asked, firewall init container, privileged only in the daemon", () => {
        const spec: any = daemonPodSpec({ ...podInput, rootless: false, userNamespace: true });
        assert.strictEqual(spec.hostUsers, false);
        assert.deepStrictEqual(
            spec.initContainers.map((c: any) => c.name),
            [SANDBOX_FIREWALL_CONTAINER],
        );
        assert.deepStrictEqual(spec.initContainers[0].securityContext.capabilities, { drop: ["ALL"], add: ["NET_ADMIN", "NET_RAW"] });
        assert.strictEqual(spec.initContainers[0].image, podInput.image);
        assert.strictEqual(daemonPodSpec({ ...podInput, rootless: false, userNamespace: false }).hostUsers, undefined);
    });
    it("rootless: user namespace and unmasked /proc, no firewall (the rootless image has no iptables)", () => {
        const spec: any = daemonPodSpec({ ...podInput, image: ROOTLESS_IMAGE, rootless: true, userNamespace: true });
        assert.strictEqual(spec.hostUsers, false);
        assert.strictEqual(spec.containers[0].securityContext.procMount, "Unmasked");
        assert.strictEqual(spec.initContainers, undefined);
    });

    it("buildkitd.toml decodes strictly into BuildKit v0.31.2's config, rootful and rootless", () => {
        for (const rootlessMode of [false, true]) {
            const text = renderBuildkitdToml({
                rootless: rootlessMode,
                platforms: ["linux/amd64"],
                maxParallelism: 4,
                cacheSize: byteQuantity("10Gi"),
                registryMirrors: { "docker.io": ["mirror.gcr.io"] },
                bridgeSubnet: "10.10.0.0/16",
                history: { maxAgeHours: 24, maxEntries: 50 },
            });
            const { problems, document } = decodeBuildkitdToml(text);
            assert.deepStrictEqual(problems, [], text);
            const oci = (document.worker as any).oci;
            assert.strictEqual(oci.networkMode, "bridge");
            assert.strictEqual(oci.noProcessSandbox, undefined);
            assert.deepStrictEqual({ ...(document.history as object) }, { maxAge: 86400n, maxEntries: 50n });
        }
    });

    it("the strict decoder rejects what BuildKit would silently ignore or refuse", () => {
        const problems = (text: string) => decodeBuildkitdToml(text).problems;
        assert.deepStrictEqual(problems('[worker.oci]\nnetworkmode = "bridge"\n'), ["worker.oci.networkmode: no such field in BuildKit's config (v0.31.2)"]);
        assert.deepStrictEqual(problems("[worker.oci]\nmax-parallelism = 2.5\n"), ["worker.oci.max-parallelism: expected an integer, got 2.5"]);
        assert.deepStrictEqual(problems('[history]\nmaxAge = "two days"\n'), [
            'history.maxAge: expected a duration (integer seconds or a Go duration string such as 24h), got "two days"',
        ]);
        assert.deepStrictEqual(problems('[worker.oci]\nreservedSpace = "lots"\n'), [
            'worker.oci.reservedSpace: expected a disk space (bytes, such as 10GiB, or a percentage such as 10%), got "lots"',
        ]);
        assert.deepStrictEqual(problems('insecure-entitlements = "network.host"\n'), [
            'insecure-entitlements: expected an array of strings, got "network.host"',
        ]);
        assert.deepStrictEqual(problems('[registry."docker.io"]\nmirror = ["m"]\n'), [
            "registry.docker.io.mirror: no such field in BuildKit's config (v0.31.2)",
        ]);
        assert.deepStrictEqual(problems("[[worker.oci.gcpolicy]]\nkeepDuration = 3600\nall = true\n"), []);
        assert.match(problems("[grpc\n")[0], /^not TOML/);
    });
});

describe("build sandbox: AKS preflight", () => {
    const input = { cluster: "rg/c", userNamespace: true, clusterCidrs: ["10.244.0.0/16", "10.0.0.0/16", "10.224.0.0/12"] };
    const ranges = { podCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.0.0.0/16"] };
    it("reads Kubernetes versions", () => {
        assert.deepStrictEqual(kubernetesMinor("1.33.2"), { major: 1, minor: 33 });
        assert.deepStrictEqual(kubernetesMinor("v1.9"), { major: 1, minor: 9 });
        assert.strictEqual(kubernetesMinor("latest"), undefined);
    });
    it("passes a 1.33 cluster whose ranges are covered", () => {
        assert.deepStrictEqual(sandboxPreflight(input, { currentKubernetesVersion: "1.33.0", networkProfile: ranges }), []);
    });
    it("refuses a user namespace before Kubernetes 1.33, and says how to go on", () => {
        const [error] = sandboxPreflight(input, { currentKubernetesVersion: "1.32.7", networkProfile: ranges });
        assert.match(error, /runs Kubernetes 1\.32\.7, and pods get user namespaces \(hostUsers: false\) only from Kubernetes 1\.33/);
        assert.match(error, /set arc-buildkit:buildkit\.sandbox\.userNamespace to false/);
        assert.deepStrictEqual(sandboxPreflight({ ...input, userNamespace: false }, { currentKubernetesVersion: "1.32.7", networkProfile: ranges }), []);
        assert.strictEqual(sandboxPreflight(input, { networkProfile: ranges }).length, 1, "an unknown version is not assumed new enough");
    });
    it("refuses a pod or Service range network.clusterCidrs does not cover; ignores IPv6 ranges", () => {
        const errors = sandboxPreflight(input, {
            currentKubernetesVersion: "1.34.0",
            networkProfile: { podCidrs: ["172.20.0.0/16", "fd12::/64"], serviceCidr: "10.0.0.0/16" },
        });
        assert.strictEqual(errors.length, 1);
        assert.match(errors[0], /uses the address range 172\.20\.0\.0\/16 \(network profile\), which arc-buildkit:network\.clusterCidrs .* does not cover/);
    });
    // The preflight stops the run inside an Output, as in a real `up` (tests/harness/failed-run.ts).
    const failedRun = (clusterName: string, marker: string) => runStoppedByPreflight({ clusterName }, marker);

    it("stops the aks stack before any Azure or Kubernetes resource is declared", async () => {
        for (const [clusterName, marker] of [
            ["aks-k8s-1-32", "runs Kubernetes 1.32.7"],
            ["aks-other-ranges", "uses the address range 172.20.0.0/16"],
        ] as const) {
            const { seen, unexpected, registered } = await failedRun(clusterName, marker);
            assert.deepStrictEqual(unexpected, []);
            assert.ok(seen.length > 0, `${clusterName}: the deployment did not fail`);
            assert.match(seen[0], /Nothing was deployed/);
            assert.deepStrictEqual(
                registered.filter((t) => t.startsWith("azure-native:") || t.startsWith("kubernetes:")),
                [],
            );
        }
        const passes = await runStack(
            "aks",
            allEdits(setConfigPath("cluster", ["clusterName"], "aks-k8s-1-32"), setConfigPath("buildkit", ["sandbox"], { userNamespace: false })),
        );
        assert.ok(passes.resources.some((r) => r.type === STS));
    });
});

for (const variant of VARIANTS) {
    describe(`build sandbox: declared objects (${variant.name})`, () => {
        let run: ProgramRun;
        before(async () => {
            run = await runStack(variant.stack, variant.edit);
        });

        it("every buildkitd.toml decodes strictly: bridge network, no process-sandbox opt-out, no insecure entitlements, deliberate history", () => {
            const configs = objectsOf(run, CONFIGMAP).filter((c) => c.data?.["buildkitd.toml"]);
            // The shared tier's sets, and on aks the protected tier's (tests/tiers.test.ts).
            assert.strictEqual(configs.length, (variant.edit === withArm64 ? 2 : 1) + (variant.stack === "aks" ? 1 : 0));
            for (const config of configs) {
                const { problems, document } = decodeBuildkitdToml(config.data["buildkitd.toml"]);
                assert.deepStrictEqual(problems, [], config.metadata.name);
                const oci = (document.worker as any).oci;
                assert.strictEqual(oci.networkMode, "bridge");
                assert.strictEqual(oci.bridgeSubnet, "10.10.0.0/16");
                assert.strictEqual(oci.noProcessSandbox, undefined);
                assert.strictEqual(oci.rootless, variant.rootless ? true : undefined);
                assert.strictEqual(document["insecure-entitlements"], undefined);
                // The contract builders are the shared tier: its history; the protected tier keeps more.
                const protectedTier = config.metadata.labels["ameide.io/tier"] === "protected";
                assert.deepStrictEqual(
                    { ...(document.history as object) },
                    protectedTier ? { maxAge: 604800n, maxEntries: 200n } : { maxAge: 86400n, maxEntries: 50n },
                );
            }
        });

        it("builder pods: user namespace as configured, firewall when rootful, unmasked /proc only when rootless", () => {
            for (const sts of objectsOf(run, STS)) {
                const pod = sts.spec.template.spec;
                assert.strictEqual(pod.hostUsers, variant.userNamespace ? false : undefined, sts.metadata.name);
                assert.strictEqual(pod.hostNetwork, undefined);
                assert.strictEqual(pod.automountServiceAccountToken, false);
                const daemon = pod.containers[0];
                if (variant.rootless) {
                    assert.strictEqual(daemon.securityContext.procMount, "Unmasked");
                    assert.strictEqual(daemon.securityContext.privileged, undefined);
                    assert.strictEqual(pod.initContainers, undefined);
                } else {
                    assert.strictEqual(daemon.securityContext.procMount, undefined);
                    assert.deepStrictEqual(
                        pod.initContainers.map((c: any) => [c.name, c.command[2]]),
                        [
                            [
                                SANDBOX_FIREWALL_CONTAINER,
                                "iptables -w -C INPUT -s 10.10.0.0/16 -j DROP 2>/dev/null || iptables -w -I INPUT -s 10.10.0.0/16 -j DROP; [ ! -e /proc/net/if_inet6 ] || ip6tables -w -C INPUT -p tcp -s fe80::/10 -j DROP 2>/dev/null || ip6tables -w -I INPUT -p tcp -s fe80::/10 -j DROP",
                            ],
                        ],
                    );
                }
                assert.ok(!JSON.stringify(daemon.args).includes("no-process-sandbox"));
            }
        });

        it("each builder set has an egress policy excluding link-local, the WireServer and the cluster ranges; 6060 admits Prometheus pods only", () => {
            const cidrs =
                variant.stack === "aks"
                    ? ["10.0.0.0/16", "10.224.0.0/12", "10.244.0.0/16"]
                    : ["10.42.0.0/16", "10.43.0.0/16", "172.16.0.0/12", "192.168.0.0/16"];
            const policies = objectsOf(run, NETPOL);
            for (const sts of objectsOf(run, STS)) {
                const labels = sts.spec.template.metadata.labels;
                const egress = policies.find((p) => p.metadata.name === `${sts.metadata.name}-egress`);
                assert.ok(egress, `${sts.metadata.name}-egress`);
                // The same selector as the set's ingress policy: its own pods, no other tier's (tests/tiers.test.ts).
                assert.deepStrictEqual(egress.spec.podSelector, policies.find((p) => p.metadata.name === sts.metadata.name)!.spec.podSelector);
                for (const [key, value] of Object.entries(egress.spec.podSelector.matchLabels)) assert.strictEqual(labels[key], value, key);
                assert.deepStrictEqual(egress.spec.egress[1].to[0].ipBlock.except, [...cidrs, "168.63.129.16/32", "169.254.0.0/16"].sort());
                const ingress = policies.find((p) => p.metadata.name === sts.metadata.name)!;
                const metrics = ingress.spec.ingress.find((r: any) => r.ports[0].port === 6060);
                assert.deepStrictEqual(metrics.from, [
                    {
                        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
                        podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
                    },
                ]);
            }
        });

        it("runner namespaces: restricted, and every pod under the runner-sandbox policy, which reaches its tier's builders only", () => {
            const tiers = variant.stack === "aks" ? ["arc-runners", "arc-runners-protected"] : ["arc-runners"];
            for (const namespace of tiers) {
                const ns = objectsOf(run, "kubernetes:core/v1:Namespace").find((n) => n.metadata.name === namespace)!;
                assert.strictEqual(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
                const policy = objectsOf(run, NETPOL).find((p) => p.metadata.name === "runner-sandbox" && p.metadata.namespace === namespace)!;
                assert.deepStrictEqual(policy.spec.podSelector, {});
                const tier = namespace === "arc-runners" ? "shared" : "protected";
                assert.deepStrictEqual(
                    policy.spec.egress[1].to.map((t: any) => t.podSelector.matchLabels["app.kubernetes.io/name"]),
                    objectsOf(run, STS)
                        .filter((s) => s.spec.template.metadata.labels["ameide.io/tier"] === tier)
                        .map((s) => s.spec.template.metadata.labels["app.kubernetes.io/name"]),
                    `exactly the ${tier} tier's builder sets`,
                );
            }
        });

        it("runner pods: no token, no service links, bounded, restricted", () => {
            for (const release of objectsOf(run, RELEASE).filter((r) => String(r.chart).endsWith("/gha-runner-scale-set"))) {
                const spec = release.values.template.spec;
                assert.strictEqual(spec.automountServiceAccountToken, false);
                assert.strictEqual(spec.enableServiceLinks, false);
                const runner = spec.containers.find((c: any) => c.name === "runner");
                assert.deepStrictEqual(runner.resources, { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "4Gi" } });
                for (const container of [...spec.initContainers, ...spec.containers]) {
                    const sc = container.securityContext;
                    assert.deepStrictEqual(
                        [
                            sc.runAsNonRoot ?? spec.securityContext.runAsNonRoot,
                            sc.allowPrivilegeEscalation,
                            sc.capabilities,
                            sc.seccompProfile?.type ?? spec.securityContext.seccompProfile.type,
                        ],
                        [true, false, { drop: ["ALL"] }, "RuntimeDefault"],
                        container.name,
                    );
                }
            }
        });

        it("the probe proves the isolation on every builder, expecting a user namespace exactly when there is one", () => {
            const [job] = objectsOf(run, "kubernetes:batch/v1:Job");
            const script: string = job.spec.template.spec.containers[0].command[2];
            assert.ok(script.includes("isolation-step.sh"));
            assert.strictEqual(script.includes("runs with the node's own user IDs"), variant.userNamespace);
        });

        it("every declared object validates against the Kubernetes schemas", () => {
            const problems = kubernetesObjects(run).flatMap((r) => declaredObjectProblems(r.type, reveal(r.inputs)).map((p) => `${r.type} ${r.name}: ${p}`));
            assert.deepStrictEqual(problems, []);
        });
    });
}

describe("build sandbox: named exceptions on the declared stack", () => {
    it("adds one NetworkPolicy per exception and builder set, named after it", async () => {
        const run = await runStack(
            "aks",
            allEdits(
                withArm64,
                setConfigPath(
                    "network",
                    ["builderEgressExceptions"],
                    [{ name: "registry-mirror", namespace: "registry", podLabels: { "app.kubernetes.io/name": "zot" }, ports: [{ port: 5000 }] }],
                ),
            ),
        );
        const names = objectsOf(run, NETPOL)
            .map((p) => p.metadata.name)
            .filter((n) => n.includes("registry-mirror"))
            .sort();
        assert.deepStrictEqual(names, [
            "buildkitd-arm64-egress-registry-mirror",
            "buildkitd-egress-registry-mirror",
            "buildkitd-protected-egress-registry-mirror",
        ]);
    });
});
