import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { tierAntiAffinity, tierPodLabels } from "../kubernetes/tier-isolation";
import { clientTlsMount, clientTlsVolume, runnerBuildkitEnv } from "../kubernetes/buildkit-client";
import { BUILDKIT_METRICS_PORT, RUNNER_ENV } from "../../contracts";

type JobSpec = k8s.types.input.batch.v1.JobSpec;

export const PROBE_NAME = "buildkit-probe";
/** The runbook's section the failure messages send the operator to. */
// No apostrophe: the probe's shell prints it inside single quotes.
export const RUNBOOK = 'the arc-buildkit runbook, docs/runbook.md, "Triage"';
/** Unprivileged user the probe runs as (`nobody`). */
const PROBE_UID = 65534;

export interface ProbeScriptInput {
    /** Addresses to check: the published endpoint first, then each builder pod's own address. */
    addresses: readonly string[];
    /** Platforms every checked builder must list. */
    platforms: readonly string[];
    /**
     * Prove each platform by running a step: a one-step build per platform and address, `FROM`
     * this image (pinned by digest; the builder pulls it, so this needs registry egress). Listing a
     * platform proves nothing: a worker lists its configured platforms even without an emulator.
     * Default: no builds.
     */
    build?: { image: string };
    /** Certificates whose remaining lifetime is checked, with their notAfter in seconds since the epoch. Default: none. */
    certificates?: readonly { certificate: string; notAfterEpoch: number }[];
    /** Fail when a certificate has fewer whole days left than this. Default: 14. */
    minCertificateDays?: number;
    /**
     * With `build`: also run, on every address, one build step that tries to reach what a build must
     * never reach (the metadata endpoint, the WireServer, the daemon's debug port on its loopback and
     * through the build-step bridge's gateway), and report its user namespace; fail if it reached any.
     * `expectUserNamespace`: also fail when the step runs with the node's own UIDs (the daemon pod
     * has no user namespace). Default: no isolation check.
     */
    isolation?: { expectUserNamespace: boolean };
}

/** The isolation step's script file in its build context. */
export const ISOLATION_STEP_FILE = "isolation-step.sh";
/** What the isolation step writes, one `key=value` per line; the build exports just this file. */
export const ISOLATION_RESULT_FILE = "probe-isolation";
/** The identity map: a process that sees it runs with the node's own UIDs (no user namespace). */
export const HOST_UID_MAP = "0 0 4294967295";

/**
 * The POSIX shell script a build step runs (BusyBox sh in the BuildKit image; also dash). It tries
 * a TCP connection (an HTTP request, so a server that answers counts as reached even when `nc`
 * exits non-zero) to the instance metadata endpoint, the WireServer, the daemon's debug port on the
 * step's loopback (reached only when steps share the daemon's network namespace) and on the step's
 * default gateway (the bridge's address in the daemon pod, reached only without the sandbox
 * firewall), and prints the first line of its uid_map. `PROBE_PROC` replaces /proc, for tests.
 */
export function isolationStepScript(): string {
    return [
        "proc=${PROBE_PROC:-/proc}",
        "reach() {",
        String.raw`  if out=$(printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 "$1" "$2" 2>/dev/null); then echo open; return; fi`,
        '  if [ -n "$out" ]; then echo open; else echo closed; fi',
        "}",
        // The default route's gateway, little-endian hex in /proc/net/route.
        `gw_hex=$(awk '$2 == "00000000" { print $3; exit }' "$proc/net/route" 2>/dev/null)`,
        'gateway=""',
        'if [ -n "$gw_hex" ]; then',
        String.raw`  gateway=$(echo "$gw_hex" | sed 's/^\(..\)\(..\)\(..\)\(..\)$/\4 \3 \2 \1/' | { read -r a b c d; printf '%d.%d.%d.%d' "0x$a" "0x$b" "0x$c" "0x$d"; })`,
        "fi",
        'echo "gateway=${gateway:-none}"',
        'echo "metadata=$(reach 169.254.169.254 80)"',
        'echo "wireserver=$(reach 168.63.129.16 80)"',
        `echo "debug_loopback=$(reach 127.0.0.1 ${BUILDKIT_METRICS_PORT})"`,
        `if [ -n "$gateway" ]; then echo "debug_gateway=$(reach "$gateway" ${BUILDKIT_METRICS_PORT})"; else echo "debug_gateway=closed"; fi`,
        `echo "uid_map=$(awk 'NR == 1 { print $1, $2, $3 }' "$proc/self/uid_map" 2>/dev/null)"`,
    ].join("\n");
}

/**
 * Shell lines (inside the per-address loop, `$addr` set) that run the isolation step on that
 * address and fail, naming what was reached, unless everything was out of reach.
 */
function isolationCheckLines(expectUserNamespace: boolean): string[] {
    const buildctl = `buildctl --addr "$addr" --tlscacert "$tls_ca" --tlscert "$tls_cert" --tlskey "$tls_key" --tlsservername "$server_name" --timeout 60`;
    return [
        `  rm -rf "$build_dir/isolation-out"`,
        `  if ! log=$(${buildctl} build --frontend dockerfile.v0 --local context="$build_dir/isolation" --local dockerfile="$build_dir/isolation" --no-cache --progress plain --output type=local,dest="$build_dir/isolation-out" 2>&1); then`,
        `    fail "the isolation build step on $addr failed: $(printf '%s' "$log" | tail -n 3 | tr '\n' ' ')"`,
        "  fi",
        `  result="$build_dir/isolation-out/${ISOLATION_RESULT_FILE}"`,
        `  [ -s "$result" ] || fail "the isolation build step on $addr exported no result"`,
        `  [ "$(result_value metadata)" = closed ] || fail "a build step on $addr reached the instance metadata endpoint 169.254.169.254:80: builders' egress must exclude 169.254.0.0/16 (is a NetworkPolicy engine enforcing buildkitd-egress?)"`,
        `  [ "$(result_value wireserver)" = closed ] || fail "a build step on $addr reached Azure's WireServer 168.63.129.16:80: builders' egress must exclude it"`,
        `  [ "$(result_value debug_loopback)" = closed ] || fail "a build step on $addr reached the daemon's debug port on 127.0.0.1:${BUILDKIT_METRICS_PORT}: build steps share the daemon's network namespace (buildkitd.toml must set networkMode bridge)"`,
        `  [ "$(result_value debug_gateway)" = closed ] || fail "a build step on $addr reached the daemon's debug port through the bridge gateway $(result_value gateway):${BUILDKIT_METRICS_PORT}: the sandbox-firewall init container's rule is missing"`,
        ...(expectUserNamespace
            ? [
                  `  uid_map=$(result_value uid_map)`,
                  `  if [ -z "$uid_map" ] || [ "$uid_map" = '${HOST_UID_MAP}' ]; then fail "a build step on $addr runs with the node's own user IDs (uid_map '$uid_map'): the daemon pod has no user namespace; hostUsers: false needs Kubernetes 1.33+ (or the UserNamespacesSupport feature gate), containerd 2.0+, runc 1.2+ and Linux 6.3+, else set buildkit.sandbox.userNamespace to false"; fi`,
              ]
            : []),
        `  printf 'a build step on %s reached neither the metadata endpoint, the WireServer nor the daemon (uid_map: %s)\n' "$addr" "$(result_value uid_map)"`,
    ];
}

/**
 * What `uname -m` prints inside a container of each platform, as a `case` pattern: under QEMU or
 * natively. 32-bit Arm prints armv6l, armv7l, or armv8l (an arm64 kernel running 32-bit code).
 */
export const UNAME_MACHINE: Readonly<Record<string, string>> = {
    "linux/amd64": "x86_64",
    "linux/arm64": "aarch64",
    "linux/arm/v7": "armv*",
    "linux/arm/v6": "armv*",
    "linux/386": "i[3-6]86",
    "linux/ppc64le": "ppc64le",
    "linux/s390x": "s390x",
    "linux/riscv64": "riscv64",
};

/**
 * Shell lines (inside the per-address loop, `$addr` set) that build, for each platform, a two-stage
 * Dockerfile whose only step runs `uname -m` on that platform and exports just its output; the
 * output must be the platform's machine name. `--no-cache`: a cached result would prove nothing.
 */
function platformBuildLines(platforms: readonly string[], image: string, q: (s: string) => string): string[] {
    const cases = platforms.map((p) => `      ${q(p)}) want=${q(UNAME_MACHINE[p] ?? "*")} ;;`);
    return [
        `  for platform in ${platforms.map(q).join(" ")}; do`,
        `    rm -rf "$build_dir/out"`,
        `    if ! log=$(buildctl --addr "$addr" --tlscacert "$tls_ca" --tlscert "$tls_cert" --tlskey "$tls_key" --tlsservername "$server_name" --timeout 30 build --frontend dockerfile.v0 --local context="$build_dir/context" --local dockerfile="$build_dir/context" --opt platform="$platform" --no-cache --progress plain --output type=local,dest="$build_dir/out" 2>&1); then`,
        // The step's own error (such as "exec format error": no emulator) comes before buildctl's summary.
        `      detail=$(printf '%s\n' "$log" | grep -E 'exec format error|^error:' | sed 's/^#[0-9]* [0-9.]* //' | awk '!seen[$0]++' | tail -n 2 | tr '\n' ' ')`,
        `      [ -n "$detail" ] || detail=$(printf '%s' "$log" | tail -n 3 | tr '\n' ' ')`,
        `      fail "a one-step build for $platform on $addr failed (is its QEMU emulator registered, can the builder pull ${image}?): $detail"`,
        "    fi",
        `    got=$(cat "$build_dir/out/probe-arch" 2>/dev/null || true)`,
        `    case "$platform" in`,
        ...cases,
        "    esac",
        // The pattern is unquoted on purpose: it is a case pattern such as armv*.
        `    # shellcheck disable=SC2254`,
        `    case "$got" in $want) ;; *) fail "the build step for $platform on $addr ran as '$got', not as $platform" ;; esac`,
        `    printf 'a build step for %s ran on %s (uname -m: %s)\n' "$platform" "$addr" "$got"`,
        "  done",
    ];
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
        ...(input.build
            ? [
                  `build_dir=$(mktemp -d "\${TMPDIR:-/tmp}/probe.XXXXXX") || fail "cannot create a build directory"`,
                  `mkdir -p "$build_dir/context"`,
                  `printf 'FROM %s AS run\nRUN uname -m > /probe-arch\nFROM scratch\nCOPY --from=run /probe-arch /probe-arch\n' ${q(input.build.image)} > "$build_dir/context/Dockerfile"`,
              ]
            : []),
        ...(input.build && input.isolation
            ? [
                  `mkdir -p "$build_dir/isolation"`,
                  `printf 'FROM %s AS run\nCOPY ${ISOLATION_STEP_FILE} /${ISOLATION_STEP_FILE}\nRUN sh /${ISOLATION_STEP_FILE} > /${ISOLATION_RESULT_FILE}\nFROM scratch\nCOPY --from=run /${ISOLATION_RESULT_FILE} /${ISOLATION_RESULT_FILE}\n' ${q(input.build.image)} > "$build_dir/isolation/Dockerfile"`,
                  // One quoted argument per line (no here-document: every reader of the Job, the policy pack
                  // included, parses the command as plain words).
                  `printf '%s\\n' ${isolationStepScript().split("\n").map(q).join(" ")} > "$build_dir/isolation/${ISOLATION_STEP_FILE}"`,
                  `result_value() { sed -n "s/^$1=//p" "$result" | head -n 1; }`,
              ]
            : []),
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
        ...(input.build ? platformBuildLines(input.platforms, input.build.image, q) : []),
        ...(input.build && input.isolation ? isolationCheckLines(input.isolation.expectUserNamespace) : []),
        "done",
        `echo "buildkit probe passed: mTLS enforced, platforms ${input.platforms.join(" ")} ${input.build ? "each ran a build step" : "listed"}"`,
    ].join("\n");
}

/** A short hash of everything whose change must rerun the probe; it names the Job. */
export function probeRevision(parts: readonly string[]): string {
    return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 10);
}

/**
 * The Job's name: `buildkit-probe-<hash>` of every input of the Job (its namespace, labels,
 * annotations and whole spec) and of what it checks without seeing it (daemon config, certificates).
 * pulumi-kubernetes replaces a Job only when `spec.template`, `completions`, `parallelism` or
 * `selector` change (provider/pkg/provider/diff.go) and updates anything else in place, which fails
 * with NotFound once `ttlSecondsAfterFinished` has deleted the Job. With every input in the name,
 * any change is a new name, so a replacement: the new Job is created, and deleting the old one
 * succeeds even when it is already gone. Nothing is ever updated in place.
 */
export function probeJobName(job: { metadata: Record<string, unknown>; spec: JobSpec }, revision: readonly string[]): string {
    return `${PROBE_NAME}-${probeRevision([JSON.stringify(job), ...revision])}`;
}

export interface ProbeJobInput extends ProbeScriptInput {
    image: string;
    /** The published endpoint and server name, exported as the runners' variables. */
    endpoint: string;
    serverName: string;
    clientSecretName: string;
    timeoutSeconds: number;
    keepFinishedSeconds: number;
    /** The tier it proves and the stack's other tiers: its pod carries the tier's client key, so it keeps off their nodes. Default: none. */
    tier?: { name: string; others: readonly string[] };
}

/**
 * A failed probe is run again by the next `up`, whatever happened to its Job in between.
 *
 * A probe that fails leaves its Job in the state with initialization errors. Without these options the
 * engine retries such a resource with an update (pulumi/pulumi pkg/resource/deploy/step_generator.go:
 * "If resource was unchanged, but there were initialization errors, generate an empty update step"),
 * and pulumi-kubernetes' update starts by reading the live Job (provider/pkg/await/await.go, `Update`:
 * `client.Get(...)`; `if err != nil { return nil, err }`), which fails with NotFound once
 * `ttlSecondsAfterFinished` has deleted it: every later `up` fails until a `refresh`. The
 * `pulumi.com/replaceUnready` annotation does not help there: its check ignores the NotFound
 * (provider.go `Diff`: "Fetch current Job status ... Errors are ignored").
 * - `replaceOnChanges: ["*"]` makes the engine replace, not update, a resource with initialization
 *   errors (`applyReplaceOnChanges`: a path that contains the special `#initerror` key, which `*` does,
 *   turns the init error into a replacement);
 * - `deleteBeforeReplace`, because the new Job has the same name: the old one is deleted first, and a
 *   delete of a Job the TTL already removed succeeds (await.go `Deletion`: NotFound is success).
 * Every other change renames the Job (see {@link probeJobName}), so it is a replacement anyway.
 */
export const PROBE_JOB_LIFECYCLE: Pick<pulumi.CustomResourceOptions, "replaceOnChanges" | "deleteBeforeReplace"> = {
    replaceOnChanges: ["*"],
    deleteBeforeReplace: true,
};

/** Labels and annotations of the probe Job. */
export const PROBE_JOB_LABELS = { "app.kubernetes.io/name": PROBE_NAME, "app.kubernetes.io/part-of": "arc-buildkit" } as const;
// A probe that failed is run again (replaced) on the next `pulumi up`, not just awaited.
export const PROBE_JOB_ANNOTATIONS = { "pulumi.com/replaceUnready": "true" } as const;

/**
 * The Job: one unprivileged pod (Pod Security `restricted`), no retries beyond one, a hard
 * deadline, and Kubernetes deletes it `keepFinishedSeconds` after it finishes.
 */
export function probeJobSpec(input: ProbeJobInput): JobSpec {
    const affinity = tierAntiAffinity(input.tier?.others ?? []);
    return {
        backoffLimit: 1,
        activeDeadlineSeconds: input.timeoutSeconds,
        ttlSecondsAfterFinished: input.keepFinishedSeconds,
        template: {
            metadata: { labels: { ...PROBE_JOB_LABELS, ...(input.tier ? tierPodLabels(input.tier.name) : {}) } },
            spec: {
                ...(affinity ? { affinity } : {}),
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
                        volumeMounts: [clientTlsMount("client-tls"), { name: "tmp", mountPath: "/tmp" }],
                    },
                ],
                volumes: [clientTlsVolume("client-tls", input.clientSecretName), { name: "tmp", emptyDir: { sizeLimit: "16Mi" } }],
            },
        },
    };
}

export interface BuildkitProbeArgs {
    /** The tier it proves and the stack's other tiers (see {@link ProbeJobInput}). Default: none. */
    tier?: { name: string; others: readonly string[] };
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
    /** The runners' client TLS Secret, mounted as runner pods mount it: the declared Secret's `metadata.name`, so the Job waits for it. Required. */
    clientSecretName: pulumi.Input<string>;
    /** Everything whose change must rerun the probe (daemon config, image, certificates). Required. */
    revision: pulumi.Input<string>[];
    /** Deadline of the probe Job. Default in config: 300. */
    timeoutSeconds: number;
    /** How long a finished Job is kept. Default in config: 3600. */
    keepFinishedSeconds: number;
    /** Run a one-step build per platform on every builder (needs registry egress). Default in config: true. */
    buildEachPlatform: boolean;
    /** Certificates whose days left the probe reports (notAfter as RFC 3339). Default: none. */
    certificates?: { certificate: string; notAfter: pulumi.Input<string> }[];
    /** Fail below this many days left. Default in config: 14. */
    minCertificateDays?: number;
    /** With builds: prove a build step reaches neither the metadata endpoint nor the daemon (see {@link ProbeScriptInput.isolation}). Default: off. */
    isolation?: { expectUserNamespace: boolean };
}

/**
 * A Job `pulumi up` waits for, proving the deployed endpoint works the way runners use it: with the
 * client certificate `buildctl debug workers -v` succeeds and lists every platform, each platform
 * runs a build step (unless `buildEachPlatform` is off), and without a certificate the daemon
 * refuses. A failed probe fails the deployment. The Job's name carries a hash of all its inputs and
 * of the daemon's config and certificates ({@link probeJobName}), so any change replaces it and the
 * probe runs again; the old Job is deleted by Pulumi, a finished one by Kubernetes after
 * `keepFinishedSeconds`.
 */
export class BuildkitProbe extends pulumi.ComponentResource {
    public readonly jobName: pulumi.Output<string>;

    constructor(name: string, args: BuildkitProbeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("arc-buildkit:probe:BuildkitProbe", name, {}, opts);
        const inputs = pulumi
            .all([
                args.namespace,
                args.endpoint,
                args.podEndpoints,
                args.serverName,
                pulumi.all(args.revision),
                pulumi.all((args.certificates ?? []).map((c) => c.notAfter)),
                args.clientSecretName,
            ])
            .apply(([namespace, endpoint, podEndpoints, serverName, revision, notAfters, clientSecretName]) => {
                const spec = probeJobSpec({
                    certificates: (args.certificates ?? []).map((c, i) => ({
                        certificate: c.certificate,
                        notAfterEpoch: Math.floor(Date.parse(notAfters[i]) / 1000),
                    })),
                    minCertificateDays: args.minCertificateDays,
                    ...(args.isolation ? { isolation: { ...args.isolation } } : {}),
                    image: args.image,
                    endpoint,
                    serverName,
                    addresses: [endpoint, ...podEndpoints],
                    platforms: args.platforms,
                    ...(args.buildEachPlatform ? { build: { image: args.image } } : {}),
                    clientSecretName,
                    timeoutSeconds: args.timeoutSeconds,
                    keepFinishedSeconds: args.keepFinishedSeconds,
                    ...(args.tier ? { tier: args.tier } : {}),
                });
                const metadata = { namespace, labels: { ...PROBE_JOB_LABELS }, annotations: { ...PROBE_JOB_ANNOTATIONS } };
                return { metadata: { name: probeJobName({ metadata, spec }, revision), ...metadata }, spec };
            });
        // A URN names the parent's type, not its name: each tier's probe needs a Job name of its own
        // (the shared tier's keeps the one it always had).
        const job = new k8s.batch.v1.Job(
            name === "buildkit" ? PROBE_NAME : `${name}-probe`,
            { metadata: inputs.metadata, spec: inputs.spec },
            {
                parent: this,
                // Pulumi waits for the Job to complete; leave time for the image pull beyond its own deadline.
                customTimeouts: { create: `${args.timeoutSeconds + 120}s`, update: `${args.timeoutSeconds + 120}s` },
                ...PROBE_JOB_LIFECYCLE,
            },
        );
        this.jobName = job.metadata.name;
        this.registerOutputs({ jobName: this.jobName });
    }
}
