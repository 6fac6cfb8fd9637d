import { z } from "zod";
import { SHARED_TIER, tierNames } from "../contracts";
import { amd64Pool, arm64Pool } from "./aks";
import { scaleSet } from "./arc";
import { parseGithubConfigUrl } from "./github";
import { wholeNumber } from "./numbers";

/**
 * Trust tiers beside the shared one (`arc-buildkit:tiers`, a map from tier name to its settings).
 * The shared tier is what the top-level keys describe (`buildkit`, `arc`, `cluster.pool`, ...) and
 * keeps every contract name; any repository's jobs, pull requests included, run there. Each further
 * tier has its own CA, builders, cache volumes, node pool, runner namespace and scale sets, and a
 * GitHub runner group that admits only selected repositories and selected workflows on protected
 * refs. Pure, tested directly; docs/trust-tiers.md explains the model.
 */

/** Tier names become name suffixes (`buildkitd-<tier>-arm64-headless` must stay a DNS label) and variable names. */
const TIER_NAME = /^[a-z][a-z0-9]{0,13}$/;

/**
 * A workflow GitHub's runner-group restriction matches: `owner/repo/.github/workflows/<file>@<ref>`,
 * pinned to a branch or tag ref. No wildcards: a pattern such as `@*` or `@refs/heads/*` would let a
 * pull request's edited copy of the workflow, or any branch an author can push, run on the tier.
 */
const PINNED_WORKFLOW =
    /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})\/\.github\/workflows\/([A-Za-z0-9._-]+\.ya?ml)@refs\/(heads|tags)\/([A-Za-z0-9._/-]+)$/;

/** What {@link PINNED_WORKFLOW} captures. */
export function parsePinnedWorkflow(workflow: string): { owner: string; repository: string; file: string; ref: string } | undefined {
    const match = PINNED_WORKFLOW.exec(workflow);
    if (!match || match[5].includes("..") || match[5].endsWith("/")) {
        return undefined;
    }
    return { owner: match[1], repository: match[2], file: match[3], ref: `refs/${match[4]}/${match[5]}` };
}

const repositoryName = z
    .string({ error: "expected a repository name (without the organization)" })
    .regex(/^[A-Za-z0-9._-]{1,100}$/, { error: "expected a repository name of letters, digits, '.', '_' and '-' (without the organization)" });

/** The GitHub runner group that owns a tier: who may send jobs to its runners. */
const runnerGroup = z.strictObject(
    {
        /** The group's name in the organization. Not `default`: that group admits every repository. */
        name: z
            .string({ error: "expected the runner group's name" })
            .regex(/^[^\s/\\][^/\\]{0,99}$/, { error: "expected a runner group name (no '/' or '\\', at most 100 characters)" })
            .refine((name) => name.toLowerCase() !== "default", {
                error: "expected a runner group of the tier's own, not `default` (the organization's default group admits every repository)",
            }),
        /** Repositories (names within the organization) the group admits. At least one. */
        repositories: z
            .array(repositoryName)
            .min(1, { error: "expected at least one repository: a tier's runner group admits selected repositories only" })
            .refine((names) => new Set(names.map((n) => n.toLowerCase())).size === names.length, { error: "expected each repository once" }),
        /**
         * Workflows the group runs, each pinned to a protected ref
         * (`<org>/<repo>/.github/workflows/release.yml@refs/heads/main`). At least one: a tier whose group
         * admits all workflows would run whatever a pull request's edited workflow asks for.
         */
        workflows: z
            .array(
                z.string({ error: "expected a workflow reference string" }).refine((w) => parsePinnedWorkflow(w) !== undefined, {
                    error: "expected <org>/<repo>/.github/workflows/<file>.yml@refs/heads/<branch> (or @refs/tags/<tag>), without wildcards",
                }),
            )
            .min(1, { error: "expected at least one workflow: a tier's group must not admit all workflows" })
            .refine((list) => new Set(list).size === list.length, { error: "expected each workflow once" }),
    },
    { error: "expected the tier's runner group { name, repositories, workflows }: the GitHub group that owns the tier and decides which jobs reach it" },
);

const tierScaleSet = z
    .strictObject({
        name: scaleSet.shape.name,
        labels: scaleSet.shape.labels,
        minRunners: scaleSet.shape.minRunners,
        maxRunners: scaleSet.shape.maxRunners,
    })
    .check((ctx) => {
        if (ctx.value.minRunners > ctx.value.maxRunners) {
            ctx.issues.push({
                code: "custom",
                path: ["minRunners"],
                input: ctx.value.minRunners,
                message: `expected no more than maxRunners (${ctx.value.maxRunners})`,
            });
        }
    });

const tier = z.strictObject({
    /** The tier's `runs-on` label (published as `AMEIDE_RUNS_ON_<TIER>`); one of its scale sets' names or labels. */
    runnerLabel: scaleSet.shape.name,
    /** Builders of the tier (StatefulSet `buildkitd-<tier>`). At least 2 on AKS, like the shared tier. */
    replicas: wholeNumber(1, 20),
    /** The tier's own x86-64 BuildKit pool (AKS): builders of different tiers never share a node. */
    pool: amd64Pool.optional(),
    /** The tier's own arm64 pool and native arm64 builders (`buildkitd-<tier>-arm64`). Default: none. */
    arm64: arm64Pool.optional(),
    /** The tier's scale sets, all in `arc-runners-<tier>` and all in the tier's runner group. */
    scaleSets: z
        .array(tierScaleSet)
        .min(1, { error: "expected at least one scale set" })
        .refine((sets) => new Set(sets.map((s) => s.name)).size === sets.length, { error: "expected every scale set name once" }),
    runnerGroup,
});

/** `arc-buildkit:tiers`. Default: none (the shared tier only). */
export const tiersSchema = z.record(
    z.string().regex(TIER_NAME, { error: "expected a tier name of lower-case letters and digits, starting with a letter, at most 14 characters" }),
    tier,
);

export type TierSettings = z.output<typeof tier>;
export type TiersSettings = z.output<typeof tiersSchema>;

type ConfigIssue = { code: "custom"; path: (string | number)[]; input: unknown; message: string };

/**
 * Rules across keys: tiers exist only on AKS (one k3d node cannot keep tiers apart), each has its
 * own pool, no name (scale set, label, runner group, pool) is used by two tiers, every workflow
 * belongs to a repository the group admits in the stack's organization, and a laptop's runners
 * never join the organization's default group.
 */
export function tierIssues(value: {
    cluster: { kind: string; pool?: { name: string }; arm64?: { enabled: boolean; name: string } };
    arc: { scaleSets: readonly { name: string; labels?: readonly string[]; runnerGroup: string }[] };
    github: { configUrl: string; variables: { scope: string } };
    tiers: TiersSettings;
}): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const push = (path: (string | number)[], input: unknown, message: string) => issues.push({ code: "custom", path, input, message });
    // An unparsable URL is reported by the github schema; the rules below that need it are skipped then.
    const parsedUrl = parseGithubConfigUrl(value.github.configUrl);
    const org = parsedUrl?.organization.toLowerCase();
    const repositoryLevel = !!parsedUrl?.repository;

    if (value.cluster.kind === "k3d") {
        for (const name of Object.keys(value.tiers)) {
            push(
                ["tiers", name],
                name,
                "expected no tiers on a k3d stack: the local stack has the shared tier only (one k3d node cannot keep the builders of two tiers apart)",
            );
        }
        value.arc.scaleSets.forEach((set, i) => {
            if (!repositoryLevel && set.runnerGroup.toLowerCase() === "default") {
                push(
                    ["arc", "scaleSets", i, "runnerGroup"],
                    set.runnerGroup,
                    "expected a runner group of your own (limited to the repositories you name) or a repository URL in github.configUrl: in the organization's default group, any repository's job could run on your laptop",
                );
            }
        });
        return issues;
    }

    const usedLabels = new Map<string, string>();
    const claim = (label: string, owner: string, path: (string | number)[]) => {
        const previous = usedLabels.get(label);
        if (previous && previous !== owner) {
            push(path, label, `expected a name no other tier uses; ${previous} already uses ${label}`);
        }
        usedLabels.set(label, owner);
    };
    value.arc.scaleSets.forEach((set, i) =>
        [set.name, ...(set.labels ?? [])].forEach((l) => claim(l, `the ${SHARED_TIER} tier`, ["arc", "scaleSets", i, "name"])),
    );
    const sharedGroups = new Set(value.arc.scaleSets.map((s) => s.runnerGroup.toLowerCase()));
    const pools = new Map<string, string>();
    const claimPool = (name: string, owner: string, path: (string | number)[]) => {
        const previous = pools.get(name);
        if (previous) {
            push(path, name, `expected a pool of the tier's own; ${previous} already uses pool ${name} (builders of different tiers never share a node)`);
        }
        pools.set(name, owner);
    };
    if (value.cluster.pool) {
        claimPool(value.cluster.pool.name, "cluster.pool", ["cluster", "pool", "name"]);
    }
    if (value.cluster.arm64?.enabled) {
        claimPool(value.cluster.arm64.name, "cluster.arm64", ["cluster", "arm64", "name"]);
    }
    const groups = new Map<string, string>();

    for (const [name, settings] of Object.entries(value.tiers).sort(([a], [b]) => a.localeCompare(b))) {
        const owner = `tier ${name}`;
        if (name === SHARED_TIER) {
            push(["tiers", name], name, `expected another name: the ${SHARED_TIER} tier is the one the top-level keys describe`);
            continue;
        }
        // Every derived object name must stay a valid Kubernetes name (63 characters) and Service DNS label.
        const names = tierNames(name);
        if (names.arm64.headless.length > 63) {
            push(["tiers", name], name, "expected a shorter tier name: the tier's Service names must stay within 63 characters");
        }
        if (!settings.pool) {
            push(["tiers", name, "pool"], undefined, "expected the tier's own node pool on AKS: builders of different tiers never share a node");
        } else {
            claimPool(settings.pool.name, owner, ["tiers", name, "pool", "name"]);
        }
        if (settings.arm64?.enabled) {
            claimPool(settings.arm64.name, `${owner} (arm64)`, ["tiers", name, "arm64", "name"]);
        }
        if (settings.replicas < 2) {
            push(["tiers", name, "replicas"], settings.replicas, "expected at least 2 builders on AKS (a rollout of one builder is an outage)");
        }
        const labels = settings.scaleSets.flatMap((s) => [s.name, ...s.labels]);
        if (!labels.includes(settings.runnerLabel)) {
            push(["tiers", name, "runnerLabel"], settings.runnerLabel, `expected the name or a label of one of the tier's scale sets (${labels.join(", ")})`);
        }
        settings.scaleSets.forEach((set, i) => [set.name, ...set.labels].forEach((l) => claim(l, owner, ["tiers", name, "scaleSets", i, "name"])));
        const group = settings.runnerGroup.name.toLowerCase();
        if (sharedGroups.has(group) && group !== "default") {
            push(["tiers", name, "runnerGroup", "name"], settings.runnerGroup.name, `expected a group the ${SHARED_TIER} tier's scale sets do not join`);
        }
        if (groups.has(group)) {
            push(["tiers", name, "runnerGroup", "name"], settings.runnerGroup.name, `expected a group of the tier's own; ${groups.get(group)} already owns it`);
        }
        groups.set(group, owner);
        const admitted = new Set(settings.runnerGroup.repositories.map((r) => r.toLowerCase()));
        settings.runnerGroup.workflows.forEach((workflow, i) => {
            const parsed = parsePinnedWorkflow(workflow);
            if (!parsed) {
                return; // the schema already said why
            }
            if (org && parsed.owner.toLowerCase() !== org) {
                push(
                    ["tiers", name, "runnerGroup", "workflows", i],
                    workflow,
                    `expected a workflow of the organization ${parsedUrl!.organization} (github.configUrl)`,
                );
            } else if (admitted.size > 0 && !admitted.has(parsed.repository.toLowerCase())) {
                push(
                    ["tiers", name, "runnerGroup", "workflows", i],
                    workflow,
                    `expected a workflow of a repository the group admits (runnerGroup.repositories: ${settings.runnerGroup.repositories.join(", ")})`,
                );
            }
        });
    }
    if (Object.keys(value.tiers).length > 0 && value.github.variables.scope === "repositories") {
        // Scope `repositories` is for credentials without organization access; a tier's runner group and
        // variables need it, so the first up would fail at GitHub (403) instead of here.
        push(
            ["github", "variables", "scope"],
            value.github.variables.scope,
            'expected "organization" (or "none") with tiers: their runner groups and variables are organization-level, which scope "repositories" says the credentials cannot write',
        );
    }
    if (Object.keys(value.tiers).length > 0 && repositoryLevel) {
        push(
            ["github", "configUrl"],
            value.github.configUrl,
            "expected an organization URL: runner groups, which keep tiers apart, exist only at organization level",
        );
    }
    return issues;
}
