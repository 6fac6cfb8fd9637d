import { strict as assert } from "assert";
import { runPolicies } from "../run";
import { SERVER_TLS_MOUNT, SERVER_TLS_VOLUME, TLS_FLAGS, buildkitd, configMap, workload } from "./fixtures/build";
import { ruleOf } from "./fixtures/judge";
import { DeclaredResource } from "../run";

const RULE = "buildkitd-isolates-build-steps";
const MTLS = ["--addr", "tcp://0.0.0.0:1234", ...TLS_FLAGS];
const TOML_TLS = '[grpc]\naddress = ["tcp://0.0.0.0:1234"]\n[grpc.tls]\ncert = "/t/tls.crt"\nkey = "/t/tls.key"\nca = "/t/ca.crt"\n';

function daemon(args: string[], extra: Record<string, unknown> = {}, volumes: unknown[] = []): DeclaredResource {
    return workload("StatefulSet", "bk", {
        containers: [buildkitd(args, { volumeMounts: [SERVER_TLS_MOUNT, ...((extra.volumeMounts as unknown[]) ?? [])], ...extra })],
        volumes: [SERVER_TLS_VOLUME, ...volumes],
    });
}

function withToml(toml: string, args: string[] = []): DeclaredResource[] {
    return [
        configMap("bk-config", { "buildkitd.toml": toml }),
        daemon(args, { volumeMounts: [{ name: "cfg", mountPath: "/etc/buildkit" }] }, [{ name: "cfg", configMap: { name: "bk-config" } }]),
    ];
}

async function verdicts(resources: DeclaredResource[]): Promise<{ mandatory: string[]; notes: string[] }> {
    const all = await runPolicies(resources);
    return {
        mandatory: all.filter((v) => v.enforcementLevel === "mandatory" && ruleOf(v) === RULE).map((v) => v.message),
        notes: all.filter((v) => v.policyName === "buildkit-unverifiable-values" && v.message.startsWith(`[${RULE}]`)).map((v) => v.message),
    };
}

describe("buildkitd-isolates-build-steps (issue 20)", () => {
    it("blocks --oci-worker-net=host on a rootful daemon, in both flag spellings", async () => {
        for (const flags of [["--oci-worker-net=host"], ["--oci-worker-net", "host"]]) {
            const { mandatory } = await verdicts([daemon([...MTLS, ...flags])]);
            assert.equal(mandatory.length, 1, JSON.stringify(flags));
            assert.match(mandatory[0], /network mode "host" from --oci-worker-net/);
        }
    });

    it('blocks networkMode = "host" in the TOML the daemon mounts (a cross-resource finding)', async () => {
        const { mandatory } = await verdicts(withToml(`${TOML_TLS}[worker.oci]\nnetworkMode = "host"\n`));
        assert.equal(mandatory.length, 1);
        assert.match(mandatory[0], /network mode "host"/);
    });

    it("lets the flag replace the TOML's mode, as buildkitd does", async () => {
        assert.deepEqual((await verdicts(withToml(`${TOML_TLS}[worker.oci]\nnetworkMode = "host"\n`, ["--oci-worker-net=bridge"]))).mandatory, []);
        assert.equal((await verdicts(withToml(`${TOML_TLS}[worker.oci]\nnetworkMode = "bridge"\n`, ["--oci-worker-net=host"]))).mandatory.length, 1);
    });

    it("passes bridge and cni, and judges the containerd worker only when enabled", async () => {
        assert.deepEqual(await verdicts(withToml(`${TOML_TLS}[worker.oci]\nnetworkMode = "bridge"\n`)), { mandatory: [], notes: [] });
        assert.deepEqual((await verdicts([daemon([...MTLS, "--oci-worker-net=cni"])])).mandatory, []);
        const containerd = `${TOML_TLS}[worker.oci]\nenabled = false\n[worker.containerd]\nenabled = true\nnetworkMode = "host"\n`;
        assert.equal((await verdicts(withToml(containerd))).mandatory.length, 1);
        assert.deepEqual((await verdicts(withToml(containerd.replace("enabled = true", "enabled = false")))).mandatory, []);
    });

    it("reports (does not block) an unset mode on a shared rootful daemon: auto falls back to host without a CNI config", async () => {
        const { mandatory, notes } = await verdicts([daemon(MTLS)]);
        assert.deepEqual(mandatory, []);
        assert.equal(notes.length, 1);
        assert.match(notes[0], /falls back to the host network when no CNI config exists at \/etc\/buildkit\/cni\.json/);
        // BUILDKIT_NETWORK_BRIDGE_AUTO=1 makes auto mean bridge; a mounted CNI config makes it CNI.
        assert.deepEqual(await verdicts([daemon(MTLS, { env: [{ name: "BUILDKIT_NETWORK_BRIDGE_AUTO", value: "1" }] })]), { mandatory: [], notes: [] });
        const cni = daemon(MTLS, { volumeMounts: [{ name: "cni", mountPath: "/etc/buildkit/cni.json", subPath: "cni.json" }] }, [
            { name: "cni", configMap: { name: "cni" } },
        ]);
        assert.deepEqual((await verdicts([configMap("cni", { "cni.json": "{}" }), cni])).notes, []);
    });

    it("blocks insecure entitlements on a TCP daemon, from the flag or the TOML, and not on a unix-socket-only daemon", async () => {
        assert.equal((await verdicts([daemon([...MTLS, "--oci-worker-net=bridge", "--allow-insecure-entitlement=network.host"])])).mandatory.length, 1);
        assert.equal(
            (await verdicts(withToml(`insecure-entitlements = ["security.insecure"]\n${TOML_TLS}[worker.oci]\nnetworkMode = "bridge"\n`))).mandatory.length,
            1,
        );
        assert.deepEqual(
            (await verdicts([daemon(["--addr", "unix:///run/buildkit/buildkitd.sock", "--allow-insecure-entitlement", "security.insecure"])])).mandatory,
            [],
        );
    });

    it("blocks noProcessSandbox on a TCP daemon (flag, flag=true, TOML), not =false, not on a private unix-socket daemon", async () => {
        const rootless = { image: "moby/buildkit:v0.31.2-rootless", securityContext: { runAsUser: 1000 } };
        assert.equal((await verdicts([daemon([...MTLS, "--oci-worker-no-process-sandbox"], rootless)])).mandatory.length, 1);
        assert.equal((await verdicts([daemon([...MTLS, "--oci-worker-no-process-sandbox=true"], rootless)])).mandatory.length, 1);
        assert.deepEqual((await verdicts([daemon([...MTLS, "--oci-worker-no-process-sandbox=false"], rootless)])).mandatory, []);
        assert.equal((await verdicts(withToml(`${TOML_TLS}[worker.oci]\nrootless = true\nnoProcessSandbox = true\n`))).mandatory.length, 1);
        assert.deepEqual(
            (await verdicts([daemon(["--addr", "unix:///run/user/1000/buildkit/buildkitd.sock", "--oci-worker-no-process-sandbox"], rootless)])).mandatory,
            [],
        );
    });

    it("leaves a rootless daemon's network mode alone (its steps share rootlesskit's namespace, not the node's)", async () => {
        const rootless = { image: "moby/buildkit:v0.31.2-rootless", securityContext: { runAsUser: 1000 } };
        assert.deepEqual(await verdicts([daemon([...MTLS, "--oci-worker-net=host"], rootless)]), { mandatory: [], notes: [] });
    });
});
