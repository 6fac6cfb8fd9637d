#!/usr/bin/env bash
# Fail early, with the name of what is missing, before a preview/up job logs in to Azure and Pulumi.
# Reads only the job environment set from the job's GitHub environment (aks, or aks-preview for previews):
# docs/ci-cd.md and docs/runbook.md.
set -euo pipefail

fail=0
for v in ARM_CLIENT_ID ARM_TENANT_ID ARM_SUBSCRIPTION_ID; do
  if [ -z "${!v:-}" ]; then
    # The preview job takes its client ID from AZURE_PREVIEW_CLIENT_ID (a separate identity, docs/ci-cd.md).
    name="AZURE_${v#ARM_}"
    if [ "$v" = ARM_CLIENT_ID ] && [ "${GITHUB_WORKFLOW:-}" = "preview (aks)" ]; then name=AZURE_PREVIEW_CLIENT_ID; fi
    echo "::error::${v} is empty: set the variable ${name} on the job's GitHub environment (Azure OIDC app registration)."
    fail=1
  fi
done

backend="${PULUMI_BACKEND_URL:-}"
if [ -n "$backend" ]; then
  echo "State backend: ${backend} (self-managed)"
  case "$backend" in
    azblob://*)
      if [[ "$backend" != *storage_account=* ]] && [ -z "${AZURE_STORAGE_ACCOUNT:-}" ]; then
        echo "::error::PULUMI_BACKEND_URL is azblob:// but names no storage account: add ?storage_account=<name> or set the variable AZURE_STORAGE_ACCOUNT."
        fail=1
      fi
      ;;
  esac
elif [ -n "${PULUMI_ACCESS_TOKEN:-}" ]; then
  echo "State backend: Pulumi Cloud (PULUMI_BACKEND_URL is empty, PULUMI_ACCESS_TOKEN is set)"
else
  echo "::error::No state backend: set the environment variable PULUMI_BACKEND_URL (for example azblob://<container>?storage_account=<account>) or the environment secret PULUMI_ACCESS_TOKEN for Pulumi Cloud, on the job's GitHub environment."
  fail=1
fi
exit "$fail"
