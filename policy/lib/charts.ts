import { Finding, ResourceLike, unverifiable, violation } from "./findings";
import { HelmValues, helmChart, helmLabel, helmValues, isFluxHelmRelease, isRelease } from "./helm";
import { objectsOf } from "./objects";
import { postRenderedHostNetwork, postRenderedServiceType } from "./templates";
import { parseBuildkitdToml } from "./buildkitdToml";
import { asArray, asRecord, at, isUnknown } from "./plain";
import { DAEMON_FIX } from "./buildkitd";
import { EXPOSURE_FIX, isBuildkitName, isBuildkitPort } from "./exposure";
import { flagValues } from "./text";
import { ISOLATION_FIX, boolFlag } from "./isolation";

/**
 * What the pack knows about BuildKit Helm charts whose rendered objects it cannot see (a `helm.sh/v3`
 * Release installs them itself, so Pulumi never registers them one by one).
 *
 * buildkit-service (github.com/andrcuns/charts, the most used community chart, also the base of forks):
 * its Deployment always runs `buildkitd --addr unix:///run/buildkit/buildkitd.sock --addr tcp://0.0.0.0:1234`,
 * adds `--tlscacert /certs/ca.crt --tlscert /certs/tls.crt --tlskey /certs/tls.key` only when `tls.enabled`
 * is true (default false), appends `daemonArgs`, mounts `buildkitdToml` (if set) at buildkitd's default
 * config path, and its Service has `type: {{ .Values.service.type }}` (default ClusterIP) on port 1234.
 */
export const MODELLED_CHARTS = ["buildkit-service"];

function truthy(value: unknown): boolean {
    return value === true || value === "true";
}

/** Findings for a BuildKit chart: the model for modelled charts, a report for unmodelled ones. */
export function judgeBuildkitChart(resource: ResourceLike, rule: "daemon" | "exposure"): Finding[] {
    const chart = helmChart(resource);
    if (typeof chart !== "string") {
        return [];
    }
    const label = helmLabel(resource);
    if (chart !== "buildkit-service") {
        if (rule !== "daemon" || !/buildkit/.test(chart) || /buildkit-?(cache|mirror|registry|exporter)/.test(chart)) {
            return [];
        }
        if (isRelease(resource)) {
            return [
                violation(
                    `${label} installs chart '${chart}', which deploys BuildKit but is not in the policy pack's chart model (${MODELLED_CHARTS.join(", ")}); a Helm Release installs its objects itself, so the pack cannot see whether buildkitd listens on plaintext TCP or is exposed. Deploy it as a kubernetes:helm.sh/v4 Chart or kubernetes:yaml/v2 ConfigGroup of its rendered manifests (each object is then checked before it is created), or use a modelled chart with TLS enabled. ${DAEMON_FIX}`,
                ),
            ];
        }
        return [
            unverifiable(
                `${label} installs chart '${chart}', which deploys BuildKit but is not in the policy pack's chart model; its rendered objects are checked one by one as Pulumi registers them.`,
            ),
        ];
    }
    const hv = helmValues(resource);
    const v = asRecord(hv.values);
    if (hv.unknown) {
        return [unverifiable(`${label} (buildkit-service) has values that are unknown during preview, so its TLS and Service type cannot be checked yet.`)];
    }
    if (rule === "exposure") {
        // Flux post-renderers patch the rendered objects after the values: a patch of the chart's Service
        // (buildkit-service renders one) that sets spec.type decides it, whatever the values say.
        const own = isFluxHelmRelease(resource) ? objectsOf(resource).objects.find((o) => !o.embedded) : undefined;
        const rendered = own ? postRenderedServiceType(own) : undefined;
        // The chart's Deployment always listens on tcp://0.0.0.0:1234: on the node's network, so is BuildKit's API.
        const onHost = (own ? postRenderedHostNetwork(own) : []).map((h) =>
            violation(
                `${h.where} gives the Deployment ${label} (buildkit-service) renders ${h.what}, so the daemon it always serves on tcp://0.0.0.0:1234 is on the node's network. ${EXPOSURE_FIX}`,
            ),
        );
        if (onHost.length > 0) {
            return onHost;
        }
        if (rendered) {
            if (isUnknown(rendered.type)) {
                return [unverifiable(`${rendered.where} sets spec.type unknown during preview.`)];
            }
            return rendered.type === "LoadBalancer" || rendered.type === "NodePort"
                ? [
                      violation(
                          `${rendered.where} gives the Service that ${label} (buildkit-service) renders type ${String(rendered.type)}, which exposes BuildKit's port 1234 outside the cluster. ${EXPOSURE_FIX}`,
                      ),
                  ]
                : [];
        }
        const type = at(v, "service", "type");
        if (isUnknown(type)) {
            return [unverifiable(`${label} (buildkit-service) has service.type unknown during preview.`)];
        }
        return settle(
            hv,
            `${label} (buildkit-service)`,
            type === "LoadBalancer" || type === "NodePort"
                ? [
                      {
                          finding: violation(
                              `${label} (buildkit-service) sets service.type ${String(type)}, which exposes BuildKit's port 1234 outside the cluster. ${EXPOSURE_FIX}`,
                          ),
                          restsOn: [["service", "type"]],
                      },
                  ]
                : [],
            [["service", "type"]],
        );
    }
    const tlsEnabled = at(v, "tls", "enabled");
    if (isUnknown(tlsEnabled)) {
        return [unverifiable(`${label} (buildkit-service) has tls.enabled unknown during preview.`)];
    }
    // The template's argument order: the two --addr flags, the TLS flags when tls.enabled, then daemonArgs.
    // Repeated flags keep their last value, and buildkitd (cmd/buildkitd/main.go, applyMainFlags) lets a
    // TLS flag replace the buildkitdToml field only when that value is not empty.
    const daemonArgs = asArray(v.daemonArgs).filter((a): a is string => typeof a === "string");
    const args = [...(truthy(tlsEnabled) ? ["--tlscacert", "/certs/ca.crt", "--tlscert", "/certs/tls.crt", "--tlskey", "/certs/tls.key"] : []), ...daemonArgs];
    const toml = typeof v.buildkitdToml === "string" ? parseBuildkitdToml(v.buildkitdToml) : undefined;
    const tomlTls: { cert?: string; key?: string; ca?: string } = toml?.ok === true ? toml.grpc : {};
    const effective = (flag: string, fromToml: string | undefined) => {
        const given = flagValues(args, flag);
        const last = given[given.length - 1];
        return typeof last === "string" && last.trim() !== "" ? last : fromToml;
    };
    const missing = [
        ["--tlscert", effective("tlscert", tomlTls.cert)],
        ["--tlskey", effective("tlskey", tomlTls.key)],
        ["--tlscacert", effective("tlscacert", tomlTls.ca)],
    ]
        .filter(([, value]) => value === undefined)
        .map(([flag]) => flag);
    const read = [["tls", "enabled"], ["daemonArgs"], ["buildkitdToml"]];
    if (missing.length === 0) {
        return settle(hv, `${label} (buildkit-service)`, [], read);
    }
    if (truthy(tlsEnabled)) {
        return settle(
            hv,
            `${label} (buildkit-service)`,
            [
                {
                    finding: violation(
                        `${label} installs buildkit-service with tls.enabled, but its daemonArgs (appended after the chart's TLS flags) leave buildkitd without ${missing.join(", ")}: an empty value wins over the chart's, and buildkitd then has no such setting unless buildkitdToml gives one, so it would accept clients without a certificate or serve without one. Remove those daemonArgs. ${DAEMON_FIX}`,
                    ),
                    restsOn: [["daemonArgs"]],
                },
            ],
            read,
        );
    }
    return settle(
        hv,
        `${label} (buildkit-service)`,
        [
            {
                finding: violation(
                    `${label} installs buildkit-service with tls.enabled not true: its buildkitd always listens on tcp://0.0.0.0:1234 and gets --tlscacert/--tlscert/--tlskey only when tls.enabled is true, so BuildKit would accept plaintext, unauthenticated clients. Set tls.enabled: true with tls.existingSecret (keys ca.crt, tls.crt, tls.key). ${DAEMON_FIX}`,
                ),
                restsOn: [["tls", "enabled"]],
            },
        ],
        read,
    );
}

/** A finding about chart values and the value paths whose (insecure) setting it rests on. */
interface ChartFinding {
    finding: Finding;
    restsOn: string[][];
}

/**
 * Chart findings weighed by the value sources they rest on. When some values are unseen (a Flux valuesFrom
 * not in view, an Argo CD value file in a repository), a violation stands only when every key it rests on
 * is settled, i.e. set by a source that takes precedence over every unseen one (Flux inline values, Argo
 * CD values/valuesObject/parameters), so no unseen source can change it. One that rests on an unset key
 * (the chart's default) could be changed by an unseen source: it is reported as unverifiable with the
 * reason, and so is a pass that reads unsettled keys. A violation needs other resources (`crossed`) only
 * when the resource does not decide its keys alone (they come from a resolved valuesFrom object);
 * otherwise the resource policy has already reported it.
 */
function settle(hv: HelmValues, subject: string, findings: ChartFinding[], read: string[][]): Finding[] {
    const unseen = hv.unseen.join("; ");
    const out = findings.map(({ finding, restsOn }): Finding => {
        const open = restsOn.filter((path) => !hv.settled(path));
        if (finding.verdict === "violation" && open.length > 0) {
            return unverifiable(
                `${finding.message} This rests on ${open.map((p) => p.join(".")).join(", ")}, which no value the policy pack can read sets over what it cannot read (${unseen}), so it cannot be verified here.`,
            );
        }
        return { ...finding, crossed: restsOn.some((path) => !hv.settled(path, true)) };
    });
    const open = read.filter((path) => !hv.settled(path));
    if (out.length === 0 && open.length > 0) {
        out.push(
            unverifiable(
                `${subject}: ${open.map((p) => p.join(".")).join(", ")} may be set by what the policy pack cannot read (${unseen}), so its TLS and Service type cannot be verified here.`,
            ),
        );
    }
    return out;
}

/** ingress-nginx chart values `tcp`/`udp`: "<port>": "<namespace>/<service>:<port>" exposes that Service on the controller. */
export function helmTcpServices(resource: ResourceLike): { name: string; port: string; what: string }[] {
    const { values } = helmValues(resource);
    const out: { name: string; port: string; what: string }[] = [];
    for (const field of ["tcp", "udp"]) {
        for (const [key, value] of Object.entries(asRecord(asRecord(values)[field]))) {
            const match = typeof value === "string" ? /^([a-z0-9-]+)\/([a-z0-9.-]+):([A-Za-z0-9-]+)/.exec(value.trim()) : null;
            if (/^\d+$/.test(key) && match) {
                out.push({ name: match[2], port: match[3], what: `ingress-nginx values ${field}.${key}` });
            }
        }
    }
    return out;
}

export function tcpServiceReachesBuildkit(entry: { name: string; port: string }): boolean {
    return isBuildkitName(entry.name) || isBuildkitPort(entry.port);
}

/**
 * Build-step isolation of the modelled buildkit-service chart (issue 20). Its Deployment template
 * (andrcuns/charts, charts/buildkit-service/templates/deployment.yaml) always listens on tcp://0.0.0.0:1234,
 * so the daemon is shared; with `rootless: true` it adds `--oci-worker-no-process-sandbox`, and
 * `daemonArgs` and `buildkitdToml` may add host networking or insecure entitlements.
 */
export function judgeBuildkitChartIsolation(resource: ResourceLike): Finding[] {
    if (helmChart(resource) !== "buildkit-service") {
        return [];
    }
    const hv = helmValues(resource);
    if (hv.unknown) {
        return [];
    }
    const v = asRecord(hv.values);
    const label = `${helmLabel(resource)} (buildkit-service)`;
    const rootless = truthy(v.rootless);
    const daemonArgs = asArray(v.daemonArgs).filter((a): a is string => typeof a === "string");
    const args = [...(rootless ? ["--oci-worker-no-process-sandbox"] : []), ...daemonArgs];
    const parsed = typeof v.buildkitdToml === "string" ? parseBuildkitdToml(v.buildkitdToml) : undefined;
    const toml = parsed?.ok ? parsed.isolation : undefined;
    const findings: ChartFinding[] = [];
    const fromArgs = boolFlag(daemonArgs, "oci-worker-no-process-sandbox");
    const sandbox = boolFlag(args, "oci-worker-no-process-sandbox") ?? toml?.oci.noProcessSandbox;
    if (sandbox === true) {
        findings.push({
            finding: violation(
                `${label} ${rootless ? "sets rootless: true, for which the chart adds --oci-worker-no-process-sandbox" : "turns off the process sandbox"} on a daemon it always serves over tcp://0.0.0.0:1234, so concurrent builds can read each other's processes and secret mounts. ${ISOLATION_FIX}`,
            ),
            restsOn: [fromArgs !== undefined ? ["daemonArgs"] : rootless ? ["rootless"] : ["buildkitdToml"]],
        });
    }
    const entitlements = flagValues(args, "allow-insecure-entitlement");
    const granted = (entitlements.length > 0 ? entitlements : (toml?.entitlements ?? [])).filter((e) => typeof e === "string" && e !== "");
    if (granted.length > 0) {
        findings.push({
            finding: violation(`${label} grants the insecure entitlement(s) ${granted.join(", ")} on a daemon it serves over TCP. ${ISOLATION_FIX}`),
            restsOn: [entitlements.length > 0 ? ["daemonArgs"] : ["buildkitdToml"]],
        });
    }
    const net = flagValues(args, "oci-worker-net");
    const mode = String(net.length > 0 ? net[net.length - 1] : (toml?.oci.networkMode ?? "")).toLowerCase();
    if (!rootless && mode === "host") {
        findings.push({
            finding: violation(`${label} runs build steps on the host network (network mode "host") of a privileged daemon. ${ISOLATION_FIX}`),
            restsOn: [net.length > 0 ? ["daemonArgs"] : ["buildkitdToml"]],
        });
    }
    // Isolation notes a pass only through the daemon rule's report of what it cannot read.
    return settle(hv, label, findings, []);
}
