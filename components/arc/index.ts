import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ArcAccess } from "../../config";
import type { GithubCredentials } from "../../config/github";
import { ARC_CONTROLLER_NAMESPACE, SHARED_TIER, TierNames, tierNames } from "../../contracts";
import { namespaceWithPodSecurity } from "../kubernetes/namespace";
import { tlsSecret } from "../kubernetes/tls-secret";
import type { TlsMaterial } from "../pki";
import { type BuilderPods, type MetricsGateway, runnerNetworkPolicy } from "../buildkit/network";
import {
    ARC_CHART_REGISTRY,
    CONTROLLER_CHART,
    CONTROLLER_RELEASE,
    controllerValues,
    GITHUB_CONFIG_SECRET,
    type RunnerResources,
    SCALE_SET_CHART,
    scaleSetValues,
} from "./values";
import { SELECTOR_CONFIGMAP, SELECTOR_CONFIGMAP_KEY, selectorScript } from "./selector";
import { controllerKeyVaultValues, KEY_VAULT_CERTIFICATE_FILE, KEY_VAULT_CERTIFICATE_SECRET, scaleSetKeyVaultValues } from "./key-vault";
import { controllerLifecycle, scaleSetLifecycle, scaleSetReleaseTimeout } from "./lifecycle";

export * from "./values";
export * from "./selector";
export * from "./rendezvous";
export * from "./key-vault";

/** A scale set's values with Key Vault mode applied (its `githubConfigSecret` names the vault secret). */
function withKeyVault(access: ArcAccess, values: Record<string, unknown>): Record<string, unknown> {
    return access.kind === "keyVault" ? { ...values, ...scaleSetKeyVaultValues(access.keyVault) } : values;
}
export * from "./lifecycle";

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
     * How ARC reaches its GitHub App: a Secret in each runner namespace (App or token, Pulumi secrets),
     * or Azure Key Vault (nothing of the App in any runner namespace; see ./key-vault.ts). Undefined (a
     * k3d stack without credentials): only the runner namespace and the client TLS Secret are declared,
     * which is what the deploy-time probe needs; no controller, no scale set, nothing that talks to GitHub.
     */
    access: ArcAccess | undefined;
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
    /** More environment for the shared tier's runner pods (the build metrics' AMEIDE_BUILDKIT_METRICS_*). Default: none. */
    extraEnv?: readonly { name: string; value: string }[];
    /**
     * Trust tiers beside the shared one: each gets its own runner namespace, client TLS Secret (its
     * own CA's identity), credentials Secret, selector and scale sets, all in the tier's runner group.
     * Default: none.
     */
    tiers?: readonly RunnerTierArgs[];
    /** Seconds a scale set's uninstall waits for busy runners (destroy, ARC minor upgrade). Default in config: 3600. */
    runnerDrainSeconds: number;
    /** Requests and limits of every runner container. Default in config: requests 500m / 1Gi, limits 2 / 4Gi. */
    runnerResources: RunnerResources;
    /** The ranges no runner pod may reach (every tier's). Required. */
    clusterCidrs: readonly string[];
    /** The shared tier's builder pods, which its runners may reach. Required. */
    builderPods: BuilderPods;
    /** The shared tier's build-metrics Pushgateway, which its runners may also reach. Default: none. */
    metricsGateway?: MetricsGateway;
}

/** One tier's runners. */
export interface RunnerTierArgs {
    names: TierNames;
    /** The tier's scale sets; every one joins `runnerGroup` when it is set. */
    scaleSets: readonly { name: string; labels?: readonly string[]; minRunners: number; maxRunners: number; runnerGroup?: string }[];
    /**
     * The tier's GitHub runner group: the declared group's name, so the scale sets register after it
     * exists. Undefined for the shared tier, whose scale sets each name their group in config.
     */
    runnerGroup?: pulumi.Input<string>;
    /** The tier's BuildKit Service address and server name. */
    endpoint: pulumi.Input<string>;
    serverName: pulumi.Input<string>;
    /** The tier's client identity (signed by the tier's own CA). */
    clientTls: TlsMaterial;
    builders: readonly string[];
    arm64?: { endpoint: pulumi.Input<string>; serverName: pulumi.Input<string>; builders: readonly string[] };
    /** More environment for the tier's runner pods (its build metrics' AMEIDE_BUILDKIT_METRICS_*). Default: none. */
    extraEnv?: readonly { name: string; value: string }[];
    /** The tier's builder pods: the only BuildKit pods its runners may reach. */
    builderPods: BuilderPods;
    /** The tier's build-metrics Pushgateway, which its runners may also reach. Default: none. */
    metricsGateway?: MetricsGateway;
}

/** What one tier's runners are, once declared. */
export interface TierRunners {
    readonly tier: string;
    readonly runnerNamespace: pulumi.Output<string>;
    readonly clientTlsSecret: k8s.core.v1.Secret;
    readonly scaleSetNames: string[];
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

    /** Every tier's runners, the shared tier first. */
    public readonly tiers: readonly TierRunners[];

    constructor(name: string, args: ArcRunnersArgs, opts?: pulumi.ComponentResourceOptions) {
        super("arc-buildkit:arc:ArcRunners", name, {}, opts);
        const child = { parent: this };

        const shared: RunnerTierArgs = {
            names: tierNames(SHARED_TIER),
            scaleSets: args.scaleSets,
            endpoint: args.endpoint,
            serverName: args.serverName,
            clientTls: args.clientTls,
            builders: args.builders,
            arm64: args.arm64,
            extraEnv: args.extraEnv,
            builderPods: args.builderPods,
            metricsGateway: args.metricsGateway,
        };
        const allTiers: RunnerTierArgs[] = [shared, ...(args.tiers ?? [])];
        // Namespaces and client TLS first: without credentials (a k3d stack) that is all there is, and
        // it is what the deploy-time probe needs.
        const declared = allTiers.map((tier) => {
            const prefix = tier.names.resourcePrefix;
            // `restricted`: runner pods (values.ts) and the probe pass it; ARC's listener runs in the controller namespace.
            const runnerNs = namespaceWithPodSecurity(tier.names.runnerNamespace, "restricted", child);
            // Also without credentials: the deploy-time probe runs here under the same policy as a runner.
            // Out only to DNS, the tier's own builders and the internet (components/buildkit/network.ts).
            new k8s.networking.v1.NetworkPolicy(
                `${prefix}runner-sandbox`,
                {
                    metadata: { name: "runner-sandbox", namespace: runnerNs.metadata.name },
                    spec: runnerNetworkPolicy(tier.builderPods, args.clusterCidrs, tier.metricsGateway),
                },
                { parent: this },
            );
            // Objects in a runner namespace take their namespace from `runnerNs.metadata.name`, which orders them after it.
            const clientTls = tlsSecret(
                tier.names.clientTlsSecret,
                runnerNs.metadata.name,
                tier.clientTls,
                { parent: this },
                `${prefix}${tier.names.clientTlsSecret}`,
            );
            return { tier, runnerNs, clientTls, prefix };
        });
        this.runnerNamespace = declared[0].runnerNs.metadata.name;
        this.clientTlsSecret = declared[0].clientTls;
        if (!args.access) {
            this.scaleSetNames = [];
            this.tiers = declared.map((d) => ({
                tier: d.tier.names.tier,
                runnerNamespace: d.runnerNs.metadata.name,
                clientTlsSecret: d.clientTls,
                scaleSetNames: [],
            }));
            this.registerOutputs({ scaleSetNames: this.scaleSetNames });
            return;
        }
        const access = args.access;

        // The controller and the listener pods it creates are unprivileged, so `baseline` admits them.
        const controllerNs = namespaceWithPodSecurity(ARC_CONTROLLER_NAMESPACE, "baseline", child);
        // Key Vault mode: the certificate that reads the vault, in arc-systems only (no job runs there).
        const vaultCertificate =
            access.kind === "keyVault"
                ? new k8s.core.v1.Secret(
                      KEY_VAULT_CERTIFICATE_SECRET,
                      {
                          metadata: {
                              name: KEY_VAULT_CERTIFICATE_SECRET,
                              namespace: controllerNs.metadata.name,
                              labels: { "app.kubernetes.io/part-of": "arc-buildkit" },
                          },
                          type: "Opaque",
                          stringData: pulumi.secret(access.certificatePem.apply((pem) => ({ [KEY_VAULT_CERTIFICATE_FILE]: pem }))),
                      },
                      { parent: this },
                  )
                : undefined;
        const controller = new k8s.helm.v3.Release(
            CONTROLLER_RELEASE,
            {
                name: CONTROLLER_RELEASE,
                namespace: controllerNs.metadata.name,
                createNamespace: false,
                chart: `${ARC_CHART_REGISTRY}/${CONTROLLER_CHART}`,
                version: args.chartVersion,
                values: { ...controllerValues(), ...(access.kind === "keyVault" ? controllerKeyVaultValues() : {}) },
                // atomic: a failed install is uninstalled and a failed upgrade rolled back (Helm waits for
                // the release's objects to be ready to decide). It does not cover the CRDs: Helm applies
                // the chart's crds/ directory before the first install only, and never upgrades or deletes
                // them, so a new chartVersion needs scripts/arc/apply-crds.sh first (docs/operations/arc-upgrade.md, "Upgrading ARC").
                atomic: true,
                cleanupOnFail: true,
            },
            // A new ARC minor replaces the controller, its scale sets first (./lifecycle.ts). The controller
            // mounts the vault certificate in Key Vault mode: its pod waits for the Secret.
            { parent: this, ...controllerLifecycle(args.chartVersion), ...(vaultCertificate ? { dependsOn: [vaultCertificate] } : {}) },
        );

        this.tiers = declared.map(({ tier, runnerNs, clientTls, prefix }) => {
            const inRunners = { parent: this };
            // Without Key Vault, ARC reads the credentials from a Secret in the scale set's own namespace
            // (secretresolver's k8sResolver at gha-runner-scale-set-0.14.2), so each runner namespace holds its copy.
            const githubSecret =
                access.kind === "secret"
                    ? new k8s.core.v1.Secret(
                          `${prefix}${GITHUB_CONFIG_SECRET}`,
                          {
                              metadata: {
                                  name: GITHUB_CONFIG_SECRET,
                                  namespace: runnerNs.metadata.name,
                                  labels: { "app.kubernetes.io/part-of": "arc-buildkit" },
                              },
                              type: "Opaque",
                              stringData: githubConfigSecretData(access.credentials),
                          },
                          inRunners,
                      )
                    : undefined;
            // select-buildkit: the init container of every runner pod copies it next to buildctl.
            const selector = new k8s.core.v1.ConfigMap(
                `${prefix}${SELECTOR_CONFIGMAP}`,
                {
                    metadata: { name: SELECTOR_CONFIGMAP, namespace: runnerNs.metadata.name, labels: { "app.kubernetes.io/part-of": "arc-buildkit" } },
                    data: { [SELECTOR_CONFIGMAP_KEY]: selectorScript() },
                },
                inRunners,
            );
            const scaleSetNames = tier.scaleSets.map((set) => {
                new k8s.helm.v3.Release(
                    set.name,
                    {
                        name: set.name,
                        namespace: runnerNs.metadata.name,
                        createNamespace: false,
                        chart: `${ARC_CHART_REGISTRY}/${SCALE_SET_CHART}`,
                        version: args.chartVersion,
                        values: withKeyVault(
                            access,
                            scaleSetValues({
                                ...set,
                                // The shared tier's sets name their group in config; another tier's sets all join the tier's group.
                                runnerGroup: tier.runnerGroup ?? set.runnerGroup ?? "default",
                                githubConfigUrl: args.githubConfigUrl,
                                runnerImage: args.runnerImage,
                                buildkitImage: args.buildkitImage,
                                endpoint: tier.endpoint,
                                serverName: tier.serverName,
                                builders: tier.builders,
                                arm64: tier.arm64,
                                selectorTimeoutSeconds: args.selectorTimeoutSeconds,
                                extraEnv: tier.extraEnv,
                                runnerResources: args.runnerResources,
                                tier: { name: tier.names.tier, others: allTiers.map((t) => t.names.tier).filter((t) => t !== tier.names.tier) },
                                // By reference: the release waits for the Secret and ConfigMap its runner pods mount.
                                githubConfigSecretName: githubSecret ? githubSecret.metadata.name : "",
                                clientTlsSecretName: clientTls.metadata.name,
                                selectorConfigMapName: selector.metadata.name,
                            }),
                        ),
                        atomic: true,
                        cleanupOnFail: true,
                        ...scaleSetReleaseTimeout(args),
                    },
                    // After the controller (its CRDs), replaced with it, uninstalled before it, waiting for busy
                    // runners (./lifecycle.ts). The credentials Secret, the TLS Secret and the selector ConfigMap
                    // are ordered by the references above.
                    { parent: this, ...scaleSetLifecycle(args, controller) },
                );
                return set.name;
            });
            return { tier: tier.names.tier, runnerNamespace: runnerNs.metadata.name, clientTlsSecret: clientTls, scaleSetNames };
        });
        this.scaleSetNames = this.tiers[0].scaleSetNames;
        this.registerOutputs({ scaleSetNames: this.scaleSetNames });
    }
}
