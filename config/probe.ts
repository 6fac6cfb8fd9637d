import { z } from "zod";

/**
 * `arc-buildkit:probe`: the deploy-time check that `pulumi up` waits for. From the runner namespace,
 * with the runners' client certificate, `buildctl debug workers -v` must succeed and list every
 * configured platform; without a client certificate the same call must be refused.
 */
export const probeSchema = z.strictObject({
    /** Run the probe on every deployment that changes the daemon, its config or the certificates. Default: true. */
    enabled: z.boolean({ error: "expected true or false" }).default(true),
    /** Seconds the probe Job may run (image pull and scheduling included) before it counts as failed. Default: 300. */
    timeoutSeconds: z
        .number({ error: "expected a whole number of seconds from 30 to 3600" })
        .int({ error: "expected a whole number of seconds from 30 to 3600" })
        .min(30, { error: "expected a whole number of seconds from 30 to 3600" })
        .max(3600, { error: "expected a whole number of seconds from 30 to 3600" })
        .default(300),
    /** Seconds a finished probe Job (and its pod and logs) is kept before Kubernetes deletes it. Default: 3600. */
    keepFinishedSeconds: z
        .number({ error: "expected a whole number of seconds from 0 to 604800" })
        .int({ error: "expected a whole number of seconds from 0 to 604800" })
        .min(0, { error: "expected a whole number of seconds from 0 to 604800" })
        .max(604800, { error: "expected a whole number of seconds from 0 to 604800" })
        .default(3600),
    /**
     * The probe fails when a certificate (CA, server or client) has fewer days left than this, long
     * before any client would fail. Default: 14 (a healthy stack never drops below 23 with the defaults).
     */
    minCertificateDays: z
        .number({ error: "expected a whole number of days from 1 to 365" })
        .int({ error: "expected a whole number of days from 1 to 365" })
        .min(1, { error: "expected a whole number of days from 1 to 365" })
        .max(365, { error: "expected a whole number of days from 1 to 365" })
        .default(14),
});

export type ProbeSettings = z.output<typeof probeSchema>;
