import * as TOML from "@iarna/toml";
import * as assert from "assert";
import { byteQuantity, parseByteQuantity } from "../config/quantity";
import { gcPlan, mebibytes } from "../components/buildkit/gc";
import { renderBuildkitdToml } from "../components/buildkit/toml";
import { disruptionBudget, drainCommand, emulatorArchitectures } from "../components/buildkit/workload";
import { coversHostname, serverCertificateNames } from "../components/pki/names";

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** BuildKit's DiskSpace text form as `units.RAMInBytes` reads it (binary multiples). */
function diskBytes(text: string): number {
    const match = /^([0-9]+)MiB$/.exec(text);
    assert.ok(match, `unexpected disk space form ${text}`);
    return Number(match[1]) * MiB;
}

const base = {
    rootless: false,
    platforms: ["linux/amd64", "linux/arm64"],
    maxParallelism: 4,
    cacheSize: byteQuantity("64Gi"),
    registryMirrors: {},
    bridgeSubnet: "10.10.0.0/16",
    history: { maxAgeHours: 24, maxEntries: 50 },
};

describe("buildkitd.toml", () => {
    // @iarna/toml is an independent TOML 0.5 parser: the file is rendered by smol-toml.
    const parsed = (input = base) => TOML.parse(renderBuildkitdToml(input)) as any;

    it("listens on the local socket and on TCP 1234 only with cert, key and client CA", () => {
        const { grpc } = parsed();
        assert.deepStrictEqual(grpc.address, ["unix:///run/buildkit/buildkitd.sock", "tcp://0.0.0.0:1234"]);
        assert.deepStrictEqual(grpc.tls, { cert: "/etc/buildkit/tls/tls.crt", key: "/etc/buildkit/tls/tls.key", ca: "/etc/buildkit/tls/ca.crt" });
        assert.strictEqual(grpc.debugAddress, "0.0.0.0:6060");
    });

    it("configures the OCI worker from settings and disables containerd", () => {
        const { worker, root } = parsed({ ...base, maxParallelism: 7, platforms: ["linux/arm64"] });
        assert.strictEqual(root, "/var/lib/buildkit");
        assert.strictEqual(worker.oci.enabled, true);
        assert.deepStrictEqual(worker.oci.platforms, ["linux/arm64"]);
        assert.strictEqual(worker.oci["max-parallelism"], 7);
        assert.strictEqual(worker.oci.gc, true);
        assert.strictEqual(worker.containerd.enabled, false);
        assert.strictEqual(worker.oci.rootless, undefined);
        assert.strictEqual(worker.oci.networkMode, "bridge", "each build step in its own network namespace");
        assert.strictEqual(worker.oci.bridgeSubnet, "10.10.0.0/16");
    });

    it("uses the rootless state path, socket and process sandbox setting in rootless mode", () => {
        const doc = parsed({ ...base, rootless: true });
        assert.strictEqual(doc.root, "/home/user/.local/share/buildkit");
        assert.strictEqual(doc.grpc.address[0], "unix:///run/user/1000/buildkit/buildkitd.sock");
        assert.strictEqual(doc.worker.oci.rootless, true);
        // The process sandbox stays on: noProcessSandbox would let steps read each other's /proc.
        assert.strictEqual(doc.worker.oci.noProcessSandbox, undefined);
        assert.strictEqual(doc.worker.oci.networkMode, "bridge");
        assert.ok(doc.grpc.tls.ca, "rootless still requires client certificates");
    });

    it("writes registry mirrors only when configured, sorted by registry", () => {
        assert.strictEqual(parsed().registry, undefined);
        const doc = parsed({ ...base, registryMirrors: { "quay.io": ["quay-mirror.internal"], "docker.io": ["mirror.gcr.io"] } as any });
        assert.deepStrictEqual(Object.keys(doc.registry), ["docker.io", "quay.io"]);
        assert.deepStrictEqual(doc.registry["docker.io"].mirrors, ["mirror.gcr.io"]);
    });

    it("uses only the garbage-collection keys of BuildKit >= 0.17, never the deprecated keepBytes", () => {
        const text = renderBuildkitdToml(base);
        assert.doesNotMatch(text, /keepBytes|gckeepstorage/);
        const { worker } = parsed();
        for (const rule of worker.oci.gcpolicy) {
            for (const key of Object.keys(rule)) {
                assert.ok(["all", "filters", "keepDuration", "reservedSpace", "maxUsedSpace", "minFreeSpace"].includes(key), key);
            }
        }
    });

    it("is byte-identical for the same input", () => {
        assert.strictEqual(renderBuildkitdToml({ ...base }), renderBuildkitdToml({ ...base }));
    });
});

describe("garbage collection derived from the cache volume", () => {
    for (const size of ["5Gi", "10Gi", "64Gi", "500Gi"]) {
        it(`leaves headroom on a ${size} volume`, () => {
            const volume = parseByteQuantity(size)!;
            const { thresholds, rules } = gcPlan(volume);
            const maxUsed = diskBytes(thresholds.maxUsedSpace);
            const minFree = diskBytes(thresholds.minFreeSpace);
            const reserved = diskBytes(thresholds.reservedSpace);
            assert.ok(reserved < maxUsed, "reserve below the cap");
            assert.ok(maxUsed + minFree <= volume, "cap plus free target fits the volume");
            assert.ok(volume - maxUsed >= 0.25 * volume, "at least a quarter of the volume stays for running builds");
            assert.ok(Math.abs(maxUsed - 0.7 * volume) <= MiB);
            assert.strictEqual(rules[rules.length - 1].all, true, "the last rule may prune everything");
            assert.ok(rules.every((r) => !r.maxUsedSpace || diskBytes(r.maxUsedSpace) <= maxUsed));
        });
    }

    it("states sizes as whole MiB", () => {
        assert.strictEqual(mebibytes(64 * GiB * 0.7), "45875MiB");
    });
});

describe("workload rules", () => {
    it("lets one builder at a time go (as the rolling update does), and never blocks a single builder's node drain", () => {
        assert.deepStrictEqual(disruptionBudget(), { maxUnavailable: 1 });
    });

    it("maps platforms to binfmt architectures", () => {
        assert.deepStrictEqual(emulatorArchitectures(["linux/amd64", "linux/arm64"]), ["amd64", "arm64"]);
        assert.deepStrictEqual(emulatorArchitectures(["linux/arm/v7", "linux/arm/v6", "linux/riscv64"]), ["arm", "riscv64"]);
    });

    it("drains by waiting for running builds up to the timeout", () => {
        const [shell, flag, script] = drainCommand("unix:///run/buildkit/buildkitd.sock", 900);
        assert.deepStrictEqual([shell, flag], ["/bin/sh", "-c"]);
        assert.match(script, /\+ 900 \)\)/);
        assert.match(script, /touch '\/run\/buildkit\/arc-buildkit-draining'/);
        assert.match(script, /buildctl --addr 'unix:\/\/\/run\/buildkit\/buildkitd.sock' debug histories/);
        assert.match(script, /grep -q STARTED \|\| exit 0/);
    });
});

describe("server certificate names", () => {
    it("covers the Service in every DNS form, any pod by wildcard, and loopback, whatever the replica count", () => {
        const { dnsNames, ipAddresses } = serverCertificateNames();
        for (const name of [
            "buildkitd",
            "buildkitd.buildkit",
            "buildkitd.buildkit.svc",
            "buildkitd.buildkit.svc.cluster.local",
            "buildkitd-headless.buildkit.svc.cluster.local",
            "*.buildkitd-headless",
            "*.buildkitd-headless.buildkit",
            "*.buildkitd-headless.buildkit.svc",
            "*.buildkitd-headless.buildkit.svc.cluster.local",
            "localhost",
        ]) {
            assert.ok(dnsNames.includes(name), name);
        }
        for (const pod of ["buildkitd-0", "buildkitd-1", "buildkitd-19"]) {
            for (const suffix of ["", ".buildkit", ".buildkit.svc", ".buildkit.svc.cluster.local"]) {
                assert.ok(coversHostname(dnsNames, `${pod}.buildkitd-headless${suffix}`), `${pod}.buildkitd-headless${suffix}`);
            }
        }
        // A wildcard is one whole label, as Go's crypto/x509 matches it: nothing deeper, nothing of another Service.
        for (const host of [
            "a.b.buildkitd-headless.buildkit.svc.cluster.local",
            "buildkitd-0.buildkitd-headless.buildkit.svc.cluster",
            "buildkitd-0.buildkitd.buildkit.svc.cluster.local",
            "x.other.buildkit.svc.cluster.local",
        ]) {
            assert.ok(!coversHostname(dnsNames, host), host);
        }
        assert.ok(!dnsNames.some((n) => /buildkitd-[0-9]/.test(n)), "no per-pod name: scaling does not change the certificate");
        assert.deepStrictEqual(ipAddresses, ["127.0.0.1", "::1"]);
        assert.strictEqual(new Set(dnsNames).size, dnsNames.length, "no duplicates");
    });
});
