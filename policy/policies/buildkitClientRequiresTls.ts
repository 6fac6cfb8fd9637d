import { Check, policyFromCheck } from "../lib/adapt";
import { buildkitdFlags } from "../lib/buildkitd";
import { CLIENT_FIX, judgeClients } from "../lib/clientTls";
import { Finding, unverifiable, violation } from "../lib/findings";
import { containersOf, helmLabel, isHelm, parseHelmValues, podTemplates } from "../lib/kube";
import { isUnknown } from "../lib/plain";

/** Policy 3: clients (pod templates of any workload, and pod specs inside Helm values such as ARC's runner template). */
export const buildkitClientRequiresTlsCheck: Check = {
    scope: "resource",
    run: (resource) => {
        const findings: Finding[] = [];
        if (isHelm(resource)) {
            const { error, text } = parseHelmValues(resource);
            if (error !== undefined) {
                const message = `${helmLabel(resource)} has values that do not parse as YAML (${error}), so they cannot be checked for tcp:// BuildKit addresses.`;
                findings.push(/tcp:\/\//i.test(text ?? "") ? violation(`${message} Fix the YAML. ${CLIENT_FIX}`) : unverifiable(message));
            } else if (isUnknown(resource.props.values)) {
                findings.push(unverifiable(`${helmLabel(resource)} has values that are unknown during preview, so they cannot be checked for tcp:// BuildKit addresses yet.`));
            }
        }
        for (const template of podTemplates(resource)) {
            const containers = containersOf(template.spec);
            if (isUnknown(containers)) {
                continue;
            }
            findings.push(...judgeClients(template, containers, (c) => buildkitdFlags(c) !== undefined));
        }
        return findings;
    },
};

export const buildkitClientRequiresTls = policyFromCheck(
    {
        name: "buildkit-client-requires-tls",
        description:
            "A container that points a BuildKit client at a tcp:// address (BUILDKIT_HOST, *_BUILDKIT_ADDR or similar env vars, or " +
            "buildctl --addr, in any pod template or in Helm values such as ARC's runner template) must carry a CA, a client certificate " +
            "and a client key. " + CLIENT_FIX,
        enforcementLevel: "mandatory",
    },
    buildkitClientRequiresTlsCheck,
);
