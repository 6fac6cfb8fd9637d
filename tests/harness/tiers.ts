import * as pulumi from "@pulumi/pulumi";
import * as runtimeSettings from "@pulumi/pulumi/runtime/settings";
import { parse as parseToml } from "smol-toml";
import { loadSettings } from "../../config";
import { BUILDKIT_NAMESPACE, RUNNER_ENV, SHARED_TIER, TIER_LABEL_KEY, TierNames, tierNames } from "../../contracts";
import { createStack } from "../../program";
import { APP_SECRET_KEYS, withAppCredentials } from "../fixtures/github-credentials";
import { ConfigEdit } from "./config-edit";
import { mockCall, mockResourceState } from "./mocks";
import { PROJECT, ProgramRun, reveal, stackConfig } from "./program";
import { Registration, recordRegistrations } from "./registrations";
import { fileInPod } from "./tls-material";

/**
 * What tests/tiers.test.ts needs to attack the boundary between trust tiers: each builder set's and
 * each runner pod's TLS material resolved from the declared objects (as the kubelet would), a label
 * selector evaluator (what Kubernetes selects), NetworkPolicy evaluation (what Kubernetes admits),
 * toleration matching (where the scheduler may place a pod), and a program run at a chosen clock that
 * records each resource's `replacementTrigger` (which tests/harness/registrations.ts does not).
 */

const STATEFUL_SET = "kubernetes:apps/v1:StatefulSet";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
const RELEASE = "kubernetes:helm.sh/v3:Release";

/** Every tier of a run (shared first), from the runner namespaces it declares. */
export function declaredTiers(run: ProgramRun): TierNames[] {
    const namespaces = new Set(run.resources.filter((r) => r.type === "kubernetes:core/v1:Namespace").map((r) => reveal(r.inputs).metadata.name as string));
    const tiers = [...namespaces]
        .filter((ns) => ns.startsWith("arc-runners"))
        .map((ns) => (ns === "arc-runners" ? SHARED_TIER : ns.slice("arc-runners-".length)));
    return tiers.sort((a, b) => (a === SHARED_TIER ? -1 : b === SHARED_TIER ? 1 : a.localeCompare(b))).map(tierNames);
}

/** One builder StatefulSet, what its pods are labelled, and the TLS identity buildkitd loads there. */
export interface BuilderSet {
    name: string;
    /** The tier its pods say they belong to (`ameide.io/tier`). */
    tier: string;
    podLabels: Record<string, string>;
    podSpec: any;
    ca: string;
    cert: string;
    key: string;
}

/** Every StatefulSet in the BuildKit namespace, with its server identity read through its TOML and mounts. */
export function builderSets(run: ProgramRun): BuilderSet[] {
    return run.resources
        .filter((r) => r.type === STATEFUL_SET)
        .map((r) => reveal(r.inputs))
        .filter((s) => s.metadata.namespace === BUILDKIT_NAMESPACE)
        .map((s) => {
            const podSpec = s.spec.template.spec;
            const configVolume = (podSpec.volumes ?? []).find((v: any) => v.configMap);
            const configMap = run.resources.filter((r) => r.type === CONFIG_MAP && reveal(r.inputs).metadata?.name === configVolume?.configMap?.name);
            if (configMap.length !== 1) {
                throw new Error(`StatefulSet ${s.metadata.name}: expected one declared ConfigMap behind its config volume`);
            }
            const toml = parseToml(reveal(configMap[0].inputs).data["buildkitd.toml"]) as any;
            const tls = toml.grpc?.tls;
            if (!tls?.ca || !tls?.cert || !tls?.key) {
                throw new Error(`StatefulSet ${s.metadata.name}: buildkitd.toml has no complete [grpc.tls] section`);
            }
            const read = (file: string) => fileInPod(run, BUILDKIT_NAMESPACE, podSpec, "buildkitd", file);
            const podLabels = s.spec.template.metadata.labels ?? {};
            return { name: s.metadata.name, tier: podLabels[TIER_LABEL_KEY], podLabels, podSpec, ca: read(tls.ca), cert: read(tls.cert), key: read(tls.key) };
        });
}

/** One runner scale set as its pods see BuildKit: namespace, environment, and the client files it names. */
export interface RunnerPod {
    release: string;
    namespace: string;
    /** The tier whose runner namespace the scale set is installed in. */
    tier: string;
    values: any;
    podSpec: any;
    env: Record<string, string>;
    ca: string;
    cert: string;
    key: string;
}

export function runnerPods(run: ProgramRun): RunnerPod[] {
    const tiers = declaredTiers(run);
    return run.resources
        .filter((r) => r.type === RELEASE)
        .map((r) => ({ release: r.name, inputs: reveal(r.inputs) }))
        .filter((r) => r.inputs.values?.template?.spec)
        .map(({ release, inputs }) => {
            const namespace: string = inputs.namespace;
            const tier = tiers.find((t) => t.runnerNamespace === namespace);
            if (!tier) {
                throw new Error(`scale set ${release} is installed in ${namespace}, which is no tier's runner namespace`);
            }
            const podSpec = inputs.values.template.spec;
            const runner = podSpec.containers.find((c: any) => c.name === "runner");
            const env: Record<string, string> = Object.fromEntries(
                (runner.env ?? []).filter((e: any) => typeof e.value === "string").map((e: any) => [e.name, e.value]),
            );
            const read = (variable: string) => fileInPod(run, namespace, podSpec, "runner", env[variable]);
            return {
                release,
                namespace,
                tier: tier.tier,
                values: inputs.values,
                podSpec,
                env,
                ca: read(RUNNER_ENV.ca),
                cert: read(RUNNER_ENV.cert),
                key: read(RUNNER_ENV.key),
            };
        });
}

/** The PEM certificates of a bundle, each normalized to end in one newline. */
export function pemCertificates(bundle: string): string[] {
    return (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => `${pem}\n`);
}

// --- Label selectors, as Kubernetes evaluates them (apimachinery labels.Selector) ---

export interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

/**
 * Whether `selector` selects an object labelled `labels`. An empty selector selects everything (as in
 * NetworkPolicy and PodDisruptionBudget); `NotIn` and `DoesNotExist` hold when the key is absent.
 */
export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
    const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
    const byExpressions = (selector.matchExpressions ?? []).every((e) => {
        const has = Object.prototype.hasOwnProperty.call(labels, e.key);
        switch (e.operator) {
            case "In":
                return has && (e.values ?? []).includes(labels[e.key]);
            case "NotIn":
                return !has || !(e.values ?? []).includes(labels[e.key]);
            case "Exists":
                return has;
            case "DoesNotExist":
                return !has;
            default:
                throw new Error(`unknown selector operator ${JSON.stringify((e as { operator: unknown }).operator)}`);
        }
    });
    return byLabels && byExpressions;
}

/** A Service's `spec.selector` (a plain map) as a label selector. */
export function serviceSelects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
    // A Service without a selector selects no pods (its Endpoints are managed by hand).
    return !!selector && Object.keys(selector).length > 0 && selects({ matchLabels: selector }, labels);
}

// --- NetworkPolicy ingress, as an enforcing CNI evaluates it ---

/** A namespace a connection may come from, with the labels it carries. */
export interface SourceNamespace {
    name: string;
    labels: Record<string, string>;
}

/**
 * Namespaces a connection could come from: every declared one (with its declared labels), the usual
 * cluster ones, and one a tenant might create. Each carries the immutable
 * `kubernetes.io/metadata.name` label the API server sets.
 */
export function sourceNamespaces(run: ProgramRun): SourceNamespace[] {
    const declared = run.resources
        .filter((r) => r.type === "kubernetes:core/v1:Namespace")
        .map((r) => reveal(r.inputs).metadata)
        .map((m: any) => ({ name: m.name as string, labels: { ...(m.labels ?? {}) } }));
    const others = ["default", "kube-system", "monitoring", "arc-systems", "tenant-made"]
        .filter((n) => !declared.some((d) => d.name === n))
        .map((name) => ({ name, labels: {} as Record<string, string> }));
    return [...declared, ...others].map((ns) => ({ ...ns, labels: { ...ns.labels, "kubernetes.io/metadata.name": ns.name } }));
}

/**
 * Which (source namespace, port) pairs may open a connection to a pod labelled `podLabels` in
 * `namespace`: the union of the ingress rules of every policy that selects the pod (policies are
 * additive). A pod no policy selects admits everything (`*`). Peers with a pod selector are taken
 * as matching any pod of their namespaces (a tenant who can run a pod there picks its labels); an
 * `ipBlock` peer admits every namespace. Named ports are resolved through `namedPorts`.
 */
export function admittedIngress(
    run: ProgramRun,
    namespace: string,
    podLabels: Record<string, string>,
    namedPorts: Record<string, number>,
): { policies: string[]; admitted: Set<string> } {
    const policies = run.resources
        .filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy")
        .map((r) => reveal(r.inputs))
        .filter(
            (p) =>
                p.metadata.namespace === namespace && (p.spec.policyTypes ?? ["Ingress"]).includes("Ingress") && selects(p.spec.podSelector ?? {}, podLabels),
        );
    const admitted = new Set<string>();
    if (policies.length === 0) {
        admitted.add("*");
        return { policies: [], admitted };
    }
    const sources = sourceNamespaces(run);
    for (const policy of policies) {
        for (const rule of policy.spec.ingress ?? []) {
            const ports: string[] = (rule.ports ?? [undefined]).map((p: any) => {
                if (p?.port === undefined) return "*";
                if (p.endPort !== undefined) return `${p.port}-${p.endPort}`;
                return String(typeof p.port === "string" ? (namedPorts[p.port] ?? `unresolved:${p.port}`) : p.port);
            });
            const from: any[] = rule.from ?? [];
            const namespaces =
                from.length === 0
                    ? ["*"]
                    : from.flatMap((peer) => {
                          if (peer.ipBlock) return ["*"];
                          if (peer.namespaceSelector) return sources.filter((ns) => selects(peer.namespaceSelector, ns.labels)).map((ns) => ns.name);
                          return [namespace]; // podSelector alone: pods of the policy's own namespace
                      });
            for (const ns of namespaces) for (const port of ports) admitted.add(`${ns}:${port}`);
        }
    }
    return { policies: policies.map((p) => p.metadata.name).sort(), admitted };
}

/** Named container ports of a pod spec (`grpc` → 1234). */
export function containerPorts(podSpec: any): Record<string, number> {
    return Object.fromEntries(
        (podSpec.containers ?? []).flatMap((c: any) => (c.ports ?? []).filter((p: any) => p.name).map((p: any) => [p.name, p.containerPort])),
    );
}

// --- Taints and tolerations, as the scheduler matches them (k8s.io/api/core/v1 Toleration.ToleratesTaint) ---

export interface Taint {
    key: string;
    value: string;
    effect: string;
}

/** `key=value:Effect`, as AKS `nodeTaints` spells them. */
export function parseTaint(spec: string): Taint {
    const match = /^([^=:]+)=([^:]*):(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(spec);
    if (!match) {
        throw new Error(`not a key=value:Effect taint: ${spec}`);
    }
    return { key: match[1], value: match[2], effect: match[3] };
}

export function tolerates(tolerations: any[] | undefined, taint: Taint): boolean {
    return (tolerations ?? []).some((t) => {
        if (t.effect && t.effect !== taint.effect) return false;
        if (t.key && t.key !== taint.key) return false;
        // An empty key with Exists tolerates every taint.
        if ((t.operator ?? "Equal") === "Exists") return true;
        return (t.value ?? "") === taint.value;
    });
}

// --- A program run at a chosen clock, recording replacement triggers ---

/** A registration with the `replacementTrigger` option the engine receives (undefined when unset). */
export interface TriggerRegistration extends Registration {
    replacementTrigger: unknown;
}

/**
 * Hooks the mock monitor (on top of {@link recordRegistrations}) to record each request's
 * `replacementTrigger` as well. Call where `recordRegistrations` may be called; the returned function
 * gives the registrations so far.
 */
export function recordReplacementTriggers(): () => TriggerRegistration[] {
    const registrations = recordRegistrations();
    const monitor: any = runtimeSettings.getMonitor();
    const original = monitor.registerResource.bind(monitor);
    const triggers: unknown[] = [];
    monitor.registerResource = (req: any, callback: any) => {
        triggers.push(req.hasReplacementTrigger() ? req.getReplacementTrigger().toJavaScript() : undefined);
        return original(req, callback);
    };
    return () => registrations.map((r, i) => ({ ...r, replacementTrigger: triggers[i] }));
}

/**
 * Runs the program of `stack` (with the fake App credentials as secrets) at clock `now`, as
 * `createStack(settings, now)`, under the harness's mocks with fake TLS, and returns every
 * registration with its replacement trigger.
 */
export async function runAt(stack: string, now: Date, edit: ConfigEdit = () => {}): Promise<TriggerRegistration[]> {
    await pulumi.runtime.setMocks(
        {
            newResource: async (args) => ({ id: `${args.name}-id`, state: await mockResourceState(args.type, args.name, args.inputs, { realTls: false }) }),
            call: (args) => mockCall(args.token, args.inputs),
        },
        PROJECT,
        stack,
        false,
    );
    const registrations = recordReplacementTriggers();
    const config = stackConfig(stack);
    withAppCredentials(config);
    edit(config);
    pulumi.runtime.setAllConfig(config, APP_SECRET_KEYS);
    createStack(loadSettings(), now);
    // As the harness's own runs settle: every registration, those made inside `apply` included.
    const { waitForRPCs } = runtimeSettings as unknown as { waitForRPCs(): Promise<void> };
    for (let i = 0; i < 3; i++) {
        await waitForRPCs();
        await new Promise((resolve) => setImmediate(resolve));
    }
    return registrations();
}
