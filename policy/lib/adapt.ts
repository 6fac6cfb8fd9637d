import { EnforcementLevel, ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { Finding, ResourceLike, violation } from "./findings";
import { asRecord, toPlain } from "./plain";

/** A check judges either one resource at a time or the whole stack (when it must join resources). */
export type Check =
    | { scope: "resource"; run: (resource: ResourceLike) => Finding[] }
    | { scope: "stack"; run: (resources: ResourceLike[]) => Finding[] };

interface PolicyMeta {
    name: string;
    description: string;
    enforcementLevel: EnforcementLevel;
}

/** Plain copy of whatever the engine (or a test) passes as a resource; never throws. */
export function plainResource(input: unknown): ResourceLike {
    const raw = (input !== null && typeof input === "object" ? input : {}) as { type?: unknown; name?: unknown; urn?: unknown; props?: unknown };
    const type = typeof raw.type === "string" ? raw.type : "";
    const name = typeof raw.name === "string" ? raw.name : "";
    const urn = typeof raw.urn === "string" ? raw.urn : `urn:pulumi:unknown::unknown::${type}::${name}`;
    return { type, name, urn, props: asRecord(toPlain(raw.props)) };
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

function report(findings: Finding[], reportViolation: ReportViolation, resourceUrnIsImplicit: boolean): void {
    for (const finding of findings.filter((f) => f.verdict === "violation")) {
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
            validateResource: (args, reportViolation) => {
                report(runCheck(check, meta.name, [plainResource(args)]), reportViolation, true);
            },
        };
    }
    return {
        ...meta,
        validateStack: (args, reportViolation) => {
            const resources = Array.from(Array.isArray(args.resources) ? args.resources : []).map(plainResource);
            report(runCheck(check, meta.name, resources), reportViolation, false);
        },
    };
}
