import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";

/**
 * A stack config value that cannot be used. It is a `RunError`, so Pulumi prints only the message
 * (no stack trace), and it is thrown before any resource is declared, so no half-built plan exists.
 */
export class ConfigError extends pulumi.RunError {
    constructor(
        readonly stack: string,
        readonly problems: string[],
    ) {
        super(
            `Invalid configuration for stack "${stack}":\n` +
                problems.map((p) => `  - ${p}`).join("\n") +
                (stack === "local"
                    ? "\nFix the value in Pulumi.local.yaml, or for your organization, runner group and cluster in the ARC_BUILDKIT_* variables npm run local:up reads (docs/local.md); every key is in docs/configuration.md."
                    : `\nFix the value in Pulumi.${stack}.yaml (or with \`pulumi config set --path --stack ${stack}\`); every key is in docs/configuration.md.`),
        );
        this.name = "ConfigError";
    }
}

/** `arc-buildkit:buildkit.platforms[1]` from a zod path. */
export function configKey(namespace: string, path: readonly PropertyKey[]): string {
    const [top, ...rest] = path;
    return rest.reduce<string>((key, part) => (typeof part === "number" ? `${key}[${part}]` : `${key}.${String(part)}`), `${namespace}:${String(top)}`);
}

/** One line per problem, each naming the full key, what is expected and what was given. */
export function describeIssues(namespace: string, issues: readonly z.core.$ZodIssue[]): string[] {
    return issues.flatMap((issue) => {
        if (issue.code === "unrecognized_keys") {
            return issue.keys.map((k) => `${configKey(namespace, [...issue.path, k])}: unknown key (check its spelling against docs/configuration.md)`);
        }
        if (issue.code === "invalid_union" && issue.errors.length > 0 && issue.path.length > 0) {
            // A union reports the first alternative's issues; those name the real culprit better than "invalid input".
            const nested = issue.errors.flat().map((sub) => ({ ...sub, path: [...issue.path, ...sub.path] }));
            if (nested.length > 0 && issue.message.startsWith("Invalid input")) {
                return describeIssues(namespace, nested);
            }
        }
        const key = configKey(namespace, issue.path);
        const given = "input" in issue ? issue.input : undefined;
        return [given === undefined ? `${key}: missing; ${issue.message}` : `${key}: ${issue.message}, got ${JSON.stringify(given)}`];
    });
}
