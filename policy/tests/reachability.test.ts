import { strict as assert } from "assert";
import { DeclaredResource, runPolicies } from "../run";
import { DAEMON_LABELS, DAEMON_TLS, mtlsDaemon } from "./fixtures/mtlsDaemon";

/**
 * Exposure of objects of kinds the pack does not know is judged by references that really point at a
 * Service, its pods or its port (issue 22 review, defect 5), not by any field that happens to be called
 * `name`. Each shape below follows the public documentation cited next to it.
 */
const r = (type: string, name: string, props: Record<string, unknown>): DeclaredResource => ({
    type,
    name,
    urn: `urn:pulumi:reach::arc-buildkit::${type}::${name}`,
    props,
});
const TLS = DAEMON_TLS;
const labels = DAEMON_LABELS;
const daemon = mtlsDaemon(r, ["--addr", "tcp://0.0.0.0:1234", ...TLS]);
const service = r("kubernetes:core/v1:Service", "buildkitd", {
    metadata: { name: "buildkitd", namespace: "buildkit" },
    spec: { type: "ClusterIP", selector: labels, ports: [{ port: 1234, targetPort: 1234 }] },
});

async function exposure(extra: DeclaredResource[]): Promise<string[]> {
    return (await runPolicies([daemon, service, ...extra]))
        .filter((v) => v.enforcementLevel === "mandatory" && /buildkit-not-exposed/.test(`${v.policyName} ${v.message}`))
        .map((v) => v.message);
}

describe("exposure through objects of unknown kinds: references that point at the Service, its pods or its port", () => {
    it("passes objects whose unrelated `name` fields equal a BuildKit name", async () => {
        const passes: [string, DeclaredResource][] = [
            [
                // karpenter.sh docs/concepts/nodepools: spec.template.spec.nodeClassRef {group, kind, name}.
                "a Karpenter NodePool whose node class is named buildkit",
                r("kubernetes:karpenter.sh/v1:NodePool", "buildkit", {
                    metadata: { name: "buildkit" },
                    spec: {
                        template: {
                            metadata: { labels: { "ameide.io/pool": "buildkit" } },
                            spec: {
                                nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "buildkit" },
                                taints: [{ key: "ameide.io/pool", value: "buildkit", effect: "NoSchedule" }],
                                requirements: [{ key: "kubernetes.io/arch", operator: "In", values: ["amd64"] }],
                            },
                        },
                    },
                }),
            ],
            [
                // external-secrets.io api/pushsecret: spec.secretStoreRefs [{name, kind}], spec.selector.secret.name.
                "an External Secrets PushSecret to a store named buildkit",
                r("kubernetes:external-secrets.io/v1alpha1:PushSecret", "buildkitd-client-tls", {
                    metadata: { name: "buildkitd-client-tls", namespace: "arc-runners" },
                    spec: {
                        secretStoreRefs: [{ name: "buildkit", kind: "SecretStore" }],
                        selector: { secret: { name: "buildkitd-client-tls" } },
                        data: [{ match: { secretKey: "tls.crt", remoteRef: { remoteKey: "buildkit/client-cert" } } }],
                    },
                }),
            ],
            [
                // argo-rollouts docs/migrating ("Reference Deployment From Rollout"): spec.workloadRef {apiVersion, kind, name}.
                "an Argo Rollout that references the buildkitd Deployment's pod template",
                r("kubernetes:argoproj.io/v1alpha1:Rollout", "buildkitd", {
                    metadata: { name: "buildkitd", namespace: "buildkit" },
                    spec: {
                        replicas: 2,
                        selector: { matchLabels: { app: "buildkitd-rollout" } },
                        workloadRef: { apiVersion: "apps/v1", kind: "Deployment", name: "buildkitd" },
                        strategy: { canary: { steps: [{ setWeight: 50 }, { pause: { duration: "1m" } }] } },
                    },
                }),
            ],
            [
                // fluxcd.io docs/components/image/imagepolicies: spec.imageRepositoryRef.name.
                "a Flux ImagePolicy for the buildkit image repository",
                r("kubernetes:image.toolkit.fluxcd.io/v1beta2:ImagePolicy", "buildkit", {
                    metadata: { name: "buildkit", namespace: "flux-system" },
                    spec: { imageRepositoryRef: { name: "buildkit" }, policy: { semver: { range: ">=0.31.0" } } },
                }),
            ],
            [
                // github.com/kedacore/http-add-on docs/ref: an outside host name that starts with "buildkit" routed to another Service.
                "a KEDA HTTPScaledObject for the host buildkit.example.com routing to a docs site",
                r("kubernetes:http.keda.sh/v1alpha1:HTTPScaledObject", "docs", {
                    metadata: { name: "docs", namespace: "web" },
                    spec: { hosts: ["buildkit.example.com"], scaleTargetRef: { name: "docs-site", kind: "Deployment", service: "docs-site", port: 8080 } },
                }),
            ],
        ];
        for (const [what, object] of passes) {
            assert.deepEqual(await exposure([object]), [], what);
        }
    });

    it("still flags references that point at the BuildKit Service or its pods and port", async () => {
        const flags: [string, DeclaredResource][] = [
            [
                // github.com/kedacore/http-add-on docs/ref: HTTPScaledObject spec.scaleTargetRef {name, kind, service, port};
                // its interceptor forwards outside traffic to that Service.
                "a KEDA HTTPScaledObject routing to buildkitd",
                r("kubernetes:http.keda.sh/v1alpha1:HTTPScaledObject", "buildkitd", {
                    metadata: { name: "buildkitd", namespace: "buildkit" },
                    spec: { hosts: ["builds.example.com"], scaleTargetRef: { name: "buildkitd", kind: "Deployment", service: "buildkitd", port: 1234 } },
                }),
            ],
            [
                // github.com/adyanth/cloudflare-operator docs: TunnelBinding subjects [{name: <Service>, spec: {fqdn, target}}].
                "a Cloudflare TunnelBinding whose subject is the BuildKit Service",
                r("kubernetes:networking.cfargotunnel.com/v1alpha1:TunnelBinding", "ci", {
                    metadata: { name: "ci", namespace: "buildkit" },
                    subjects: [{ name: "buildkitd", spec: { fqdn: "bk.example.com", protocol: "tcp" } }],
                    tunnelRef: { kind: "Tunnel", name: "ci" },
                }),
            ],
            [
                "an unknown kind whose upstream host is the Service's cluster DNS name",
                r("kubernetes:lb.example.com/v1:TcpListener", "builds", {
                    metadata: { name: "builds", namespace: "edge" },
                    spec: { listen: 443, upstream: { host: "buildkitd.buildkit.svc.cluster.local", port: 1234 } },
                }),
            ],
            [
                "an unknown kind selecting the BuildKit pods on port 1234",
                r("kubernetes:lb.example.com/v1:PodListener", "builds", {
                    metadata: { name: "builds", namespace: "buildkit" },
                    spec: { podSelector: { matchLabels: labels }, targetPort: 1234, publish: true },
                }),
            ],
        ];
        for (const [what, object] of flags) {
            assert.ok((await exposure([object])).length > 0, `${what} was not flagged`);
        }
    });
});
