import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TLS_KEYS } from "../../contracts";
import type { TlsMaterial } from "../pki";

/**
 * A `kubernetes.io/tls` Secret with `ca.crt`, `tls.crt` and `tls.key`: the layout `buildctl
 * --tlsdir` and buildkitd's `[grpc.tls]` read. The whole payload is a Pulumi secret, so the key is
 * encrypted in state and never printed in a diff.
 */
export function tlsSecret(
    name: string,
    namespace: pulumi.Input<string>,
    material: TlsMaterial,
    opts: pulumi.CustomResourceOptions,
    /** The Pulumi resource name, when the Secret's name repeats in another namespace (each tier's client Secret). Default: `name`. */
    resourceName: string = name,
): k8s.core.v1.Secret {
    return new k8s.core.v1.Secret(
        resourceName,
        {
            metadata: { name, namespace, labels: { "app.kubernetes.io/part-of": "arc-buildkit" } },
            type: "kubernetes.io/tls",
            stringData: pulumi.secret(
                pulumi.all([material.caCertPem, material.certPem, material.privateKeyPem]).apply(([ca, cert, key]) => ({
                    [TLS_KEYS.ca]: ca,
                    [TLS_KEYS.cert]: cert,
                    [TLS_KEYS.key]: key,
                })),
            ),
        },
        opts,
    );
}
