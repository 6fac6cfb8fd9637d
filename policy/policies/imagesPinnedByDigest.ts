import { Check, policyFromCheck } from "../lib/adapt";
import { isBuildkitImage } from "../lib/buildkitd";
import { daemonContainers } from "../lib/daemons";
import { Finding, violation } from "../lib/findings";
import { containersOf, isPinnedByDigest, podTemplates } from "../lib/kube";
import { isUnknown } from "../lib/plain";
import { runnerTemplates } from "./runnerPodsUnprivileged";

const FIX =
    "Pin the image as repository@sha256:<digest> (for example from `docker buildx imagetools inspect <image>`), so a moved tag " +
    "cannot change what runs privileged or holds client keys; update the digest deliberately.";

/** Policy 6 (advisory): BuildKit images (daemons and any image named buildkit) and runner images. */
export const imagesPinnedByDigestCheck: Check = {
    scope: "resource",
    run: (resource) => {
        const findings: Finding[] = [];
        const reported = new Set<string>();
        const check = (where: string, containerName: string, image: unknown, role: string) => {
            const key = `${where}/${containerName}`;
            if (typeof image !== "string" || isPinnedByDigest(image) || reported.has(key)) {
                return;
            }
            reported.add(key);
            findings.push(violation(`${where} container '${containerName}' uses ${role} image '${image}', which is not pinned by digest. ${FIX}`));
        };
        for (const { template, container } of daemonContainers([resource]).daemons) {
            check(template.where, container.name, container.image, "BuildKit");
        }
        for (const template of runnerTemplates(resource)) {
            const containers = containersOf(template.spec);
            for (const container of isUnknown(containers) ? [] : containers) {
                check(template.where, container.name, container.image, "runner pod");
            }
        }
        // Client containers running a BuildKit image (buildctl from moby/buildkit) count as BuildKit images too.
        for (const template of podTemplates(resource)) {
            const containers = containersOf(template.spec);
            for (const container of isUnknown(containers) ? [] : containers) {
                if (typeof container.image === "string" && isBuildkitImage(container.image)) {
                    check(template.where, container.name, container.image, "BuildKit");
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
