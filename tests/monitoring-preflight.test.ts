// Monitoring never blocks a deployment or the certificate renewal: without the Prometheus Operator's CRDs
// the program skips it with a warning and deploys everything else (components/monitoring/preflight.ts).
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { kubectlCrdLister, missingMonitoringCrds, MONITORING_CRDS } from "../components/monitoring/preflight";
import { MOCK_CLUSTER_CRDS, runStack } from "./harness/program";

describe("monitoring preflight", () => {
    afterEach(() => {
        for (const crd of MONITORING_CRDS) {
            MOCK_CLUSTER_CRDS.add(crd);
        }
    });

    it("names the CRDs that are missing", () => {
        assert.deepStrictEqual(missingMonitoringCrds([...MONITORING_CRDS]), []);
        assert.deepStrictEqual(missingMonitoringCrds(["podmonitors.monitoring.coreos.com"]), ["prometheusrules.monitoring.coreos.com"]);
        assert.deepStrictEqual(missingMonitoringCrds([]), [...MONITORING_CRDS]);
    });

    const MONITORING_TYPES = ["kubernetes:monitoring.coreos.com/v1:PodMonitor", "kubernetes:monitoring.coreos.com/v1:PrometheusRule"];

    it("aks with the CRDs: declares the PodMonitor, the rules and the dashboard", async () => {
        const run = await runStack("aks", () => {}, { fresh: true });
        for (const type of MONITORING_TYPES) {
            assert.ok(
                run.resources.some((r) => r.type === type),
                type,
            );
        }
        assert.ok(run.resources.some((r) => r.name === "buildkit-dashboard"));
    });

    for (const removed of [[MONITORING_CRDS[0]], [MONITORING_CRDS[1]], [...MONITORING_CRDS]]) {
        it(`aks without ${removed.join(" and ")}: skips monitoring, and still renews certificates and rolls builders`, async () => {
            for (const crd of removed) MOCK_CLUSTER_CRDS.delete(crd);
            const run = await runStack("aks", () => {}, { fresh: true });
            for (const type of MONITORING_TYPES) assert.ok(!run.resources.some((r) => r.type === type), type);
            assert.ok(!run.resources.some((r) => r.name === "buildkit-dashboard"));
            for (const [type, name] of [
                ["tls:index/locallySignedCert:LocallySignedCert", "buildkit-server"],
                ["kubernetes:core/v1:Secret", "buildkitd-server-tls"],
                ["kubernetes:apps/v1:StatefulSet", "buildkitd"],
                ["kubernetes:batch/v1:Job", "buildkit-probe"],
            ]) {
                assert.ok(
                    run.resources.some((r) => r.type === type && r.name === name),
                    `${type} ${name}`,
                );
            }
        });
    }

    describe("kubectlCrdLister, run with a stand-in kubectl", () => {
        let dir = "";
        let savedPath: string | undefined;
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "crd-lister-"));
            savedPath = process.env.PATH;
            process.env.PATH = `${dir}:/usr/bin:/bin`;
        });
        afterEach(() => {
            process.env.PATH = savedPath;
            fs.rmSync(dir, { recursive: true, force: true });
        });
        const fakeKubectl = (body: string) => fs.writeFileSync(path.join(dir, "kubectl"), `#!/bin/sh\necho "$*" > '${dir}/args'\n${body}\n`, { mode: 0o755 });

        it("asks read-only with a private temporary kubeconfig, and removes it", () => {
            fakeKubectl(
                `kc=$(echo "$*" | sed -n 's/.*--kubeconfig \\([^ ]*\\).*/\\1/p'); stat -c %a "$kc" > '${dir}/mode'; cat "$kc" > '${dir}/content'; echo customresourcedefinition.apiextensions.k8s.io/podmonitors.monitoring.coreos.com`,
            );
            const present = kubectlCrdLister({ kubeconfig: "apiVersion: v1\nkind: Config\n" }, MONITORING_CRDS);
            assert.deepStrictEqual(present, ["podmonitors.monitoring.coreos.com"]);
            const args = fs.readFileSync(path.join(dir, "args"), "utf8").trim();
            assert.match(
                args,
                /^--kubeconfig \S+ --request-timeout=30s get crd podmonitors\.monitoring\.coreos\.com prometheusrules\.monitoring\.coreos\.com --ignore-not-found -o name$/,
            );
            assert.strictEqual(fs.readFileSync(path.join(dir, "mode"), "utf8").trim(), "600");
            assert.strictEqual(fs.readFileSync(path.join(dir, "content"), "utf8"), "apiVersion: v1\nkind: Config\n");
            assert.ok(!fs.existsSync(args.split(" ")[1]), "the kubeconfig file is removed");
        });

        it("uses the kube context on k3d", () => {
            fakeKubectl("exit 0");
            assert.deepStrictEqual(kubectlCrdLister({ context: "k3d-buildkit" }, MONITORING_CRDS), []);
            assert.match(fs.readFileSync(path.join(dir, "args"), "utf8"), /^--context k3d-buildkit /);
        });

        it("fails with kubectl's message when the cluster cannot be asked", () => {
            fakeKubectl("echo 'Unable to connect to the server' >&2; exit 1");
            assert.throws(
                () => kubectlCrdLister({ context: "gone" }, MONITORING_CRDS),
                /cannot list the cluster's CRDs with kubectl \(Unable to connect to the server\)/,
            );
        });
    });
});
