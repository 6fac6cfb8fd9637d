import { BUILDKIT_GRPC_PORT, BUILDKIT_NAMESPACE } from "../../contracts";

/**
 * The in-cluster second line of the policy pack: Kubernetes ValidatingAdmissionPolicies (GA in
 * `admissionregistration.k8s.io/v1` since Kubernetes 1.30) whose CEL expressions enforce, on what
 * actually reaches the API server, the invariants the pack enforces on what Pulumi declares:
 *
 * 1. no BuildKit TCP listener without client verification (a `--addr tcp://` without `--tlscert`,
 *    `--tlskey` and `--tlscacert`; a buildkitd.toml in a ConfigMap or Secret with a `tcp://` address
 *    and no `[grpc.tls]` cert, key and ca; Earthly's TCP transport without its TLS);
 * 2. no BuildKit port published outside the cluster (a LoadBalancer or NodePort Service, externalIPs
 *    or a publishing annotation or label on a Service that is BuildKit's by selector or name, an Ingress
 *    backend or ingress-nginx tcp-services entry reaching one, a hostPort on a buildkitd container or on
 *    port 1234 in a BuildKit pod, hostNetwork on a buildkitd that listens on tcp://). Port 1234 alone is
 *    never evidence: other apps use it too, and each rule needs BuildKit evidence as the pack does;
 * 3. no privileged or Docker-in-Docker pods in the runner namespaces.
 *
 * Everything here is pure data: the component declares it, tests evaluate the expressions with a real
 * CEL evaluator and validate the objects against the Kubernetes schema. CEL sees one object at a time,
 * so what the pack judges across objects (a daemon's config in a separate ConfigMap, a Service and the
 * pods it selects) is judged here on each object alone; see docs/admission.md for the differences.
 */

export type ValidationAction = "Deny" | "Warn" | "Audit";

/** Names of the policies (cluster-scoped, fixed so that a second `up` and other tools find them). */
export const ADMISSION_POLICY_NAMES = {
    podSpecs: "arc-buildkit-pod-specs",
    workloads: "arc-buildkit-workload-pod-templates",
    cronJobs: "arc-buildkit-cronjob-pod-templates",
    configs: "arc-buildkit-buildkitd-configs",
    exposure: "arc-buildkit-buildkit-not-exposed",
} as const;

const PORT = String(BUILDKIT_GRPC_PORT);
/**
 * The contract's BuildKit namespace is BuildKit's: in it, port 1234 is BuildKit's port whatever an object is
 * called (a selectorless Service fed by hand-made Endpoints, a relay, an Ingress to a renamed Service), so
 * publishing it there is exposure. Elsewhere port 1234 is also other apps' and needs BuildKit evidence.
 */
const IN_BUILDKIT_NAMESPACE = `request.namespace == '${BUILDKIT_NAMESPACE}'`;

/** `[]` when a list field is absent: Kubernetes CEL errors on a missing field, so every access is guarded. */
function list(path: string): string {
    return `(has(${path}) ? ${path} : [])`;
}

/** A container's command and args, in order, as one list of words. */
function words(c: string): string {
    return `(${list(`${c}.command`)} + ${list(`${c}.args`)})`;
}

/** The container's literal env values (valueFrom cannot be seen by admission). */
function envValue(c: string, name: string): string {
    return `${list(`${c}.env`)}.filter(e, e.name == '${name}' && has(e.value)).map(e, e.value)`;
}

/** Everything buildkitd's flags can come from in one container: command, args and BUILDKITD_FLAGS. */
function flagText(c: string): string {
    return `(${words(c)} + ${envValue(c, "BUILDKITD_FLAGS")}).join(' ')`;
}

/**
 * A container runs buildkitd: a word naming it in command position (`buildkitd`, `/usr/bin/buildkitd`,
 * inside an `sh -c` script), `rootlesskit buildkitd`, or a BuildKit image (`moby/buildkit`, any image
 * whose name starts with `buildkit`) running its own entrypoint, which is buildkitd.
 */
function runsBuildkitd(c: string): string {
    // Command position only: at the start of a word or script, after a separator, a path, or a wrapper.
    return (
        `(${words(c)}.exists(w, w.matches(r'(^|[;&|(\\n]\\s*|/|\\b(exec|rootlesskit|sudo|nohup|tini|dumb-init|su-exec|gosu|env)\\s+([-\\w.=/]+\\s+)*)buildkitd(\\s|$|;)')) || ` +
        `(!has(${c}.command) && has(${c}.image) && ${c}.image.matches(r'^([^@]*/)?buildkit[^/@:]*([:@].*)?$')))`
    );
}

/**
 * buildkitd may read its TLS from a buildkitd.toml the container mounts: `--config`, or a volume at or
 * above its default paths (/etc/buildkit/buildkitd.toml, the rootless ~/.config/buildkit). Admission
 * sees one object, not that file; the ConfigMap and Secret policy judges the file itself.
 */
function mayReadToml(c: string): string {
    return (
        `(${flagText(c)}.matches(r'(^|\\s)--?config(=|\\s)') || ` +
        `${list(`${c}.volumeMounts`)}.exists(m, m.mountPath.matches(r'^/+(etc(/+buildkit)?(/+buildkitd\\.toml)?|home(/+[^/]+(/+\\.config(/+buildkit)?)?)?|root(/+\\.config(/+buildkit)?)?)/*$')))`
    );
}

/** A `--addr` flag (any dash count, `=` or space, quoted or not) with a tcp:// address. */
const TCP_ADDR = String.raw`(?i)(^|[\s\x27"])--?addr(=|\s+)[\x27"]?tcp://`;

function hasFlag(text: string, flag: string): string {
    return `${text}.matches(r'(^|[\\s\\x27"])--?${flag}(=|\\s+)[\\x27"]?[^\\s\\x27"-]')`;
}

/** Rule 1 for one buildkitd container (of `variables.daemons`): a tcp:// listener needs all three TLS flags (buildkitd accepts any client without the CA). */
function plaintextListener(c: string): string {
    const text = flagText(c);
    return (
        `(${text}.matches(r'${TCP_ADDR}') && !${mayReadToml(c)} && ` +
        `!(${hasFlag(text, "tlscert")} && ${hasFlag(text, "tlskey")} && ${hasFlag(text, "tlscacert")}))`
    );
}

/** Earthly's buildkitd image: BUILDKIT_TCP_TRANSPORT_ENABLED=true opens tcp://0.0.0.0:8372, only BUILDKIT_TLS_ENABLED=true adds its TLS. */
function earthlyPlaintext(c: string): string {
    return (
        `(has(${c}.image) && ${c}.image.matches(r'^([^@]*/)?(earthly|earthbuild)/buildkitd([:@].*)?$') && ` +
        `${envValue(c, "BUILDKIT_TCP_TRANSPORT_ENABLED")}.exists(v, v == 'true') && !${envValue(c, "BUILDKIT_TLS_ENABLED")}.exists(v, v == 'true'))`
    );
}

/** A buildkitd container (of `variables.daemons`) that listens, or may (no --addr: its default), on tcp://. */
function mayListenOnTcp(c: string): string {
    return `(${flagText(c)}.matches(r'${TCP_ADDR}') || !${flagText(c)}.matches(r'(?i)(^|\\s)--?addr(=|\\s)'))`;
}

/** The pod spec of each shape of object the pod policies match. */
const POD_SPEC = {
    podSpecs: "object.spec",
    workloads: "object.spec.template.spec",
    cronJobs: "object.spec.jobTemplate.spec.template.spec",
} as const;

/** The pod metadata (labels) of each shape. */
const POD_METADATA = {
    podSpecs: "object.metadata",
    workloads: "object.spec.template.metadata",
    cronJobs: "object.spec.jobTemplate.spec.template.metadata",
} as const;

/** A pod labelled as BuildKit's (`app.kubernetes.io/name: buildkitd`, `app: buildkit`, the tiers' names). */
function labelledBuildkit(metadata: string): string {
    // object.metadata always exists; a pod template's metadata may be absent.
    const guard = metadata === "object.metadata" ? "" : `has(${metadata}) && `;
    return `(${guard}has(${metadata}.labels) && ${metadata}.labels.exists(k, ${metadata}.labels[k].matches(r'${BUILDKIT_NAME}')))`;
}

/** hostPath paths that hand a container the node's container runtime (Docker, containerd, CRI-O) or a directory above its socket. */
const RUNTIME_HOST_PATH = String.raw`^/*(var/)?run/*$|^/+$|^/*(var/)?run/(docker|containerd|crio|cri-dockerd)(\.sock|/.*)?$|^/*var/lib/docker/*$`;

/**
 * The official `docker` image whose tag is the daemon: `docker`, `docker:latest`, `docker:dind*`,
 * `docker:<version>` from 22.06 on (docker-library/docker#369: bare version tags are the dind variant),
 * and `*-dind` tags. `-cli` tags and versions before 22.06 are client-only.
 */
const DIND_IMAGE = String.raw`(?i)(^|/)[^/]*dind[^/]*$|:[^@]*dind|^((docker\.io/)?(library/)?)docker(:(latest|2[3-9][0-9.]*|[3-9][0-9][0-9.]*|22\.(0[6-9]|1[0-2])[0-9.]*))?(@sha256:[a-f0-9]+)?$`;

/** The pod-spec validations, over `variables.containers` and `variables.spec`. */
function podValidations(runnerNamespaces: readonly string[]): { expression: string; message: string; reason: string }[] {
    const runners = `[${runnerNamespaces.map((n) => `'${n}'`).join(", ")}]`;
    const inRunners = `request.namespace in ${runners}`;
    return [
        {
            expression: `!variables.daemons.exists(c, ${plaintextListener("c")}) && !variables.containers.exists(c, ${earthlyPlaintext("c")})`,
            message:
                "a BuildKit daemon listens on tcp:// without --tlscert, --tlskey and --tlscacert (or Earthly's BUILDKIT_TCP_TRANSPORT_ENABLED without BUILDKIT_TLS_ENABLED): BuildKit's TCP API must require a client certificate (arc-buildkit invariant 1)",
            reason: "Forbidden",
        },
        {
            // Port 1234 is also other apps' port: it counts in a BuildKit pod (a buildkitd container or BuildKit labels).
            expression:
                `!variables.daemons.exists(c, ${list("c.ports")}.exists(p, has(p.hostPort) && p.hostPort != 0)) && ` +
                // A container whose command names BuildKit (a relay to its Service or socket) is BuildKit's too.
                `!variables.containers.exists(c, ${list("c.ports")}.exists(p, has(p.hostPort) && p.hostPort != 0 && ` +
                `((variables.buildkitPod && (p.hostPort == ${PORT} || p.containerPort == ${PORT})) || ${words("c")}.exists(w, w.contains('buildkit'))))) && ` +
                `!((has(variables.spec.hostNetwork) && variables.spec.hostNetwork) && variables.daemons.exists(c, ${mayListenOnTcp("c")}))`,
            message:
                "BuildKit's port is published on the node (a hostPort on a buildkitd container, a hostPort on port 1234 or to BuildKit's socket in a BuildKit pod, a hostPort on a relay whose command line forwards to a BuildKit Service or socket, or hostNetwork for a buildkitd that may listen on tcp://): BuildKit must be reachable only inside the cluster (arc-buildkit invariant 2)",
            reason: "Forbidden",
        },
        {
            expression:
                `!(${inRunners}) || (` +
                `!variables.containers.exists(c, has(c.securityContext) && ((has(c.securityContext.privileged) && c.securityContext.privileged) || ` +
                `(has(c.securityContext.capabilities) && ${list("c.securityContext.capabilities.add")}.exists(a, a == 'SYS_ADMIN' || a == 'ALL' || a == 'CAP_SYS_ADMIN')))) && ` +
                `!variables.containers.exists(c, (has(c.image) && c.image.matches(r'${DIND_IMAGE}') && (!has(c.command) || !c.image.matches(r'(?i)^((docker\\.io/)?(library/)?)docker[:@]'))) || ` +
                `${words("c")}.exists(w, w.matches(r'(^|[\\s/;&|])dockerd(\\s|$|;)')) || ` +
                `${envValue("c", "DOCKER_HOST")}.exists(v, v.matches(r'(?i)^(unix://|tcp://(localhost|127\\.0\\.0\\.1|\\[::1\\]|docker|dind)(:|/|$))'))) && ` +
                `!(has(variables.spec.hostPID) && variables.spec.hostPID) && ` +
                `!${list("variables.spec.volumes")}.exists(v, has(v.hostPath) && v.hostPath.path.matches(r'${RUNTIME_HOST_PATH}')))`,
            message:
                "a pod in a runner namespace is privileged (privileged, SYS_ADMIN or ALL capabilities, hostPID) or runs Docker-in-Docker (a dind image, dockerd, DOCKER_HOST at a local daemon, the node's container runtime socket): runner pods are unprivileged and build through the shared BuildKit service (arc-buildkit invariant 3)",
            reason: "Forbidden",
        },
    ];
}

export interface AdmissionPolicySpec {
    name: string;
    spec: Record<string, unknown>;
}

const OPERATIONS = ["CREATE", "UPDATE"];

/**
 * Namespaces of the control plane: never judged, so a policy of this program can never stand between
 * the cluster and its own components (the policies fail closed: an expression that errors refuses).
 */
export const EXEMPT_NAMESPACES = ["kube-system", "kube-node-lease", "kube-public"] as const;

/**
 * What every policy matches besides its resources. Outside the control plane's namespaces only, and
 * never an object that is being deleted: finalizer removals during a deletion are UPDATEs, and refusing
 * them would leave an exposed Service or an old workload stuck in Terminating. On UPDATE, only when
 * `changed` (the part the policy judges) differs from the stored object's, so a controller scaling down
 * or relabelling an object admitted before these policies existed is not refused; a change of what is
 * judged always is.
 */
function matchSafety(changed?: string): { namespaceSelector: Record<string, unknown>; matchConditions: { name: string; expression: string }[] } {
    return {
        namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: [...EXEMPT_NAMESPACES] }] },
        matchConditions: [
            { name: "not-being-deleted", expression: "!has(object.metadata.deletionTimestamp)" },
            ...(changed === undefined ? [] : [{ name: "judged-part-changed", expression: `request.operation != 'UPDATE' || ${changed}` }]),
        ],
    };
}

/** The three pod-spec policies: Pods, workloads with `spec.template`, CronJobs. One per shape, so each expression type-checks against its kind. */
function podPolicies(runnerNamespaces: readonly string[]): AdmissionPolicySpec[] {
    const shapes: [keyof typeof POD_SPEC, Record<string, unknown>[]][] = [
        // pods/ephemeralcontainers: a debug container added to a running runner pod is judged like the others.
        ["podSpecs", [{ apiGroups: [""], apiVersions: ["v1"], resources: ["pods", "pods/ephemeralcontainers"], operations: OPERATIONS }]],
        [
            "workloads",
            [
                { apiGroups: ["apps"], apiVersions: ["v1"], resources: ["deployments", "statefulsets", "daemonsets", "replicasets"], operations: OPERATIONS },
                { apiGroups: ["batch"], apiVersions: ["v1"], resources: ["jobs"], operations: OPERATIONS },
                { apiGroups: [""], apiVersions: ["v1"], resources: ["replicationcontrollers"], operations: OPERATIONS },
            ],
        ],
        ["cronJobs", [{ apiGroups: ["batch"], apiVersions: ["v1"], resources: ["cronjobs"], operations: OPERATIONS }]],
    ];
    const changed: Record<keyof typeof POD_SPEC, string> = {
        podSpecs: "object.spec != oldObject.spec",
        workloads: "!has(object.spec.template) || !has(oldObject.spec.template) || object.spec.template != oldObject.spec.template",
        cronJobs: "object.spec.jobTemplate != oldObject.spec.jobTemplate",
    };
    return shapes.map(([shape, resourceRules]) => {
        const specExpression = POD_SPEC[shape];
        const { namespaceSelector, matchConditions } = matchSafety(changed[shape]);
        return {
            name: ADMISSION_POLICY_NAMES[shape],
            spec: {
                failurePolicy: "Fail",
                matchConstraints: { resourceRules, namespaceSelector },
                matchConditions,
                variables: [
                    { name: "spec", expression: specExpression },
                    {
                        name: "containers",
                        // dyn(): the three lists have different element types in the Pod schema (EphemeralContainer is not
                        // Container), which the API server's type check of the policy would report as a mismatched `+`.
                        expression: `dyn(${list("variables.spec.containers")}) + dyn(${list("variables.spec.initContainers")}) + dyn(${list("variables.spec.ephemeralContainers")})`,
                    },
                    // The containers that run buildkitd, decided once (every rule about daemons reads this).
                    { name: "daemons", expression: `variables.containers.filter(c, ${runsBuildkitd("c")})` },
                    { name: "buildkitPod", expression: `size(variables.daemons) > 0 || ${labelledBuildkit(POD_METADATA[shape])} || ${IN_BUILDKIT_NAMESPACE}` },
                ],
                validations: podValidations(runnerNamespaces),
            },
        };
    });
}

/**
 * A TOML key as written: bare, or quoted with either quote (`"grpc"`, `'tls'`), so `"grpc".address` and
 * `[ "grpc" . tls ]` are the same key to a TOML parser. (CEL raw strings: `\x27` is the single quote.)
 */
const tomlKey = (name: string) => String.raw`["\x27]?${name}["\x27]?`;
const TOML_DOT = String.raw`\s*\.\s*`;

/** One TLS file field (`cert`, `key`, `ca`) of [grpc.tls] with a non-empty string, in any TOML spelling. */
function tomlTlsField(text: string, field: string): string {
    const value = String.raw`\s*=\s*["\x27][^"\x27\n]+`;
    return (
        // `[grpc.tls]` header, then `cert = "..."` in that table: before any other `[` (the table holds only
        // strings), so a registry keypair's `cert`/`key` elsewhere in the file does not count.
        String.raw`${text}.matches(r'(?m)^\s*\[\s*${tomlKey("grpc")}${TOML_DOT}${tomlKey("tls")}\s*\][^\[]*^\s*${tomlKey(field)}${value}') || ` +
        // Dotted keys: `grpc.tls.cert = "..."` at top level, `tls.cert = "..."` under `[grpc]`.
        String.raw`${text}.matches(r'(?m)^\s*(${tomlKey("grpc")}${TOML_DOT})?${tomlKey("tls")}${TOML_DOT}${tomlKey(field)}${value}') || ` +
        // Inline tables: `tls = { cert = "...", ... }`, also inside `grpc = { tls = { ... } }`.
        String.raw`${text}.matches(r'${tomlKey("tls")}\s*=\s*\{([^}]*[,\s])?${tomlKey(field)}${value}')`
    );
}

/**
 * Text that is a buildkitd.toml listening on tcp:// without [grpc.tls] cert, key and ca. buildkitd reads
 * its config with a TOML 1.0 parser (moby/buildkit cmd/buildkitd/config.go: BurntSushi/toml
 * `toml.DecodeReader`), for which a `[grpc]` table, dotted keys (`grpc.address = [...]`) and an inline
 * table (`grpc = { address = [...] }`) are the same table (toml.io v1.0.0, "Keys", "Inline Table"), and an
 * array may span lines: every spelling is read, for the address and for the TLS files alike.
 */
function plaintextToml(text: string): string {
    // In the address array (which may span lines) or a string; not in a comment after it.
    const address = String.raw`${tomlKey("address")}\s*=\s*(\[[^\]]*|["\x27]\s*)tcp://`;
    const listens =
        String.raw`((${text}.matches(r'(?m)^\s*\[\s*${tomlKey("grpc")}\s*\]') && ${text}.matches(r'(?mi)^\s*${address}')) || ` +
        String.raw`${text}.matches(r'(?mi)^\s*${tomlKey("grpc")}${TOML_DOT}${address}') || ` +
        String.raw`${text}.matches(r'(?mi)^\s*${tomlKey("grpc")}\s*=\s*\{([^}]*[,\s])?${address}'))`;
    return `(${listens} && !((${tomlTlsField(text, "cert")}) && (${tomlTlsField(text, "key")}) && (${tomlTlsField(text, "ca")})))`;
}

/**
 * Keys that can be a config file buildkitd reads: `*.toml`, `*.conf` or a name without an extension. A
 * `RUNBOOK.md` quoting a bad config is not one (the pack notes those; a daemon reading one as its config
 * is judged by the pack's daemon rule).
 */
const TOML_KEY = String.raw`k.matches(r'(?i)(\.toml|\.conf|^[^.]+)$')`;

/**
 * Secret keys read as text: only config-file names. `string(bytes)` fails on binary data (a keystore
 * under a name without extension), and a failed expression refuses the object (failurePolicy Fail).
 */
const SECRET_TOML_KEY = String.raw`k.matches(r'(?i)(\.toml|\.conf)$|^config$')`;

/** ConfigMaps and Secrets holding a plaintext buildkitd.toml, or ingress-nginx tcp-services entries to BuildKit. */
function configPolicy(): AdmissionPolicySpec {
    return {
        name: ADMISSION_POLICY_NAMES.configs,
        spec: {
            failurePolicy: "Fail",
            matchConstraints: {
                resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps", "secrets"], operations: OPERATIONS }],
                namespaceSelector: matchSafety().namespaceSelector,
            },
            matchConditions: matchSafety().matchConditions,
            validations: [
                {
                    expression: `object.kind != 'ConfigMap' || !has(object.data) || !object.data.exists(k, ${TOML_KEY} && ${plaintextToml("object.data[k]")})`,
                    message:
                        "a buildkitd.toml in this ConfigMap sets a tcp:// [grpc] address without [grpc.tls] cert, key and ca: BuildKit's TCP API must require a client certificate (arc-buildkit invariant 1)",
                    reason: "Forbidden",
                },
                {
                    // Secret data is bytes in CEL; string() decodes UTF-8 (binary values are not buildkitd.toml).
                    expression: `object.kind != 'Secret' || !has(object.data) || !object.data.exists(k, ${SECRET_TOML_KEY} && ${plaintextToml("string(object.data[k])")})`,
                    message:
                        "a buildkitd.toml in this Secret sets a tcp:// [grpc] address without [grpc.tls] cert, key and ca: BuildKit's TCP API must require a client certificate (arc-buildkit invariant 1)",
                    reason: "Forbidden",
                },
                {
                    expression:
                        `object.kind != 'ConfigMap' || !has(object.data) || !object.data.exists(k, k.matches(r'^[0-9]+$') && ` +
                        // A BuildKit Service on any port; port 1234 of another Service is another app's.
                        `(object.data[k].matches(r'^\\s*[a-z0-9-]+/(([a-z0-9-]*[-.])?(moby-)?buildkitd?(-[a-z0-9-]+)?):[A-Za-z0-9-]+(:PROXY)?(:PROXY)?\\s*$') || ` +
                        // Any Service of the BuildKit namespace on port 1234.
                        `object.data[k].matches(r'^\\s*${BUILDKIT_NAMESPACE}/[a-z0-9-]+:${PORT}(:PROXY)?(:PROXY)?\\s*$')))`,
                    message:
                        "an ingress-nginx tcp-services/udp-services entry publishes a BuildKit Service on the ingress controller: BuildKit must be reachable only inside the cluster (arc-buildkit invariant 2)",
                    reason: "Forbidden",
                },
            ],
        },
    };
}

/** A name that is BuildKit's own (a Service, a selector or label value): the same rule as the pack's `isBuildkitName`. */
export const BUILDKIT_NAME = String.raw`^(([a-z0-9-]*[-.])?(moby-)?buildkitd?(-(service|svc|server|daemon|tcp|grpc|headless|lb|public|external|protected|arm64|protected-arm64))?)$`;

/**
 * Metadata keys whose controller publishes a ClusterIP Service outside the cluster: the known publishers of
 * the pack (policy/lib/publishing.ts, with the source of each): the Tailscale operator, Linkerd multicluster
 * (`mirror.linkerd.io/exported`), Cilium ClusterMesh global Services, Skupper, Submariner and the
 * Multi-Cluster Services API, GKE load balancers and NEGs with exposed_ports, cloud load-balancer
 * annotations, external-dns, MetalLB/kube-vip/Cilium LB IPAM, Consul catalog sync, Istio `exportTo` beyond
 * the namespace, ngrok and kube-service-exposer. A value that turns a key off ("false", "0", "no", empty)
 * publishes nothing. The pack also takes unknown keys whose words say they publish; CEL does not (docs/admission.md).
 */
export const PUBLISHING_DOMAINS = String.raw`^(([a-z0-9-]+\.)*(tailscale\.com|mirror\.linkerd\.io|multicluster\.linkerd\.io|skupper\.io|submariner\.io|multicluster\.x-k8s\.io|multicluster\.kubernetes\.io|net\.gke\.io|networking\.gke\.io|service\.beta\.kubernetes\.io|external-dns\.alpha\.kubernetes\.io|metallb\.universe\.tf|metallb\.io|kube-vip\.io|lbipam\.cilium\.io|k8s\.ngrok\.com|ngrok\.com|kube-service-exposer\.sidero\.dev))/`;
const OFF_VALUE = String.raw`^\s*(false|False|FALSE|no|No|NO|0|off|Off|disabled|none)?\s*$`;

function publishingKey(k: string, v: string): string {
    return (
        `(!${v}.matches(r'${OFF_VALUE}') && (${k}.matches(r'${PUBLISHING_DOMAINS}') || ` +
        String.raw`${k}.matches(r'^(service\.cilium\.io|io\.cilium)/(global|global-service|lb-ipam.*)$') || ` +
        String.raw`(${k}.matches(r'^([a-z0-9-]+\.)*cloud\.google\.com/neg$') && ${v}.contains('exposed_ports')) || ` +
        String.raw`(${k}.matches(r'^([a-z0-9-]+\.)*cloud\.google\.com/') && !${k}.matches(r'/(neg|backend-config|app-protocols|neg-status)$')) || ` +
        String.raw`(${k}.matches(r'^([a-z0-9-]+\.)*consul\.hashicorp\.com/') && !${k}.endsWith('/service-ignore')) || ` +
        String.raw`(${k} == 'getambassador.io/config' && ${v}.matches(r'kind:\s*[A-Za-z]*Mapping')) || ` +
        String.raw`(${k} == 'networking.istio.io/exportTo' && !${v}.matches(r'^\s*[.~]\s*$'))))`
    );
}

/** Whether `o`'s annotations or labels publish it (see PUBLISHING_DOMAINS). */
function publishingMetadata(o: string): string {
    return (
        `((has(${o}.metadata.annotations) && ${o}.metadata.annotations.exists(a, ${publishingKey("a", `${o}.metadata.annotations[a]`)})) || ` +
        `(has(${o}.metadata.labels) && ${o}.metadata.labels.exists(l, ${publishingKey("l", `${o}.metadata.labels[l]`)})))`
    );
}

function exposurePolicy(): AdmissionPolicySpec {
    const buildkitService =
        `((has(object.spec.selector) && object.spec.selector.exists(k, object.spec.selector[k].matches(r'${BUILDKIT_NAME}'))) || ` +
        // Port 1234 alone is also other apps' port: without a BuildKit selector or name it is not evidence
        // (the pack, which sees the Endpoints a selectorless Service is fed by, judges those).
        `(has(object.metadata.name) && object.metadata.name.matches(r'${BUILDKIT_NAME}')) || ` +
        `(${IN_BUILDKIT_NAMESPACE} && ${list("object.spec.ports")}.exists(p, p.port == ${PORT} || (has(p.targetPort) && string(p.targetPort) == '${PORT}'))))`;
    const published =
        `((has(object.spec.type) && (object.spec.type == 'LoadBalancer' || object.spec.type == 'NodePort')) || ` +
        `size(${list("object.spec.externalIPs")}) > 0 || ` +
        // Annotations and labels of controllers that publish a ClusterIP Service outside the cluster (the
        // known publishers of the pack's policy/lib/publishing.ts; tests/admission.test.ts keeps the verdicts equal).
        `${publishingMetadata("object")})`;
    const backend = (b: string) =>
        `(has(${b}.service) && (${b}.service.name.matches(r'${BUILDKIT_NAME}') || ` +
        `(${IN_BUILDKIT_NAMESPACE} && has(${b}.service.port) && has(${b}.service.port.number) && ${b}.service.port.number == ${PORT})))`;
    return {
        name: ADMISSION_POLICY_NAMES.exposure,
        spec: {
            failurePolicy: "Fail",
            // An update is judged when the spec changes, or when what publishes it does (`kubectl annotate` of a
            // publishing key); other metadata changes of an object admitted before the policies are not.
            matchConditions: matchSafety(`object.spec != oldObject.spec || ${publishingMetadata("object")} != ${publishingMetadata("oldObject")}`)
                .matchConditions,
            matchConstraints: {
                namespaceSelector: matchSafety().namespaceSelector,
                resourceRules: [
                    { apiGroups: [""], apiVersions: ["v1"], resources: ["services"], operations: OPERATIONS },
                    { apiGroups: ["networking.k8s.io"], apiVersions: ["v1"], resources: ["ingresses"], operations: OPERATIONS },
                ],
            },
            validations: [
                {
                    expression: `object.kind != 'Service' || !(${buildkitService} && ${published})`,
                    message:
                        "this Service is BuildKit's (it selects BuildKit pods or is named as BuildKit) and is published outside the cluster (LoadBalancer, NodePort, externalIPs, or an annotation or label of a controller that publishes it: Tailscale, Linkerd multicluster, Cilium ClusterMesh, Skupper, a ClusterSet, a cloud or bare-metal load balancer, external-dns, Consul, Istio exportTo): BuildKit must be reachable only inside the cluster (arc-buildkit invariant 2)",
                    reason: "Forbidden",
                },
                {
                    expression:
                        `object.kind != 'Ingress' || !((has(object.spec.defaultBackend) && ${backend("object.spec.defaultBackend")}) || ` +
                        `${list("object.spec.rules")}.exists(r, has(r.http) && r.http.paths.exists(p, ${backend("p.backend")})))`,
                    message: "this Ingress routes to a BuildKit Service: BuildKit must be reachable only inside the cluster (arc-buildkit invariant 2)",
                    reason: "Forbidden",
                },
            ],
        },
    };
}

/** Every policy spec, in a fixed order. */
export function admissionPolicies(runnerNamespaces: readonly string[]): AdmissionPolicySpec[] {
    if (runnerNamespaces.length === 0) {
        throw new Error("admission policies need at least one runner namespace");
    }
    return [...podPolicies(runnerNamespaces), configPolicy(), exposurePolicy()];
}

/** The binding of one policy: every namespace, with the configured actions. */
export function admissionBindingSpec(
    policyName: string,
    validationActions: readonly ValidationAction[],
): { policyName: string; validationActions: ValidationAction[] } {
    return { policyName, validationActions: [...validationActions] };
}
