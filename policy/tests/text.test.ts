import { strict as assert } from "assert";
import { parseBuildkitdToml } from "../lib/buildkitdToml";
import { SEPARATOR, flagValues, shellWords } from "../lib/text";

describe("command-line and TOML parsing", () => {
    it("splits shell scripts into words and command separators", () => {
        assert.deepEqual(shellWords(`buildkitd --addr "tcp://0.0.0.0:1234" && buildctl --addr 'unix:///x y'; echo a\\ b`), [
            "buildkitd",
            "--addr",
            "tcp://0.0.0.0:1234",
            SEPARATOR,
            "buildctl",
            "--addr",
            "unix:///x y",
            SEPARATOR,
            "echo",
            "a b",
        ]);
    });

    it("reads flags in every form buildkitd accepts", () => {
        const tokens = ["--addr", "unix:///a", "-addr=tcp://b", "--addr=tcp://c", "-addr", "tcp://d", "--tlscacert"];
        assert.deepEqual(flagValues(tokens, "addr"), ["unix:///a", "tcp://b", "tcp://c", "tcp://d"]);
        assert.deepEqual(flagValues(tokens, "tlscacert"), [""]);
    });

    it("reads [grpc] address and [grpc.tls] and reports syntax errors instead of throwing", () => {
        const parsed = parseBuildkitdToml('[grpc]\naddress = ["tcp://x:1"]\n[grpc.tls]\ncert = "c"\nkey = ""\n');
        assert.ok(parsed.ok);
        assert.deepEqual(parsed.grpc, { addresses: ["tcp://x:1"], cert: "c", key: undefined, ca: undefined });
        const broken = parseBuildkitdToml("[grpc\n");
        assert.equal(broken.ok, false);
    });
});
