import type * as pulumi from "@pulumi/pulumi";

/**
 * How Pulumi replaces, upgrades and deletes ARC's Helm releases. Pure, so the options are asserted
 * directly; every caller (one controller, any number of scale sets, in any tier) takes them from here.
 *
 * ARC's controller deletes every AutoscalingRunnerSet whose `app.kubernetes.io/version` label differs
 * from its own build in major.minor (actions-runner-controller gha-runner-scale-set-0.14.2,
 * controllers/actions.github.com/autoscalingrunnerset_controller.go: `if !v1alpha1.IsVersionAllowed(...)
 * { r.Delete(ctx, autoscalingRunnerSet) }`; apis/actions.github.com/v1alpha1/version.go compares
 * major and minor only). Upgraded in place, the new controller would delete the scale sets while
 * Helm reports success. ARC's documented upgrade ("Upgrading ARC" in GitHub's ARC docs, linked from
 * the chart's release notes) is instead: uninstall every scale set, uninstall the controller, update
 * the CRDs, install the new controller, install the scale sets again.
 *
 * That order is what the Pulumi engine does for these options (pulumi/pulumi
 * pkg/resource/deploy/step_generator.go):
 * - `replacementTrigger` (the chart's major.minor) replaces a release when it differs from the value
 *   recorded by the last deployment (`shouldTriggerReplace`; a trigger recorded for the first time is
 *   not a change, so adopting these options replaces nothing). A patch upgrade (0.14.2 → 0.14.3)
 *   keeps the trigger and is an in-place `helm upgrade`, which ARC allows.
 * - `deleteBeforeReplace` on the controller: the engine deletes the old release before it creates
 *   the new one, and before that deletes every resource that `replaceWith`s it, in reverse
 *   dependency order (`calculateDependentReplacements` and `findDependentCascadeReplacements`:
 *   "DeleteBeforeCreate implies that we must immediately delete the resource ... all resources that
 *   depend ... on the resource being replaced").
 * - `replaceWith: [controller]` on each scale set: so each one is uninstalled while the old
 *   controller still runs (it removes the scale set's finalizers and deregisters its runners), and
 *   created again after the new controller (their `dependsOn`).
 * The CRDs stay a manual step before the `up` (Helm never upgrades them): scripts/arc/apply-crds.sh.
 */

/** `0.14` of `0.14.2`: the part ARC's controller compares. */
export function arcMinor(chartVersion: string): string {
    const match = /^([0-9]+)\.([0-9]+)\.[0-9]+$/.exec(chartVersion);
    if (!match) {
        throw new Error(`ARC chart version ${chartVersion} is not major.minor.patch`);
    }
    return `${Number(match[1])}.${Number(match[2])}`;
}

/**
 * Seconds Helm waits for a scale set's objects to be deleted at uninstall (the release's `timeout`).
 * The AutoscalingRunnerSet keeps its finalizer until its ephemeral runners are gone, and a runner that
 * is running a job is removed only when the job ends, so this is how long a destroy or an ARC minor
 * upgrade waits for busy runners.
 *
 * Helm 3's `Uninstall.Run` deletes the release record even when that wait times out, and reports the
 * error (pkg/action/uninstall.go: the wait error is collected, the release is purged unless
 * `KeepHistory`); pulumi-kubernetes then keeps the release in its state
 * (provider/pkg/provider/helm_release.go, `Delete`: `uninstall.Wait = true; uninstall.Timeout = ...`),
 * and every later delete fails with "release: not found" until a `pulumi refresh`. A wait longer
 * than the longest job keeps that from happening; the runbook covers the rest.
 */
export interface ScaleSetLifecycleInput {
    chartVersion: string;
    /** Longest a busy runner may take to finish its job when its scale set is uninstalled. */
    runnerDrainSeconds: number;
}

/** Helm's own slack after the wait (hooks, release bookkeeping) before Pulumi's timeout. */
export const HELM_MARGIN_SECONDS = 300;

/** Resource options of the controller release. */
export function controllerLifecycle(chartVersion: string): Pick<pulumi.CustomResourceOptions, "replacementTrigger" | "deleteBeforeReplace"> {
    return { replacementTrigger: arcMinor(chartVersion), deleteBeforeReplace: true };
}

/** Release inputs of a scale set that bound its uninstall: Helm's wait, in seconds. */
export function scaleSetReleaseTimeout(input: ScaleSetLifecycleInput): { timeout: number } {
    return { timeout: input.runnerDrainSeconds };
}

/** Resource options of one scale set release: replaced with the controller, deleted first, waiting for busy runners. */
export function scaleSetLifecycle(
    input: ScaleSetLifecycleInput,
    controller: pulumi.Resource,
): Pick<pulumi.CustomResourceOptions, "replacementTrigger" | "deleteBeforeReplace" | "replaceWith" | "customTimeouts" | "dependsOn"> {
    const seconds = `${input.runnerDrainSeconds + HELM_MARGIN_SECONDS}s`;
    return {
        replacementTrigger: arcMinor(input.chartVersion),
        deleteBeforeReplace: true,
        replaceWith: [controller],
        // The AutoscalingRunnerSet needs the controller's CRDs and webhook: created after it.
        dependsOn: [controller],
        customTimeouts: { create: seconds, update: seconds, delete: seconds },
    };
}
