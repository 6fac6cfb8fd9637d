import { getMonitor } from "@pulumi/pulumi/runtime/settings";
/**
 * Resource options the mock `newResource` callback does not see (explicit dependencies,
 * ignoreChanges), read from the registration requests themselves. Call {@link recordRegistrations}
 * after `setMocks` and before the program declares anything: inside `runProgram`'s `edit` callback.
 */

export interface Registration {
    type: string;
    name: string;
    urn: string;
    /** URNs of the resources this one waits for (`dependsOn`, expanded to custom resources). */
    dependencies: string[];
    ignoreChanges: string[];
    /** `customTimeouts` as the engine receives them (Go duration strings; empty when unset). */
    customTimeouts: { create: string; update: string; delete: string };
    deleteBeforeReplace: boolean;
}

export function recordRegistrations(): Registration[] {
    const monitor: any = getMonitor();
    const recorded: Registration[] = [];
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: any) => {
        recorded.push({
            type: req.getType(),
            name: req.getName(),
            urn: monitor.newUrn(req.getParent(), req.getType(), req.getName()),
            dependencies: req.getDependenciesList(),
            ignoreChanges: req.getIgnorechangesList(),
            customTimeouts: {
                create: req.getCustomtimeouts()?.getCreate() ?? "",
                update: req.getCustomtimeouts()?.getUpdate() ?? "",
                delete: req.getCustomtimeouts()?.getDelete() ?? "",
            },
            deleteBeforeReplace: req.getDeletebeforereplace(),
        });
        return original(req, callback);
    };
    return recorded;
}
