#!/usr/bin/env bash
# Fail early, with the name of what is missing, before a preview/up job logs in to Azure and Pulumi.
# Reads only the job environment set from repository/environment variables (README.md, sections CI/CD and Runbook).
set -euo pipefail

fail=0
for v in ARM_CLIENT_ID ARM_TENANT_ID ARM_SUBSCRIPTION_ID; do
  if [ -z "${!v:-}" ]; then
    echo "::error::${v} is empty: set the repository variable AZURE_${v#ARM_} (Azure OIDC app registration)."
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
  echo "::error::No state backend: set the repository variable PULUMI_BACKEND_URL (for example azblob://<container>?storage_account=<account>) or the secret PULUMI_ACCESS_TOKEN for Pulumi Cloud."
  fail=1
fi
exit "$fail"
