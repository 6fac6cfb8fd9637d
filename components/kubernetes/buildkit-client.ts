import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { RUNNER_ENV, TLS_KEYS } from "../../contracts";

/**
 * What a BuildKit client pod (every runner pod, and the deploy-time probe, which checks exactly what
 * a workflow would run) needs: the client TLS Secret mounted read-only, and the five contract
 * variables pointing into it. One module, so runners and probe cannot drift apart.
 */

/** Where the client TLS secret is mounted; the `AMEIDE_BUILDKIT_TLS_*` paths point into it. */
export const CLIENT_TLS_DIR = "/etc/buildkit/tls";
export const CLIENT_TLS_VOLUME = "buildkit-client-tls";

/** The five contract variables, pointing at the mounted client certificate. */
export function runnerBuildkitEnv(input: {
    endpoint: pulumi.Input<string>;
    serverName: pulumi.Input<string>;
}): { name: string; value: pulumi.Input<string> }[] {
    return [
        { name: RUNNER_ENV.addr, value: input.endpoint },
        { name: RUNNER_ENV.ca, value: `${CLIENT_TLS_DIR}/${TLS_KEYS.ca}` },
        { name: RUNNER_ENV.cert, value: `${CLIENT_TLS_DIR}/${TLS_KEYS.cert}` },
        { name: RUNNER_ENV.key, value: `${CLIENT_TLS_DIR}/${TLS_KEYS.key}` },
        { name: RUNNER_ENV.serverName, value: input.serverName },
    ];
}

/**
 * The client TLS Secret as a pod volume: 0440, so with the pod's fsGroup the key is readable by that
 * group and nobody else. `secretName` should come from the declared Secret (`secret.metadata.name`),
 * so the pod waits for it.
 */
export function clientTlsVolume(volumeName: string, secretName: pulumi.Input<string>): k8s.types.input.core.v1.Volume {
    return { name: volumeName, secret: { secretName, defaultMode: 0o440 } };
}

/** The read-only mount of {@link clientTlsVolume} at {@link CLIENT_TLS_DIR}. */
export function clientTlsMount(volumeName: string): k8s.types.input.core.v1.VolumeMount {
    return { name: volumeName, mountPath: CLIENT_TLS_DIR, readOnly: true };
}
