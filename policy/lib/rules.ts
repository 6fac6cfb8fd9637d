import { parseBuildkitdToml } from "./buildkitdToml";
import { DAEMON_FIX, containerContexts, daemonOf, judgeDaemon, Daemon, mayListenOnTcp } from "./buildkitd";
import { judgeBuildkitChart, judgeBuildkitChartIsolation, helmTcpServices, tcpServiceReachesBuildkit } from "./charts";
import { CLIENT_FIX, judgeClient } from "./clientTls";
import { decodeOverflowOf } from "./decode";
import {
    CONSUMER_KINDS,
    EXPOSURE_FIX,
    chartServiceExposure,
    hostExposure,
    namesBuildkitService,
    isBuildkitName,
    isBuildkitPort,
    routeBackends,
    serviceExposure,
    serviceReachesBuildkit,
    unjudgedPublishingKeys,
    unknownRoute,
} from "./exposure";
import { BuildkitScene, Relay, TUNNEL_CHART, relayOf, selectsRelay, tunnelConfigs, tunnelValueTargets } from "./relays";
import { Finding, ResourceLike, unverifiable, violation } from "./findings";
import { helmChart, helmLabel, helmValues, isHelm, usesValuesFrom } from "./helm";
import { KObject, View, entriesOf } from "./objects";
import { RELEVANT, asArray, asRecord, isUnknown } from "./plain";
import { podTemplatesOfObject } from "./kube";
import { isTcpAddress } from "./text";
import { judgeIsolation } from "./isolation";

/** A rule judges what a view shows; in resource scope it leaves out whatever needs another resource. */
export type Rule = (view: View, helm: ResourceLike[]) => Finding[];

function mark(findings: Finding[], crossed: boolean): Finding[] {
    return findings.map((f) => ({ ...f, crossed: f.crossed || crossed }));
}

export function daemonsInView(view: View, helm: ResourceLike[]): Daemon[] {
    return containerContexts(view, helm).flatMap((t) => t.contexts.map(daemonOf).filter((d): d is Daemon => d !== undefined));
}

/**
 * What the view shows of BuildKit: its daemons, the Services that reach them (by selector, name, endpoints
 * or port), the containers that relay it (lib/relays.ts), and the Services that select those relays.
 */
const scenes = new WeakMap<View, { scene: BuildkitScene; relays: Relay[] }>();

export function sceneOf(view: View, helm: ResourceLike[]): { scene: BuildkitScene; relays: Relay[] } {
    const cached = scenes.get(view);
    if (cached) {
        return cached;
    }
    const daemons = daemonsInView(view, helm);
    const pods = containerContexts(view, helm).map((t) => t.template);
    const services = new Map<string, { reason: string; crossed: boolean }>();
    const serviceObjects = view.objects.filter((o) => o.kind === "Service" && !o.patch);
    for (const service of serviceObjects) {
        const reach = serviceReachesBuildkit(service, daemons, view, pods);
        if (reach && typeof service.name === "string") {
            services.set(service.name, reach);
        }
    }
    const scene: BuildkitScene = { services, daemons, view };
    const relays: Relay[] = [];
    for (const { contexts } of containerContexts(view, helm)) {
        for (const ctx of contexts) {
            // The daemon's own container counts too: a script may start a relay next to buildkitd.
            const relay = relayOf(ctx, scene);
            if (relay) {
                relays.push(relay);
            }
        }
    }
    // A Service selecting a relay's pods reaches BuildKit through it.
    for (const service of serviceObjects) {
        if (typeof service.name !== "string" || services.has(service.name)) {
            continue;
        }
        const relay = relays.find((r) => r.network && !r.unknownProgram && selectsRelay(service, r));
        if (relay) {
            services.set(service.name, {
                reason: `selects the pods of ${relay.ctx.template.where}, whose container '${relay.ctx.container.name}' relays ${relay.upstream}`,
                crossed: relay.ctx.template.resource !== service.resource || relay.crossed,
            });
        }
    }
    const result = { scene, relays };
    scenes.set(view, result);
    return result;
}

const RELAY_FIX =
    "A relay in front of BuildKit is BuildKit: make it require client certificates signed by the CA (ghostunnel server without " +
    "--disable-authentication, socat OPENSSL-LISTEN with cafile and verify=1, stunnel verify = 2, nginx ssl_verify_client on), or " +
    "remove it and let clients reach buildkitd's own mutual-TLS listener.";

/** Rule 1: every buildkitd that listens on tcp:// requires mutual TLS. */
export const daemonRule: Rule = (view, helm) => {
    const findings: Finding[] = [];
    for (const { template, contexts, unknownContainers } of containerContexts(view, helm)) {
        if (unknownContainers) {
            if (/buildkit/i.test(template.where) || Object.values(template.labels).some((v) => typeof v === "string" && /buildkit/i.test(v))) {
                findings.push(
                    unverifiable(
                        `${template.where} has containers that are unknown during preview, so whether it runs buildkitd on tcp:// cannot be checked yet.`,
                        template.resource.urn,
                    ),
                );
            }
            continue;
        }
        for (const ctx of contexts) {
            const daemon = daemonOf(ctx);
            if (!daemon || (view.scope === "resource" && ctx.deferred.length > 0)) {
                continue;
            }
            findings.push(...mark(judgeDaemon(daemon), ctx.crossed));
        }
    }
    // A relay that turns BuildKit's API into a TCP listener without verifying clients is a plaintext BuildKit listener.
    for (const relay of sceneOf(view, helm).relays) {
        if (view.scope === "resource" && relay.ctx.deferred.length > 0) {
            continue;
        }
        if (relay.listens.length > 0 && (relay.auth === "none" || relay.auth === "tls-no-client-verify")) {
            findings.push({
                ...violation(
                    `${relay.ctx.template.where} container '${relay.ctx.container.name}' relays ${relay.upstream} on TCP ${relay.listens.join(", ")} without verifying client certificates (${relay.how}), so it is a BuildKit API listener without mutual TLS. ${RELAY_FIX}`,
                    relay.ctx.template.resource.urn,
                ),
                crossed: relay.crossed,
            });
        }
    }
    for (const resource of helm) {
        findings.push(
            ...judgeBuildkitChart(resource, "daemon").map((f) => ({ ...f, urn: f.urn ?? resource.urn, crossed: f.crossed ?? usesValuesFrom(resource) })),
        );
    }
    return findings;
};

const CONFIG_FIX =
    "Under [grpc.tls] set cert, key and ca (the CA that signs client certificates, so buildkitd demands one) to files " +
    "mounted from a Kubernetes Secret, or remove the tcp:// address and keep only the unix socket.";

export { CONFIG_FIX };

function looksLikeBuildkitdToml(key: string, text: string): boolean {
    return (
        /^\s*\[\s*grpc(\s*\.\s*tls)?\s*\]?\s*(#.*)?$|^\s*grpc\s*\.\s*[A-Za-z]+\s*=|^\s*grpc\s*=\s*\{/m.test(text) ||
        (/buildkit/i.test(key) && /\.toml$/i.test(key))
    );
}

/** Rule 2: a buildkitd.toml in a ConfigMap or Secret (any key) whose [grpc] address includes tcp:// has [grpc.tls] cert, key and ca. */
export const configRule: Rule = (view) => {
    const findings: Finding[] = [];
    for (const object of view.objects.filter((o) => o.kind === "ConfigMap" || o.kind === "Secret")) {
        for (const entry of entriesOf(object)) {
            const subject = `${object.where} key '${entry.key}'`;
            if (isUnknown(entry.text)) {
                if (entry.key === "*" || /\.toml$/i.test(entry.key)) {
                    findings.push(
                        unverifiable(
                            `${subject} is unknown during preview, so a buildkitd.toml in it cannot be checked for a plaintext tcp:// listener yet.`,
                            object.resource.urn,
                        ),
                    );
                }
                continue;
            }
            if (!looksLikeBuildkitdToml(entry.key, entry.text)) {
                continue;
            }
            const parsed = parseBuildkitdToml(entry.text);
            if (!parsed.ok) {
                const message = `${subject} does not parse as TOML (${parsed.error}), so its gRPC listeners and TLS cannot be verified.`;
                // Only a key named like a TOML file is blocked for not parsing: any other key (a RUNBOOK.md
                // quoting a config, a script) may legitimately not be TOML. A daemon that really reads such a
                // key as its config is still blocked by buildkitd-tcp-requires-mtls, which parses what it reads.
                findings.push(
                    /tcp:\/\//i.test(entry.text) && /grpc/i.test(entry.text) && /\.toml$/i.test(entry.key)
                        ? violation(`${message} Fix the TOML syntax. ${CONFIG_FIX}`, object.resource.urn)
                        : unverifiable(message, object.resource.urn),
                );
                continue;
            }
            const tcp = (parsed.grpc.addresses ?? []).filter(isTcpAddress);
            const missing = (["cert", "key", "ca"] as const).filter((field) => parsed.grpc[field] === undefined);
            if (tcp.length > 0 && missing.length > 0) {
                findings.push(
                    violation(`${subject} sets [grpc] address ${tcp.join(", ")} without [grpc.tls] ${missing.join(", ")}. ${CONFIG_FIX}`, object.resource.urn),
                );
            }
        }
    }
    return findings;
};

/** Rule 3: clients of a tcp:// BuildKit address carry a CA, a client certificate and a key. */
export const clientRule: Rule = (view, helm) => {
    const findings: Finding[] = [];
    for (const resource of helm) {
        const { problems, text, unknown, overflow } = helmValues(resource);
        for (const problem of problems) {
            const message = `${helmLabel(resource)}: ${problem.message}, so its values cannot be checked for tcp:// BuildKit addresses.`;
            // A reference the pack cannot follow (valuesFrom outside the stack, a file in a GitOps repository) is reported, not blocked.
            const blocking = !problem.reference && (overflow ? RELEVANT.test(text) : /tcp:\/\//i.test(text));
            findings.push(
                blocking
                    ? violation(`${message} Fix the values${overflow ? " (no YAML anchors/aliases)" : ""}. ${CLIENT_FIX}`, resource.urn)
                    : unverifiable(message, resource.urn),
            );
        }
        if (unknown) {
            findings.push(
                unverifiable(
                    `${helmLabel(resource)} has values that are unknown during preview, so they cannot be checked for tcp:// BuildKit addresses yet.`,
                    resource.urn,
                ),
            );
        }
    }
    for (const provider of view.objects.filter((o) => o.kind === "DockerProvider")) {
        findings.push(...judgeDockerProvider(provider));
    }
    for (const { contexts } of containerContexts(view, helm)) {
        for (const ctx of contexts) {
            if (daemonOf(ctx)?.runs.length || (view.scope === "resource" && ctx.deferred.length > 0)) {
                continue;
            }
            findings.push(...mark(judgeClient(ctx), ctx.crossed));
        }
    }
    // Structured text in strings past the decode budget (lib/decode.ts) is reported, not passed silently; it is
    // not blocked, because large valid texts (dashboards, bundles) mention BuildKit as often as attacks do.
    for (const resource of new Set([...view.objects.map((o) => o.resource), ...helm])) {
        const overflow = decodeOverflowOf(resource);
        if (overflow !== undefined) {
            findings.push(
                unverifiable(
                    `${overflow}, so pod specs and client settings held in the text past that budget cannot be checked. Keep structured text in strings smaller, or declare the objects as resources.`,
                    resource.urn,
                ),
            );
        }
    }
    return findings;
};

/** Rule 4: BuildKit is never reachable from outside the cluster. */
export const exposureRule: Rule = (view, helm) => {
    const findings: Finding[] = [];
    const daemons = daemonsInView(view, helm);
    const pods = containerContexts(view, helm).map((t) => t.template);
    const publishedByValues = new Set<string>();
    for (const daemon of daemons) {
        findings.push(...mark(hostExposure(daemon), daemon.ctx.crossed));
        const resource = daemon.ctx.template.resource;
        if (isHelm(resource)) {
            findings.push(...mark(chartServiceExposure(daemon, helmValues(resource).values, publishedByValues), daemon.ctx.crossed));
        }
    }
    const { scene, relays } = sceneOf(view, helm);
    const buildkitServices = scene.services;
    const services = view.objects.filter((o) => o.kind === "Service");
    const reachOf = (service: KObject): { reason: string; crossed: boolean } | undefined => {
        const reach = serviceReachesBuildkit(service, daemons, view, pods);
        if (reach || service.patch || typeof service.name !== "string") {
            return reach;
        }
        const viaRelay = buildkitServices.get(service.name);
        return viaRelay && relays.some((r) => selectsRelay(service, r)) ? viaRelay : undefined;
    };
    for (const relay of relays) {
        if (view.scope === "resource" && relay.ctx.deferred.length > 0) {
            continue;
        }
        const subject = `${relay.ctx.template.where} container '${relay.ctx.container.name}'`;
        const urn = relay.ctx.template.resource.urn;
        if (relay.unknownProgram) {
            findings.push(
                unverifiable(
                    `${subject} runs ${relay.how} that names ${relay.upstream} and exposes a port, so it may relay BuildKit's API; the pack cannot tell whether it verifies clients or where it is reachable. Use a relay the pack knows (or none).`,
                    urn,
                ),
            );
            continue;
        }
        if (relay.tunnel) {
            findings.push({
                ...violation(
                    `${subject} forwards ${relay.upstream} through ${relay.tunnel} (${relay.how}), which publishes BuildKit's API outside the cluster. ${EXPOSURE_FIX}`,
                    urn,
                ),
                crossed: relay.crossed,
            });
            continue;
        }
        if (!relay.network) {
            continue;
        }
        const spec = relay.ctx.template.spec;
        if (spec.hostNetwork === true || spec.hostNetwork === "true") {
            findings.push({
                ...violation(
                    `${subject} relays ${relay.upstream} (${relay.how}) with hostNetwork: true, so BuildKit's API is on the node's network. ${EXPOSURE_FIX}`,
                    urn,
                ),
                crossed: relay.crossed,
            });
        }
        for (const port of asArray(relay.ctx.container.record.ports).map(asRecord)) {
            if (port.hostPort !== undefined && port.hostPort !== null && !isUnknown(port.hostPort) && port.hostPort !== 0) {
                findings.push({
                    ...violation(
                        `${subject} relays ${relay.upstream} (${relay.how}) and publishes hostPort ${String(port.hostPort)}, which exposes BuildKit's API on the node. ${EXPOSURE_FIX}`,
                        urn,
                    ),
                    crossed: relay.crossed,
                });
            }
        }
    }
    // A tunnel's configuration (cloudflared, ngrok, frpc) whose origin is BuildKit publishes it, whoever runs it.
    for (const object of view.objects) {
        for (const hit of tunnelConfigs(object, scene)) {
            findings.push({
                ...violation(
                    `${object.where} key '${hit.key}' is the configuration of ${hit.tunnel} whose origin is ${hit.what}, which publishes BuildKit's API outside the cluster. ${EXPOSURE_FIX}`,
                    object.resource.urn,
                ),
                crossed: hit.crossed,
            });
        }
    }
    for (const service of services) {
        const exposure = serviceExposure(service);
        if (!exposure) {
            const unjudged = unjudgedPublishingKeys(service);
            const reach = unjudged.length > 0 ? reachOf(service) : undefined;
            if (reach) {
                findings.push(
                    unverifiable(
                        `${service.where} ${reach.reason} and has ${unjudged.map((k) => `${k.where} '${k.key}'`).join(", ")}, of a domain the pack does not know (${unjudged[0].why}), so whether it publishes BuildKit outside the cluster cannot be judged.`,
                        service.resource.urn,
                    ),
                );
            }
            continue;
        }
        let reach = reachOf(service);
        if (!reach && service.patch && typeof service.name === "string" && buildkitServices.has(service.name)) {
            const target = buildkitServices.get(service.name)!;
            reach = { reason: `patches Service '${service.name}', which ${target.reason}`, crossed: true };
        }
        if (!reach) {
            continue;
        }
        if (exposure === "unknown") {
            findings.push(
                unverifiable(
                    `${service.where} ${reach.reason}, but its type is unknown during preview, so whether it leaves the cluster cannot be checked yet.`,
                    service.resource.urn,
                ),
            );
        } else {
            findings.push({
                ...violation(
                    `${service.where} ${exposure} and ${reach.reason}, which exposes BuildKit's API outside the cluster. ${EXPOSURE_FIX}`,
                    service.resource.urn,
                ),
                crossed: reach.crossed,
            });
        }
    }
    for (const object of view.objects) {
        const backends = routeBackends(object);
        for (const backend of backends ?? []) {
            const name = typeof backend.name === "string" ? backend.name : undefined;
            let reason: string | undefined;
            let crossed = false;
            if (name && isBuildkitName(name)) {
                reason = `routes to Service '${name}'`;
            } else if (name && buildkitServices.has(name)) {
                const target = buildkitServices.get(name)!;
                reason = `routes to Service '${name}', which ${target.reason}`;
                crossed = true;
            } else if (isBuildkitPort(backend.port) && view.scope === "stack") {
                // Port 1234 alone: BuildKit's unless the Service behind it is in the stack and is something else.
                const other = services.some((s) => !s.patch && s.name === name && !buildkitServices.has(name ?? ""));
                if (!other) {
                    reason = `targets port 1234`;
                    crossed = true;
                }
            }
            if (reason) {
                findings.push({
                    ...violation(
                        `${object.where}${backend.what === object.kind ? "" : ` (${backend.what})`} ${reason}, which exposes BuildKit's API outside the cluster. ${EXPOSURE_FIX}`,
                        object.resource.urn,
                    ),
                    crossed,
                });
            } else if (isUnknown(backend.name) || isUnknown(backend.port)) {
                findings.push(unknownRoute(object, "backend"));
            }
        }
    }
    // Any other kind that names a BuildKit Service is taken as publishing it: what reaches the port decides.
    for (const object of view.objects) {
        if (object.patch || CONSUMER_KINDS.has(object.kind) || routeBackends(object) !== undefined || podTemplatesOfObject(object).length > 0) {
            continue;
        }
        // An object of an unknown kind that carries a BuildKit Service's own name and namespace and whose kind says
        // it exports, exposes or routes (a multi-cluster ServiceExport, a tunnel or load-balancer binding).
        // (A multi-cluster ServiceExport names its Service by its own name: with BuildKit's own name it exports
        // BuildKit even when the Service is declared outside the stack.)
        const exporting =
            typeof object.name === "string" && /export|expose|publish|tunnel|loadbalancer|binding|route|ingress|listener|forward|proxy/i.test(object.kind);
        const sameName =
            exporting &&
            services.some((s) => !s.patch && s.name === object.name && buildkitServices.has(object.name as string) && s.namespace === object.namespace)
                ? { what: `is named after BuildKit's Service '${String(object.name)}' in its namespace`, crossed: true }
                : exporting && /export/i.test(object.kind) && isBuildkitName(object.name)
                  ? { what: `exports the Service named '${String(object.name)}', BuildKit's own name`, crossed: false }
                  : undefined;
        const named =
            sameName ??
            namesBuildkitService(
                object,
                buildkitServices,
                daemons.map((d) => d.ctx.template.labels),
            );
        if (named) {
            findings.push({
                ...violation(
                    `${object.where} ${named.what}, and ${object.kind} is not a kind known to consume a Service only inside the cluster (policy/README.md lists those), so it is taken as publishing BuildKit's API. ${EXPOSURE_FIX}`,
                    object.resource.urn,
                ),
                crossed: named.crossed,
            });
        }
    }
    // A DeploymentPatch/StatefulSetPatch/DaemonSetPatch that adds hostNetwork or a hostPort to a workload running buildkitd on tcp://.
    for (const patch of view.objects.filter((o) => o.patch && typeof o.name === "string")) {
        const spec = podTemplatesOfObject(patch)[0]?.spec;
        if (!spec) {
            continue;
        }
        const hostNetwork = spec.hostNetwork === true || spec.hostNetwork === "true";
        const hostPorts = asArray(spec.containers).flatMap((c) =>
            asArray(asRecord(c).ports)
                .map(asRecord)
                .filter((p) => p.hostPort !== undefined && p.hostPort !== null && p.hostPort !== 0),
        );
        if (!hostNetwork && hostPorts.length === 0) {
            continue;
        }
        const target = daemons.find((d) => {
            const object = d.ctx.template.object;
            return (
                object !== undefined &&
                !object.patch &&
                object.kind === patch.kind &&
                object.name === patch.name &&
                (object.namespace === undefined || patch.namespace === undefined || object.namespace === patch.namespace) &&
                mayListenOnTcp(d)
            );
        });
        if (target) {
            findings.push({
                ...violation(
                    `${patch.where} adds ${hostNetwork ? "hostNetwork: true" : `hostPort ${hostPorts.map((p) => String(p.hostPort)).join(", ")}`} to ${target.ctx.template.where}, which runs buildkitd on tcp://, so BuildKit's API is on the node's network. ${EXPOSURE_FIX}`,
                    patch.resource.urn,
                ),
                crossed: target.ctx.template.resource !== patch.resource,
            });
        }
    }
    for (const resource of helm.filter(isHelm)) {
        const chart = helmChart(resource);
        const target = typeof chart === "string" && TUNNEL_CHART.test(chart) ? tunnelValueTargets(helmValues(resource).values, scene)[0] : undefined;
        if (target) {
            findings.push({
                ...violation(
                    `${helmLabel(resource)} installs the tunnel chart '${String(chart)}' with ${target.what} as an origin in its values, which publishes BuildKit's API outside the cluster. ${EXPOSURE_FIX}`,
                    resource.urn,
                ),
                crossed: target.crossed || usesValuesFrom(resource),
            });
        }
        findings.push(
            ...judgeBuildkitChart(resource, "exposure").map((f) => ({ ...f, urn: f.urn ?? resource.urn, crossed: f.crossed ?? usesValuesFrom(resource) })),
        );
        for (const entry of helmTcpServices(resource)) {
            const known = buildkitServices.get(entry.name);
            if (tcpServiceReachesBuildkit(entry) || known) {
                findings.push({
                    ...violation(
                        `${helmLabel(resource)} ${entry.what} exposes Service '${entry.name}' port ${entry.port} on the ingress controller, which exposes BuildKit's API outside the cluster. ${EXPOSURE_FIX}`,
                        resource.urn,
                    ),
                    crossed: !tcpServiceReachesBuildkit(entry),
                });
            }
        }
    }
    return findings;
};

export { DAEMON_FIX };

/** Rule 6: build steps isolated (issue 20): no host network on a rootful daemon, no insecure entitlements or noProcessSandbox on a shared one. */
export const isolationRule: Rule = (view, helm) => {
    const findings: Finding[] = [];
    for (const { contexts } of containerContexts(view, helm)) {
        for (const ctx of contexts) {
            const daemon = daemonOf(ctx);
            if (!daemon || (view.scope === "resource" && ctx.deferred.length > 0)) {
                continue;
            }
            findings.push(...mark(judgeIsolation(daemon), ctx.crossed));
        }
    }
    for (const resource of helm.filter(isHelm)) {
        findings.push(
            ...judgeBuildkitChartIsolation(resource).map((f) => ({ ...f, urn: f.urn ?? resource.urn, crossed: f.crossed ?? usesValuesFrom(resource) })),
        );
    }
    return findings;
};

/**
 * A `@pulumi/docker` (or docker-build) provider talks to the Docker daemon at `host`, whose BuildKit builds
 * every image it declares. Over `tcp://` it needs TLS: `caMaterial`, `certMaterial` and `keyMaterial`, or
 * `certPath` (a directory on the machine running Pulumi, which the pack cannot read: it counts). `ssh://`
 * and unix sockets carry their own transport security.
 */
function judgeDockerProvider(provider: KObject): Finding[] {
    const host = provider.body.host;
    if (isUnknown(host)) {
        return [
            unverifiable(
                `${provider.where} has a host unknown during preview, so whether it talks to a daemon over plaintext TCP cannot be checked yet.`,
                provider.resource.urn,
            ),
        ];
    }
    if (typeof host !== "string" || !isTcpAddress(host)) {
        return [];
    }
    const has = (key: string) => provider.body[key] !== undefined && provider.body[key] !== "";
    if (has("certPath") || (has("caMaterial") && has("certMaterial") && has("keyMaterial"))) {
        return [];
    }
    return [
        violation(
            `${provider.where} points Docker (and its BuildKit builder) at ${host} without TLS (caMaterial, certMaterial and keyMaterial, or certPath), i.e. a remote build daemon over plaintext TCP. ${CLIENT_FIX}`,
            provider.resource.urn,
        ),
    ];
}
