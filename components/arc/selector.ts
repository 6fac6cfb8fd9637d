import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

/**
 * `select-buildkit`, the cache-aware builder choice, delivered next to `buildctl` in every runner
 * pod: a ConfigMap in `arc-runners` holds the script, and an init container copies it into the
 * tools directory on PATH (the runner's mount of that directory is read-only, and a ConfigMap file
 * mounted with subPath inside a read-only mount cannot get its mount point).
 */

/** ConfigMap in `arc-runners` that holds the script. */
export const SELECTOR_CONFIGMAP = "arc-buildkit-selector";
/** The command name on the runner's PATH. */
export const SELECTOR_COMMAND = "select-buildkit";
/** The ConfigMap key: the script's own file name. */
export const SELECTOR_CONFIGMAP_KEY = "select-buildkit.sh";
/** Where the init container sees the ConfigMap. */
export const SELECTOR_SOURCE_DIR = "/etc/arc-buildkit/selector";
export const SELECTOR_VOLUME = "buildkit-selector";

/** The script's source file in this repository: POSIX sh, run for real under dash and bash in tests. */
export const SELECTOR_SCRIPT_PATH = path.join(__dirname, "select-buildkit.sh");

/** The script as shipped: read from the repository, so the same commit always ships the same bytes. */
export function selectorScript(): string {
    return fs.readFileSync(SELECTOR_SCRIPT_PATH, "utf8");
}

/**
 * Runner pod template annotation carrying the script's digest. Runner pods copy the script once, when
 * they start; a new script changes the template, so ARC replaces its idle runners (a new runner set
 * spec hash) instead of leaving them with the old copy until their next job.
 */
export const SELECTOR_DIGEST_ANNOTATION = "arc-buildkit/select-buildkit-sha256";
export function selectorDigest(): string {
    return createHash("sha256").update(selectorScript()).digest("hex");
}
