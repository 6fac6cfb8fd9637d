import { EnforcementLevel, ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { Finding, ResourceLike, unverifiable, violation } from "./findings";
import { helmUnits, isHelm, resolveValuesFrom } from "./helm";
import { View, objectsOf, viewOf } from "./objects";
import { asRecord, newBudget, toPlain } from "./plain";
import { shellParserReady } from "./shell";
import type { Rule } from "./rules";

/** A check judges either one resource at a time or the whole stack (when it must join resources). */
export type Check = { scope: "resource"; run: (resource: ResourceLike) => Finding[] } | { scope: "stack"; run: (resources: ResourceLike[]) => Finding[] };

interface PolicyMeta {
    name: string;
    description: string;
    enforcementLevel: EnforcementLevel;
}

const ASSET_SIG = "4dabf18193072939515e22adb298388d";

/**
 * Replaces Pulumi assets in props (Helm `valueYamlFiles` are StringAssets/FileAssets, whose contents are
 * promises) by plain `{text}`/`{path}`/`{uri}` records, so the synchronous checks can read them. Bounded.
 */
async function resolveAssets(value: unknown, budget = { left: 10_000 }, depth = 0): Promise<unknown> {
    if (value === null || typeof value !== "object" || budget.left-- <= 0 || depth > 32) {
        return value;
    }
    let target: Record<string, unknown>;
    try {
        target = ((value as Record<string, unknown>).__getSpecialProxyTarget as Record<string, unknown>) ?? (value as Record<string, unknown>);
    } catch {
        return value;
    }
    try {
        if (target.__pulumiAsset === true || target.__pulumiArchive === true || target[ASSET_SIG] !== undefined) {
            const out: Record<string, unknown> = {};
            for (const field of ["text", "path", "uri"]) {
                const field_ = target[field];
                if (field_ !== undefined) {
                    out[field] = await Promise.race([Promise.resolve(field_), new Promise((resolve) => setTimeout(() => resolve(undefined), 1000))]);
                }
            }
            return out;
        }
        if (Array.isArray(target)) {
            const items: unknown[] = [];
            for (let i = 0; i < target.length && budget.left > 0; i++) {
                items.push(await resolveAssets(target[i], budget, depth + 1));
            }
            return items;
        }
        const copy: Record<string, unknown> = {};
        for (const key of Object.keys(target)) {
            copy[key] = await resolveAssets(target[key], budget, depth + 1);
        }
        return copy;
    } catch {
        return value;
    }
}

/** Only Helm values files need asset resolution; everything else is copied synchronously by `toPlain`. */
async function withAssets(raw: { type?: unknown; props?: unknown }): Promise<unknown> {
    if (typeof raw.type !== "string" || !isHelm({ type: raw.type } as ResourceLike)) {
        return raw.props;
    }
    try {
        const props = raw.props as Record<string, unknown>;
        const files = props?.valueYamlFiles;
        if (files === undefined) {
            return raw.props;
        }
        return {
            ...Object.fromEntries(
                Object.keys(props)
                    .filter((k) => k !== "valueYamlFiles")
                    .map((k) => [k, props[k]]),
            ),
            valueYamlFiles: await resolveAssets(files),
        };
    } catch {
        return raw.props;
    }
}

/** Plain, bounded copy of whatever the engine (or a test) passes as a resource; never throws. */
export function plainResource(input: unknown, props?: unknown): ResourceLike {
    const raw = (input !== null && typeof input === "object" ? input : {}) as { type?: unknown; name?: unknown; urn?: unknown; props?: unknown };
    const type = typeof raw.type === "string" ? raw.type : "";
    const name = typeof raw.name === "string" ? raw.name : "";
    const urn = typeof raw.urn === "string" ? raw.urn : `urn:pulumi:unknown::unknown::${type}::${name}`;
    const source = proxyTarget(props === undefined ? raw.props : props);
    const cached = source !== null && typeof source === "object" ? plainCache.get(source) : undefined;
    if (cached && cached.type === type && cached.name === name && cached.urn === urn) {
        return cached;
    }
    const budget = newBudget();
    let copied: Record<string, unknown>;
    try {
        copied = asRecord(toPlain(source, budget));
    } catch (error) {
        budget.overflow ??= error instanceof Error ? error.message : String(error);
        copied = {};
    }
    const plain: ResourceLike = { type, name, urn, props: copied, overflow: budget.overflow, relevant: budget.relevant };
    if (source !== null && typeof source === "object") {
        plainCache.set(source, plain);
    }
    return plain;
}

/**
 * The engine wraps a resource's props in a fresh unknown-checking proxy for every policy; the object
 * behind it is the same. Copying that object directly (its unknowns are the same wire sentinels the
 * proxy checks for, which `toPlain` turns into UNKNOWN) and once per resource instead of once per
 * policy keeps a stack of thousands of resources within the time budget.
 */
const plainCache = new WeakMap<object, ResourceLike>();

/** The key under which @pulumi/policy's proxy (proxy.js, `getSpecialProxyTarget`) hands out the object it wraps. */
const getSpecialProxyTarget = "__getSpecialProxyTarget";

function proxyTarget(value: unknown): unknown {
    if (value === null || typeof value !== "object") {
        return value;
    }
    try {
        const target = (value as Record<string, unknown>)[getSpecialProxyTarget];
        return target !== null && typeof target === "object" ? target : value;
    } catch {
        return value;
    }
}

/** Every policy reads its resources through this: it also waits, once, for the shell parser to load (lib/shell.ts). */
export async function preparedResource(input: unknown): Promise<ResourceLike> {
    await shellParserReady();
    const raw = (input !== null && typeof input === "object" ? input : {}) as { type?: unknown; props?: unknown };
    return plainResource(input, await withAssets(raw));
}

/**
 * Runs a check and turns an unexpected exception into a finding instead of an engine error: a
 * policy pack that crashes blocks every deployment without saying why, one that reports says why.
 */
export function runCheck(check: Check, policyName: string, resources: ResourceLike[]): Finding[] {
    try {
        return check.scope === "stack" ? check.run(resources) : resources.flatMap((r) => check.run(r).map((f) => ({ ...f, urn: f.urn ?? r.urn })));
    } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        return [violation(`Policy '${policyName}' could not evaluate these resources (${reason}); treat this as a bug in the policy pack and report it.`)];
    }
}

/** A resource whose props were cut off at the budget: blocked if what was read concerns BuildKit, noted otherwise. */
export function overflowFindings(resource: ResourceLike): Finding[] {
    if (resource.overflow === undefined) {
        return [];
    }
    const message = `${resource.type.split(":").pop()} '${resource.name}' is larger than the policy pack's fixed budget (${resource.overflow}), so it was checked only up to that budget.`;
    return resource.relevant
        ? [
              violation(
                  `${message} It mentions BuildKit, TCP, Docker or privilege, so a plaintext listener or privileged runner may hide in the part that was not read: simplify it (no YAML anchors/aliases, smaller values) so it can be checked.`,
                  resource.urn,
              ),
          ]
        : [unverifiable(message, resource.urn)];
}

/** A resource check from a rule: what one resource shows on its own (its own objects, and Helm values). */
export function resourceCheck(rule: Rule, withOverflow = false): Check {
    return {
        scope: "resource",
        run: (resource) => [
            ...(withOverflow ? [...overflowFindings(resource), ...objectsOf(resource).notes.filter((f) => f.verdict === "violation")] : []),
            ...rule(resourceView(resource), helmUnits(resource)),
        ],
    };
}

/**
 * One view per resource (resource policies) and per list of resources (one stack policy's rules), so
 * the containers, scripts and mounts in it are resolved once, not once per rule.
 */
const viewCache = new WeakMap<object, View>();

export function resourceView(resource: ResourceLike): View {
    let view = viewCache.get(resource);
    if (!view) {
        view = viewOf([resource], "resource");
        viewCache.set(resource, view);
    }
    return view;
}

/** The same rule over the whole stack (used by the cross-resource and the advisory stack policies). */
export function stackRule(rule: Rule, resources: ResourceLike[]): Finding[] {
    resolveValuesFrom(resources);
    return rule(stackView(resources), resources.flatMap(helmUnits));
}

/** Stack policies each get their own list of the same (cached) resources: one stack view serves them all. */
const stackViews = new WeakMap<object, { resources: ResourceLike[]; view: View }>();

function stackView(resources: ResourceLike[]): View {
    const key = resources[0] ?? stackViews;
    const cached = stackViews.get(key);
    if (cached && cached.resources.length === resources.length && cached.resources.every((r, i) => r === resources[i])) {
        return cached.view;
    }
    const view = viewOf(resources, "stack");
    stackViews.set(key, { resources: [...resources], view });
    return view;
}

/** Notes about objects a ConfigFile/ConfigGroup declares that could not be read, and about budget overflows. */
export function readingNotes(resources: ResourceLike[]): Finding[] {
    return resources.flatMap((r) => [...objectsOf(r).notes, ...overflowFindings(r).filter((f) => f.verdict === "unverifiable")]);
}

function report(findings: Finding[], reportViolation: ReportViolation, resourceUrnIsImplicit: boolean): void {
    const seen = new Set<string>();
    for (const finding of findings.filter((f) => f.verdict === "violation")) {
        const key = `${finding.urn}|${finding.message}`;
        if (seen.has(key)) {
            continue;
        }
        seen.add(key);
        if (resourceUrnIsImplicit || finding.urn === undefined) {
            reportViolation(finding.message);
        } else {
            reportViolation(finding.message, finding.urn);
        }
    }
}

/** A Pulumi policy that reports the check's violations (its unverifiable findings go to the advisory policy). */
export function policyFromCheck(meta: PolicyMeta, check: Check): ResourceValidationPolicy | StackValidationPolicy {
    if (check.scope === "resource") {
        return {
            ...meta,
            validateResource: async (args, reportViolation) => {
                report(runCheck(check, meta.name, [await preparedResource(args)]), reportViolation, true);
            },
        };
    }
    return {
        ...meta,
        validateStack: async (args, reportViolation) => {
            const list = Array.from(Array.isArray(args?.resources) ? args.resources : []);
            const resources: ResourceLike[] = [];
            for (const r of list) {
                resources.push(await preparedResource(r));
            }
            report(runCheck(check, meta.name, resources), reportViolation, false);
        },
    };
}
