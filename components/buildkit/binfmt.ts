import type * as k8s from "@pulumi/kubernetes";
import { emulatorArchitectures, Placement } from "./workload";

const LABELS = { "app.kubernetes.io/name": "binfmt" };

/**
 * Registers QEMU emulators in the kernel of every node that runs builders, so one builder can
 * produce images for other architectures. The registration is a kernel setting that lasts until
 * the node reboots; the DaemonSet re-applies it on every (re)started node. Only the init container
 * is privileged; the long-running container is a pause image that holds no privileges at all.
 */
export function binfmtDaemonSetSpec(
    binfmt: { image: string; pauseImage: string },
    platforms: readonly string[],
    placement: Placement,
): k8s.types.input.apps.v1.DaemonSetSpec {
    return {
        selector: { matchLabels: { ...LABELS } },
        template: {
            metadata: { labels: { ...LABELS } },
            spec: {
                automountServiceAccountToken: false,
                ...(placement.nodeSelector ? { nodeSelector: { ...placement.nodeSelector } } : {}),
                ...(placement.tolerations ? { tolerations: placement.tolerations.map((t) => ({ ...t })) } : {}),
                initContainers: [
                    {
                        name: "install",
                        image: binfmt.image,
                        args: ["--install", emulatorArchitectures(platforms).join(",")],
                        securityContext: { privileged: true },
                        resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
                    },
                ],
                containers: [
                    {
                        name: "pause",
                        image: binfmt.pauseImage,
                        securityContext: {
                            runAsNonRoot: true,
                            runAsUser: 65535,
                            allowPrivilegeEscalation: false,
                            readOnlyRootFilesystem: true,
                            capabilities: { drop: ["ALL"] },
                            seccompProfile: { type: "RuntimeDefault" },
                        },
                        resources: { requests: { cpu: "1m", memory: "4Mi" }, limits: { memory: "16Mi" } },
                    },
                ],
            },
        },
    };
}
