// The server certificate covers builder pods by a wildcard on the headless Service, so adding or removing
// builders re-issues nothing. Checked against the verifiers clients really use: Go's crypto/x509 (buildctl,
// docker buildx), run for real when a Go toolchain is installed, and OpenSSL for the fully qualified names.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { coversHostname, serverCertificateNames } from "../components/pki/names";
import { REPO_ROOT } from "./harness/program";
import { skipBecause } from "./harness/skip";

const HOSTS = [
    // Every pod of any set size, in every form a client may dial.
    ...["buildkitd-0", "buildkitd-1", "buildkitd-7", "buildkitd-19"].flatMap((pod) =>
        ["", ".buildkit", ".buildkit.svc", ".buildkit.svc.cluster.local"].map((suffix) => `${pod}.buildkitd-headless${suffix}`),
    ),
    "buildkitd-arm64-3.buildkitd-arm64-headless.buildkit.svc.cluster.local",
    "buildkitd.buildkit.svc.cluster.local",
    "buildkitd-headless.buildkit.svc",
    // Not covered: deeper or shallower than one label, another Service or namespace.
    "a.buildkitd-0.buildkitd-headless.buildkit.svc.cluster.local",
    "buildkitd-0.buildkitd-headless.buildkit.svc.cluster",
    "buildkitd-0.buildkitd.buildkit.svc.cluster.local",
    "buildkitd-0.buildkitd-headless.other.svc.cluster.local",
    "x.svc.cluster.local",
];

function certificateWith(dnsNames: string[], dir: string): string {
    const cert = path.join(dir, "cert.pem");
    const san = [...dnsNames.map((n) => `DNS:${n}`), "IP:127.0.0.1"].join(",");
    const r = spawnSync(
        "openssl",
        [
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            path.join(dir, "key.pem"),
            "-out",
            cert,
            "-days",
            "1",
            "-subj",
            "/CN=buildkitd.buildkit.svc.cluster.local",
            "-addext",
            `subjectAltName=${san}`,
        ],
        { encoding: "utf8" },
    );
    assert.strictEqual(r.status, 0, r.stderr);
    return cert;
}

describe("server certificate names as clients verify them", function () {
    this.timeout(120000);
    let dir = "";
    let cert = "";
    let dnsNames: string[] = [];
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "cert-names-"));
        dnsNames = serverCertificateNames(true).dnsNames;
        cert = certificateWith(dnsNames, dir);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("Go's crypto/x509 (buildctl's verifier) agrees with coversHostname on every name, and accepts every pod", function () {
        // GitHub's Ubuntu runners ship Go; elsewhere (apt-get install golang-go) it is optional, and OpenSSL's check below still runs.
        if (spawnSync("go", ["version"]).status !== 0) {
            skipBecause(this, "go is not installed (optional: apt-get install golang-go); OpenSSL's check below still runs");
        }
        const r = spawnSync("go", ["run", path.join(REPO_ROOT, "tests/fixtures/go/verifyhost.go"), cert, ...HOSTS], {
            encoding: "utf8",
            env: {
                ...process.env,
                GOCACHE: path.join(os.tmpdir(), "arc-buildkit-gocache"),
                GOPATH: path.join(dir, "gopath"),
                GOFLAGS: "-mod=mod",
                GO111MODULE: "off",
            },
        });
        assert.strictEqual(r.status, 0, r.stderr);
        const verdicts = Object.fromEntries(
            r.stdout
                .trim()
                .split("\n")
                .map((line) => line.split(" ")),
        );
        for (const host of HOSTS) {
            assert.strictEqual(verdicts[host] === "ok", coversHostname(dnsNames, host), `${host}: Go says ${verdicts[host]}`);
        }
        for (const host of HOSTS.slice(0, 17)) {
            assert.strictEqual(verdicts[host], "ok", host);
        }
    });

    it("OpenSSL accepts every pod's fully qualified name and rejects the others", () => {
        for (const host of HOSTS.filter((h) => h.endsWith(".svc.cluster.local"))) {
            const r = spawnSync("openssl", ["x509", "-in", cert, "-noout", "-checkhost", host], { encoding: "utf8" });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(/does match certificate/.test(r.stdout), coversHostname(dnsNames, host), `${host}: ${r.stdout}`);
        }
    });

    it("is the same certificate request for 1, 2 or 20 builders (scaling re-issues nothing)", () => {
        assert.deepStrictEqual(serverCertificateNames(), serverCertificateNames());
        assert.ok(!serverCertificateNames(true).dnsNames.some((n) => /-[0-9]+\./.test(n)));
    });
});
