import * as assert from "assert";
import { createPublicKey } from "crypto";
import * as tls from "tls";
import { ConfigError } from "../config";
import {
    BUILDKIT_GRPC_PORT,
    BUILDKIT_METRICS_PORT,
    BUILDKIT_NAMESPACE,
    PROTECTED_TIER,
    RUNNER_ENV,
    SHARED_TIER,
    TIER_LABEL_KEY,
    TierNames,
    tierNames,
} from "../contracts";
import { keyGeneration, serverCertificateNames } from "../components/pki";
import { FAKE_ADMIN_TOKEN } from "./fixtures/github-credentials";
import { allEdits, ConfigEdit, configValue, editConfig } from "./harness/config-edit";
import { callOverTls, startMtlsServer, TlsServer } from "./harness/grpc";
import { mockRepositoryId } from "./harness/mocks";
import { findResource, kubernetesObjects, parseWithCredentials, ProgramRun, reveal, runStack, stackConfig } from "./harness/program";
import { Registration, recordRegistrations } from "./harness/registrations";
import { hostOf, openssl, opensslVerify } from "./harness/tls-material";
import {
    admittedIngress,
    BuilderSet,
    builderSets,
    containerPorts,
    declaredTiers,
    parseTaint,
    pemCertificates,
    RunnerPod,
    runnerPods,
    runAt,
    selects,
    serviceSelects,
    tolerates,
} from "./harness/tiers";

/**
 * The boundary between trust tiers (CONTRACTS.md "Trust tiers", issue 19), attacked as the least
 * trusted tenant would: a pull request's job on a shared-tier runner, holding the shared client
 * certificate, on the shared tier's nodes and namespaces. Every check reads what the program declares
 * (certificates are real, handshakes are real, selectors and policies are evaluated as Kubernetes
 * does) and must hold for every tier in both directions.
 */

const RUNNER_GROUP = "github:index/actionsRunnerGroup:ActionsRunnerGroup";
const ORG_VARIABLE = "github:index/actionsOrganizationVariable:ActionsOrganizationVariable";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const AGENT_POOL = "azure-native:containerservice:AgentPool";
const POOL_KEY = "ameide.io/pool";

/** Native arm64 builders in both tiers: every builder set the program can declare. */
const ARM64_EVERYWHERE: ConfigEdit = allEdits(
    editConfig("cluster", (cluster) => (cluster.arm64.enabled = true)),
    editConfig("tiers", (tiers) => {
        tiers.protected.arm64 = {
            name: "buildkitparm",
            vmSize: "Standard_D8pds_v5",
            zones: ["1", "2", "3"],
            minCount: 1,
            maxCount: 2,
            maxPods: 30,
            osDiskSizeGB: 128,
            osDiskType: "Ephemeral",
            replicas: 2,
        };
    }),
);

const isArm64Set = (set: BuilderSet) => set.name.endsWith("-arm64");

/** The server name a runner is told to use for `set` (its tier's x86-64 or arm64 Service). */
function serverNameFor(runner: RunnerPod, set: BuilderSet): string {
    const name = isArm64Set(set) ? runner.env.AMEIDE_BUILDKIT_ARM64_TLS_SERVERNAME : runner.env[RUNNER_ENV.serverName];
    assert.ok(name, `${runner.release}: no server name for ${set.name}`);
    return name;
}

/** The fully qualified Service name of `set`: what an attacker would name when dialing it. */
const serviceFqdn = (set: BuilderSet) => `${set.name}.${BUILDKIT_NAMESPACE}.svc.cluster.local`;

/** Subject line of a certificate, as openssl prints it. */
const subjectOf = (pem: string) => openssl(["x509", "-noout", "-subject", "-in", { pem }]).trim();
const publicKeyOf = (pem: string) => createPublicKey(pem).export({ type: "spki", format: "der" }).toString("base64");

async function refusedByServer(server: TlsServer, attempt: Promise<void>, what: string): Promise<void> {
    const before = server.calls;
    const error = await attempt.then(
        () => undefined,
        (e: Error) => e,
    );
    assert.ok(error, `${what} was accepted`);
    assert.strictEqual(server.calls, before, `${what}: the call reached the handler`);
}

/**
 * A plain TLS handshake (node's own, no gRPC) against a server presenting `server` that asks for no
 * client certificate: only the client's own verification can fail it. Resolves with the error, or
 * undefined when the client accepted the server.
 */
async function clientVerdict(
    server: { cert: string; key: string },
    client: { ca: string; serverName: string; skipHostnameCheck?: boolean },
): Promise<Error | undefined> {
    const listener = tls.createServer({ cert: server.cert, key: server.key, requestCert: false }, (socket) => socket.end());
    listener.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const port = (listener.address() as { port: number }).port;
    try {
        return await new Promise<Error | undefined>((resolve) => {
            const socket = tls.connect({
                host: "127.0.0.1",
                port,
                ca: client.ca,
                servername: client.serverName,
                checkServerIdentity: client.skipHostnameCheck ? () => undefined : tls.checkServerIdentity,
            });
            socket.on("secureConnect", () => {
                socket.destroy();
                resolve(undefined);
            });
            socket.on("error", (error) => {
                socket.destroy();
                resolve(error);
            });
        });
    } finally {
        await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
}

/**
 * Every runner tries every builder set of every other tier with its own certificate and key, trusting
 * that set's (public) CA and naming it correctly, so only the server can refuse it; it must, and
 * openssl must refuse the chain too. Returns the number of cross-tier attempts.
 */
async function assertOtherTiersRefused(run: ProgramRun): Promise<number> {
    const sets = builderSets(run);
    const runners = runnerPods(run);
    let attempts = 0;
    for (const set of sets) {
        const server = await startMtlsServer(set);
        try {
            for (const runner of runners.filter((r) => r.tier !== set.tier)) {
                await refusedByServer(
                    server,
                    callOverTls(server.port, { ca: set.ca, cert: runner.cert, key: runner.key, serverName: serviceFqdn(set) }),
                    `${runner.tier} runner ${runner.release} at ${set.tier} builders ${set.name}`,
                );
                assert.throws(
                    () => opensslVerify(set.ca, runner.cert, "sslclient"),
                    /verif|unable|error/i,
                    `${runner.tier} client certificate verifies against ${set.tier}'s CA`,
                );
                attempts++;
            }
        } finally {
            await server.close();
        }
    }
    return attempts;
}

describe("trust tiers: real mTLS across tiers (aks, native arm64 builders in both tiers)", () => {
    let run: ProgramRun;
    let sets: BuilderSet[];
    let runners: RunnerPod[];
    let tiers: TierNames[];
    const servers = new Map<string, TlsServer>();

    before(async () => {
        run = await runStack("aks", ARM64_EVERYWHERE);
        sets = builderSets(run);
        runners = runnerPods(run);
        tiers = declaredTiers(run);
        for (const set of sets) {
            servers.set(set.name, await startMtlsServer(set));
        }
    });
    after(async () => {
        for (const server of servers.values()) await server.close();
    });

    it("declares an x86-64 and an arm64 builder set, and runners, for each of the shared and protected tiers", () => {
        assert.deepStrictEqual(
            tiers.map((t) => t.tier),
            [SHARED_TIER, PROTECTED_TIER],
        );
        assert.deepStrictEqual(sets.map((s) => `${s.tier}/${s.name}`).sort(), [
            "protected/buildkitd-protected",
            "protected/buildkitd-protected-arm64",
            "shared/buildkitd",
            "shared/buildkitd-arm64",
        ]);
        assert.deepStrictEqual(runners.map((r) => `${r.tier}/${r.namespace}/${r.release}`).sort(), [
            "protected/arc-runners-protected/arc-aks-v2-protected",
            "shared/arc-runners/arc-aks-v2",
        ]);
    });

    it("gives each tier its own CA: one trust bundle per tier, no CA certificate or key in two tiers, different subjects", () => {
        const bundles = new Map<string, Set<string>>();
        for (const set of sets) {
            const bundle = bundles.get(set.tier) ?? new Set<string>();
            bundle.add(set.ca);
            bundles.set(set.tier, bundle);
        }
        for (const runner of runners) {
            bundles.get(runner.tier)!.add(runner.ca);
        }
        for (const [tier, bundle] of bundles) {
            assert.strictEqual(bundle.size, 1, `tier ${tier}: every builder set and runner holds the same ca.crt`);
        }
        const cas = [...bundles].map(([tier, bundle]) => ({ tier, certs: pemCertificates([...bundle][0]) }));
        for (const a of cas) {
            assert.ok(a.certs.length >= 1, `tier ${a.tier}: ca.crt holds a certificate`);
            for (const b of cas.filter((x) => x.tier !== a.tier)) {
                for (const certA of a.certs) {
                    for (const certB of b.certs) {
                        assert.notStrictEqual(certA, certB, `tiers ${a.tier} and ${b.tier} trust the same CA certificate`);
                        assert.notStrictEqual(publicKeyOf(certA), publicKeyOf(certB), `tiers ${a.tier} and ${b.tier} share a CA key`);
                        assert.notStrictEqual(subjectOf(certA), subjectOf(certB), `tiers ${a.tier} and ${b.tier}: CA subjects are equal`);
                    }
                }
            }
        }
        assert.match(subjectOf(cas.find((c) => c.tier === PROTECTED_TIER)!.certs[0]), /protected/);
    });

    it("accepts every runner at every builder set of its own tier, with the server names and pod names it is given", async () => {
        for (const set of sets) {
            for (const runner of runners.filter((r) => r.tier === set.tier)) {
                const buildersVariable = isArm64Set(set) ? "AMEIDE_BUILDKIT_ARM64_BUILDERS" : "AMEIDE_BUILDKIT_BUILDERS";
                const names = [serverNameFor(runner, set), ...runner.env[buildersVariable].split(" ")];
                for (const serverName of names) {
                    await callOverTls(servers.get(set.name)!.port, { ca: runner.ca, cert: runner.cert, key: runner.key, serverName }).catch((error) => {
                        throw new Error(`${runner.release} (${runner.tier}) at ${set.name} as ${serverName}: ${error.message}`);
                    });
                }
            }
        }
    });

    it("refuses every other tier's runner at the server, even one that trusts the server's CA and names the server correctly", async () => {
        assert.strictEqual(await assertOtherTiersRefused(run), 4, "each of the two runners tried the two builder sets of the other tier");
    });

    it("makes every runner refuse every other tier's server identity (a stolen key), even without a host name check", async () => {
        for (const set of sets) {
            for (const runner of runners) {
                const own = runner.tier === set.tier;
                const nameOfSet = own ? serverNameFor(runner, set) : serviceFqdn(set);
                const verdict = await clientVerdict(set, { ca: runner.ca, serverName: nameOfSet, skipHostnameCheck: !own });
                if (own) {
                    assert.strictEqual(verdict, undefined, `${runner.release} must accept its own tier's ${set.name}: ${verdict?.message}`);
                } else {
                    assert.ok(verdict, `${runner.tier} runner ${runner.release} accepted ${set.tier} builders ${set.name}`);
                    assert.match(verdict.message, /certificate|verify|issuer/i);
                    // The runner's own server name, presented with the other tier's key: an impostor after a node escape.
                    assert.ok(
                        await clientVerdict(set, { ca: runner.ca, serverName: runner.env[RUNNER_ENV.serverName] }),
                        `${runner.release} accepted ${set.name}'s certificate for its own server name`,
                    );
                }
            }
        }
    });

    it("names no other tier's Service or pod in any server certificate", () => {
        for (const set of sets) {
            const sans = openssl(["x509", "-noout", "-ext", "subjectAltName", "-in", { pem: set.cert }]);
            const dnsNames = [...sans.matchAll(/DNS:([^,\s]+)/g)].map((m) => m[1]);
            assert.ok(dnsNames.includes(serviceFqdn(set)), `${set.name}'s certificate names its own Service`);
            for (const other of sets.filter((s) => s.tier !== set.tier)) {
                // Every name the other tier's certificate could carry (its arm64 set included), loopback aside.
                const otherNames = new Set(serverCertificateNames(true, tierNames(other.tier)).dnsNames.filter((n) => n !== "localhost"));
                const foreign = dnsNames.filter((n) => otherNames.has(n));
                assert.deepStrictEqual(foreign, [], `${set.name}'s certificate names ${other.tier} objects`);
                assert.throws(() => opensslVerify(set.ca, set.cert, "sslserver", serviceFqdn(other)), /hostname mismatch|verif|error/i);
            }
        }
    });
});

describe("trust tiers: runner pods mount only their own tier's material", () => {
    let run: ProgramRun;
    let sets: BuilderSet[];
    let runners: RunnerPod[];
    let tiers: TierNames[];

    before(async () => {
        run = await runStack("aks", ARM64_EVERYWHERE);
        sets = builderSets(run);
        runners = runnerPods(run);
        tiers = declaredTiers(run);
    });

    const tierOf = (name: string) => tiers.find((t) => t.tier === name)!;
    const tierCa = (tier: string) => sets.find((s) => s.tier === tier && !isArm64Set(s))!.ca;

    /** Every Secret a pod spec can read: volumes (plain and projected), env and envFrom references. */
    function secretsOf(podSpec: any): string[] {
        const volumes = (podSpec.volumes ?? []).flatMap((v: any) => [
            ...(v.secret ? [v.secret.secretName] : []),
            ...(v.projected?.sources ?? []).filter((s: any) => s.secret).map((s: any) => s.secret.name),
        ]);
        const containers = [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])];
        const env = containers.flatMap((c: any) => [
            ...(c.env ?? []).filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => e.valueFrom.secretKeyRef.name),
            ...(c.envFrom ?? []).filter((e: any) => e.secretRef).map((e: any) => e.secretRef.name),
        ]);
        return [...new Set([...volumes, ...env])].sort();
    }

    it("mounts, in every tier's scale set, only the client Secret of its own namespace, holding its tier's client identity", () => {
        assert.strictEqual(runners.length, tiers.length, "one scale set per tier");
        for (const runner of runners) {
            const names = tierOf(runner.tier);
            assert.strictEqual(runner.namespace, names.runnerNamespace);
            assert.deepStrictEqual(secretsOf(runner.podSpec), [names.clientTlsSecret], `${runner.release}: the Secrets its pods can read`);
            // The tier's CA, a client certificate it signed, and the key that belongs to that certificate.
            assert.strictEqual(runner.ca, tierCa(runner.tier), `${runner.release}: ca.crt is its tier's bundle`);
            opensslVerify(tierCa(runner.tier), runner.cert, "sslclient");
            assert.strictEqual(publicKeyOf(runner.cert), publicKeyOf(runner.key), `${runner.release}: tls.key belongs to tls.crt`);
            for (const other of tiers.filter((t) => t.tier !== runner.tier)) {
                assert.throws(
                    () => opensslVerify(tierCa(other.tier), runner.cert, "sslclient"),
                    /verif|unable|error/i,
                    `${runner.release}'s certificate verifies against ${other.tier}'s CA`,
                );
                assert.notStrictEqual(publicKeyOf(runner.cert), publicKeyOf(runners.find((r) => r.tier === other.tier)!.cert), "two tiers share a client key");
            }
            assert.match(subjectOf(runner.cert), new RegExp(`CN ?= ?${names.runnerNamespace}\\b`));
        }
    });

    it("points every tier's runners at their own tier's Services and pods only", () => {
        for (const runner of runners) {
            const names = tierOf(runner.tier);
            const { replicas, arm64Replicas } = configReplicas(runner.tier);
            assert.strictEqual(runner.env[RUNNER_ENV.addr], names.endpoint);
            assert.strictEqual(runner.env[RUNNER_ENV.serverName], names.serviceFqdn);
            assert.strictEqual(hostOf(runner.env[RUNNER_ENV.addr]), runner.env[RUNNER_ENV.serverName]);
            assert.deepStrictEqual(
                runner.env.AMEIDE_BUILDKIT_BUILDERS.split(" "),
                Array.from({ length: replicas }, (_, i) => `${names.statefulSet}-${i}.${names.headless}.${BUILDKIT_NAMESPACE}.svc.cluster.local`),
            );
            assert.strictEqual(runner.env.AMEIDE_BUILDKIT_ARM64_ADDR, names.arm64.endpoint);
            assert.strictEqual(runner.env.AMEIDE_BUILDKIT_ARM64_TLS_SERVERNAME, names.arm64.serviceFqdn);
            assert.deepStrictEqual(
                runner.env.AMEIDE_BUILDKIT_ARM64_BUILDERS.split(" "),
                Array.from(
                    { length: arm64Replicas },
                    (_, i) => `${names.arm64.statefulSet}-${i}.${names.arm64.headless}.${BUILDKIT_NAMESPACE}.svc.cluster.local`,
                ),
            );
            // No value a job can read names another tier's builders.
            const values = Object.values(runner.env).join(" ");
            for (const other of tiers.filter((t) => t.tier !== runner.tier)) {
                for (const host of [other.serviceFqdn, other.arm64.serviceFqdn, `.${other.headless}.`, `.${other.arm64.headless}.`]) {
                    assert.ok(!values.includes(host), `${runner.release} is told about ${host}`);
                }
            }
        }
    });

    /** Builders of each set of `tier` in the stack as these tests run it (arm64 in both tiers). */
    function configReplicas(tier: string): { replicas: number; arm64Replicas: number } {
        const config = stackConfig("aks");
        ARM64_EVERYWHERE(config);
        return tier === SHARED_TIER
            ? { replicas: configValue(config, "buildkit").replicas, arm64Replicas: configValue(config, "cluster").arm64.replicas }
            : { replicas: configValue(config, "tiers")[tier].replicas, arm64Replicas: configValue(config, "tiers")[tier].arm64.replicas };
    }

    it("runs each tier's probe in its own runner namespace with its own client Secret against its own builders", () => {
        const jobs = kubernetesObjects(run)
            .filter((r) => r.type === "kubernetes:batch/v1:Job")
            .map((r) => reveal(r.inputs));
        assert.strictEqual(jobs.length, tiers.length, "one probe per tier");
        for (const names of tiers) {
            const job = jobs.filter((j) => j.metadata.namespace === names.runnerNamespace);
            assert.strictEqual(job.length, 1, `tier ${names.tier}: one probe in ${names.runnerNamespace}`);
            const spec = job[0].spec.template.spec;
            assert.deepStrictEqual(secretsOf(spec), [names.clientTlsSecret]);
            const text = JSON.stringify(spec);
            assert.ok(text.includes(names.endpoint), `tier ${names.tier}'s probe dials its own endpoint`);
            for (const other of tiers.filter((t) => t.tier !== names.tier)) {
                assert.ok(
                    !text.includes(other.serviceFqdn) && !text.includes(`.${other.headless}.`),
                    `tier ${names.tier}'s probe names ${other.tier}'s builders`,
                );
            }
        }
    });

    it("mounts on every builder set only its own tier's server Secret", () => {
        for (const set of sets) {
            const names = tierOf(set.tier);
            assert.deepStrictEqual(secretsOf(set.podSpec), [names.serverTlsSecret], `${set.name}: the Secrets its pods can read`);
            opensslVerify(tierCa(set.tier), set.cert, "sslserver", serviceFqdn(set));
            assert.strictEqual(publicKeyOf(set.cert), publicKeyOf(set.key));
        }
    });

    it("enforces Pod Security baseline or stricter in every tier's runner namespace (no hostPath, no privileged job reading the node's copies of Secrets)", () => {
        for (const names of tiers) {
            const namespace = kubernetesObjects(run)
                .filter((r) => r.type === "kubernetes:core/v1:Namespace")
                .map((r) => reveal(r.inputs).metadata)
                .find((m) => m.name === names.runnerNamespace);
            assert.ok(namespace, `namespace ${names.runnerNamespace} is declared`);
            assert.ok(
                ["baseline", "restricted"].includes(namespace.labels?.["pod-security.kubernetes.io/enforce"]),
                `${names.runnerNamespace} enforces ${namespace.labels?.["pod-security.kubernetes.io/enforce"]}`,
            );
        }
    });

    it("keeps the admin credential that writes runner groups and variables out of every Kubernetes object", () => {
        for (const object of kubernetesObjects(run)) {
            assert.ok(!JSON.stringify(object.props).includes(FAKE_ADMIN_TOKEN), `${object.type}/${object.name} holds the admin token`);
        }
        for (const release of run.resources.filter((r) => r.type === RELEASE)) {
            assert.ok(!JSON.stringify(release.props).includes(FAKE_ADMIN_TOKEN), `release ${release.name} holds the admin token`);
        }
    });
});

/** Who may open each builder set's ports, every policy that selects its pods taken together: its own tier's runners (and, for the shared tier, the BuildKit namespace) on gRPC, monitoring on metrics. */
function assertIngressOnlyOwnTier(run: ProgramRun): void {
    const sets = builderSets(run);
    const tierOf = (name: string) => tierNames(name);
    const monitoring = configValue(stackConfig("aks"), "network").monitoringNamespace;
    for (const set of sets) {
        const names = tierOf(set.tier);
        const clients = set.tier === SHARED_TIER ? [names.runnerNamespace, BUILDKIT_NAMESPACE] : [names.runnerNamespace];
        const { policies, admitted } = admittedIngress(run, BUILDKIT_NAMESPACE, set.podLabels, containerPorts(set.podSpec));
        assert.ok(policies.includes("default-deny-ingress"), `${set.name} is covered by the default deny`);
        assert.deepStrictEqual(
            [...admitted].sort(),
            [...clients.map((ns) => `${ns}:${BUILDKIT_GRPC_PORT}`), `${monitoring}:${BUILDKIT_METRICS_PORT}`].sort(),
            `${set.name}: who may connect (policies ${policies.join(", ")})`,
        );
    }
}

/** Each builder NetworkPolicy and PodDisruptionBudget selects exactly its own set's pods; the shared policy never a protected pod. */
function assertSelectorsExclusive(run: ProgramRun): void {
    const sets = builderSets(run);
    const selecting = (type: string) =>
        kubernetesObjects(run)
            .filter((r) => r.type === type)
            .map((r) => reveal(r.inputs))
            .filter((o) => o.metadata.namespace === BUILDKIT_NAMESPACE && o.metadata.name !== "default-deny-ingress")
            // Ingress policies and budgets (the egress policies, `<set>-egress*`, are checked for their selectors below).
            .filter((o) => !(o.spec.policyTypes ?? []).includes("Egress"));
    for (const [type, selectorOf] of [
        ["kubernetes:networking.k8s.io/v1:NetworkPolicy", (o: any) => o.spec.podSelector],
        ["kubernetes:policy/v1:PodDisruptionBudget", (o: any) => o.spec.selector],
    ] as const) {
        const objects = selecting(type);
        assert.strictEqual(objects.length, sets.length, `one ${type} per builder set`);
        for (const object of objects) {
            const selected = sets.filter((s) => selects(selectorOf(object), s.podLabels)).map((s) => s.name);
            assert.deepStrictEqual(selected, [object.metadata.name], `${type} ${object.metadata.name} selects exactly its own set`);
        }
    }
    // Every egress policy (`<set>-egress`, `<set>-egress-<exception>`) selects exactly its own set's pods.
    const egress = kubernetesObjects(run)
        .filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy")
        .map((r) => reveal(r.inputs))
        .filter((o) => o.metadata.namespace === BUILDKIT_NAMESPACE && (o.spec.policyTypes ?? []).includes("Egress"));
    assert.ok(egress.length >= sets.length, "an egress policy per builder set");
    for (const policy of egress) {
        const owner = /^(.*)-egress(?:-.+)?$/.exec(policy.metadata.name)![1];
        const own = sets.filter(
            (x) =>
                x.name === owner ||
                (policy.metadata.name.startsWith(`${x.name}-egress`) &&
                    !sets.some((y) => y.name.length > x.name.length && policy.metadata.name.startsWith(`${y.name}-egress`))),
        );
        const selected = sets.filter((x) => selects(policy.spec.podSelector, x.podLabels)).map((x) => x.name);
        assert.deepStrictEqual(selected, own.map((x) => x.name).slice(0, 1), `egress ${policy.metadata.name} selects exactly its own set`);
    }
    // The shared tier's policy keeps selecting its pods that predate the tier label, and never a pod that says it is protected.
    const shared = selecting("kubernetes:networking.k8s.io/v1:NetworkPolicy").find((p) => p.metadata.name === tierNames(SHARED_TIER).statefulSet)!;
    assert.ok(selects(shared.spec.podSelector, { "app.kubernetes.io/name": "buildkitd" }), "a shared pod without the tier label stays covered");
    for (const set of sets.filter((s) => s.tier !== SHARED_TIER)) {
        assert.ok(
            !selects(shared.spec.podSelector, { ...set.podLabels, "app.kubernetes.io/name": "buildkitd" }),
            `${set.name}'s pods selected by the shared policy`,
        );
    }
}

describe("trust tiers: label selectors and NetworkPolicies", () => {
    describe("the selector evaluator (what the checks below rely on)", () => {
        it("evaluates matchLabels and every matchExpressions operator as Kubernetes does", () => {
            const pod = { "app.kubernetes.io/name": "buildkitd", [TIER_LABEL_KEY]: "protected" };
            assert.ok(selects({}, pod), "an empty selector selects everything");
            assert.ok(selects({ matchLabels: { "app.kubernetes.io/name": "buildkitd" } }, pod));
            assert.ok(!selects({ matchLabels: { "app.kubernetes.io/name": "buildkitd", [TIER_LABEL_KEY]: "shared" } }, pod));
            assert.ok(!selects({ matchExpressions: [{ key: TIER_LABEL_KEY, operator: "NotIn", values: ["protected"] }] }, pod));
            assert.ok(
                selects({ matchExpressions: [{ key: TIER_LABEL_KEY, operator: "NotIn", values: ["protected"] }] }, { "app.kubernetes.io/name": "buildkitd" }),
                "NotIn holds when the key is absent",
            );
            assert.ok(selects({ matchExpressions: [{ key: TIER_LABEL_KEY, operator: "In", values: ["a", "protected"] }] }, pod));
            assert.ok(!selects({ matchExpressions: [{ key: "x", operator: "In", values: [""] }] }, pod), "In needs the key");
            assert.ok(selects({ matchExpressions: [{ key: TIER_LABEL_KEY, operator: "Exists" }] }, pod));
            assert.ok(!selects({ matchExpressions: [{ key: TIER_LABEL_KEY, operator: "DoesNotExist" }] }, pod));
            assert.ok(!serviceSelects({}, pod), "a Service without a selector selects no pod");
            assert.ok(
                !tolerates(
                    [{ key: POOL_KEY, operator: "Equal", value: "buildkit", effect: "NoSchedule" }],
                    parseTaint("ameide.io/pool=buildkit-protected:NoSchedule"),
                ),
            );
            assert.ok(
                tolerates([{ key: POOL_KEY, operator: "Exists" }], parseTaint("ameide.io/pool=buildkit-protected:NoSchedule")),
                "Exists tolerates every value",
            );
            assert.ok(
                tolerates([{ operator: "Exists" }], parseTaint("ameide.io/pool=buildkit-protected:NoSchedule")),
                "an empty key with Exists tolerates every taint",
            );
        });
    });

    let run: ProgramRun;
    let sets: BuilderSet[];
    before(async () => {
        run = await runStack("aks", ARM64_EVERYWHERE);
        sets = builderSets(run);
    });

    it("admits to each builder set's gRPC port only its own tier's runner namespace (and, for the shared tier, the BuildKit namespace), metrics only from monitoring", () => {
        assertIngressOnlyOwnTier(run);
    });

    it("admits no shared-tier source to a protected builder: not a shared runner, not a shared builder's RUN step (namespace buildkit), not a tenant's namespace", () => {
        for (const set of sets.filter((s) => s.tier === PROTECTED_TIER)) {
            const { admitted } = admittedIngress(run, BUILDKIT_NAMESPACE, set.podLabels, containerPorts(set.podSpec));
            for (const source of ["arc-runners", BUILDKIT_NAMESPACE, "tenant-made", "default", "*"]) {
                assert.ok(![...admitted].some((a) => a.startsWith(`${source}:`)), `${set.name} admits ${source}`);
            }
        }
    });

    it("never lets a builder policy or budget of one tier select another tier's pods (matchExpressions included)", () => {
        assertSelectorsExclusive(run);
    });

    it("selects namespaces only by the name label the API server sets (a tenant cannot label its way in)", () => {
        for (const policy of kubernetesObjects(run).filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy")) {
            for (const rule of reveal(policy.inputs).spec.ingress ?? []) {
                assert.ok((rule.from ?? []).length > 0, `${policy.name}: a rule without from admits every source`);
                for (const peer of rule.from) {
                    assert.strictEqual(peer.ipBlock, undefined, `${policy.name}: ipBlock`);
                    assert.ok(peer.namespaceSelector, `${policy.name}: every peer names its namespaces`);
                    // Only the name label the API server sets, whether as matchLabels or as an In expression.
                    for (const key of Object.keys(peer.namespaceSelector.matchLabels ?? {})) {
                        assert.strictEqual(key, "kubernetes.io/metadata.name", `${policy.name}: namespaces matched by ${key}`);
                    }
                    for (const expression of peer.namespaceSelector.matchExpressions ?? []) {
                        assert.deepStrictEqual(
                            [expression.key, expression.operator],
                            ["kubernetes.io/metadata.name", "In"],
                            `${policy.name}: namespace selector`,
                        );
                    }
                }
            }
        }
    });

    it("routes each Service only to the pods of its own builder set", () => {
        const services = kubernetesObjects(run)
            .filter((r) => r.type === "kubernetes:core/v1:Service")
            .map((r) => reveal(r.inputs))
            .filter((s) => s.metadata.namespace === BUILDKIT_NAMESPACE);
        assert.strictEqual(services.length, 2 * sets.length, "a client and a headless Service per builder set");
        for (const service of services) {
            const selected = sets.filter((s) => serviceSelects(service.spec.selector, s.podLabels)).map((s) => s.name);
            assert.deepStrictEqual(selected, [service.metadata.name.replace(/-headless$/, "")], `Service ${service.metadata.name}`);
        }
    });
});

const poolsOf = (run: ProgramRun) =>
    run.resources
        .filter((r) => r.type === AGENT_POOL)
        .map((r): Record<string, any> => ({ name: r.name, urn: r.urn, ...reveal(r.inputs) }))
        .map((p): Record<string, any> => ({ ...p, taints: (p.nodeTaints ?? []).map(parseTaint) }));

/** Every pod template in the cluster, with the tier it belongs to: builders by their tier label, binfmt by name, the rest by namespace. */
function workloadsOf(run: ProgramRun): { what: string; tier: string | undefined; builder: boolean; spec: any; urn: string }[] {
    const tiers = declaredTiers(run);
    const result: { what: string; tier: string | undefined; builder: boolean; spec: any; urn: string }[] = [];
    for (const resource of run.resources.filter((r) => r.type.startsWith("kubernetes:"))) {
        const inputs = reveal(resource.inputs);
        const template = resource.type === RELEASE ? inputs.values?.template : (inputs.spec?.jobTemplate?.spec?.template ?? inputs.spec?.template);
        if (!template?.spec) continue;
        const namespace = resource.type === RELEASE ? inputs.namespace : inputs.metadata?.namespace;
        const kind = resource.type.split(":").pop();
        const what = `${kind}/${resource.name}`;
        if (namespace === BUILDKIT_NAMESPACE) {
            const name: string = inputs.metadata.name;
            const tier =
                template.metadata?.labels?.[TIER_LABEL_KEY] ??
                (name === "binfmt" ? SHARED_TIER : name.startsWith("binfmt-") ? name.slice("binfmt-".length) : undefined);
            result.push({ what, tier, builder: true, spec: template.spec, urn: resource.urn });
        } else {
            result.push({ what, tier: tiers.find((t) => t.runnerNamespace === namespace)?.tier, builder: false, spec: template.spec, urn: resource.urn });
        }
    }
    return result;
}

/** Where the scheduler may put each pod: builders and binfmt only on their own tier's pools, every other pod on no BuildKit pool. */
function assertPlacementIsolated(run: ProgramRun): void {
    const tiers = declaredTiers(run);
    const declared = poolsOf(run);
    const all = workloadsOf(run);
    assert.ok(all.filter((w) => w.builder).length >= 6, "builder sets and binfmt of both tiers");
    for (const workload of all) {
        const tolerated = declared.filter((p) => p.taints.every((t: any) => tolerates(workload.spec.tolerations, t))).map((p) => p.nodeLabels[POOL_KEY]);
        if (workload.builder) {
            assert.ok(workload.tier, `${workload.what}: which tier is it?`);
            const own = tierNames(workload.tier).poolValue;
            assert.deepStrictEqual([...new Set(tolerated)], [own], `${workload.what} tolerates the pools ${tolerated.join(", ")}`);
            assert.strictEqual(workload.spec.nodeSelector?.[POOL_KEY], own, `${workload.what} selects its tier's pool`);
            // A required node affinity could widen what the nodeSelector allows only by adding terms; none may name another pool.
            const affinityText = JSON.stringify(workload.spec.affinity?.nodeAffinity ?? {});
            for (const other of tiers.filter((t) => t.tier !== workload.tier)) {
                assert.ok(!affinityText.includes(`"${other.poolValue}"`), `${workload.what}'s node affinity names ${other.poolValue}`);
            }
        } else {
            assert.deepStrictEqual(tolerated, [], `${workload.what} (${workload.tier ?? "no tier"}) tolerates a BuildKit pool's taint`);
        }
    }
}

describe("trust tiers: builders of different tiers never share a node", () => {
    let run: ProgramRun;
    let registrations: Registration[] = [];
    let tiers: TierNames[];
    before(async () => {
        run = await runStack("aks", (config) => {
            registrations = recordRegistrations();
            ARM64_EVERYWHERE(config);
        });
        tiers = declaredTiers(run);
    });

    it("gives each tier its own pools: distinct names, one pool label value and matching taint per tier", () => {
        const declared = poolsOf(run);
        assert.strictEqual(declared.length, 4, "x86-64 and arm64 pools of two tiers");
        assert.strictEqual(new Set(declared.map((p) => p.agentPoolName)).size, declared.length, "AKS pool names are unique");
        for (const pool of declared) {
            const value = pool.nodeLabels?.[POOL_KEY];
            assert.ok(
                tiers.some((t) => t.poolValue === value),
                `pool ${pool.agentPoolName}: label ${value} is a tier's`,
            );
            assert.deepStrictEqual(pool.taints, [{ key: POOL_KEY, value, effect: "NoSchedule" }], `pool ${pool.agentPoolName} is tainted with its own label`);
        }
        assert.deepStrictEqual([...new Set(declared.map((p) => p.nodeLabels[POOL_KEY]))].sort(), tiers.map((t) => t.poolValue).sort());
    });

    it("places every builder and binfmt pod only on its own tier's pools, and no pod tolerates another tier's taint", () => {
        assertPlacementIsolated(run);
    });

    it("makes each tier's builders wait for their own tier's pools", () => {
        const byPool = new Map(poolsOf(run).map((p) => [p.nodeLabels[POOL_KEY] + "/" + (p.nodeLabels["ameide.io/arch"] ?? "amd64"), p.urn]));
        for (const workload of workloadsOf(run).filter((w) => w.builder)) {
            const registration = registrations.find((r) => r.urn === workload.urn);
            assert.ok(registration, `${workload.what} registered`);
            const arch = workload.spec.nodeSelector?.["kubernetes.io/arch"];
            const own = [...byPool]
                .filter(([key]) => key.startsWith(`${tierNames(workload.tier!).poolValue}/`) && (!arch || key.endsWith(`/${arch}`)))
                .map(([, urn]) => urn);
            assert.ok(own.length > 0);
            for (const urn of own) {
                assert.ok(registration.dependencies.includes(urn), `${workload.what} waits for ${urn}`);
            }
        }
    });
});

describe("trust tiers: config validation", () => {
    /** The ConfigError a config is rejected with (the parse must throw one). */
    function rejection(stack: string, edit: ConfigEdit): ConfigError {
        const config = stackConfig(stack);
        edit(config);
        try {
            parseWithCredentials(config, stack);
        } catch (error) {
            assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
            return error;
        }
        assert.fail(`stack ${stack}: the config was accepted`);
    }

    /** Rejected with exactly one problem, naming `key` and the stack, matching `expected`. */
    function rejectsOnce(stack: string, edit: ConfigEdit, key: string, expected: RegExp): void {
        const error = rejection(stack, edit);
        assert.strictEqual(error.stack, stack);
        assert.ok(error.message.includes(`stack "${stack}"`), error.message);
        assert.strictEqual(error.problems.length, 1, `one problem expected:\n${error.problems.join("\n")}`);
        assert.ok(error.problems[0].startsWith(`arc-buildkit:${key}: `), `expected a problem at arc-buildkit:${key}, got: ${error.problems[0]}`);
        assert.match(error.problems[0], expected);
    }

    const protectedTier = (change: (tier: any) => void): ConfigEdit => editConfig("tiers", (tiers) => change(tiers.protected));
    const WORKFLOW = "ameideio/arc-buildkit/.github/workflows/release.yml";

    it("accepts the committed aks stack with its protected tier", () => {
        const settings = parseWithCredentials(stackConfig("aks"), "aks");
        assert.deepStrictEqual(Object.keys(settings.tiers), [PROTECTED_TIER]);
    });

    it("rejects a tier without a runner group (no owner), saying what is expected", () => {
        rejectsOnce(
            "aks",
            protectedTier((t) => delete t.runnerGroup),
            "tiers.protected.runnerGroup",
            /missing; expected .*runner group/,
        );
        const [problem] = rejection(
            "aks",
            protectedTier((t) => delete t.runnerGroup),
        ).problems;
        assert.doesNotMatch(problem, /Invalid input/, "zod's generic text instead of what the key needs");
    });

    it("rejects a group that admits no repository, with one message (not a second one about its workflows)", () => {
        rejectsOnce(
            "aks",
            protectedTier((t) => (t.runnerGroup.repositories = [])),
            "tiers.protected.runnerGroup.repositories",
            /at least one repository/,
        );
    });

    it("rejects the runner group `default` in any spelling, which admits every repository, with one message", () => {
        for (const name of ["default", "Default", "DEFAULT"]) {
            rejectsOnce(
                "aks",
                protectedTier((t) => (t.runnerGroup.name = name)),
                "tiers.protected.runnerGroup.name",
                /not `default`/,
            );
        }
    });

    it("rejects a group that admits all workflows (an empty workflow list)", () => {
        rejectsOnce(
            "aks",
            protectedTier((t) => (t.runnerGroup.workflows = [])),
            "tiers.protected.runnerGroup.workflows",
            /at least one workflow/,
        );
    });

    for (const workflow of [
        `${WORKFLOW}@*`,
        `${WORKFLOW}@refs/heads/*`,
        `${WORKFLOW}@refs/heads/release-*`,
        WORKFLOW,
        `${WORKFLOW}@`,
        `${WORKFLOW}@refs/pull/1/merge`,
        `${WORKFLOW}@refs/heads/../pull/1/merge`,
        "ameideio/arc-buildkit/.github/workflows/*.yml@refs/heads/main",
        "ameideio/*/.github/workflows/release.yml@refs/heads/main",
        "ameideio/arc-buildkit/.github/workflows/release.yml@refs/heads/main/",
    ]) {
        it(`rejects the unpinned or wildcard workflow ${workflow}`, () => {
            rejectsOnce(
                "aks",
                protectedTier((t) => (t.runnerGroup.workflows = [workflow])),
                "tiers.protected.runnerGroup.workflows[0]",
                /without wildcards/,
            );
        });
    }

    it("rejects a workflow of a repository the group does not admit", () => {
        rejectsOnce(
            "aks",
            protectedTier((t) => t.runnerGroup.workflows.push("ameideio/other-repo/.github/workflows/release.yml@refs/heads/main")),
            "tiers.protected.runnerGroup.workflows[1]",
            /repository the group admits \(runnerGroup\.repositories: arc-buildkit\)/,
        );
    });

    it("rejects a workflow of another organization, even one with the same repository name", () => {
        rejectsOnce(
            "aks",
            protectedTier((t) => (t.runnerGroup.workflows = ["evil-org/arc-buildkit/.github/workflows/release.yml@refs/heads/main"])),
            "tiers.protected.runnerGroup.workflows[0]",
            /organization ameideio/,
        );
    });

    it("rejects a tier scale set named like a shared one (a shared job's runs-on would reach it)", () => {
        rejectsOnce(
            "aks",
            protectedTier((t) => {
                t.scaleSets[0].name = "arc-aks-v2";
                t.runnerLabel = "arc-aks-v2";
            }),
            "tiers.protected.scaleSets[0].name",
            /already uses arc-aks-v2/,
        );
    });

    it("rejects a tier scale set label that a shared scale set uses", () => {
        rejectsOnce(
            "aks",
            protectedTier((t) => (t.scaleSets[0].labels = ["arc-aks-v2"])),
            "tiers.protected.scaleSets[0].name",
            /already uses arc-aks-v2/,
        );
    });

    it("rejects a shared scale set that takes a protected tier's label", () => {
        const error = rejection(
            "aks",
            editConfig("arc", (arc) => (arc.scaleSets[0].labels = ["arc-aks-v2-protected"])),
        );
        assert.strictEqual(error.problems.length, 1, error.problems.join("\n"));
        assert.match(error.problems[0], /already uses arc-aks-v2-protected/);
    });

    it("rejects a shared scale set that joins the protected tier's runner group (shared runners would take protected jobs)", () => {
        const error = rejection(
            "aks",
            editConfig("arc", (arc) => (arc.scaleSets[0].runnerGroup = "arc-buildkit-protected")),
        );
        assert.strictEqual(error.problems.length, 1, error.problems.join("\n"));
        assert.ok(error.problems[0].startsWith("arc-buildkit:tiers.protected.runnerGroup.name: "), error.problems[0]);
        assert.match(error.problems[0], /shared tier's scale sets do not join/);
    });

    it("rejects a tier pool named like the shared pool, and like the shared arm64 pool", () => {
        rejectsOnce(
            "aks",
            protectedTier((t) => (t.pool.name = "buildkit")),
            "tiers.protected.pool.name",
            /already uses pool buildkit/,
        );
        rejectsOnce(
            "aks",
            allEdits(
                editConfig("cluster", (c) => (c.arm64.enabled = true)),
                protectedTier((t) => (t.pool.name = "buildkitarm")),
            ),
            "tiers.protected.pool.name",
            /already uses pool buildkitarm/,
        );
    });

    it("rejects a tier without a pool of its own on AKS", () => {
        rejectsOnce(
            "aks",
            protectedTier((t) => delete t.pool),
            "tiers.protected.pool",
            /own node pool/,
        );
    });

    it("rejects a tier named shared", () => {
        rejectsOnce(
            "aks",
            editConfig("tiers", (tiers) => {
                tiers.shared = tiers.protected;
                delete tiers.protected;
            }),
            "tiers.shared",
            /another name/,
        );
    });

    it("rejects a tier with one builder on AKS", () => {
        rejectsOnce(
            "aks",
            protectedTier((t) => (t.replicas = 1)),
            "tiers.protected.replicas",
            /at least 2/,
        );
    });

    it("rejects any tier on the k3d stack", () => {
        const protectedOnAks = configValue(stackConfig("aks"), "tiers").protected;
        rejectsOnce(
            "local",
            editConfig("tiers", (tiers) => (tiers.protected = protectedOnAks)),
            "tiers.protected",
            /no tiers on a k3d stack/,
        );
    });

    it("rejects laptop runners in the organization's default group, and accepts them at repository level", () => {
        const inDefaultGroup = editConfig("arc", (arc) => arc.scaleSets.forEach((s: any) => (s.runnerGroup = "default")));
        rejectsOnce("local", inDefaultGroup, "arc.scaleSets[0].runnerGroup", /runner group of your own/);
        const atRepository = allEdits(
            inDefaultGroup,
            editConfig("github", (github) => (github.configUrl = "https://github.com/ameideio/arc-buildkit")),
        );
        const config = stackConfig("local");
        atRepository(config);
        assert.doesNotThrow(() => parseWithCredentials(config, "local"));
    });
});

describe("trust tiers: GitHub decides who reaches the protected tier", () => {
    const REPOSITORIES = ["arc-buildkit", "platform"];
    const WORKFLOWS = ["ameideio/arc-buildkit/.github/workflows/release.yml@refs/heads/main", "ameideio/platform/.github/workflows/deploy.yml@refs/tags/v1"];
    let run: ProgramRun;
    let registrations: Registration[] = [];
    before(async () => {
        run = await runStack("aks", (config) => {
            registrations = recordRegistrations();
            editConfig("tiers", (tiers) => {
                tiers.protected.runnerGroup.repositories = REPOSITORIES;
                tiers.protected.runnerGroup.workflows = WORKFLOWS;
            })(config);
        });
    });
    const ids = () => REPOSITORIES.map((r) => mockRepositoryId(`ameideio/${r}`));

    it("declares the tier's runner group for selected repositories and pinned workflows only, never public repositories", () => {
        const group = findResource(run, RUNNER_GROUP, "protected-runner-group");
        assert.deepStrictEqual(group.props, {
            name: "arc-buildkit-protected",
            visibility: "selected",
            selectedRepositoryIds: ids(),
            restrictedToWorkflows: true,
            selectedWorkflows: WORKFLOWS,
            allowsPublicRepositories: false,
        });
        assert.deepStrictEqual(
            run.calls.filter((c) => c.token === "github:index/getRepository:getRepository").map((c) => c.inputs.fullName),
            REPOSITORIES.map((r) => `ameideio/${r}`),
            "each admitted repository's ID is looked up",
        );
    });

    it("shows the protected variables only to the group's repositories, and the shared ones never name the protected tier", () => {
        const names = tierNames(PROTECTED_TIER);
        for (const [variable, value] of [
            [names.variables.runsOn, "arc-aks-v2-protected"],
            [names.variables.addr, names.endpoint],
        ]) {
            const declared = findResource(run, ORG_VARIABLE, variable).props;
            assert.deepStrictEqual(declared, { variableName: variable, value, visibility: "selected", selectedRepositoryIds: ids() }, variable);
        }
        for (const resource of run.resources.filter((r) => r.type === ORG_VARIABLE && !r.name.includes("PROTECTED"))) {
            assert.ok(!JSON.stringify(resource.props).includes("protected"), `${resource.name} names the protected tier`);
        }
    });

    it("registers the protected scale set in the group's name output (waiting for the group), the shared one in its configured group", () => {
        const group = findResource(run, RUNNER_GROUP, "protected-runner-group");
        const release = findResource(run, RELEASE, "arc-aks-v2-protected");
        assert.strictEqual(release.props.values.runnerGroup, "arc-buildkit-protected");
        assert.strictEqual(release.props.namespace, tierNames(PROTECTED_TIER).runnerNamespace);
        const registration = registrations.find((r) => r.urn === release.urn)!;
        assert.ok(
            registration.dependencies.includes(group.urn),
            `the protected release waits for ${group.urn}; it waits for ${registration.dependencies.join(", ")}`,
        );
        const shared = findResource(run, RELEASE, "arc-aks-v2");
        assert.strictEqual(shared.props.values.runnerGroup, "default");
        assert.ok(
            !registrations.find((r) => r.urn === shared.urn)!.dependencies.includes(group.urn),
            "the shared release has nothing to do with the protected group",
        );
    });
});

describe("trust tiers: server and client keys rotate, CA keys do not", () => {
    const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";
    const tlsConfig = configValue(stackConfig("aks"), "tls");
    const periodMs = (tlsConfig.validityHours - tlsConfig.earlyRenewalHours) * 3_600_000;
    // The start of a rotation period, so that one hour later is the same period and one period later the next.
    const start = new Date(Math.ceil(Date.parse("2027-03-01T00:00:00Z") / periodMs) * periodMs);

    const triggers = async (now: Date) =>
        Object.fromEntries(
            (await runAt("aks", now))
                .filter((r) => r.type === PRIVATE_KEY)
                .map((r) => [r.name, r.replacementTrigger])
                .sort(([a], [b]) => String(a).localeCompare(String(b))),
        );

    it("replaces every tier's server and client keys once per period (keyGeneration), and never a CA key", async () => {
        const generation = keyGeneration(start, tlsConfig);
        // Periods of validityHours - earlyRenewalHours, counted from the epoch.
        assert.strictEqual(generation, start.getTime() / periodMs);
        assert.deepStrictEqual(await triggers(start), {
            "buildkit-ca": undefined,
            "buildkit-client": generation,
            "buildkit-protected-ca": undefined,
            "buildkit-protected-client": generation,
            "buildkit-protected-server": generation,
            "buildkit-server": generation,
        });
    });

    it("keeps the keys within a period (a second up changes nothing) and replaces them in the next", async () => {
        const now = await triggers(start);
        assert.deepStrictEqual(await triggers(new Date(start.getTime() + periodMs - 60_000)), now, "the last minute of the period");
        const next = await triggers(new Date(start.getTime() + periodMs));
        for (const [name, trigger] of Object.entries(now)) {
            if (name.endsWith("-ca")) {
                assert.strictEqual(next[name], undefined, `${name} is never replaced by the schedule`);
            } else {
                assert.strictEqual(next[name], (trigger as number) + 1, `${name} is replaced in the next period`);
            }
        }
    });
});

/**
 * The checks above must fail when the boundary is broken. Each case runs the aks stack with one input
 * changed on its way to the engine, as a program that declared it so would, and expects the check that
 * guards that part of the boundary to fail.
 */
describe("trust tiers: a broken boundary makes the checks fail", () => {
    const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
    const SIGNED = "tls:index/locallySignedCert:LocallySignedCert";

    it("a protected client certificate signed by the shared CA: the shared builders accept it", async () => {
        let sharedCa: { caCertPem: unknown; caPrivateKeyPem: unknown } | undefined;
        const run = await runStack("aks", undefined, {
            tamper: (type, name, inputs) => {
                if (type !== SIGNED) return inputs;
                if (name === "buildkit-client") sharedCa = { caCertPem: inputs.caCertPem, caPrivateKeyPem: inputs.caPrivateKeyPem };
                if (name !== "buildkit-protected-client") return inputs;
                if (!sharedCa) throw new Error("the shared client certificate was not declared before the protected one");
                return { ...inputs, ...sharedCa };
            },
        });
        await assert.rejects(assertOtherTiersRefused(run), /protected runner arc-aks-v2-protected at shared builders buildkitd was accepted/);
    });

    it("a protected policy that also admits the shared runner namespace", async () => {
        const run = await runStack("aks", undefined, {
            tamper: (type, name, inputs) =>
                type === NETWORK_POLICY && name === "buildkitd-protected"
                    ? {
                          ...inputs,
                          spec: {
                              ...inputs.spec,
                              ingress: [
                                  {
                                      ...inputs.spec.ingress[0],
                                      from: [
                                          {
                                              namespaceSelector: {
                                                  matchExpressions: [
                                                      { key: "kubernetes.io/metadata.name", operator: "In", values: ["arc-runners-protected", "arc-runners"] },
                                                  ],
                                              },
                                          },
                                      ],
                                  },
                                  ...inputs.spec.ingress.slice(1),
                              ],
                          },
                      }
                    : inputs,
        });
        assert.throws(() => assertIngressOnlyOwnTier(run), /buildkitd-protected: who may connect/);
    });

    it("a shared policy selecting on the pod name alone: it selects the protected pods and admits the shared runners to them", async () => {
        const run = await runStack("aks", undefined, {
            tamper: (type, name, inputs) =>
                type === NETWORK_POLICY && name === "buildkitd"
                    ? { ...inputs, spec: { ...inputs.spec, podSelector: { matchLabels: inputs.spec.podSelector.matchLabels } } }
                    : inputs,
        });
        assert.throws(() => assertSelectorsExclusive(run), /NetworkPolicy buildkitd selects exactly its own set/);
        assert.throws(() => assertIngressOnlyOwnTier(run), /buildkitd-protected: who may connect/);
    });

    it("a shared binfmt installer that tolerates every taint (a common DaemonSet default): it lands on the protected pools", async () => {
        const run = await runStack("aks", ARM64_EVERYWHERE, {
            tamper: (type, name, inputs) =>
                type === "kubernetes:apps/v1:DaemonSet" && name === "binfmt"
                    ? {
                          ...inputs,
                          spec: {
                              ...inputs.spec,
                              template: { ...inputs.spec.template, spec: { ...inputs.spec.template.spec, tolerations: [{ operator: "Exists" }] } },
                          },
                      }
                    : inputs,
        });
        assert.throws(() => assertPlacementIsolated(run), /DaemonSet\/binfmt tolerates the pools buildkit, buildkit-protected/);
    });
});
