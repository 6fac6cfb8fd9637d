import { deserializeProperties } from "@pulumi/pulumi/runtime/rpc";
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
    /** URN of the parent (a component, or the stack); empty for the stack itself. */
    parent: string;
    /** The inputs as the engine receives them (secrets stay wrapped), as the mocks' `newResource` sees them. */
    inputs: Record<string, any>;
    /** The provider reference (`urn::id`), empty for the default provider and components. */
    provider: string;
    custom: boolean;
    /** URNs of the resources this one waits for (`dependsOn`, expanded to custom resources). */
    dependencies: string[];
    ignoreChanges: string[];
    /** `customTimeouts` as the engine receives them (Go duration strings; empty when unset). */
    customTimeouts: { create: string; update: string; delete: string };
    deleteBeforeReplace: boolean;
    protect: boolean;
    retainOnDelete: boolean;
    replaceOnChanges: string[];
    additionalSecretOutputs: string[];
    /** URNs whose replacement also replaces this resource (`replaceWith`). */
    replaceWith: string[];
    /** `replacementTrigger` as the engine receives it (undefined when unset). */
    replacementTrigger: unknown;
    /** The `import` option: the ID of an existing object to adopt (empty when unset). */
    importId: string;
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
            parent: req.getParent(),
            inputs: deserializeProperties(req.getObject()),
            provider: req.getProvider(),
            custom: req.getCustom(),
            dependencies: req.getDependenciesList(),
            ignoreChanges: req.getIgnorechangesList(),
            customTimeouts: {
                create: req.getCustomtimeouts()?.getCreate() ?? "",
                update: req.getCustomtimeouts()?.getUpdate() ?? "",
                delete: req.getCustomtimeouts()?.getDelete() ?? "",
            },
            deleteBeforeReplace: req.getDeletebeforereplace(),
            protect: req.getProtect() ?? false,
            retainOnDelete: req.getRetainondelete() ?? false,
            replaceOnChanges: req.getReplaceonchangesList(),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            replaceWith: req.getReplaceWithList(),
            replacementTrigger: req.getReplacementTrigger()?.toJavaScript(),
            importId: req.getImportid(),
        });
        return original(req, callback);
    };
    return recorded;
}
