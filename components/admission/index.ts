import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { admissionBindingSpec, admissionPolicies, ValidationAction } from "./policies";

export { ADMISSION_POLICY_NAMES, admissionBindingSpec, admissionPolicies, BUILDKIT_NAME, EXEMPT_NAMESPACES } from "./policies";
export type { ValidationAction } from "./policies";

export interface AdmissionPolicyArgs {
    /**
     * Namespaces whose pods run untrusted job code: no privileged or Docker-in-Docker pod is admitted
     * there. Required, at least one (`arc-runners`, and `arc-runners-protected` where the protected tier exists).
     */
    runnerNamespaces: readonly string[];
    /** The bindings' `validationActions`. Default: `["Deny"]`. */
    validationActions?: readonly ValidationAction[];
}

/**
 * The policy pack's second line, in the cluster: ValidatingAdmissionPolicies and their bindings
 * (`admissionregistration.k8s.io/v1`, Kubernetes 1.30 and later) that refuse a plaintext BuildKit TCP
 * listener, a published BuildKit port, and privileged or Docker-in-Docker runner pods, whoever creates
 * them (Argo CD, Flux, a CI system, kubectl), not only what Pulumi declares.
 */
export class AdmissionPolicies extends pulumi.ComponentResource {
    /** Names of the declared policies, in declaration order. */
    public readonly policyNames: string[];

    constructor(name: string, args: AdmissionPolicyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("arc-buildkit:admission:AdmissionPolicies", name, {}, opts);
        const child = { parent: this };
        const actions = args.validationActions ?? ["Deny"];
        const labels = { "app.kubernetes.io/part-of": "arc-buildkit" };
        this.policyNames = [];
        for (const policy of admissionPolicies(args.runnerNamespaces)) {
            const declared = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
                `${name}-${policy.name}`,
                { metadata: { name: policy.name, labels }, spec: policy.spec },
                child,
            );
            // The binding names its policy by reference, so it is created after (and deleted before) it.
            new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
                `${name}-${policy.name}`,
                {
                    metadata: { name: policy.name, labels },
                    spec: declared.metadata.name.apply((policyName) => admissionBindingSpec(policyName, actions)),
                },
                child,
            );
            this.policyNames.push(policy.name);
        }
        this.registerOutputs({ policyNames: this.policyNames });
    }
}
