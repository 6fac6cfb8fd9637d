/**
 * Where things live inside the buildkitd container. Rootful and rootless images differ in their
 * state directory and socket; everything else is shared.
 */

export interface DaemonLayout {
    /** BuildKit's state directory; the cache PVC is mounted here. */
    stateDir: string;
    /** The local gRPC socket the health checks and the preStop hook use. */
    socket: string;
}

export const CONFIG_DIR = "/etc/buildkit/config";
export const CONFIG_FILE = "buildkitd.toml";
export const SERVER_TLS_DIR = "/etc/buildkit/tls";

export function daemonLayout(rootless: boolean): DaemonLayout {
    return rootless
        ? { stateDir: "/home/user/.local/share/buildkit", socket: "unix:///run/user/1000/buildkit/buildkitd.sock" }
        : { stateDir: "/var/lib/buildkit", socket: "unix:///run/buildkit/buildkitd.sock" };
}
