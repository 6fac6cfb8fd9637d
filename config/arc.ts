import { z } from "zod";
import { wholeNumber } from "./numbers";
import { cpuMillicores, isByteQuantity, isCpuQuantity, parseByteQuantity } from "./quantity";

/**
 * Actions Runner Controller (ARC) settings: the pinned charts, the runner image and the runner
 * scale sets. Pure, tested directly; defaults live here and the docs mirror them.
 */

/**
 * The newest `gha-runner-scale-set-*` release of actions/actions-runner-controller when this was
 * written. The controller and the scale set charts are released together and must be the same
 * version, so one setting pins both.
 */
export const DEFAULT_ARC_CHART_VERSION = "0.14.2";

/**
 * GitHub's runner image 2.331.0 (Ubuntu 24.04, runner user UID 1001), pinned by the digest of its
 * multi-arch index.
 */
export const DEFAULT_RUNNER_IMAGE = "ghcr.io/actions/actions-runner:2.331.0@sha256:dced476aa42703ebd9aafc295ce52f160989c4528e831fc3be2aef83a1b3f6da";

/** ARC's chart fails on scale set names longer than this (`Name must have up to 45 characters`). */
export const MAX_SCALE_SET_NAME_LENGTH = 45;
/** A runner label (what `runs-on:` names) that is also a valid Helm release and Kubernetes name. */
const SCALE_SET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const RUNNER_GROUP = /^[^\s/\\][^/\\]{0,99}$/;
const SEMVER = /^[0-9]+\.[0-9]+\.[0-9]+$/;
const DIGEST_PINNED = /^[a-z0-9]+(?:[._\-/:][a-z0-9]+)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[a-f0-9]{64}$/;

/** Upper bound for maxRunners: a typo such as 1000 would otherwise schedule a thousand pods. */
export const MAX_RUNNERS_LIMIT = 200;

const runnerCount = (what: string) =>
    z
        .number({ error: `expected ${what} as a whole number from 0 to ${MAX_RUNNERS_LIMIT}` })
        .int({ error: `expected ${what} as a whole number from 0 to ${MAX_RUNNERS_LIMIT}` })
        .min(0, { error: `expected ${what} of 0 or more, not a negative number` })
        .max(MAX_RUNNERS_LIMIT, { error: `expected ${what} of at most ${MAX_RUNNERS_LIMIT}` });

export const scaleSet = z
    .strictObject({
        /** The scale set's name: the label workflows put in `runs-on:`, and its Helm release name. */
        name: z
            .string({ error: "expected the scale set name (the runs-on label) as a string" })
            .max(MAX_SCALE_SET_NAME_LENGTH, {
                error: `expected at most ${MAX_SCALE_SET_NAME_LENGTH} characters (the gha-runner-scale-set chart rejects longer names)`,
            })
            .regex(SCALE_SET_NAME, { error: "expected lower-case letters, digits and '-', starting and ending with a letter or digit, such as arc-aks-v2" }),
        /**
         * More `runs-on` labels for the scale set (the chart's `scaleSetLabels`, ARC 0.14+), besides its
         * name. `local:up` names each laptop's scale set after its user and keeps the contract label
         * `arc-local` here, so two laptops never register the same scale set. Default: none.
         */
        labels: z
            .array(
                z
                    .string({ error: "expected a runner label string" })
                    .max(MAX_SCALE_SET_NAME_LENGTH, { error: `expected a label of at most ${MAX_SCALE_SET_NAME_LENGTH} characters` })
                    .regex(SCALE_SET_NAME, { error: "expected a label of lower-case letters, digits and '-', such as arc-local" }),
            )
            .refine((labels) => new Set(labels).size === labels.length, { error: "expected every label once" })
            .default([]),
        /** Idle runners kept warm. Default 0. */
        minRunners: runnerCount("minRunners").default(0),
        /** Most runners at once. Default 5. */
        maxRunners: runnerCount("maxRunners").default(5),
        /** The organization's runner group the scale set joins. Default `default`. */
        runnerGroup: z.string().regex(RUNNER_GROUP, { error: "expected a runner group name (no '/' or '\\', at most 100 characters)" }).default("default"),
    })
    .check((ctx) => {
        const { minRunners, maxRunners } = ctx.value;
        if (minRunners > maxRunners) {
            ctx.issues.push({
                code: "custom",
                path: ["minRunners"],
                input: minRunners,
                message: `expected minRunners no larger than maxRunners (${maxRunners})`,
            });
        }
    });

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * ARC's GitHub App from Azure Key Vault instead of a Secret in every runner namespace (ARC 0.14's
 * `keyVault.type: azure_key_vault`: the controller and the listeners read the App's JSON from the
 * vault, authenticating as an Entra application with a client certificate). The App key then lives in
 * no namespace where jobs run and in no stack config; the certificate that reads it sits in
 * `arc-systems`, which runs no job. docs/trust-tiers.md ("ARC's App key in the cluster") has the setup.
 */
const keyVault = z.strictObject({
    /** The vault's URI, such as https://my-vault.vault.azure.net/. */
    url: z.string().regex(/^https:\/\/[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]\.vault\.azure\.net\/?$/, {
        error: "expected a Key Vault URI such as https://my-vault.vault.azure.net/",
    }),
    /** Entra tenant of the application that reads the vault. */
    tenantId: z.string().regex(UUID, { error: "expected a tenant ID (a GUID)" }),
    /** Application (client) ID that reads the vault with its certificate (arc-buildkit:arcKeyVaultCertificate). */
    clientId: z.string().regex(UUID, { error: "expected an application (client) ID (a GUID)" }),
    /** Name of the vault secret holding ARC's App as JSON (github_app_id, github_app_installation_id, github_app_private_key). */
    secretName: z.string().regex(/^[0-9A-Za-z-]{1,127}$/, { error: "expected a Key Vault secret name (letters, digits and '-', at most 127)" }),
});
export type ArcKeyVaultSettings = z.output<typeof keyVault>;
const cpu = z
    .string({ error: 'expected a CPU quantity string such as "500m" or "2"' })
    .refine(isCpuQuantity, { error: 'expected a CPU quantity such as "500m" or "2"' });
const memory = z
    .string({ error: 'expected a memory quantity string such as "4Gi"' })
    .refine(isByteQuantity, { error: 'expected a memory quantity such as "4Gi" or "512Mi"' });

/** Default resources of the runner container: what one job may use of its node. */
export const DEFAULT_RUNNER_RESOURCES = { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "4Gi" } } as const;

/**
 * The runner container's requests and limits. Untrusted job code runs there: without limits one job
 * can starve every other pod on its node. Both limits are required.
 */
const runnerResources = z
    .strictObject({
        requests: z.strictObject({ cpu, memory }),
        limits: z.strictObject({ cpu, memory }),
    })
    .check((ctx) => {
        const { requests, limits } = ctx.value;
        if (cpuMillicores(requests.cpu) > cpuMillicores(limits.cpu)) {
            ctx.issues.push({ code: "custom", path: ["requests", "cpu"], input: requests.cpu, message: "expected a CPU request no larger than the CPU limit" });
        }
        if ((parseByteQuantity(requests.memory) ?? 0) > (parseByteQuantity(limits.memory) ?? 0)) {
            ctx.issues.push({
                code: "custom",
                path: ["requests", "memory"],
                input: requests.memory,
                message: "expected a memory request no larger than the memory limit",
            });
        }
    });

/** `arc-buildkit:arc`. */
export const arcSchema = z.strictObject({
    /** Version of both ARC charts (`gha-runner-scale-set-controller` and `gha-runner-scale-set`), from ghcr.io's OCI registry. */
    chartVersion: z.string().regex(SEMVER, { error: "expected a chart version such as 0.14.2" }).default(DEFAULT_ARC_CHART_VERSION),
    /** The runner image, pinned by digest. */
    runnerImage: z
        .string()
        .regex(DIGEST_PINNED, { error: "expected an image pinned by digest, such as ghcr.io/actions/actions-runner:2.331.0@sha256:<64 hex digits>" })
        .default(DEFAULT_RUNNER_IMAGE),
    /**
     * Seconds `select-buildkit` gives one builder to answer `buildctl debug workers` before it tries the
     * next-ranked one (runner env AMEIDE_BUILDKIT_SELECT_TIMEOUT; a job can still pass --timeout). Default 5.
     */
    selectorTimeoutSeconds: wholeNumber(1, 60, "seconds").default(5),
    /** Read ARC's GitHub App from Azure Key Vault (see above). Default: none (a Secret per runner namespace). */
    keyVault: keyVault.optional(),
    /**
     * Seconds an uninstall of a scale set (destroy, or an ARC minor upgrade) waits for busy runners to
     * finish their jobs: the scale set release's Helm timeout (components/arc/lifecycle.ts). Default 3600.
     */
    runnerDrainSeconds: wholeNumber(60, 6 * 3600, "seconds").default(3600),
    /** Requests and limits of every runner container. Default: requests 500m / 1Gi, limits 2 CPUs / 4Gi. */
    runnerResources: runnerResources.prefault({
        requests: { ...DEFAULT_RUNNER_RESOURCES.requests },
        limits: { ...DEFAULT_RUNNER_RESOURCES.limits },
    }),
    /** One gha-runner-scale-set release per entry, all in `arc-runners`. */
    scaleSets: z
        .array(scaleSet)
        .min(1, { error: "expected at least one scale set" })
        .refine((sets) => new Set(sets.map((s) => s.name)).size === sets.length, { error: "expected every scale set name once" }),
});

export type ArcSettings = z.output<typeof arcSchema>;
export type ScaleSetSettings = ArcSettings["scaleSets"][number];

/**
 * Rules that span several top-level keys: the stack's runner label must name one of its scale sets
 * (`AMEIDE_RUNS_ON` would otherwise point at no runner), and a k3d stack never publishes GitHub
 * variables (a laptop must not overwrite what the organization's workflows read).
 */
export function runnerWiringIssues(value: {
    cluster: { kind: string };
    runnerLabel: string;
    arc: { scaleSets: readonly { name: string; labels?: readonly string[] }[] };
    github: { variables: { scope: string } };
}): { code: "custom"; path: (string | number)[]; input: unknown; message: string }[] {
    const issues: { code: "custom"; path: (string | number)[]; input: unknown; message: string }[] = [];
    const names = value.arc.scaleSets.flatMap((s) => [s.name, ...(s.labels ?? [])]);
    if (!names.includes(value.runnerLabel)) {
        issues.push({
            code: "custom",
            path: ["runnerLabel"],
            input: value.runnerLabel,
            message: `expected the name or one of the labels of one of arc.scaleSets (${names.join(", ")}), because AMEIDE_RUNS_ON publishes it as the label to run on`,
        });
    }
    if (value.cluster.kind === "k3d" && value.github.variables.scope !== "none") {
        issues.push({
            code: "custom",
            path: ["github", "variables", "scope"],
            input: value.github.variables.scope,
            message: "expected \"none\" on a k3d stack: a local cluster never overwrites the organization's or repositories' AMEIDE_* variables",
        });
    }
    return issues;
}
