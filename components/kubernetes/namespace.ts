import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/**
 * Pod Security Admission labels. `enforce` is what the namespace must allow; `warn` and `audit` at
 * `restricted` make every workload that falls short of the strictest level visible without
 * blocking it.
 */
export function podSecurityLabels(enforce: PodSecurityLevel): Record<string, string> {
    return {
        "pod-security.kubernetes.io/enforce": enforce,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    };
}

export function namespaceWithPodSecurity(name: string, enforce: PodSecurityLevel, opts: pulumi.CustomResourceOptions): k8s.core.v1.Namespace {
    return new k8s.core.v1.Namespace(
        name,
        {
            metadata: {
                name,
                labels: { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "arc-buildkit", ...podSecurityLabels(enforce) },
            },
        },
        opts,
    );
}
