import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

// Only constructs the pack: constructing a PolicyPack starts the analyzer's gRPC server, so tests import
// `./policies` instead of this file.
new PolicyPack("arc-buildkit-policy", {
    policies,
    description: "BuildKit's TCP API only with mutual TLS, never exposed outside the cluster; ARC runner pods unprivileged without Docker-in-Docker.",
});
