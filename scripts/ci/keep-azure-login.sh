#!/usr/bin/env bash
# Keeps the Azure CLI logged in for the whole deploy job, so kubelogin (login mode azurecli, which asks
# `az` for a token each time the Kubernetes provider needs one) still gets tokens after the first hour.
#
# Why: azure/login logs the CLI in with the job's GitHub OIDC ID token (a federated credential). That
# ID token lives for minutes; the Azure access token the CLI gets with it lives about an hour, and the
# CLI cannot get a new one later with the expired ID token. A deploy may now run for hours (the
# rollout bound, components/deploy/budget.ts). This loop asks GitHub for a fresh ID token
# (ACTIONS_ID_TOKEN_REQUEST_URL, available with `permissions: id-token: write`) and logs the CLI in
# again with it, every AZURE_LOGIN_REFRESH_SECONDS (default 1200), for as long as the job runs; the
# runner ends it with the job. The token never reaches the log. docs/operations/deploy-timeouts.md.
#   usage (as a background step): nohup bash scripts/ci/keep-azure-login.sh >"$RUNNER_TEMP/keep-azure-login.log" 2>&1 &
set -euo pipefail

: "${ACTIONS_ID_TOKEN_REQUEST_URL:?needs permissions: id-token: write}"
: "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:?needs permissions: id-token: write}"
: "${AZURE_CLIENT_ID:?set AZURE_CLIENT_ID}"
: "${AZURE_TENANT_ID:?set AZURE_TENANT_ID}"
interval="${AZURE_LOGIN_REFRESH_SECONDS:-1200}"
case "$interval" in '' | *[!0-9]*) echo "AZURE_LOGIN_REFRESH_SECONDS must be a whole number of seconds" >&2; exit 2 ;; esac

refresh() {
  local response token
  response="$(curl -fsS --retry 3 -H "Authorization: bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}" "${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=api://AzureADTokenExchange")" || return 1
  token="$(printf '%s' "$response" | sed -n 's/.*"value"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')"
  [ -n "$token" ] || { echo "no ID token in GitHub's answer" >&2; return 1; }
  az login --service-principal --username "$AZURE_CLIENT_ID" --tenant "$AZURE_TENANT_ID" --federated-token "$token" --allow-no-subscriptions --output none || return 1
  if [ -n "${AZURE_SUBSCRIPTION_ID:-}" ]; then
    az account set --subscription "$AZURE_SUBSCRIPTION_ID" || return 1
  fi
  echo "$(date -u +%H:%M:%SZ) Azure CLI login refreshed"
}

while true; do
  sleep "$interval"
  # A failed refresh is retried at the next interval; the current login stays valid until it expires.
  refresh || echo "::warning::could not refresh the Azure CLI login; retrying in ${interval}s"
done
