import type * as k8s from "@pulumi/kubernetes";
import type { Placement } from "../kubernetes/placement";
import { emulatorArchitectures } from "./workload";

const LABELS = { "app.kubernetes.io/name": "binfmt" };

/** The file binfmt_misc shows for each emulator tonistiigi/binfmt registers (its cmd/binfmt/config.go). */
export const QEMU_EMULATORS: Readonly<Record<string, string>> = {
    amd64: "qemu-x86_64",
    arm64: "qemu-aarch64",
    arm: "qemu-arm",
    "386": "qemu-i386",
    ppc64le: "qemu-ppc64le",
    s390x: "qemu-s390x",
    riscv64: "qemu-riscv64",
};

/**
 * Checks, after the install, that the kernel has an enabled emulator for every requested
 * architecture the node cannot run natively; exits non-zero naming the missing ones otherwise.
 * `tonistiigi/binfmt --install` logs a failed registration and still exits 0, so without this a
 * node without emulators looked healthy while its builders failed every foreign step. The failure
 * keeps the pod in Init (CrashLoopBackOff), which fails the DaemonSet's rollout in `pulumi up`, and
 * the message reaches `kubectl describe` through the termination log. `BINFMT_MISC` is the
 * binfmt_misc mount point (default /proc/sys/fs/binfmt_misc; mounted here when the container's
 * /proc does not show it yet).
 */
export function binfmtVerifyScript(platforms: readonly string[]): string {
    const entries = emulatorArchitectures(platforms).map((arch) => `'${arch}:${QEMU_EMULATORS[arch] ?? `qemu-${arch}`}'`);
    return [
        "set -u",
        `fail() { printf 'binfmt FAILED: %s\n' "$1" | tee "\${TERMINATION_LOG:-/dev/termination-log}" >&2; exit 1; }`,
        `mnt="\${BINFMT_MISC:-/proc/sys/fs/binfmt_misc}"`,
        `if [ ! -e "$mnt/status" ]; then mount -t binfmt_misc binfmt_misc "$mnt" || fail "cannot mount binfmt_misc at $mnt"; fi`,
        `node=$(uname -m)`,
        `missing=""`,
        `for entry in ${entries.join(" ")}; do`,
        `  arch=\${entry%%:*}; emulator=\${entry#*:}`,
        // What the node runs without an emulator: x86-64 also runs 386 code; arm64 is checked, not assumed, for 32-bit Arm.
        `  case "$node:$arch" in x86_64:amd64|x86_64:386|aarch64:arm64) echo "$arch: native on this $node node"; continue ;; esac`,
        `  if [ -f "$mnt/$emulator" ] && [ "$(head -n 1 "$mnt/$emulator")" = enabled ]; then`,
        `    echo "$arch: $emulator registered and enabled"`,
        "  else",
        `    missing="$missing $arch ($emulator)"`,
        "  fi",
        "done",
        `[ -z "$missing" ] || fail "no enabled emulator on this $node node for:$missing; see the install container's log (kubectl logs -c install) and arc-buildkit docs/deploy-aks.md, 'Native arm64 builders'"`,
        `echo "binfmt: every requested emulator is registered"`,
    ].join("\n");
}

/**
 * Registers QEMU emulators in the kernel of every node that runs builders, so one builder can
 * produce images for other architectures. The registration is a kernel setting that lasts until
 * the node reboots; the DaemonSet re-applies it on every (re)started node. Only the init container
 * is privileged; the long-running container is a pause image that holds no privileges at all.
 */
export function binfmtDaemonSetSpec(
    binfmt: { image: string; pauseImage: string; verifyImage: string },
    platforms: readonly string[],
    placement: Placement,
    /** More pod labels (a tier's installer carries its tier, so two installers never select each other's pods). Default: none. */
    extraLabels: Readonly<Record<string, string>> = {},
): k8s.types.input.apps.v1.DaemonSetSpec {
    return {
        selector: { matchLabels: { ...LABELS, ...extraLabels } },
        template: {
            metadata: { labels: { ...LABELS, ...extraLabels } },
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
                    {
                        // The binfmt image has no shell; the BuildKit image (pinned, already on these nodes) has.
                        // Privileged only to mount binfmt_misc in its own mount namespace; it reads, never writes.
                        name: "verify",
                        image: binfmt.verifyImage,
                        command: ["/bin/sh", "-c", binfmtVerifyScript(platforms)],
                        // root even with the rootless image (whose user is 1000): mounting needs it.
                        securityContext: { privileged: true, runAsUser: 0 },
                        terminationMessagePolicy: "FallbackToLogsOnError",
                        resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } },
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
