import { strict as assert } from "assert";
import { DeclaredResource, PolicyViolation, runPolicies } from "../run";
import { DAEMON_CERTS, DAEMON_LABELS, DAEMON_TLS, mtlsDaemon } from "./fixtures/mtlsDaemon";

/**
 * Issue 22, round 5: "anything that forwards BuildKit is BuildKit" (lib/relays.ts) and "any annotation that
 * publishes a ClusterIP Service elsewhere counts", judged by the key's domain (lib/publishing.ts). Cases in
 * both directions, each shaped after the public document cited next to it.
 */
const r = (type: string, name: string, props: Record<string, unknown>): DeclaredResource => ({
    type,
    name,
    urn: `urn:pulumi:relays::arc-buildkit::${type}::${name}`,
    props,
});
const TLS = DAEMON_TLS;
const labels = DAEMON_LABELS;
const certs = DAEMON_CERTS;

/** The mTLS daemon, also on its unix socket, build steps on the bridge network; and its ClusterIP Service. */
const daemon = mtlsDaemon(r, ["--addr", "unix:///run/buildkit/buildkitd.sock", "--addr", "tcp://0.0.0.0:1234", ...TLS, "--oci-worker-net=bridge"]);
const service = (annotations: Record<string, string> = {}, extraLabels: Record<string, string> = {}): DeclaredResource =>
    r("kubernetes:core/v1:Service", "buildkitd", {
        metadata: { name: "buildkitd", namespace: "buildkit", annotations, labels: extraLabels },
        spec: { type: "ClusterIP", selector: labels, ports: [{ port: 1234, targetPort: 1234 }] },
    });

/** A unix-socket-only daemon with a sidecar that shares the socket (moby/buildkit examples/kubernetes/pod.privileged.yaml). */
function socketPod(sidecar: Record<string, unknown>, extraVolumes: Record<string, unknown>[] = []): DeclaredResource {
    return r("kubernetes:apps/v1:Deployment", "buildkitd", {
        metadata: { name: "buildkitd", namespace: "buildkit", labels },
        spec: {
            selector: { matchLabels: labels },
            template: {
                metadata: { labels },
                spec: {
                    containers: [
                        {
                            name: "buildkitd",
                            image: "moby/buildkit:v0.31.2",
                            args: ["--addr", "unix:///run/buildkit/buildkitd.sock", "--oci-worker-net=bridge"],
                            securityContext: { privileged: true },
                            volumeMounts: [{ name: "sock", mountPath: "/run/buildkit" }],
                        },
                        { ...sidecar, volumeMounts: [{ name: "sock", mountPath: "/run/buildkit" }, ...((sidecar.volumeMounts as unknown[]) ?? [])] },
                    ],
                    volumes: [{ name: "sock", emptyDir: {} }, certs, ...extraVolumes],
                },
            },
        },
    });
}

/** A relay Deployment in its own pods, with a Service of `type` selecting it. */
function relay(container: Record<string, unknown>, opts: { type?: string; hostNetwork?: boolean; volumes?: unknown[] } = {}): DeclaredResource[] {
    const relayLabels = { app: "buildkit-relay" };
    const out = [
        r("kubernetes:apps/v1:Deployment", "buildkit-relay", {
            metadata: { name: "buildkit-relay", namespace: "buildkit" },
            spec: {
                selector: { matchLabels: relayLabels },
                template: {
                    metadata: { labels: relayLabels },
                    spec: { containers: [container], hostNetwork: opts.hostNetwork, volumes: opts.volumes ?? [certs] },
                },
            },
        }),
    ];
    if (opts.type) {
        out.push(
            r("kubernetes:core/v1:Service", "buildkit-relay", {
                metadata: { name: "buildkit-relay", namespace: "buildkit" },
                spec: { type: opts.type, selector: relayLabels, ports: [{ port: 1234, targetPort: 1234 }] },
            }),
        );
    }
    return out;
}

const configMap = (name: string, data: Record<string, string>, namespace = "buildkit") =>
    r("kubernetes:core/v1:ConfigMap", name, { metadata: { name, namespace }, data });

async function findings(resources: DeclaredResource[]): Promise<{ mandatory: PolicyViolation[]; advisory: PolicyViolation[] }> {
    const all = (await runPolicies(resources)).filter((v) => !/pinned-by-digest/.test(v.policyName));
    return { mandatory: all.filter((v) => v.enforcementLevel === "mandatory"), advisory: all.filter((v) => v.enforcementLevel === "advisory") };
}

async function assertFlagged(what: string, resources: DeclaredResource[], rule: RegExp): Promise<void> {
    const { mandatory } = await findings(resources);
    assert.ok(
        mandatory.some((v) => rule.test(`${v.policyName} ${v.message}`)),
        `${what}: expected a mandatory ${String(rule)} finding, got ${JSON.stringify(mandatory.map((v) => v.message))}`,
    );
}

async function assertPasses(what: string, resources: DeclaredResource[]): Promise<PolicyViolation[]> {
    const { mandatory, advisory } = await findings(resources);
    assert.deepEqual(
        mandatory.map((v) => v.message),
        [],
        what,
    );
    return advisory;
}

const PLAINTEXT = /buildkitd-tcp-requires-mtls/;
const EXPOSED = /buildkit-not-exposed/;

/** An stunnel server in front of buildkitd's socket, configured by `conf` from a ConfigMap, behind the BuildKit Service. */
const stunnelRelay = (conf: string) => [
    socketPod(
        {
            name: "stunnel",
            image: "dweomer/stunnel:5.72",
            command: ["stunnel", "/etc/stunnel/stunnel.conf"],
            ports: [{ containerPort: 1234 }],
            volumeMounts: [{ name: "conf", mountPath: "/etc/stunnel" }],
        },
        [{ name: "conf", configMap: { name: "stunnel" } }],
    ),
    configMap("stunnel", { "stunnel.conf": conf }),
    service(),
];

describe("relays: anything that forwards BuildKit is BuildKit", () => {
    it("flags a stunnel server in front of the unix socket that does not require a client certificate", async () => {
        // stunnel.org manual: server mode unless `client = yes`; a client certificate is required only with
        // verify = 2..4 (requestCert + requireCert); `connect` may be a unix socket path.
        await assertFlagged(
            "stunnel verify = 0",
            stunnelRelay(`foreground = yes\n[buildkit]\naccept = 1234\nconnect = /run/buildkit/buildkitd.sock\ncert = /certs/tls.crt\nkey = /certs/tls.key\n`),
            PLAINTEXT,
        );
    });

    it("passes the same stunnel with verify = 2 and a CA (client certificates required)", async () => {
        await assertPasses(
            "stunnel verify = 2",
            stunnelRelay(
                `foreground = yes\n[buildkit]\naccept = 1234\nconnect = /run/buildkit/buildkitd.sock\ncert = /certs/tls.crt\nkey = /certs/tls.key\nCAfile = /certs/ca.crt\nverify = 2\n`,
            ),
        );
    });

    it("flags an nginx stream proxy to the socket without ssl_verify_client, and passes it with client verification", async () => {
        // nginx.org ngx_stream_proxy_module (proxy_pass unix:/path) and ngx_stream_ssl_module (ssl_verify_client on).
        const nginx = (conf: string) => [
            socketPod(
                {
                    name: "nginx",
                    image: "nginx:1.27",
                    ports: [{ containerPort: 1234 }],
                    volumeMounts: [{ name: "conf", mountPath: "/etc/nginx/nginx.conf", subPath: "nginx.conf" }],
                },
                [{ name: "conf", configMap: { name: "nginx-stream" } }],
            ),
            configMap("nginx-stream", { "nginx.conf": conf }),
            service(),
        ];
        await assertFlagged(
            "nginx stream plaintext",
            nginx("events {}\nstream {\n  server {\n    listen 1234;\n    proxy_pass unix:/run/buildkit/buildkitd.sock;\n  }\n}\n"),
            PLAINTEXT,
        );
        await assertPasses(
            "nginx stream with ssl_verify_client on",
            nginx(
                "events {}\nstream {\n  server {\n    listen 1234 ssl;\n    ssl_certificate /certs/tls.crt;\n    ssl_certificate_key /certs/tls.key;\n    ssl_client_certificate /certs/ca.crt;\n    ssl_verify_client on;\n    proxy_pass unix:/run/buildkit/buildkitd.sock;\n  }\n}\n",
            ),
        );
    });

    it("flags socat that terminates plaintext and originates TLS with its own client certificate", async () => {
        // socat man page: OPENSSL:<host>:<port> with cert=, key=, cafile= is a TLS client; TCP-LISTEN is plaintext.
        await assertFlagged(
            "socat TCP-LISTEN -> OPENSSL with a client certificate",
            [
                daemon,
                service(),
                ...relay(
                    {
                        name: "socat",
                        image: "alpine/socat:1.8.0.0",
                        args: [
                            "TCP-LISTEN:1234,fork,reuseaddr",
                            "OPENSSL:buildkitd.buildkit.svc.cluster.local:1234,cert=/certs/tls.crt,key=/certs/tls.key,cafile=/certs/ca.crt",
                        ],
                        ports: [{ containerPort: 1234 }],
                        volumeMounts: [{ name: "certs", mountPath: "/certs" }],
                    },
                    { type: "ClusterIP" },
                ),
            ],
            PLAINTEXT,
        );
    });

    it("passes socat OPENSSL-LISTEN with a CA (verify defaults to 1) in front of the socket", async () => {
        await assertPasses("socat OPENSSL-LISTEN verify=1", [
            socketPod({
                name: "socat",
                image: "alpine/socat:1.8.0.0",
                args: [
                    "OPENSSL-LISTEN:1234,fork,reuseaddr,cert=/certs/tls.crt,key=/certs/tls.key,cafile=/certs/ca.crt",
                    "UNIX-CONNECT:/run/buildkit/buildkitd.sock",
                ],
                ports: [{ containerPort: 1234 }],
                volumeMounts: [{ name: "certs", mountPath: "/certs" }],
            }),
            service(),
        ]);
    });

    it("flags socat OPENSSL-LISTEN with verify=0 in front of the socket", async () => {
        await assertFlagged(
            "socat OPENSSL-LISTEN verify=0",
            [
                socketPod({
                    name: "socat",
                    image: "alpine/socat:1.8.0.0",
                    args: ["OPENSSL-LISTEN:1234,fork,cert=/certs/tls.crt,key=/certs/tls.key,verify=0", "UNIX-CONNECT:/run/buildkit/buildkitd.sock"],
                    ports: [{ containerPort: 1234 }],
                    volumeMounts: [{ name: "certs", mountPath: "/certs" }],
                }),
                service(),
            ],
            PLAINTEXT,
        );
    });

    it("flags a ghostunnel client-mode relay (plaintext listener presenting its own certificate upstream)", async () => {
        // ghostunnel README: client mode accepts insecure connections and proxies them to a TLS-secured service.
        await assertFlagged(
            "ghostunnel client",
            [
                daemon,
                service(),
                ...relay({
                    name: "ghostunnel",
                    image: "ghostunnel/ghostunnel:v1.8.1",
                    args: [
                        "client",
                        "--listen",
                        "0.0.0.0:1234",
                        "--target",
                        "buildkitd.buildkit.svc:1234",
                        "--keystore",
                        "/certs/client.pem",
                        "--cacert",
                        "/certs/ca.crt",
                    ],
                    ports: [{ containerPort: 1234 }],
                    volumeMounts: [{ name: "certs", mountPath: "/certs" }],
                }),
            ],
            PLAINTEXT,
        );
    });

    it("passes an internal socat byte relay to the mTLS Service (TLS end to end), and flags it once it gets a hostPort, hostNetwork or a LoadBalancer", async () => {
        // github.com/alpine-docker/socat#usage: `tcp-listen:PORT,fork,reuseaddr tcp-connect:HOST:PORT`.
        const socat = (extra: Record<string, unknown> = {}) => ({
            name: "socat",
            image: "alpine/socat:1.8.0.0",
            args: ["tcp-listen:1234,fork,reuseaddr", "tcp-connect:buildkitd.buildkit.svc.cluster.local:1234"],
            ports: [{ containerPort: 1234, ...extra }],
        });
        await assertPasses("internal byte relay", [daemon, service(), ...relay(socat(), { type: "ClusterIP" })]);
        await assertFlagged("byte relay with hostNetwork", [daemon, service(), ...relay(socat(), { hostNetwork: true })], EXPOSED);
        await assertFlagged("byte relay with hostPort", [daemon, service(), ...relay(socat({ hostPort: 31234 }))], EXPOSED);
        await assertFlagged("byte relay behind a NodePort", [daemon, service(), ...relay(socat(), { type: "NodePort" })], EXPOSED);
    });

    it("flags an HAProxy TCP frontend to buildkitd behind a LoadBalancer", async () => {
        // docs.haproxy.org configuration manual: `mode tcp`, `bind`, `server NAME ADDRESS:PORT`.
        await assertFlagged(
            "haproxy tcp passthrough",
            [
                daemon,
                service(),
                configMap("haproxy", {
                    "haproxy.cfg":
                        "defaults\n  mode tcp\nfrontend builds\n  bind :1234\n  default_backend bk\nbackend bk\n  server b1 buildkitd.buildkit.svc.cluster.local:1234 check\n",
                }),
                ...relay(
                    {
                        name: "haproxy",
                        image: "haproxy:3.0",
                        ports: [{ containerPort: 1234 }],
                        volumeMounts: [{ name: "conf", mountPath: "/usr/local/etc/haproxy" }],
                    },
                    { type: "LoadBalancer", volumes: [{ name: "conf", configMap: { name: "haproxy" } }] },
                ),
            ],
            EXPOSED,
        );
    });

    it("flags tunnels that publish BuildKit: ngrok tcp, an frpc config, ssh -R", async () => {
        // ngrok.com/docs/agent/cli: `ngrok tcp ADDR`.
        await assertFlagged(
            "ngrok tcp",
            [daemon, service(), ...relay({ name: "ngrok", image: "ngrok/ngrok:3", args: ["tcp", "buildkitd.buildkit.svc.cluster.local:1234"] })],
            EXPOSED,
        );
        // github.com/fatedier/frp README (frpc.toml): serverAddr, [[proxies]] type = "tcp", localIP, localPort, remotePort.
        await assertFlagged(
            "frpc config",
            [
                daemon,
                service(),
                configMap("frpc", {
                    "frpc.toml":
                        'serverAddr = "frp.example.com"\nserverPort = 7000\n\n[[proxies]]\nname = "buildkit"\ntype = "tcp"\nlocalIP = "buildkitd.buildkit.svc.cluster.local"\nlocalPort = 1234\nremotePort = 6000\n',
                }),
            ],
            EXPOSED,
        );
        // man ssh(1): -R [bind_address:]port:host:hostport.
        await assertFlagged(
            "ssh -R",
            [
                daemon,
                service(),
                ...relay({
                    name: "tunnel",
                    image: "alpine:3.20",
                    command: ["ssh", "-N", "-R", "0.0.0.0:1234:buildkitd.buildkit.svc:1234", "tunnel@bastion.example.com"],
                }),
            ],
            EXPOSED,
        );
    });

    it("passes relays and tunnels to other applications", async () => {
        await assertPasses("socat to postgres with a hostPort", [
            daemon,
            service(),
            ...relay({
                name: "socat",
                image: "alpine/socat:1.8.0.0",
                args: ["tcp-listen:5432,fork", "tcp-connect:postgres.db.svc:5432"],
                ports: [{ containerPort: 5432, hostPort: 5432 }],
            }),
        ]);
        await assertPasses("kubectl port-forward to grafana behind a LoadBalancer", [
            daemon,
            service(),
            ...relay(
                {
                    name: "kubectl",
                    image: "bitnami/kubectl:1.31",
                    command: ["kubectl", "port-forward", "--address", "0.0.0.0", "-n", "monitoring", "svc/grafana", "1234:3000"],
                    ports: [{ containerPort: 1234 }],
                },
                { type: "LoadBalancer" },
            ),
        ]);
        // developers.cloudflare.com "Configuration file": ingress rules with a catch-all.
        await assertPasses("cloudflared to grafana", [
            daemon,
            service(),
            configMap("cloudflared", {
                "config.yaml":
                    "tunnel: grafana\ncredentials-file: /etc/cloudflared/creds/credentials.json\ningress:\n  - hostname: grafana.example.com\n    service: http://grafana.monitoring.svc:3000\n  - service: http_status:404\n",
            }),
        ]);
    });

    it("flags a socat started next to buildkitd in the daemon's own container script", async () => {
        await assertFlagged(
            "socat in the daemon's script",
            [
                r("kubernetes:apps/v1:Deployment", "buildkitd", {
                    metadata: { name: "buildkitd", namespace: "buildkit", labels },
                    spec: {
                        selector: { matchLabels: labels },
                        template: {
                            metadata: { labels },
                            spec: {
                                containers: [
                                    {
                                        name: "buildkitd",
                                        image: "moby/buildkit:v0.31.2",
                                        command: [
                                            "sh",
                                            "-c",
                                            "socat TCP-LISTEN:1234,fork,reuseaddr UNIX-CONNECT:/run/buildkit/buildkitd.sock & exec buildkitd --addr unix:///run/buildkit/buildkitd.sock",
                                        ],
                                        securityContext: { privileged: true },
                                        ports: [{ containerPort: 1234 }],
                                    },
                                ],
                            },
                        },
                    },
                }),
                service(),
            ],
            PLAINTEXT,
        );
    });

    it("flags a Cloudflare tunnel configured through its Pulumi provider whose origin is BuildKit, and passes one to another app", async () => {
        // pulumi registry cloudflare api-docs/zerotrusttunnelcloudflaredconfig: config.ingresses[] {hostname, service}.
        const tunnel = (origin: string) =>
            r("cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig", "builds", {
                accountId: "f037e56e89293a057740de681ac9abbe",
                tunnelId: "6ff42ae2-765d-4adf-8112-31c55c1551ef",
                config: { ingresses: [{ hostname: "builds.example.com", service: origin }, { service: "http_status:404" }] },
            });
        await assertFlagged("tunnel to buildkitd", [daemon, service(), tunnel("tcp://buildkitd.buildkit.svc.cluster.local:1234")], EXPOSED);
        await assertPasses("tunnel to grafana", [daemon, service(), tunnel("http://grafana.monitoring.svc:3000")]);
    });

    it("flags the cloudflare-tunnel Helm chart whose ingress origin is BuildKit, and passes it for another app", async () => {
        // github.com/cloudflare/helm-charts charts/cloudflare-tunnel values.yaml: cloudflare.ingress[] {hostname, service}.
        const release = (origin: string) =>
            r("kubernetes:helm.sh/v3:Release", "tunnel", {
                chart: "cloudflare-tunnel",
                repositoryOpts: { repo: "https://cloudflare.github.io/helm-charts" },
                namespace: "cloudflared",
                values: {
                    cloudflare: {
                        account: "acct",
                        tunnelName: "ci",
                        tunnelId: "6ff42ae2",
                        secret: "s",
                        ingress: [{ hostname: "builds.example.com", service: origin }],
                    },
                },
            });
        await assertFlagged("cloudflare-tunnel to buildkitd", [daemon, service(), release("tcp://buildkitd.buildkit.svc.cluster.local:1234")], EXPOSED);
        await assertPasses("cloudflare-tunnel to grafana", [daemon, service(), release("http://grafana.monitoring.svc:3000")]);
    });

    it("flags byte relays the pack knows by name: gost with a hostPort, ncat -l in front of the socket", async () => {
        // github.com/ginuerzh/gost README: `gost -L tcp://:2222/192.168.1.1:22` (TCP port forwarding).
        await assertFlagged(
            "gost with a hostPort",
            [
                daemon,
                service(),
                ...relay({
                    name: "gost",
                    image: "gogost/gost:3.0.0",
                    args: ["-L", "tcp://:1234/buildkitd.buildkit.svc:1234"],
                    ports: [{ containerPort: 1234, hostPort: 1234 }],
                }),
            ],
            EXPOSED,
        );
        // nmap.org/ncat guide: `ncat -l --keep-open --sh-exec "..."` serves each connection with a command.
        await assertFlagged(
            "ncat -l to the socket",
            [
                socketPod({
                    name: "ncat",
                    image: "alpine:3.20",
                    command: ["ncat", "-l", "-k", "1234", "--sh-exec", "ncat -U /run/buildkit/buildkitd.sock"],
                    ports: [{ containerPort: 1234 }],
                }),
                service(),
            ],
            PLAINTEXT,
        );
        await assertPasses("ncat -z readiness check", [
            daemon,
            service(),
            ...relay({
                name: "app",
                image: "alpine:3.20",
                command: ["sh", "-c", "until nc -z buildkitd.buildkit.svc 1234; do sleep 1; done; exec sleep infinity"],
                ports: [{ containerPort: 8080 }],
            }),
        ]);
    });

    it("flags a Traefik TCP router to buildkitd behind a LoadBalancer, and passes an internal TLS-passthrough one", async () => {
        // doc.traefik.io routing/routers (TCP) and services: tcp.routers.<r>.rule HostSNI(`*`), tcp.services.<s>.loadBalancer.servers[].address.
        const traefik = (dynamic: string, type?: string) => [
            daemon,
            service(),
            configMap("traefik-dynamic", { "dynamic.yaml": dynamic }),
            ...relay(
                {
                    name: "traefik",
                    image: "traefik:v3.1",
                    args: ["--entryPoints.bk.address=:1234", "--providers.file.filename=/etc/traefik/dynamic.yaml"],
                    ports: [{ containerPort: 1234 }],
                    volumeMounts: [{ name: "dyn", mountPath: "/etc/traefik" }],
                },
                { type, volumes: [{ name: "dyn", configMap: { name: "traefik-dynamic" } }] },
            ),
        ];
        const dynamic =
            "tcp:\n  routers:\n    bk:\n      entryPoints: [bk]\n      rule: HostSNI(`*`)\n      service: bk\n      tls:\n        passthrough: true\n  services:\n    bk:\n      loadBalancer:\n        servers:\n          - address: buildkitd.buildkit.svc.cluster.local:1234\n";
        await assertFlagged("traefik behind a LoadBalancer", traefik(dynamic, "LoadBalancer"), EXPOSED);
        await assertPasses("traefik passthrough, ClusterIP", traefik(dynamic, "ClusterIP"));
    });

    it("reports, without blocking, an unknown program that reaches BuildKit and exposes a port", async () => {
        const advisory = await assertPasses("unknown relay", [
            daemon,
            service(),
            ...relay({
                name: "edge",
                image: "registry.example.com/edge-proxy:2.1",
                command: ["edge-proxy", "--listen=:1234", "--upstream=buildkitd.buildkit.svc.cluster.local:1234"],
                ports: [{ containerPort: 1234 }],
            }),
        ]);
        assert.ok(
            advisory.some((v) => /edge-proxy/.test(v.message) && /may relay BuildKit/.test(v.message)),
            JSON.stringify(advisory.map((v) => v.message)),
        );
    });
});

describe("publishing annotations and labels, judged by domain", () => {
    const flags: [string, Record<string, string>, Record<string, string>?][] = [
        // kubernetes.io "Well-Known Labels, Annotations and Taints": service.beta.kubernetes.io/* configure the cloud LB.
        ["an Azure load-balancer annotation", { "service.beta.kubernetes.io/azure-load-balancer-internal": "true" }],
        // kubernetes-sigs/external-dns docs: external-dns.alpha.kubernetes.io/hostname.
        ["external-dns", { "external-dns.alpha.kubernetes.io/hostname": "buildkit.example.com" }],
        // developer.hashicorp.com/consul/docs/k8s/service-sync.
        ["Consul catalog sync", { "consul.hashicorp.com/service-sync": "true" }],
        // istio.io reference/config/annotations: networking.istio.io/exportTo.
        ["Istio exportTo *", { "networking.istio.io/exportTo": "*" }],
        // emissary-ingress docs (getambassador.io/config annotations holding a TCPMapping).
        [
            "an Emissary TCPMapping",
            {
                "getambassador.io/config":
                    "---\napiVersion: getambassador.io/v3alpha1\nkind: TCPMapping\nname: buildkit\nport: 1234\nservice: buildkitd:1234\n",
            },
        ],
        // github.com/siderolabs/kube-service-exposer: kube-service-exposer.sidero.dev/port exposes on every node.
        ["kube-service-exposer", { "kube-service-exposer.sidero.dev/port": "31234" }],
        // Kubermatic nodeport-proxy (pkg.go.dev kubermatic api/pkg/resources/nodeportproxy): an unknown domain whose key says it exposes.
        ["an unknown domain whose key says it exposes", { "nodeport-proxy.k8s.io/expose-namespaced": "true" }],
        // Cilium before 1.14: io.cilium/global-service.
        ["Cilium's older global-service annotation", { "io.cilium/global-service": "true" }],
        // Linkerd multicluster exported label (linkerd.io/2/reference/multicluster), remote-discovery mode.
        ["Linkerd remote-discovery label", {}, { "mirror.linkerd.io/exported": "remote-discovery" }],
    ];
    for (const [what, annotations, extraLabels] of flags) {
        it(`flags ${what} on the BuildKit Service`, async () => {
            await assertFlagged(what, [daemon, service(annotations, extraLabels)], EXPOSED);
        });
    }

    it("passes packaging, GitOps, monitoring and mesh-internal keys, and publishers turned off or scoped to the namespace", async () => {
        await assertPasses("ordinary metadata", [
            daemon,
            service(
                {
                    "meta.helm.sh/release-name": "buildkit",
                    "meta.helm.sh/release-namespace": "buildkit",
                    "argocd.argoproj.io/sync-wave": "1",
                    "prometheus.io/scrape": "true",
                    "kubectl.kubernetes.io/last-applied-configuration": '{"kind":"Service","metadata":{"annotations":{"external":"yes"}}}',
                    "config.linkerd.io/opaque-ports": "1234",
                    "networking.istio.io/exportTo": ".",
                    "tailscale.com/expose": "false",
                    "service.cilium.io/global": "false",
                    "service.kubernetes.io/topology-mode": "Auto",
                    "cloud.google.com/neg": '{"ingress": true}',
                },
                { "app.kubernetes.io/name": "buildkitd", "helm.sh/chart": "buildkit-service-0.10.0", "team.example.com/owner": "ci" },
            ),
        ]);
    });

    it("reports, without blocking, an annotation of a domain the pack does not know", async () => {
        const advisory = await assertPasses("unknown annotation", [daemon, service({ "ops.example.com/owner": "platform" })]);
        assert.ok(
            advisory.some((v) => /ops\.example\.com\/owner/.test(v.message)),
            JSON.stringify(advisory.map((v) => v.message)),
        );
    });

    it("passes publishers on Services that are not BuildKit's", async () => {
        await assertPasses("Linkerd export of another app", [
            daemon,
            service(),
            r("kubernetes:core/v1:Service", "web", {
                metadata: {
                    name: "web",
                    namespace: "shop",
                    labels: { "mirror.linkerd.io/exported": "true" },
                    annotations: { "service.cilium.io/global": "true" },
                },
                spec: { selector: { app: "web" }, ports: [{ port: 8080 }] },
            }),
        ]);
    });

    it("flags a publishing annotation added by a ServicePatch, on a Service selecting a relay, and a ServiceExport of BuildKit's name", async () => {
        // pulumi-kubernetes ServicePatch: server-side apply of the fields given.
        await assertFlagged(
            "ServicePatch with skupper.io/proxy",
            [
                daemon,
                service(),
                r("kubernetes:core/v1:ServicePatch", "export", {
                    metadata: { name: "buildkitd", namespace: "buildkit", annotations: { "skupper.io/proxy": "tcp" } },
                }),
            ],
            EXPOSED,
        );
        await assertFlagged(
            "global Service selecting a socat relay",
            [
                daemon,
                service(),
                ...relay({
                    name: "socat",
                    image: "alpine/socat:1.8.0.0",
                    args: ["tcp-listen:1234,fork", "tcp:buildkitd.buildkit.svc:1234"],
                    ports: [{ containerPort: 1234 }],
                }),
                r("kubernetes:core/v1:Service", "relay-global", {
                    metadata: { name: "relay-global", namespace: "buildkit", annotations: { "service.cilium.io/global": "true" } },
                    spec: { selector: { app: "buildkit-relay" }, ports: [{ port: 1234 }] },
                }),
            ],
            EXPOSED,
        );
        // cloud.google.com/kubernetes-engine/docs/how-to/multi-cluster-services: ServiceExport (net.gke.io/v1) named after the Service.
        await assertFlagged(
            "GKE ServiceExport of buildkitd (Service declared elsewhere)",
            [r("kubernetes:net.gke.io/v1:ServiceExport", "buildkitd", { metadata: { name: "buildkitd", namespace: "buildkit" } })],
            EXPOSED,
        );
    });
});
