import type { Output } from "@pulumi/pulumi";
import { z } from "zod";
import { wholeNumber } from "./numbers";
import { BUILDKIT_GRPC_PORT, BUILDKITD_NAME, BUILDKIT_NAMESPACE, CLUSTER_DOMAIN } from "../contracts";
import { aksCluster, zonalCacheIssues } from "./aks";
import { ArcKeyVaultSettings, arcSchema, runnerWiringIssues } from "./arc";
import { availabilityIssues } from "./availability";
import { GithubCredentials, githubSchema } from "./github";
import { admissionSchema } from "./admission";
import { monitoringSchema } from "./monitoring";
import { probeBuildIssues, probeSchema } from "./probe";
import { byteQuantity as parsedByteQuantity, cpuMillicores, isByteQuantity, isCpuQuantity } from "./quantity";
import { buildkitSandboxSchema, historyByTierSchema, networkSchema, sandboxIssues } from "./sandbox";
import { sizingIssues } from "./sizing";
import { tierIssues, tiersSchema } from "./tiers";

/**
 * The schema of every stack config value under the `arc-buildkit:` namespace. Pure: no Pulumi calls,
 * so it is tested directly. Defaults live here and only here; docs/configuration.md mirrors them.
 */

/** Platforms a BuildKit OCI worker can build for, with QEMU emulation where the node is another arch. */
export const SUPPORTED_PLATFORMS = [
    "linux/amd64",
    "linux/arm64",
    "linux/arm/v7",
    "linux/arm/v6",
    "linux/386",
    "linux/ppc64le",
    "linux/s390x",
    "linux/riscv64",
] as const;
export type Platform = (typeof SUPPORTED_PLATFORMS)[number];

/** Smallest cache volume the derived garbage-collection thresholds still make sense for. */
export const MIN_CACHE_BYTES = 5 * 2 ** 30;

const DIGEST_PINNED = /^[a-z0-9]+(?:[._\-/:][a-z0-9]+)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[a-f0-9]{64}$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?$/;
/** GitHub runner labels: what `runs-on:` accepts and ARC uses as the scale set name. */
const RUNNER_LABEL = /^[a-z0-9]([-a-z0-9]{0,43}[a-z0-9])?$/;

/**
 * Names of the client Service that resolve from the runner namespace, so the endpoint's host is
 * always in the server certificate. The bare `buildkitd` is in the certificate but not allowed here:
 * runners live in `arc-runners`, where it would resolve to a Service of that namespace, or to nothing.
 */
export const SERVICE_HOSTS = [
    `${BUILDKITD_NAME}.${BUILDKIT_NAMESPACE}`,
    `${BUILDKITD_NAME}.${BUILDKIT_NAMESPACE}.svc`,
    `${BUILDKITD_NAME}.${BUILDKIT_NAMESPACE}.svc.${CLUSTER_DOMAIN}`,
];

const image = z
    .string({ error: "expected an image reference string" })
    .regex(DIGEST_PINNED, { error: "expected an image pinned by digest, such as registry/name:tag@sha256:<64 hex digits>" });

const byteQuantity = z
    .string({ error: 'expected a Kubernetes quantity string such as "64Gi"' })
    .refine(isByteQuantity, { error: 'expected a Kubernetes quantity such as "64Gi" or "512Mi" (binary Ki/Mi/Gi/Ti or decimal k/M/G/T suffix)', abort: true });

const cpuQuantity = z
    .string({ error: 'expected a CPU quantity string such as "500m" or "2"' })
    .refine(isCpuQuantity, { error: 'expected a CPU quantity such as "500m" or "2"', abort: true });

const k3dCluster = z.strictObject({
    /** A k3d cluster on a laptop, reached through a kube context. */
    kind: z.literal("k3d"),
    /** Kube context to deploy to. Default `k3d-buildkit` (what `k3d cluster create buildkit` writes). */
    kubeContext: z.string().min(1).default("k3d-buildkit"),
});

const cluster = z.discriminatedUnion("kind", [k3dCluster, aksCluster], {
    error: 'expected an object with kind "k3d" (with kubeContext) or "aks" (with resourceGroup, clusterName and pool)',
});

// Memory is parsed here, once: the container gets its Kubernetes form and the sizing rules its bytes.
const memoryQuantity = byteQuantity.transform(parsedByteQuantity);
const resources = z.strictObject({
    requests: z.strictObject({ cpu: cpuQuantity, memory: memoryQuantity }),
    limits: z.strictObject({ cpu: cpuQuantity.optional(), memory: memoryQuantity }),
});

const registryMirrors = z.record(
    z.string().regex(HOSTNAME, { error: "expected a registry host name such as docker.io" }),
    z.array(z.string().regex(HOSTNAME, { error: "expected a mirror host name such as mirror.gcr.io" })).min(1),
);

const binfmt = z.strictObject({
    /** Install QEMU emulators on the nodes that run builders, so they can build foreign platforms. */
    enabled: z.boolean().default(true),
    /** The tonistiigi/binfmt image, pinned by digest. */
    image: image.default("tonistiigi/binfmt:qemu-v10.2.3@sha256:400a4873b838d1b89194d982c45e5fb3cda4593fbfd7e08a02e76b03b21166f0"),
    /** Image of the idle container that keeps the DaemonSet pod running after the install. */
    pauseImage: image.default("registry.k8s.io/pause:3.10@sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a"),
});

const buildkit = z
    .strictObject({
        image,
        replicas: wholeNumber(1, 20),
        rootless: z.boolean().default(false),
        platforms: z
            .array(z.enum(SUPPORTED_PLATFORMS, { error: `expected platforms from: ${SUPPORTED_PLATFORMS.join(", ")}` }))
            .min(1, { error: "expected at least one platform" })
            .default(["linux/amd64", "linux/arm64"]),
        maxParallelism: wholeNumber(1, 64).default(4),
        cache: z.strictObject({
            // Parsed here, once: the volume's size and every GC threshold come from this one value.
            size: byteQuantity.transform(parsedByteQuantity).refine((q) => q.bytes >= MIN_CACHE_BYTES, {
                error: "expected a cache volume of at least 5Gi (garbage collection keeps a fifth of it free)",
            }),
            storageClass: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { error: "expected a StorageClass name" }),
        }),
        resources: resources.prefault({
            requests: { cpu: "500m", memory: "1Gi" },
            limits: { memory: "4Gi" },
        }),
        drainTimeoutSeconds: wholeNumber(0, 86400, "seconds").default(900),
        registryMirrors: registryMirrors.default({}),
        binfmt: binfmt.prefault({}),
        /** Build-step isolation: the daemon's user namespace and the build-step bridge (docs/build-sandbox.md). */
        sandbox: buildkitSandboxSchema.prefault({}),
        /** BuildKit's `[history]` per trust tier (docs/build-sandbox.md). */
        history: historyByTierSchema.prefault({}),
        endpoint: z
            .string()
            .refine(isServiceEndpoint, {
                error: `expected tcp://<host>:${BUILDKIT_GRPC_PORT} where <host> is one of ${SERVICE_HOSTS.join(", ")}`,
            })
            .optional(),
    })
    .check((ctx) => {
        const { resources: r, rootless, image: ref } = ctx.value;
        if (r.requests.memory.bytes > r.limits.memory.bytes) {
            ctx.issues.push({
                code: "custom",
                path: ["resources", "requests", "memory"],
                input: r.requests.memory.quantity,
                message: "expected a memory request no larger than the memory limit",
            });
        }
        if (r.limits.cpu && cpuMillicores(r.requests.cpu) > cpuMillicores(r.limits.cpu)) {
            ctx.issues.push({
                code: "custom",
                path: ["resources", "requests", "cpu"],
                input: r.requests.cpu,
                message: "expected a CPU request no larger than the CPU limit",
            });
        }
        if (rootless && !/:[^@/]*-rootless@/.test(ref)) {
            ctx.issues.push({
                code: "custom",
                path: ["image"],
                input: ref,
                message:
                    "expected the rootless variant of the BuildKit image (a tag ending in -rootless, such as moby/buildkit:v0.31.2-rootless@sha256:...) because rootless is true",
            });
        }
    });

/** CA slots: each is its own key and certificate; see components/pki for the rotation they allow. */
export const CA_SLOTS = ["a", "b"] as const;

const tlsSchema = z
    .strictObject({
        /** Lifetime of each CA certificate. Its renewal keeps the CA key, so it breaks nothing (docs/runbook.md, "Certificates"). */
        caValidityHours: wholeNumber(24, 24 * 365 * 20, "hours").default(24 * 365 * 5),
        /** Lifetime of the server and client certificates. */
        validityHours: wholeNumber(24, 24 * 365 * 5, "hours").default(24 * 90),
        /** How long before expiry `pulumi up` re-issues a certificate (and the CA). */
        earlyRenewalHours: wholeNumber(1, 24 * 365 * 5, "hours").default(24 * 30),
        /**
         * Period of the scheduled `pulumi up` (.github/workflows/renew.yml's cron). Must leave at least
         * two runs inside the early-renewal window, so one failed run cannot let a certificate expire.
         */
        renewalIntervalHours: wholeNumber(1, 24 * 90, "hours").default(24 * 7),
        /** CA slots every trust bundle (`ca.crt`) holds, in order. Two slots only while rotating the CA key. */
        caSlots: z
            .array(z.enum(CA_SLOTS, { error: `expected CA slots from: ${CA_SLOTS.join(", ")}` }))
            .min(1, { error: "expected at least one CA slot" })
            .max(2, { error: "expected at most two CA slots" })
            .refine((slots) => new Set(slots).size === slots.length, { error: "expected each CA slot once" })
            .default(["a"]),
        /** The slot whose CA signs the server and client certificates; must be in caSlots. */
        caSigner: z.enum(CA_SLOTS, { error: `expected one of: ${CA_SLOTS.join(", ")}` }).default("a"),
    })
    .check((ctx) => {
        const { validityHours, earlyRenewalHours, caValidityHours, renewalIntervalHours, caSlots, caSigner } = ctx.value;
        if (earlyRenewalHours >= validityHours) {
            ctx.issues.push({
                code: "custom",
                path: ["earlyRenewalHours"],
                input: earlyRenewalHours,
                message: `expected fewer hours than validityHours (${validityHours}), or every up would re-issue the certificates`,
            });
        }
        if (validityHours > caValidityHours) {
            ctx.issues.push({
                code: "custom",
                path: ["validityHours"],
                input: validityHours,
                message: `expected no more than caValidityHours (${caValidityHours}): a certificate cannot outlive its CA`,
            });
        }
        const window = renewalWindowHours(ctx.value);
        if (2 * renewalIntervalHours > window) {
            ctx.issues.push({
                code: "custom",
                path: ["renewalIntervalHours"],
                input: renewalIntervalHours,
                message: `expected at most half of the early-renewal window (${window} hours, from earlyRenewalHours and caValidityHours), so the scheduled up runs at least twice inside it; lower it (and the cron in .github/workflows/renew.yml) or raise earlyRenewalHours`,
            });
        }
        if (!caSlots.includes(caSigner)) {
            ctx.issues.push({
                code: "custom",
                path: ["caSigner"],
                input: caSigner,
                message: `expected one of caSlots (${caSlots.join(", ")}): clients must trust the CA that signs their peer`,
            });
        }
    });

/** Hours before expiry in which `pulumi up` re-issues both the certificates and the CA (the smaller window wins). */
export function renewalWindowHours(tls: { earlyRenewalHours: number; caValidityHours: number }): number {
    return Math.min(tls.earlyRenewalHours, tls.caValidityHours - 1);
}

/** The whole `arc-buildkit:` config namespace, keyed as in the stack files. */
export const settingsSchema = z
    .strictObject({
        cluster,
        runnerLabel: z.string({ error: "expected the runner label (runs-on) as a string" }).regex(RUNNER_LABEL, {
            error: "expected a runner label of lower-case letters, digits and '-', at most 45 characters, such as arc-aks-v2",
        }),
        buildkit,
        tls: tlsSchema.prefault({}),
        network: networkSchema.prefault({}),
        probe: probeSchema.prefault({}),
        monitoring: monitoringSchema.prefault({}),
        admission: admissionSchema.prefault({}),
        arc: arcSchema,
        github: githubSchema,
        /** Trust tiers beside the shared one (AKS only). Default: none. */
        tiers: tiersSchema.default({}),
    })
    .check((ctx) => {
        ctx.issues.push(...runnerWiringIssues(ctx.value));
        ctx.issues.push(...zonalCacheIssues(ctx.value));
        ctx.issues.push(...availabilityIssues(ctx.value));
        ctx.issues.push(...probeBuildIssues(ctx.value));
        ctx.issues.push(...sizingIssues(ctx.value.buildkit));
        ctx.issues.push(...tierIssues(ctx.value));
        ctx.issues.push(...sandboxIssues(ctx.value));
        const { probe, tls, monitoring } = ctx.value;
        // The lowest a healthy stack gets: renewed when the window opens, then one interval until the next run.
        const healthyHours = renewalWindowHours(tls) - tls.renewalIntervalHours;
        const thresholds: [string[], number, boolean][] = [
            [["probe", "minCertificateDays"], probe.minCertificateDays, probe.enabled],
            [["monitoring", "certificateWarningDays"], monitoring.certificateWarningDays, monitoring.enabled],
        ];
        for (const [path, days, enabled] of thresholds) {
            if (enabled && days * 24 > healthyHours) {
                ctx.issues.push({
                    code: "custom",
                    path,
                    input: days,
                    message: `expected at most ${Math.floor(healthyHours / 24)} days (tls.earlyRenewalHours minus tls.renewalIntervalHours): a healthy stack's certificates get that close to expiry before the scheduled up renews them`,
                });
            }
        }
    });

/**
 * Validated settings, plus the GitHub credentials (secret config read outside the schema; see ./github.ts).
 * `githubCredentials` is undefined only on a k3d stack that sets none of them: it runs without runners.
 */
export type Settings = z.output<typeof settingsSchema> & {
    githubCredentials: GithubCredentials | undefined;
    /** The admin token from the environment (`github.adminCredentials: environment`), where the stack writes to the organization. */
    githubAdminToken: Output<string> | undefined;
    /** How ARC reaches its GitHub App; undefined only on a k3d stack without credentials (no runners). */
    arcAccess: ArcAccess | undefined;
};

/** ARC's GitHub App: a Secret in each runner namespace, or Azure Key Vault read with a client certificate. */
export type ArcAccess =
    { kind: "secret"; credentials: GithubCredentials } | { kind: "keyVault"; keyVault: ArcKeyVaultSettings; certificatePem: Output<string> };
export type ClusterSettings = Settings["cluster"];
export type BuildkitSettings = Settings["buildkit"];
export type TlsSettings = Settings["tls"];
export type NetworkSettings = Settings["network"];
export type MonitoringSettings = Settings["monitoring"];
export type { TierSettings, TiersSettings } from "./tiers";
export type { ArcKeyVaultSettings, ArcSettings, ScaleSetSettings } from "./arc";
export type { GithubCredentials, GithubSettings } from "./github";

/** Top-level keys the program reads; anything else under `arc-buildkit:` is a typo. */
export const SETTINGS_KEYS = Object.keys(settingsSchema.shape) as (keyof Settings)[];

function isServiceEndpoint(endpoint: string): boolean {
    const match = /^tcp:\/\/([^:/]+):([0-9]+)$/.exec(endpoint);
    return !!match && SERVICE_HOSTS.includes(match[1]) && Number(match[2]) === BUILDKIT_GRPC_PORT;
}
