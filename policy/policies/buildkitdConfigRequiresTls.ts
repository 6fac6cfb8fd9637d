import { Check, policyFromCheck } from "../lib/adapt";
import { looksLikeBuildkitdToml, parseBuildkitdToml } from "../lib/buildkitdToml";
import { configMapEntries } from "../lib/configMaps";
import { Finding, unverifiable, violation } from "../lib/findings";
import { isKind } from "../lib/kube";
import { isUnknown } from "../lib/plain";
import { isTcpAddress } from "../lib/text";

const FIX =
    "Under [grpc.tls] set cert, key and ca (the CA that signs client certificates, so buildkitd demands one) to files " +
    "mounted from a Kubernetes Secret, or remove the tcp:// address and keep only the unix socket.";

/** Policy 2: judges every buildkitd.toml in a ConfigMap on its own, whoever mounts it. */
export const buildkitdConfigRequiresTlsCheck: Check = {
    scope: "resource",
    run: (resource) => {
        if (!isKind(resource, "ConfigMap")) {
            return [];
        }
        const findings: Finding[] = [];
        const subject = `ConfigMap '${resource.name}'`;
        for (const entry of configMapEntries(resource)) {
            if (isUnknown(entry.text)) {
                if (entry.key === "*" || /\.toml$/i.test(entry.key)) {
                    findings.push(unverifiable(`${subject} key '${entry.key}' is unknown during preview, so its buildkitd.toml cannot be checked for a plaintext tcp:// listener yet.`, resource.urn));
                }
                continue;
            }
            if (!looksLikeBuildkitdToml(entry.key, entry.text)) {
                continue;
            }
            const parsed = parseBuildkitdToml(entry.text);
            if (!parsed.ok) {
                const message = `${subject} key '${entry.key}' does not parse as TOML (${parsed.error}), so its gRPC listeners and TLS cannot be verified.`;
                findings.push(/tcp:\/\//i.test(entry.text) ? violation(`${message} Fix the TOML syntax. ${FIX}`, resource.urn) : unverifiable(message, resource.urn));
                continue;
            }
            const tcp = (parsed.grpc.addresses ?? []).filter(isTcpAddress);
            const missing = (["cert", "key", "ca"] as const).filter((field) => parsed.grpc[field] === undefined);
            if (tcp.length > 0 && missing.length > 0) {
                findings.push(violation(`${subject} key '${entry.key}' sets [grpc] address ${tcp.join(", ")} without [grpc.tls] ${missing.join(", ")}. ${FIX}`, resource.urn));
            }
        }
        return findings;
    },
};

export const buildkitdConfigRequiresTls = policyFromCheck(
    {
        name: "buildkitd-config-tcp-requires-tls",
        description: "A buildkitd.toml in a ConfigMap whose [grpc] address includes tcp:// must enable TLS with a client CA. " + FIX,
        enforcementLevel: "mandatory",
    },
    buildkitdConfigRequiresTlsCheck,
);
