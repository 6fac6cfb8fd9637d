import { strict as assert } from "assert";
import { DeclaredResource, runPolicies } from "../run";

const urn = (type: string, name: string) => `urn:pulumi:test::arc-buildkit::${type}::${name}`;
const res = (type: string, name: string, props: Record<string, unknown>): DeclaredResource => ({ type, name, urn: urn(type, name), props });
const APP = "kubernetes:argoproj.io/v1alpha1:Application";
const HR = "kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease";
const CM = "kubernetes:core/v1:ConfigMap";

async function mandatory(resources: DeclaredResource[]): Promise<string[]> {
    return (await runPolicies(resources)).filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policyName}: ${v.message}`);
}

function application(helm: Record<string, unknown>, chart = "buildkit-service"): DeclaredResource {
    // Argo CD's Application spec (argo-cd.readthedocs.io, "Declarative Setup" / Helm): source.chart, source.helm.valuesObject.
    return res(APP, "buildkit", {
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Application",
        metadata: { name: "buildkit", namespace: "argocd" },
        spec: {
            project: "default",
            source: { repoURL: "https://andrcuns.github.io/charts", chart, targetRevision: "0.14.0", helm },
            destination: { server: "https://kubernetes.default.svc", namespace: "buildkit" },
        },
    });
}

describe("GitOps chart installers are judged like Helm releases", () => {
    it("Argo CD Application: buildkit-service without TLS is blocked, with TLS passes, valuesObject and parameters both count", async () => {
        assert.ok((await mandatory([application({ valuesObject: { tls: { enabled: false } } })])).some((m) => m.startsWith("buildkitd-tcp-requires-mtls")));
        assert.deepEqual(await mandatory([application({ valuesObject: { tls: { enabled: true } } })]), []);
        assert.deepEqual(await mandatory([application({ parameters: [{ name: "tls.enabled", value: "true" }] })]), []);
        assert.ok(
            (await mandatory([application({ values: "tls:\n  enabled: true\nservice:\n  type: LoadBalancer\n" })])).some((m) =>
                m.startsWith("buildkit-not-exposed"),
            ),
        );
    });

    it("Argo CD Application whose values come from files in its repository is reported, not judged half-read", async () => {
        const all = await runPolicies([application({ valueFiles: ["values-prod.yaml"] })]);
        assert.deepEqual(
            all.filter((v) => v.enforcementLevel === "mandatory"),
            [],
        );
        assert.ok(
            all.some((v) => v.policyName === "buildkit-unverifiable-values" && v.message.includes("values-prod.yaml")),
            JSON.stringify(all),
        );
    });

    it("Argo CD Application of an unmodelled BuildKit chart is blocked like a Release (nothing it renders is ever checked)", async () => {
        assert.ok((await mandatory([application({}, "my-buildkit")])).some((m) => m.includes("not in the policy pack's chart model")));
    });

    it("Flux HelmRelease valuesFrom is resolved against the stack, and reported when it is not in it", async () => {
        const release = (valuesFrom: unknown[]) =>
            res(HR, "buildkit", {
                apiVersion: "helm.toolkit.fluxcd.io/v2",
                kind: "HelmRelease",
                metadata: { name: "buildkit", namespace: "buildkit" },
                spec: {
                    chart: { spec: { chart: "buildkit-service", sourceRef: { kind: "HelmRepository", name: "andrcuns" } } },
                    valuesFrom,
                    values: { tls: { enabled: true } },
                },
            });
        const values = (text: string) => res(CM, "bk-values", { metadata: { name: "bk-values", namespace: "buildkit" }, data: { "values.yaml": text } });
        // Inline values win over valuesFrom (Flux merges valuesFrom first): TLS stays on, the LoadBalancer from the ConfigMap stays.
        const exposed = await mandatory([values("service:\n  type: LoadBalancer\n"), release([{ kind: "ConfigMap", name: "bk-values" }])]);
        assert.ok(
            exposed.some((m) => m.includes("[buildkit-not-exposed]")),
            exposed.join("\n"),
        );
        assert.deepEqual(await mandatory([values("service:\n  type: ClusterIP\n"), release([{ kind: "ConfigMap", name: "bk-values" }])]), []);
        const all = await runPolicies([release([{ kind: "ConfigMap", name: "elsewhere" }])]);
        assert.deepEqual(
            all.filter((v) => v.enforcementLevel === "mandatory"),
            [],
        );
        assert.ok(
            all.some((v) => v.policyName === "buildkit-unverifiable-values" && v.message.includes("valuesFrom ConfigMap 'elsewhere'")),
            JSON.stringify(all),
        );
    });
});
