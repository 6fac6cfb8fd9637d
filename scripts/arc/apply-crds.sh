#!/usr/bin/env bash
# Applies the CustomResourceDefinitions of ARC's controller chart at a given version, before the
# `pulumi up` that moves arc-buildkit:arc.chartVersion to it (docs/runbook.md, "Upgrading ARC (its CRDs)").
# Helm installs a chart's crds/ directory on the first install only and never upgrades (or deletes)
# CRDs, so without this step a new controller runs against the old CRDs.
#   usage: apply-crds.sh --context <kube-context> --version <chart-version>
set -euo pipefail

CHART=oci://ghcr.io/actions/actions-runner-controller-charts/gha-runner-scale-set-controller
CRDS="autoscalingrunnersets.actions.github.com autoscalinglisteners.actions.github.com ephemeralrunnersets.actions.github.com ephemeralrunners.actions.github.com"
CTX=""
VERSION=""

usage() { echo "usage: $0 --context <kube-context> --version <chart-version>   (both required: this script never uses the current context)" >&2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --context) CTX="${2:-}"; shift 2 ;;
    --context=*) CTX="${1#*=}"; shift ;;
    --version) VERSION="${2:-}"; shift 2 ;;
    --version=*) VERSION="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage; exit 2 ;;
  esac
done
if [ -z "$CTX" ] || [ -z "$VERSION" ]; then usage; exit 2; fi
if [[ ! "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "expected a chart version such as 0.14.2, got '$VERSION'" >&2; exit 2
fi

# Say what is missing before anything runs, rather than fail halfway with "command not found".
missing=""
for tool in helm kubectl; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done
if [ -n "$missing" ]; then
  echo "not found on PATH:$missing (this script reads the chart's CRDs with helm and applies them with kubectl; install: https://helm.sh/docs/intro/install/, https://kubernetes.io/docs/tasks/tools/)" >&2
  exit 127
fi

manifest="$(mktemp)"
trap 'rm -f "$manifest"' EXIT
helm show crds "$CHART" --version "$VERSION" >"$manifest"
for crd in $CRDS; do
  if ! grep -q "name: $crd\$" "$manifest"; then
    echo "chart $CHART $VERSION does not ship CRD $crd; refusing to apply a partial set" >&2; exit 1
  fi
done
# Server-side apply: the CRDs are too large for the last-applied annotation of a client-side apply,
# and --force-conflicts takes the fields over from Helm, which created them.
kubectl --context "$CTX" --request-timeout=60s apply --server-side --force-conflicts --field-manager=arc-buildkit-crds -f "$manifest"
for crd in $CRDS; do
  kubectl --context "$CTX" wait --for=condition=Established --timeout=60s "crd/$crd"
done
echo "ARC CRDs of chart $VERSION applied; now run pulumi up with arc-buildkit:arc.chartVersion: $VERSION"
