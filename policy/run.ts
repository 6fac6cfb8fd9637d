import {
    EnforcementLevel,
    Policies,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationPolicy,
    StackValidationPolicy,
    UnknownValueError,
    unknownCheckingProxy,
} from "@pulumi/policy";
import { policies } from "./policies";

/**
 * Test and tooling helper, not part of the pack: runs a list of policies over declared resources
 * without the Pulumi engine. The pack itself (`index.ts`) needs only `./policies`.
 */

/**
 * A resource as a program declares it: `props` are its inputs (for stack policies, what the engine
 * passes as props). The one shape for declared resources: the root project's harness
 * (tests/harness/program.ts) records the program's resources in it too.
 */
export interface DeclaredResource {
    type: string;
    name: string;
    urn: string;
    props: Record<string, unknown>;
}

export interface PolicyViolation {
    policyName: string;
    enforcementLevel: EnforcementLevel;
    message: string;
    /** The resource reported on; undefined for a stack-level report. */
    urn?: string;
}

const DEFAULT_OPTIONS: PolicyResourceOptions = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
};

/**
 * Runs policies over declared resources the way the Pulumi engine does: every resource policy on each
 * resource, every stack policy once on all of them, props behind the engine's unknown-checking proxy,
 * and a policy that trips over an unknown value reported as advisory "can't run during preview".
 * Pure apart from the policies themselves; no engine, no gRPC server.
 */
export async function runPolicies(resources: DeclaredResource[], pack: Policies = policies): Promise<PolicyViolation[]> {
    const violations: PolicyViolation[] = [];
    for (const policy of pack) {
        const level = policy.enforcementLevel ?? "advisory";
        if (level === "disabled") {
            continue;
        }
        const collect =
            (urn?: string): ReportViolation =>
            (message, reportedUrn) => {
                violations.push({ policyName: policy.name, enforcementLevel: level, message, urn: reportedUrn ?? urn });
            };
        const guard = async (urn: string | undefined, run: () => Promise<void> | void) => {
            try {
                await run();
            } catch (error) {
                if (!(error instanceof UnknownValueError)) {
                    throw error;
                }
                violations.push({
                    policyName: policy.name,
                    enforcementLevel: "advisory",
                    message: `can't run policy '${policy.name}' during preview: ${(error as Error).message}`,
                    urn,
                });
            }
        };
        const base = (r: DeclaredResource) => ({
            type: r.type,
            name: r.name,
            urn: r.urn,
            props: unknownCheckingProxy(r.props) as Record<string, unknown>,
            opts: DEFAULT_OPTIONS,
            isType: () => false,
            asType: () => undefined,
        });
        if (isStackPolicy(policy)) {
            const stackResources = resources.map((r) => ({ ...base(r), dependencies: [], propertyDependencies: {} }));
            await guard(undefined, () => policy.validateStack(stackArgs(stackResources), collect()));
            continue;
        }
        const validations =
            policy.validateResource === undefined ? [] : Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
        for (const resource of resources) {
            for (const validate of validations) {
                await guard(resource.urn, () =>
                    validate({ ...base(resource), stackTags: new Map(), getConfig: <T>() => ({}) as T, notApplicable }, collect(resource.urn)),
                );
            }
        }
    }
    return violations;
}

function isStackPolicy(policy: ResourceValidationPolicy | StackValidationPolicy): policy is StackValidationPolicy {
    return "validateStack" in policy && typeof policy.validateStack === "function";
}

function stackArgs(resources: Parameters<StackValidationPolicy["validateStack"]>[0]["resources"]) {
    return { resources, stackTags: new Map<string, string>(), getConfig: <T>() => ({}) as T, notApplicable };
}

function notApplicable(reason?: string): never {
    throw new Error(`policy marked itself not applicable: ${reason ?? "no reason given"}`);
}
