import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../config";
import { byteQuantity } from "../config/quantity";
import { runStack, stackSettings } from "./harness/program";
import { ConfigEdit, setConfigPath } from "./harness/config-edit";

type Edit = ConfigEdit;
const setPath = setConfigPath;

const parse = stackSettings;

function expectConfigError(stack: string, edit: Edit, key: string, expectation: RegExp): void {
    assert.throws(
        () => parse(stack, edit),
        (err: unknown) => {
            assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
            assert.ok(pulumi.RunError.isInstance(err), "must be a RunError so Pulumi prints no stack trace");
            assert.match(err.message, new RegExp(`stack "${stack}"`));
            const line = err.problems.find((p) => p.startsWith(`${key}:`));
            assert.ok(line, `no problem names ${key}; got:\n${err.message}`);
            assert.match(line, expectation);
            return true;
        },
    );
}

describe("config validation", () => {
    for (const stack of ["local", "aks"]) {
        it(`accepts the committed Pulumi.${stack}.yaml`, () => {
            const settings = parse(stack, () => {});
            assert.strictEqual(settings.buildkit.replicas, stack === "aks" ? 2 : 1);
        });
    }

    const cases: [string, string, Edit, string, RegExp][] = [
        ["replica count 0", "aks", setPath("buildkit", ["replicas"], 0), "arc-buildkit:buildkit.replicas", /whole number from 1 to 20, got 0/],
        ["replica count not a number", "aks", setPath("buildkit", ["replicas"], "two"), "arc-buildkit:buildkit.replicas", /whole number.*got "two"/],
        ["fractional replica count", "local", setPath("buildkit", ["replicas"], 1.5), "arc-buildkit:buildkit.replicas", /whole number/],
        ["cache size 64GB", "aks", setPath("buildkit", ["cache", "size"], "64GB"), "arc-buildkit:buildkit.cache.size", /"64Gi".*got "64GB"/],
        ["cache size big", "aks", setPath("buildkit", ["cache", "size"], "big"), "arc-buildkit:buildkit.cache.size", /quantity.*got "big"/],
        ["cache too small for GC headroom", "local", setPath("buildkit", ["cache", "size"], "1Gi"), "arc-buildkit:buildkit.cache.size", /at least 5Gi/],
        ["image without digest", "aks", setPath("buildkit", ["image"], "moby/buildkit:v0.31.2"), "arc-buildkit:buildkit.image", /pinned by digest/],
        ["image with short digest", "local", setPath("buildkit", ["image"], "moby/buildkit@sha256:abc"), "arc-buildkit:buildkit.image", /pinned by digest/],
        [
            "binfmt image without digest",
            "local",
            setPath("buildkit", ["binfmt", "image"], "tonistiigi/binfmt:latest"),
            "arc-buildkit:buildkit.binfmt.image",
            /pinned by digest/,
        ],
        [
            "unknown platform",
            "aks",
            setPath("buildkit", ["platforms"], ["linux/amd64", "windows/amd64"]),
            "arc-buildkit:buildkit.platforms[1]",
            /platforms from: linux\/amd64/,
        ],
        ["empty platform list", "aks", setPath("buildkit", ["platforms"], []), "arc-buildkit:buildkit.platforms", /at least one platform/],
        [
            "endpoint that is not tcp://",
            "aks",
            setPath("buildkit", ["endpoint"], "unix:///run/buildkit/buildkitd.sock"),
            "arc-buildkit:buildkit.endpoint",
            /tcp:\/\/<host>:1234/,
        ],
        [
            "endpoint on another host",
            "aks",
            setPath("buildkit", ["endpoint"], "tcp://buildkit.example.com:1234"),
            "arc-buildkit:buildkit.endpoint",
            /one of buildkitd\.buildkit,/,
        ],
        [
            "endpoint on the bare Service name, which runners in arc-runners cannot resolve",
            "aks",
            setPath("buildkit", ["endpoint"], "tcp://buildkitd:1234"),
            "arc-buildkit:buildkit.endpoint",
            /one of buildkitd\.buildkit,/,
        ],
        ["missing replicas", "aks", setPath("buildkit", ["replicas"], undefined), "arc-buildkit:buildkit.replicas", /missing/],
        ["missing storage class", "local", setPath("buildkit", ["cache", "storageClass"], undefined), "arc-buildkit:buildkit.cache.storageClass", /missing/],
        ["misspelled field", "aks", setPath("buildkit", ["replica"], 2), "arc-buildkit:buildkit.replica", /unknown key/],
        [
            "memory request above limit",
            "aks",
            setPath("buildkit", ["resources", "requests", "memory"], "32Gi"),
            "arc-buildkit:buildkit.resources.requests.memory",
            /no larger than the memory limit/,
        ],
        [
            "CPU quantity with a typo",
            "aks",
            setPath("buildkit", ["resources", "requests", "cpu"], "2 cores"),
            "arc-buildkit:buildkit.resources.requests.cpu",
            /CPU quantity/,
        ],
        ["rootless with the rootful image", "aks", setPath("buildkit", ["rootless"], true), "arc-buildkit:buildkit.image", /rootless variant/],
        [
            "renewal window longer than validity",
            "aks",
            setPath("tls", ["earlyRenewalHours"], 5000),
            "arc-buildkit:tls.earlyRenewalHours",
            /fewer hours than validityHours/,
        ],
        [
            // The boundary: a window as long as the validity makes every certificate due at once, so every up re-issues.
            "renewal window equal to the validity",
            "aks",
            setPath("tls", ["earlyRenewalHours"], 2160),
            "arc-buildkit:tls.earlyRenewalHours",
            /fewer hours than validityHours \(2160\)/,
        ],
        ["certificate outliving its CA", "aks", setPath("tls", ["caValidityHours"], 1000), "arc-buildkit:tls.validityHours", /cannot outlive its CA/],
        [
            "invalid monitoring namespace",
            "aks",
            setPath("network", ["monitoringNamespace"], "Monitoring_NS"),
            "arc-buildkit:network.monitoringNamespace",
            /namespace name/,
        ],
        ["unknown cluster kind", "aks", setPath("cluster", ["kind"], "eks"), "arc-buildkit:cluster.kind", /k3d|aks/],
        ["runner label with upper case", "local", (c) => (c["arc-buildkit:runnerLabel"] = "ARC-Local"), "arc-buildkit:runnerLabel", /lower-case/],
        ["missing runner label", "aks", (c) => delete c["arc-buildkit:runnerLabel"], "arc-buildkit:runnerLabel", /missing/],
        ["missing buildkit section", "local", (c) => delete c["arc-buildkit:buildkit"], "arc-buildkit:buildkit", /missing/],
        ["misspelled top-level key", "aks", (c) => (c["arc-buildkit:buildkti"] = "{}"), "arc-buildkit:buildkti", /unknown key; expected one of/],
        [
            "registry mirror that is a URL",
            "aks",
            setPath("buildkit", ["registryMirrors"], { "docker.io": ["https://mirror.gcr.io/"] }),
            "arc-buildkit:buildkit.registryMirrors.docker.io[0]",
            /mirror host name/,
        ],
    ];
    for (const [title, stack, edit, key, expectation] of cases) {
        it(`rejects ${title} naming ${key}`, () => expectConfigError(stack, edit, key, expectation));
    }

    it("reports every problem at once, one line each", () => {
        assert.throws(
            () =>
                parse("aks", (c) => {
                    setPath("buildkit", ["replicas"], 0)(c);
                    setPath("buildkit", ["cache", "size"], "64GB")(c);
                }),
            (err: ConfigError) => err.problems.length === 2 && err.message.split("\n").length === 4,
        );
    });

    it("fills documented defaults for omitted optional keys", () => {
        const settings = parse("aks", (c) => {
            delete c["arc-buildkit:tls"];
            // Every network key but clusterCidrs, which AKS stacks must name (tests/sandbox.test.ts).
            const network = JSON.parse(c["arc-buildkit:network"]);
            c["arc-buildkit:network"] = JSON.stringify({ clusterCidrs: network.clusterCidrs });
            for (const key of ["platforms", "maxParallelism", "rootless", "drainTimeoutSeconds", "resources", "binfmt", "registryMirrors"]) {
                setPath("buildkit", [key], undefined)(c);
            }
        });
        assert.deepStrictEqual(settings.tls, {
            caValidityHours: 43800,
            validityHours: 2160,
            earlyRenewalHours: 720,
            renewalIntervalHours: 168,
            caSlots: ["a"],
            caSigner: "a",
        });
        assert.strictEqual(settings.network.monitoringNamespace, "monitoring");
        assert.deepStrictEqual(settings.network.prometheusPodLabels, { "app.kubernetes.io/name": "prometheus" });
        assert.deepStrictEqual(settings.network.builderEgressExceptions, []);
        assert.deepStrictEqual(settings.buildkit.sandbox, { userNamespace: true, bridgeSubnet: "10.10.0.0/16" });
        assert.deepStrictEqual(settings.buildkit.history, { shared: { maxAgeHours: 24, maxEntries: 50 }, protected: { maxAgeHours: 168, maxEntries: 200 } });
        assert.deepStrictEqual(settings.buildkit.platforms, ["linux/amd64", "linux/arm64"]);
        assert.strictEqual(settings.buildkit.maxParallelism, 4);
        assert.strictEqual(settings.buildkit.rootless, false, "privileged rootful is the default, rootless is opt-in");
        assert.strictEqual(settings.buildkit.binfmt.enabled, true);
        assert.match(settings.buildkit.binfmt.image, /@sha256:[0-9a-f]{64}$/);
        // Memory parsed once, into its Kubernetes form and bytes.
        assert.deepStrictEqual(settings.buildkit.resources, {
            requests: { cpu: "500m", memory: byteQuantity("1Gi") },
            limits: { memory: byteQuantity("4Gi") },
        });
        assert.strictEqual(settings.buildkit.resources.limits.memory.bytes, 4 * 2 ** 30);
    });

    it("fails the program before any resource is declared", async () => {
        const declared: string[] = [];
        await assert.rejects(
            runStack("aks", (c) => {
                setPath("buildkit", ["replicas"], 0)(c);
            }).then((run) => declared.push(...run.resources.map((r) => r.type))),
            ConfigError,
        );
        assert.deepStrictEqual(declared, []);
    });
});
