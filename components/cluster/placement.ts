import type * as k8s from "@pulumi/kubernetes";
import { BUILDKIT_POOL_LABEL, BUILDKIT_POOL_TAINT } from "../contracts";
import type { Placement } from "../buildkit/workload";

/** Where every Kubernetes resource of the stack goes, and where the builders may run. */
export interface ClusterConnection {
    provider: k8s.Provider;
    placement: Placement;
}

/** On AKS builders run only on the dedicated, tainted BuildKit pool; nothing else tolerates the taint. */
export const BUILDKIT_POOL_PLACEMENT: Placement = {
    nodeSelector: { [BUILDKIT_POOL_LABEL.key]: BUILDKIT_POOL_LABEL.value },
    tolerations: [{ key: BUILDKIT_POOL_TAINT.key, operator: "Equal", value: BUILDKIT_POOL_TAINT.value, effect: BUILDKIT_POOL_TAINT.effect }],
};
