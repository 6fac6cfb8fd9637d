import * as pulumi from "@pulumi/pulumi";
import { loadSettings } from "../../config";
import { createStack } from "../../program";
import { APP_SECRET_KEYS, withAppCredentials } from "../fixtures/github-credentials";
import { editConfig } from "./config-edit";
import { mockCall, mockResourceState } from "./mocks";
import { stackConfig } from "./program";

/**
 * Waits until every dependent Output has settled: over a few turns of the event loop and at least 50 ms,
 * nothing new was rejected or registered (`activity` counts both). Node reports an unhandled rejection
 * right after the turn that made it. (The SDK's `waitForRPCs` would never return here: registrations
 * whose inputs depend on the failed Output never complete.) Bounded at 5 s.
 */
async function settled(activity: () => number): Promise<void> {
    const deadline = Date.now() + 5_000;
    let last = activity();
    let since = Date.now();
    while (Date.now() < deadline) {
        for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setTimeout(resolve, 10));
        if (activity() !== last) {
            last = activity();
            since = Date.now();
        } else if (Date.now() - since >= 50) {
            return;
        }
    }
}

/**
 * Runs the `aks` stack, with `cluster` merged into `arc-buildkit:cluster`, when a preflight is expected to
 * stop it. A preflight throws a RunError inside an Output, as it must in a real `up` (Pulumi prints the
 * message and stops); under mocks that surfaces as unhandled rejections of every dependent Output, so the
 * program runs by hand and exactly the rejections naming `marker` are routed to the caller (`seen`), any
 * other to `unexpected`. `registered` holds every resource type the program declared meanwhile.
 */
export async function runStoppedByPreflight(
    cluster: Record<string, unknown>,
    marker: string,
): Promise<{ seen: string[]; unexpected: string[]; registered: string[] }> {
    const seen: string[] = [];
    const unexpected: string[] = [];
    const registered: string[] = [];
    const previous = process.listeners("unhandledRejection");
    process.removeAllListeners("unhandledRejection");
    process.on("unhandledRejection", (reason) => (String(reason).includes(marker) ? seen : unexpected).push(String(reason)));
    try {
        await pulumi.runtime.setMocks(
            {
                newResource: async (a) => {
                    registered.push(a.type);
                    return { id: `${a.name}-id`, state: await mockResourceState(a.type, a.name, a.inputs) };
                },
                call: (a) => mockCall(a.token, a.inputs),
            },
            "arc-buildkit",
            "aks",
            false,
        );
        const config = stackConfig("aks");
        editConfig("cluster", (current) => Object.assign(current, { kubelogin: { login: "none" } }, cluster))(config);
        withAppCredentials(config);
        pulumi.runtime.setAllConfig(config, APP_SECRET_KEYS);
        const printError = console.error; // the runtime also prints the error for the operator
        console.error = () => {};
        try {
            createStack(loadSettings());
        } finally {
            setTimeout(() => (console.error = printError), 1000);
        }
        const deadline = Date.now() + 10_000;
        while (seen.length === 0 && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await settled(() => seen.length + unexpected.length + registered.length);
    } finally {
        process.removeAllListeners("unhandledRejection");
        previous.forEach((listener) => process.on("unhandledRejection", listener));
    }
    return { seen, unexpected, registered };
}
