import type * as k8s from "@pulumi/kubernetes";

/** The Azure Disk CSI driver, which provisions every AKS managed disk. */
export const AZURE_DISK_CSI = "disk.csi.azure.com";

/**
 * A StorageClass of Premium SSD zone-redundant disks (Premium_ZRS). A ZRS disk is replicated across
 * the region's zones and attaches to a node in any of them, so the builders' pool may span zones.
 * WaitForFirstConsumer creates each disk when its builder is scheduled; Delete removes it with its
 * claim (the StatefulSet deletes claims with its pods); expansion lets a bigger cache grow in place.
 */
export function zoneRedundantStorageClass(name: string): Omit<k8s.storage.v1.StorageClassArgs, "apiVersion" | "kind"> {
    return {
        metadata: { name, labels: { "app.kubernetes.io/part-of": "arc-buildkit" } },
        provisioner: AZURE_DISK_CSI,
        parameters: { skuName: "Premium_ZRS" },
        reclaimPolicy: "Delete",
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
    };
}
