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

/** A Flux HelmRelease of buildkit-service (fluxcd.io helm-controller docs/spec/v2/helmreleases.md: spec.chart.spec, values, valuesFrom). */
function fluxRelease(spec: Record<string, unknown>, namespace = "buildkit"): DeclaredResource {
    return res(HR, "buildkit", {
        apiVersion: "helm.toolkit.fluxcd.io/v2",
        kind: "HelmRelease",
        metadata: { name: "buildkit", namespace },
        spec: { chart: { spec: { chart: "buildkit-service", sourceRef: { kind: "HelmRepository", name: "andrcuns" } } }, ...spec },
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
        const release = (valuesFrom: unknown[]) => fluxRelease({ valuesFrom, values: { tls: { enabled: true } } });
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

/**
 * Review of issue 22's GitOps support: each test below failed before its fix. Sources: Argo CD
 * docs/user-guide/helm.md ("Order of precedence is parameters > valuesObject > values > valueFiles") and
 * pkg/apis/application/v1alpha1 ApplicationSourceHelm.ValuesYAML (valuesObject, when set, is used instead
 * of values); fluxcd/helm-controller api/v2 ValuesReference ("Name of the values referent. Should reside in
 * the same namespace as the referring resource") and docs/spec/v2/helmreleases.md (valuesFrom merged in
 * order, spec.values last, so inline values win).
 */
describe("GitOps chart installers: precedence, unseen values, namespaces, every source", () => {
    const advisory = async (resources: DeclaredResource[]) =>
        (await runPolicies(resources)).filter((v) => v.policyName === "buildkit-unverifiable-values").map((v) => v.message);

    it("Argo CD value precedence: parameters > valuesObject > values > valueFiles (valuesObject replaces values)", async () => {
        // valuesObject wins over values: TLS on, and values' LoadBalancer is not used at all.
        assert.deepEqual(
            await mandatory([application({ values: "tls:\n  enabled: false\nservice:\n  type: LoadBalancer\n", valuesObject: { tls: { enabled: true } } })]),
            [],
        );
        // parameters win over valuesObject.
        assert.ok(
            (await mandatory([application({ valuesObject: { tls: { enabled: true } }, parameters: [{ name: "tls.enabled", value: "false" }] })])).some((m) =>
                m.startsWith("buildkitd-tcp-requires-mtls"),
            ),
        );
        // values (no valuesObject) wins over valueFiles: an explicit insecure value there is definitive even though the file is unseen.
        assert.ok(
            (await mandatory([application({ valueFiles: ["values-prod.yaml"], values: "tls:\n  enabled: false\n" })])).some((m) =>
                m.startsWith("buildkitd-tcp-requires-mtls"),
            ),
        );
    });

    it("Flux valuesFrom not in view: inline insecure values stay mandatory (inline wins), unset keys are reported, not judged", async () => {
        const unseen = [{ kind: "ConfigMap", name: "elsewhere" }];
        const exposed = await mandatory([fluxRelease({ valuesFrom: unseen, values: { tls: { enabled: true }, service: { type: "LoadBalancer" } } })]);
        assert.ok(
            exposed.some((m) => m.includes("buildkit-not-exposed") && m.includes("service.type LoadBalancer")),
            exposed.join("\n"),
        );
        const plaintext = await mandatory([fluxRelease({ valuesFrom: unseen, values: { tls: { enabled: false } } })]);
        assert.ok(
            plaintext.some((m) => m.includes("tls.enabled not true")),
            plaintext.join("\n"),
        );
        // tls.enabled and service.type unset inline: the ConfigMap may set them, so they cannot be verified.
        assert.deepEqual(await mandatory([fluxRelease({ valuesFrom: unseen, values: {} })]), []);
        const notes = await advisory([fluxRelease({ valuesFrom: unseen, values: {} })]);
        assert.ok(
            notes.some((m) => m.includes("tls.enabled") && m.includes("valuesFrom ConfigMap 'elsewhere'")),
            notes.join("\n"),
        );
        // With a valuesFrom object in the stack, an inline LoadBalancer is the HelmRelease's own: reported once, by the resource policy.
        const ok = res(CM, "ok", { metadata: { name: "ok", namespace: "buildkit" }, data: { "values.yaml": "tls:\n  enabled: true\n" } });
        const once = await mandatory([ok, fluxRelease({ valuesFrom: [{ kind: "ConfigMap", name: "ok" }], values: { service: { type: "LoadBalancer" } } })]);
        assert.deepEqual(
            once.map((m) => m.split(":")[0]),
            ["buildkit-not-exposed"],
        );
        // A resolved source later overridden by an unseen one is not settled either (valuesFrom merge in order).
        const values = res(CM, "bk-values", { metadata: { name: "bk-values", namespace: "buildkit" }, data: { "values.yaml": "tls:\n  enabled: false\n" } });
        assert.deepEqual(await mandatory([values, fluxRelease({ valuesFrom: [{ kind: "ConfigMap", name: "bk-values" }, ...unseen] })]), []);
    });

    it("Flux valuesFrom resolves only in the HelmRelease's own namespace", async () => {
        const elsewhere = (text: string) => res(CM, "bk-values", { metadata: { name: "bk-values", namespace: "other" }, data: { "values.yaml": text } });
        const release = fluxRelease({ valuesFrom: [{ kind: "ConfigMap", name: "bk-values" }], values: { tls: { enabled: true } } });
        // A LoadBalancer in a same-named ConfigMap of another namespace is not this release's.
        assert.deepEqual(await mandatory([elsewhere("service:\n  type: LoadBalancer\n"), release]), []);
        const notes = await advisory([elsewhere("service:\n  type: ClusterIP\n"), release]);
        assert.ok(
            notes.some((m) => m.includes("valuesFrom ConfigMap 'bk-values'")),
            notes.join("\n"),
        );
    });

    it("Argo CD multi-source Application: every chart source is judged, $ref value files are reported", async () => {
        const multi = (sources: unknown[]) =>
            res(APP, "multi", {
                apiVersion: "argoproj.io/v1alpha1",
                kind: "Application",
                metadata: { name: "multi", namespace: "argocd" },
                // Argo CD docs/user-guide/multiple_sources.md: several sources, a `ref` source for `$ref/` value files.
                spec: { project: "default", sources, destination: { server: "https://kubernetes.default.svc", namespace: "buildkit" } },
            });
        const other = { repoURL: "https://charts.bitnami.com/bitnami", chart: "redis", targetRevision: "19.0.0", helm: { valuesObject: {} } };
        const buildkit = (helm: Record<string, unknown>) => ({
            repoURL: "https://andrcuns.github.io/charts",
            chart: "buildkit-service",
            targetRevision: "0.14.0",
            helm,
        });
        const found = await mandatory([multi([other, buildkit({ valuesObject: { tls: { enabled: false } } })])]);
        assert.ok(
            found.some((m) => m.startsWith("buildkitd-tcp-requires-mtls")),
            found.join("\n"),
        );
        const refSource = { repoURL: "https://github.com/example/values.git", targetRevision: "main", ref: "values" };
        const withRef = [refSource, other, buildkit({ valueFiles: ["$values/buildkit/values.yaml"], valuesObject: { tls: { enabled: true } } })];
        assert.deepEqual(await mandatory([multi(withRef)]), []);
        const notes = await advisory([multi(withRef)]);
        assert.ok(
            notes.some((m) => m.includes("buildkit/values.yaml") && m.includes("https://github.com/example/values.git")),
            notes.join("\n"),
        );
    });
});
