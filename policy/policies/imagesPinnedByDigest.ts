import { Check, policyFromCheck, resourceView } from "../lib/adapt";
import { containerContexts, daemonOf, isBuildkitImage } from "../lib/buildkitd";
import { Finding, violation } from "../lib/findings";
import { helmUnits } from "../lib/helm";
import { isPinnedByDigest } from "../lib/kube";

const FIX =
    "Pin the image as repository@sha256:<digest> (for example from `docker buildx imagetools inspect <image>`), so a moved tag " +
    "cannot change what runs privileged or holds client keys; update the digest deliberately.";

/** Policy 6 (advisory): BuildKit images (daemons and any image named buildkit) and runner images. */
export const imagesPinnedByDigestCheck: Check = {
    scope: "resource",
    run: (resource) => {
        const findings: Finding[] = [];
        const reported = new Set<string>();
        const view = resourceView(resource);
        const helm = helmUnits(resource);
        for (const { template, contexts } of containerContexts(view, helm)) {
            for (const ctx of contexts) {
                const image = ctx.container.image;
                const key = `${template.where}/${ctx.container.name}`;
                if (typeof image !== "string" || isPinnedByDigest(image) || reported.has(key)) {
                    continue;
                }
                const daemon = daemonOf(ctx)?.runs.length;
                const runner = template.runner !== undefined || /actions-runner|github-runner/.test(image);
                if (daemon || isBuildkitImage(image) || runner) {
                    reported.add(key);
                    findings.push(
                        violation(
                            `${template.where} container '${ctx.container.name}' uses ${daemon || isBuildkitImage(image) ? "BuildKit" : "runner pod"} image '${image}', which is not pinned by digest. ${FIX}`,
                        ),
                    );
                }
            }
        }
        return findings;
    },
};

export const imagesPinnedByDigest = policyFromCheck(
    {
        name: "buildkit-and-runner-images-pinned-by-digest",
        description: "BuildKit and ARC runner images should be pinned by digest (advisory). " + FIX,
        enforcementLevel: "advisory",
    },
    imagesPinnedByDigestCheck,
);
