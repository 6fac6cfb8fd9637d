import { ResourceLike } from "./findings";
import { Unknown } from "./plain";

/**
 * One Kubernetes object a stack declares: a resource of a `kubernetes:` type (Patch resources included,
 * with `patch` set), or an object inside a `kubernetes:yaml` ConfigFile/ConfigGroup (`yaml`, `objs`,
 * `files`). `body` is the object as Kubernetes sees it (metadata, spec, data, ...).
 */
export interface KObject {
    kind: string;
    apiVersion: string;
    /** metadata.name; for a resource without one, Pulumi auto-names it `<resource name>-<suffix>`. */
    name: string | Unknown | undefined;
    namespace: string | undefined;
    body: Record<string, unknown>;
    resource: ResourceLike;
    /** Human description, e.g. `Deployment 'ci'` or `ConfigGroup 'ci' object Deployment 'builder'`. */
    where: string;
    patch: boolean;
    /** Made from a template or patch another object carries (templates.ts), not declared on its own. */
    embedded?: boolean;
}
