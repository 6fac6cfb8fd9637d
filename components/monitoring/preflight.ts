import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/**
 * Monitoring never blocks a deployment, and so never blocks certificate renewal.
 *
 * The PodMonitor and PrometheusRule are custom resources of the Prometheus Operator. Without their
 * CRDs (kube-prometheus-stack not installed yet, or uninstalled later), `pulumi preview` shows them
 * as creates and `pulumi up` fails on them, and with them every deploy and the scheduled renewal:
 * certificates would stop renewing because a dashboard's operator went away. So the program asks
 * the cluster first (`kubectl get crd`, read-only, with the stack's own kubeconfig or context):
 * - both CRDs present: monitoring is declared as configured;
 * - one missing: monitoring is skipped with a warning that names what is missing (the deployment,
 *   the certificates and the probe go ahead). If monitoring resources were deployed before, Pulumi
 *   deletes them from its state: pulumi-kubernetes treats a custom resource whose CRD is gone as
 *   deleted (provider/pkg/provider/provider.go, `Delete`: "If it's a \"no match\" error ... safe to
 *   consider the CR to be deleted").
 * - the cluster cannot be asked (kubectl missing, no access): the run fails here, naming the reason,
 *   before anything is changed; a cluster that cannot be read cannot be deployed to either.
 * Skip, not fail: the choice between them is whether renewal may depend on monitoring, and it may not.
 */

/** The CRDs BuildkitMonitoring's objects need. */
export const MONITORING_CRDS = ["podmonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"] as const;

/** How the preflight reaches the cluster: the provider's kubeconfig (AKS) or kube context (k3d). */
export type KubeTarget = { kubeconfig: string } | { context: string };

/** Lists which of `names` exist as CRDs in the cluster. */
export type CrdLister = (target: KubeTarget, names: readonly string[]) => string[];

/** The CRDs of `MONITORING_CRDS` that are not in `present`. */
export function missingMonitoringCrds(present: readonly string[]): string[] {
    return MONITORING_CRDS.filter((crd) => !present.includes(crd));
}

/** The warning a stack without the CRDs prints. */
export function monitoringSkippedMessage(stack: string, missing: readonly string[]): string {
    return (
        `Monitoring skipped on stack "${stack}": the cluster has no CRD ${missing.join(", ")} (the Prometheus Operator, such as kube-prometheus-stack, is not installed). ` +
        `Everything else is deployed, certificate renewal included. Install the operator and run pulumi up again, or set arc-buildkit:monitoring.enabled to false.`
    );
}

/**
 * `kubectl get crd <names> --ignore-not-found -o name`: read-only, with a temporary kubeconfig file
 * (mode 0600, removed afterwards) or the given context. Throws with kubectl's own message when the
 * cluster cannot be asked.
 */
export const kubectlCrdLister: CrdLister = (target, names) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arc-buildkit-preflight-"));
    try {
        const access: string[] = [];
        if ("kubeconfig" in target) {
            const file = path.join(dir, "kubeconfig");
            fs.writeFileSync(file, target.kubeconfig, { mode: 0o600 });
            access.push("--kubeconfig", file);
        } else {
            access.push("--context", target.context);
        }
        const out = execFileSync("kubectl", [...access, "--request-timeout=30s", "get", "crd", ...names, "--ignore-not-found", "-o", "name"], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        });
        return out
            .split("\n")
            .map((line) => line.trim().replace(/^customresourcedefinition\.apiextensions\.k8s\.io\//, ""))
            .filter((line) => line.length > 0);
    } catch (err) {
        const detail = (err as { stderr?: string }).stderr?.toString().trim() || (err as Error).message;
        throw new Error(
            `monitoring preflight: cannot list the cluster's CRDs with kubectl (${detail}); install kubectl, or set arc-buildkit:monitoring.enabled to false`,
            { cause: err },
        );
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
};

let lister: CrdLister = kubectlCrdLister;

/** Replaces how CRDs are listed (tests run the program without a cluster). Returns the previous lister. */
export function setCrdLister(next: CrdLister): CrdLister {
    const previous = lister;
    lister = next;
    return previous;
}

/** Which monitoring CRDs the target cluster lacks (empty: monitoring can be declared). */
export function preflightMonitoring(target: KubeTarget): string[] {
    return missingMonitoringCrds(lister(target, MONITORING_CRDS));
}
