import { z } from "zod";

const ACTIONS = ["Deny", "Warn", "Audit"] as const;

/**
 * `arc-buildkit:admission`: the in-cluster ValidatingAdmissionPolicies (components/admission,
 * docs/admission.md). They need `admissionregistration.k8s.io/v1`, GA since Kubernetes 1.30.
 */
export const admissionSchema = z.strictObject({
    /**
     * What a binding does with an object that breaks a policy (ValidatingAdmissionPolicyBinding
     * `validationActions`). Default: `["Deny"]`. `["Warn", "Audit"]` lets a cluster with existing
     * objects see what would be refused before it is enforced. Kubernetes forbids Deny together with Warn.
     */
    validationActions: z
        .array(z.enum(ACTIONS, { error: `expected one of ${ACTIONS.join(", ")}` }))
        .min(1, { error: "expected at least one of Deny, Warn, Audit" })
        .refine((actions) => new Set(actions).size === actions.length, { error: "expected each action at most once" })
        .refine((actions) => !(actions.includes("Deny") && actions.includes("Warn")), {
            error: "expected Deny or Warn, not both (Kubernetes rejects a binding with both: Deny already returns the message)",
        })
        .default(["Deny"]),
});

export type AdmissionSettings = z.output<typeof admissionSchema>;
