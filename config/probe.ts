import { z } from "zod";
import { wholeNumber } from "./numbers";

/**
 * `arc-buildkit:probe`: the deploy-time check that `pulumi up` waits for. From the runner namespace,
 * with the runners' client certificate, `buildctl debug workers -v` must succeed and list every
 * configured platform; without a client certificate the same call must be refused.
 */
export const probeSchema = z.strictObject({
    /** Run the probe on every deployment that changes the daemon, its config or the certificates. Default: true. */
    enabled: z.boolean({ error: "expected true or false" }).default(true),
    /** Seconds the probe Job may run (image pull and scheduling included) before it counts as failed. Default: 300. */
    timeoutSeconds: wholeNumber(30, 3600, "seconds").default(300),
    /** Seconds a finished probe Job (and its pod and logs) is kept before Kubernetes deletes it. Default: 3600. */
    keepFinishedSeconds: wholeNumber(0, 604800, "seconds").default(3600),
    /**
     * Prove every platform by running a one-step build for it on every builder, `FROM` the BuildKit
     * image (so builders need to pull from its registry or a mirror). Turn off on clusters without
     * registry egress; the probe then only checks that each platform is listed. Default: true.
     */
    buildEachPlatform: z.boolean({ error: "expected true or false" }).default(true),
    /**
     * The probe fails when a certificate (CA, server or client) has fewer days left than this, long
     * before any client would fail. Default: 14 (a healthy stack never drops below 23 with the defaults).
     */
    minCertificateDays: wholeNumber(1, 365, "days").default(14),
});

/**
 * Platforms the moby/buildkit image is published for (the `image-cross` target of its
 * docker-bake.hcl, v0.11 to v0.32): the probe's build step runs on the image of each platform.
 */
export const BUILDKIT_IMAGE_PLATFORMS = ["linux/amd64", "linux/arm/v7", "linux/arm64", "linux/s390x", "linux/ppc64le", "linux/riscv64"] as const;

/** A build step per platform needs the BuildKit image for that platform. */
export function probeBuildIssues(value: {
    probe: { enabled: boolean; buildEachPlatform: boolean };
    buildkit: { platforms: readonly string[] };
}): { code: "custom"; path: (string | number)[]; input: unknown; message: string }[] {
    if (!value.probe.enabled || !value.probe.buildEachPlatform) {
        return [];
    }
    const missing = value.buildkit.platforms.filter((p) => !(BUILDKIT_IMAGE_PLATFORMS as readonly string[]).includes(p));
    if (missing.length === 0) {
        return [];
    }
    return [
        {
            code: "custom",
            path: ["probe", "buildEachPlatform"],
            input: true,
            message:
                `expected false, or only platforms the BuildKit image is published for (${BUILDKIT_IMAGE_PLATFORMS.join(", ")}) in arc-buildkit:buildkit.platforms: ` +
                `the probe's build step for ${missing.join(", ")} would find no image to run`,
        },
    ];
}

export type ProbeSettings = z.output<typeof probeSchema>;
