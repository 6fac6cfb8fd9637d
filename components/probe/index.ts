import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { CLIENT_TLS_DIR, runnerBuildkitEnv } from "../arc/values";
import { RUNNER_ENV } from "../contracts";

type JobSpec = k8s.types.input.batch.v1.JobSpec;

/** Where the probe mounts the runners' client secret: the same place runner pods have it. */
export const PROBE_TLS_DIR = CLIENT_TLS_DIR;
export const PROBE_NAME = "buildkit-probe";
/** README section the failure messages send the operator to. */
export const RUNBOOK = "README, runbook section \"Triage\"";
/** Unprivileged user the probe runs as (`nobody`). */
const PROBE_UID = 65534;

export interface ProbeScriptInput {
    /** Addresses to check: the published endpoint first, then each builder pod's own address. */
    addresses: readonly string[];
    /** Platforms every checked builder must list. */
    platforms: readonly string[];
    /** Certificates whose remaining lifetime is checked, with their notAfter in seconds since the epoch. Default: none. */
    certificates?: readonly { certificate: string; notAfterEpoch: number }[];
    /** Fail when a certificate has fewer whole days left than this. Default: 14. */
    minCertificateDays?: number;
}

/**
 * Shell lines that report each certificate's days left and fail below the threshold. The dates are
 * the ones Pulumi issued into the Secrets the probe mounts (the BuildKit image has no openssl to read
 * them back), and `date +%s` is the node's clock, the one TLS handshakes are checked against.
 */
export function certificateExpiryLines(certificates: readonly { certificate: string; notAfterEpoch: number }[], minDays: number): string[] {
    return certificates.flatMap(({ certificate, notAfterEpoch }) => {
        if (!/^[a-z]+$/.test(certificate) || !Number.isInteger(notAfterEpoch)) {
            throw new Error(`probe: bad certificate entry ${certificate} ${notAfterEpoch}`);
        }
        return [
            `days_left=$(( (${notAfterEpoch} - $(date +%s)) / 86400 ))`,
            `echo "certificate ${certificate}: $days_left days left (probe minimum ${minDays})"`,
            `[ "$days_left" -ge ${minDays} ] || fail "the ${certificate} certificate expires in $days_left days (minimum ${minDays}): run pulumi up to renew it, and check the scheduled renew workflow"`,
        ];
    });
}

/**
 * The probe as a POSIX shell script for the BuildKit image (which has `buildctl`). It uses the
 * runners' `AMEIDE_BUILDKIT_*` variables, so it checks exactly what a workflow would run. Each
 * failure says which check failed, is written to the termination log (so `kubectl describe` and
 * Pulumi's error show it) and points to the runbook.
 */
export function probeScript(input: ProbeScriptInput): string {
    const q = (s: string) => `'${s.replace(/'/g, `'"'"'`)}'`;
    return [
        "set -u",
        `fail() { printf 'buildkit probe FAILED: %s. See the ${RUNBOOK}.\\n' "$1" | tee "\${TERMINATION_LOG:-/dev/termination-log}" >&2; exit 1; }`,
        `tls_ca="$${RUNNER_ENV.ca}"; tls_cert="$${RUNNER_ENV.cert}"; tls_key="$${RUNNER_ENV.key}"; server_name="$${RUNNER_ENV.serverName}"`,
        ...certificateExpiryLines(input.certificates ?? [], input.minCertificateDays ?? 14),
        `for addr in ${input.addresses.map(q).join(" ")}; do`,
        `  if ! out=$(buildctl --addr "$addr" --tlscacert "$tls_ca" --tlscert "$tls_cert" --tlskey "$tls_key" --tlsservername "$server_name" --timeout 30 debug workers -v 2>&1); then`,
        `    fail "with the runners' client certificate, 'buildctl debug workers -v' against $addr failed: $(printf '%s' "$out" | tail -n 3 | tr '\\n' ' ')"`,
        "  fi",
        `  printf '%s\\n' "$out"`,
        `  listed=$(printf '%s\\n' "$out" | sed -n 's/^Platforms:[[:space:]]*//p' | tr ', ' '\\n\\n' | sed '/^$/d')`,
        `  for platform in ${input.platforms.map(q).join(" ")}; do`,
        `    printf '%s\\n' "$listed" | grep -qxF "$platform" || fail "no BuildKit worker at $addr lists the required platform $platform (listed: $(printf '%s' "$listed" | tr '\\n' ' '))"`,
        "  done",
        `  if anonymous=$(buildctl --addr "$addr" --tlscacert "$tls_ca" --tlsservername "$server_name" --timeout 30 debug workers 2>&1); then`,
        `    fail "buildkitd at $addr accepted a client without a certificate: mTLS is not enforced"`,
        "  fi",
        `  printf 'without a client certificate %s refused the call, as it must: %s\\n' "$addr" "$(printf '%s' "$anonymous" | tail -n 1)"`,
        "done",
        `echo "buildkit probe passed: mTLS enforced, platforms ${input.platforms.join(" ")} available"`,
    ].join("\n");
}

/** A short hash of everything whose change must rerun the probe; it names the Job. */
export function probeRevision(parts: readonly string[]): string {
    return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 10);
}

export interface ProbeJobInput extends ProbeScriptInput {
    image: string;
    /** The published endpoint and server name, exported as the runners' variables. */
    endpoint: string;
    serverName: string;
    clientSecretName: string;
    timeoutSeconds: number;
    keepFinishedSeconds: number;
}

/**
 * The Job: one unprivileged pod (Pod Security `restricted`), no retries beyond one, a hard
 * deadline, and Kubernetes deletes it `keepFinishedSeconds` after it finishes.
 */
export function probeJobSpec(input: ProbeJobInput): JobSpec {
    return {
        backoffLimit: 1,
        activeDeadlineSeconds: input.timeoutSeconds,
        ttlSecondsAfterFinished: input.keepFinishedSeconds,
        template: {
            metadata: { labels: { "app.kubernetes.io/name": PROBE_NAME, "app.kubernetes.io/part-of": "arc-buildkit" } },
            spec: {
                restartPolicy: "Never",
                automountServiceAccountToken: false,
                enableServiceLinks: false,
                securityContext: {
                    runAsNonRoot: true,
                    runAsUser: PROBE_UID,
                    runAsGroup: PROBE_UID,
                    // Makes the 0440 key file readable by the probe user.
                    fsGroup: PROBE_UID,
                    seccompProfile: { type: "RuntimeDefault" },
                },
                containers: [
                    {
                        name: "probe",
                        image: input.image,
                        command: ["/bin/sh", "-c", probeScript(input)],
                        // Exactly what a runner pod gets, so the probe proves the runners' path.
                        env: [...runnerBuildkitEnv(input), { name: "HOME", value: "/tmp" }],
                        resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                        securityContext: {
                            allowPrivilegeEscalation: false,
                            readOnlyRootFilesystem: true,
                            capabilities: { drop: ["ALL"] },
                        },
                        terminationMessagePolicy: "FallbackToLogsOnError",
                        volumeMounts: [
                            { name: "client-tls", mountPath: PROBE_TLS_DIR, readOnly: true },
                            { name: "tmp", mountPath: "/tmp" },
                        ],
                    },
                ],
                volumes: [
                    { name: "client-tls", secret: { secretName: input.clientSecretName, defaultMode: 0o440 } },
                    { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
                ],
            },
        },
    };
}

export interface BuildkitProbeArgs {
    /** The BuildKit image, pinned by digest; it carries `buildctl`. Required. */
    image: string;
    /** Published endpoint (`tcp://buildkitd.buildkit.svc.cluster.local:1234`). Required. */
    endpoint: pulumi.Input<string>;
    /** Each builder's own address, also checked. Required (may be empty). */
    podEndpoints: pulumi.Input<string[]>;
    /** Name the server certificate is verified against. Required. */
    serverName: pulumi.Input<string>;
    /** Platforms every builder must list. Required. */
    platforms: readonly string[];
    /** Namespace the probe runs in: the runners', so it takes their network path. Required. */
    namespace: pulumi.Input<string>;
    /** The runners' client TLS Secret, mounted as runner pods mount it. Required. */
    clientSecretName: string;
    /** Everything whose change must rerun the probe (daemon config, image, certificates). Required. */
    revision: pulumi.Input<string>[];
    /** Deadline of the probe Job. Default in config: 300. */
    timeoutSeconds: number;
    /** How long a finished Job is kept. Default in config: 3600. */
    keepFinishedSeconds: number;
    /** Certificates whose days left the probe reports (notAfter as RFC 3339). Default: none. */
    certificates?: { certificate: string; notAfter: pulumi.Input<string> }[];
    /** Fail below this many days left. Default in config: 14. */
    minCertificateDays?: number;
}

/**
 * A Job `pulumi up` waits for, proving the deployed endpoint works the way runners use it: with the
 * client certificate `buildctl debug workers -v` succeeds and lists every platform, and without one
 * the daemon refuses. A failed probe fails the deployment. The Job's name carries a hash of the
 * daemon's image, config and certificates, so any change to them replaces it and the probe runs
 * again; the old Job is deleted by Pulumi, a finished one by Kubernetes after `keepFinishedSeconds`.
 */
export class BuildkitProbe extends pulumi.ComponentResource {
    public readonly jobName: pulumi.Output<string>;

    constructor(name: string, args: BuildkitProbeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("arc-buildkit:probe:BuildkitProbe", name, {}, opts);
        const revision = pulumi
            .all([args.endpoint, args.podEndpoints, args.serverName, ...args.revision])
            .apply((parts) => probeRevision([args.image, ...args.platforms, JSON.stringify(parts)]));
        const job = new k8s.batch.v1.Job(
            PROBE_NAME,
            {
                metadata: {
                    name: pulumi.interpolate`${PROBE_NAME}-${revision}`,
                    namespace: args.namespace,
                    labels: { "app.kubernetes.io/name": PROBE_NAME, "app.kubernetes.io/part-of": "arc-buildkit" },
                    // A probe that failed is run again (replaced) on the next `pulumi up`, not just awaited.
                    annotations: { "pulumi.com/replaceUnready": "true" },
                },
                spec: pulumi.all([args.endpoint, args.podEndpoints, args.serverName, pulumi.all((args.certificates ?? []).map((c) => c.notAfter))]).apply(([endpoint, podEndpoints, serverName, notAfters]) =>
                    probeJobSpec({
                        certificates: (args.certificates ?? []).map((c, i) => ({ certificate: c.certificate, notAfterEpoch: Math.floor(Date.parse(notAfters[i]) / 1000) })),
                        minCertificateDays: args.minCertificateDays,
                        image: args.image,
                        endpoint,
                        serverName,
                        addresses: [endpoint, ...podEndpoints],
                        platforms: args.platforms,
                        clientSecretName: args.clientSecretName,
                        timeoutSeconds: args.timeoutSeconds,
                        keepFinishedSeconds: args.keepFinishedSeconds,
                    }),
                ),
            },
            {
                parent: this,
                // Pulumi waits for the Job to complete; leave time for the image pull beyond its own deadline.
                customTimeouts: { create: `${args.timeoutSeconds + 120}s`, update: `${args.timeoutSeconds + 120}s` },
            },
        );
        this.jobName = job.metadata.name;
        this.registerOutputs({ jobName: this.jobName });
    }
}
