import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { GithubCredentials } from "../../config/github";
import { ARC_CONTROLLER_NAMESPACE, CLIENT_TLS_SECRET, RUNNER_NAMESPACE } from "../../contracts";
import { namespaceWithPodSecurity } from "../kubernetes/namespace";
import { tlsSecret } from "../kubernetes/tls-secret";
import type { TlsMaterial } from "../pki";
import { ARC_CHART_REGISTRY, CONTROLLER_CHART, CONTROLLER_RELEASE, controllerValues, GITHUB_CONFIG_SECRET, SCALE_SET_CHART, scaleSetValues } from "./values";
import { SELECTOR_CONFIGMAP, SELECTOR_CONFIGMAP_KEY, selectorScript } from "./selector";

export * from "./values";
export * from "./selector";
export * from "./rendezvous";

export interface ArcRunnersArgs {
    /** Version of both ARC charts. Default in config: 0.14.2. */
    chartVersion: string;
    /** Runner image pinned by digest. */
    runnerImage: string;
    /** The BuildKit daemon's image; the runners' `buildctl` is copied from it. */
    buildkitImage: string;
    /** `https://github.com/<org>` or `https://github.com/<org>/<repo>`. */
    githubConfigUrl: string;
    /**
     * GitHub App or token, Pulumi secrets; they only reach a Kubernetes Secret. Undefined (a k3d stack
     * without credentials): only the runner namespace and the client TLS Secret are declared, which is
     * what the deploy-time probe needs; no controller, no scale set, nothing that talks to GitHub.
     */
    credentials: GithubCredentials | undefined;
    scaleSets: readonly { name: string; minRunners: number; maxRunners: number; runnerGroup: string }[];
    /** Endpoint and TLS server name the runners are given (the BuildKit Service's). */
    endpoint: pulumi.Input<string>;
    serverName: pulumi.Input<string>;
    /** The runners' client identity, written to `buildkitd-client-tls` in `arc-runners`. */
    clientTls: TlsMaterial;
    /** Each builder's stable DNS name, for `select-buildkit`. */
    builders: readonly string[];
    /** The native arm64 builders when they exist: Service address, server name, each pod's DNS name. */
    arm64?: { endpoint: pulumi.Input<string>; serverName: pulumi.Input<string>; builders: readonly string[] };
    /** Seconds `select-buildkit` gives one builder to answer. Default in config: 5. */
    selectorTimeoutSeconds: number;
    /** More runner pod environment (the build metrics' AMEIDE_BUILDKIT_METRICS_*). Default: none. */
    extraEnv?: readonly { name: string; value: string }[];
}

/**
 * The keys ARC's scale set chart reads from `githubConfigSecret` (see its values.yaml). The whole
 * payload is a Pulumi secret: encrypted in state, masked in diffs, never in Helm values.
 */
export function githubConfigSecretData(credentials: GithubCredentials): pulumi.Output<Record<string, string>> {
    const data: pulumi.Output<Record<string, string>> =
        credentials.method === "app"
            ? pulumi.all([credentials.appId, credentials.installationId, credentials.privateKey]).apply(([id, installation, key]): Record<string, string> => ({
                  github_app_id: id,
                  github_app_installation_id: installation,
                  github_app_private_key: key,
              }))
            : credentials.token.apply((token): Record<string, string> => ({ github_token: token }));
    return pulumi.secret(data);
}

/**
 * GitHub Actions Runner Controller and one runner scale set per configured label, wired to BuildKit:
 * namespaces `arc-systems` and `arc-runners`, the client TLS secret, the GitHub credentials secret,
 * the controller release `arc` and a `gha-runner-scale-set` release per scale set. Without
 * credentials, only `arc-runners` and the client TLS secret (same names and parents, so adding
 * credentials later adds the rest without replacing them).
 */
export class ArcRunners extends pulumi.ComponentResource {
    /** Helm release names of the scale sets, which are also their `runs-on` labels; empty without credentials. */
    public readonly scaleSetNames: string[];
    /** `arc-runners`, resolved once the namespace exists. */
    public readonly runnerNamespace: pulumi.Output<string>;
    /** The runners' client TLS Secret, for anything else in `arc-runners` that must present it. */
    public readonly clientTlsSecret: k8s.core.v1.Secret;

    constructor(name: string, args: ArcRunnersArgs, opts?: pulumi.ComponentResourceOptions) {
        super("arc-buildkit:arc:ArcRunners", name, {}, opts);
        const child = { parent: this };

        const runnerNs = namespaceWithPodSecurity(RUNNER_NAMESPACE, "baseline", child);
        // Objects in arc-runners take their namespace from `runnerNs.metadata.name`, which orders them after it.
        const inRunners = { parent: this };

        const clientTls = tlsSecret(CLIENT_TLS_SECRET, runnerNs.metadata.name, args.clientTls, inRunners);
        this.runnerNamespace = runnerNs.metadata.name;
        this.clientTlsSecret = clientTls;
        if (!args.credentials) {
            this.scaleSetNames = [];
            this.registerOutputs({ scaleSetNames: this.scaleSetNames });
            return;
        }

        // The controller and the listener pods it creates are unprivileged, so `baseline` admits them.
        const controllerNs = namespaceWithPodSecurity(ARC_CONTROLLER_NAMESPACE, "baseline", child);
        const githubSecret = new k8s.core.v1.Secret(
            GITHUB_CONFIG_SECRET,
            {
                metadata: { name: GITHUB_CONFIG_SECRET, namespace: runnerNs.metadata.name, labels: { "app.kubernetes.io/part-of": "arc-buildkit" } },
                type: "Opaque",
                stringData: githubConfigSecretData(args.credentials),
            },
            inRunners,
        );

        // select-buildkit: the init container of every runner pod copies it next to buildctl.
        const selector = new k8s.core.v1.ConfigMap(
            SELECTOR_CONFIGMAP,
            {
                metadata: { name: SELECTOR_CONFIGMAP, namespace: runnerNs.metadata.name, labels: { "app.kubernetes.io/part-of": "arc-buildkit" } },
                data: { [SELECTOR_CONFIGMAP_KEY]: selectorScript() },
            },
            inRunners,
        );

        const controller = new k8s.helm.v3.Release(
            CONTROLLER_RELEASE,
            {
                name: CONTROLLER_RELEASE,
                namespace: controllerNs.metadata.name,
                createNamespace: false,
                chart: `${ARC_CHART_REGISTRY}/${CONTROLLER_CHART}`,
                version: args.chartVersion,
                values: controllerValues(),
                // atomic: a failed install is uninstalled and a failed upgrade rolled back (Helm waits for
                // the release's objects to be ready to decide). It does not cover the CRDs: Helm applies
                // the chart's crds/ directory before the first install only, and never upgrades or deletes
                // them, so a new chartVersion needs scripts/arc/apply-crds.sh first (README: "Upgrading ARC").
                atomic: true,
                cleanupOnFail: true,
            },
            { parent: this },
        );

        this.scaleSetNames = args.scaleSets.map((set) => {
            new k8s.helm.v3.Release(
                set.name,
                {
                    name: set.name,
                    namespace: runnerNs.metadata.name,
                    createNamespace: false,
                    chart: `${ARC_CHART_REGISTRY}/${SCALE_SET_CHART}`,
                    version: args.chartVersion,
                    values: scaleSetValues({
                        ...set,
                        githubConfigUrl: args.githubConfigUrl,
                        runnerImage: args.runnerImage,
                        buildkitImage: args.buildkitImage,
                        endpoint: args.endpoint,
                        serverName: args.serverName,
                        builders: args.builders,
                        arm64: args.arm64,
                        selectorTimeoutSeconds: args.selectorTimeoutSeconds,
                        extraEnv: args.extraEnv,
                        // By reference: the release waits for the Secret and ConfigMap its runner pods mount.
                        githubConfigSecretName: githubSecret.metadata.name,
                        clientTlsSecretName: clientTls.metadata.name,
                        selectorConfigMapName: selector.metadata.name,
                    }),
                    atomic: true,
                    cleanupOnFail: true,
                },
                // The AutoscalingRunnerSet needs the controller's CRDs: no value of the controller release
                // reaches these values, so that order is explicit. The credentials Secret, the TLS Secret
                // and the selector ConfigMap are ordered by the references above.
                { parent: this, dependsOn: [controller] },
            );
            return set.name;
        });

        this.registerOutputs({ scaleSetNames: this.scaleSetNames });
    }
}
