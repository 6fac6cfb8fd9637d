import * as assert from "assert";
import { ConfigError } from "../../config";

/**
 * The one way tests edit a stack's config before the program (or the schema) reads it: as
 * `pulumi config set --path` would, on the `config:` map `runProgram`/`stackConfig` hand over.
 */
export type ConfigEdit = (config: Record<string, string>) => void;

/** The structured (JSON) value of `arc-buildkit:<key>` in a stack's config map; a key the stack lacks is `{}`. */
export function configValue(config: Record<string, string>, key: string): any {
    return JSON.parse(config[`arc-buildkit:${key}`] ?? "{}");
}

/** Changes the structured (JSON) key `arc-buildkit:<key>` in place; a key the stack lacks starts as `{}`. */
export function editConfig(key: string, change: (value: any) => void): ConfigEdit {
    return (config) => {
        const value = configValue(config, key);
        change(value);
        config[`arc-buildkit:${key}`] = JSON.stringify(value);
    };
}

/** Sets `arc-buildkit:<key>` whole, as `pulumi config set` would: a string as it is (a scalar key), anything else as JSON. */
export function setConfig(key: string, value: unknown): ConfigEdit {
    return (config) => {
        config[`arc-buildkit:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
    };
}

/** Sets one field at `path` inside `arc-buildkit:<key>` (intermediate objects created); `undefined` deletes it. */
export function setConfigPath(key: string, path: readonly string[], value: unknown): ConfigEdit {
    return editConfig(key, (doc) => {
        let node = doc;
        for (const part of path.slice(0, -1)) {
            node = node[part] ??= {};
        }
        if (value === undefined) {
            delete node[path[path.length - 1]];
        } else {
            node[path[path.length - 1]] = value;
        }
    });
}

/** Several edits, in order. */
export function allEdits(...edits: ConfigEdit[]): ConfigEdit {
    return (config) => edits.forEach((edit) => edit(config));
}

/** The problems a config is rejected with; fails the test when `parse` accepts it or throws anything but a ConfigError. */
export function configProblems(parse: () => unknown): string[] {
    try {
        parse();
    } catch (error) {
        assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
        return error.problems;
    }
    assert.fail("expected the config to be rejected");
}
