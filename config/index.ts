import * as pulumi from "@pulumi/pulumi";
import { ConfigError, describeIssues } from "./errors";
import { Settings, SETTINGS_KEYS, settingsSchema } from "./schema";

export { ConfigError } from "./errors";
export * from "./schema";

/** The config namespace of this project (`name:` in Pulumi.yaml). */
export const CONFIG_NAMESPACE = "arc-buildkit";

/**
 * Validates raw stack config (`arc-buildkit:key` → string, as Pulumi hands it to the program) and
 * returns the typed settings, or throws one {@link ConfigError} listing every problem.
 */
export function parseSettings(rawConfig: Record<string, string>, stack: string): Settings {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const values: Record<string, unknown> = {};
    const problems: string[] = [];
    for (const [fullKey, raw] of Object.entries(rawConfig).sort(([a], [b]) => a.localeCompare(b))) {
        if (!fullKey.startsWith(prefix)) {
            continue; // Provider config (kubernetes:, azure-native:, github:) is not ours to judge.
        }
        const key = fullKey.slice(prefix.length);
        if (!(SETTINGS_KEYS as string[]).includes(key)) {
            problems.push(`${fullKey}: unknown key; expected one of ${SETTINGS_KEYS.map((k) => prefix + k).join(", ")}`);
            continue;
        }
        values[key] = decode(raw);
    }
    const result = settingsSchema.safeParse(values, { reportInput: true });
    if (!result.success) {
        problems.push(...describeIssues(CONFIG_NAMESPACE, result.error.issues));
    }
    if (problems.length > 0 || !result.success) {
        throw new ConfigError(stack, problems);
    }
    return result.data;
}

/** Reads and validates this stack's config. Call it before declaring any resource. */
export function loadSettings(): Settings {
    return parseSettings(pulumi.runtime.allConfig(), pulumi.getStack());
}

/** Structured values arrive as JSON; scalars arrive as their text. */
function decode(raw: string): unknown {
    const trimmed = raw.trim();
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
        try {
            return JSON.parse(trimmed);
        } catch {
            return raw;
        }
    }
    return raw;
}
