#!/usr/bin/env bash
# Before the first `pulumi up` of a stack on a cluster: finds what the program would create but the
# cluster already has (pulumi-kubernetes >= 4.29 creates objects client-side and fails with
# AlreadyExists instead of taking them over), says what to do, and writes a `pulumi import` file
# that adopts it (docs/deploy-aks.md: "A cluster that already runs ARC"). Read-only: kubectl get only.
# An existing controller is adopted only when it runs the major.minor of arc.chartVersion: ARC's controller
# deletes every AutoscalingRunnerSet of another major.minor (IsVersionAllowed), so adopting another minor
# and letting `pulumi up` upgrade it in place would delete the runner scale sets (docs/operations/arc-upgrade.md).
#   usage: check-existing-install.sh --context <kube-context> [--chart-version <arc.chartVersion>] [--stack aks] [--provider aks|k3d] [--import-file import.json]
# Exits 0 when nothing is in the way, 1 when something is, 2 on bad usage or an unreachable cluster.
set -euo pipefail

CTX=""
STACK=aks
PROVIDER=aks
IMPORT_FILE=""
CHART_VERSION=""
PROJECT=arc-buildkit
usage() { echo "usage: $0 --context <kube-context> [--chart-version <arc.chartVersion>] [--stack aks] [--provider aks|k3d] [--import-file <path>]   (--context required: this script never uses the current context)" >&2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --context) CTX="${2:-}"; shift 2 ;;
    --context=*) CTX="${1#*=}"; shift ;;
    --stack) STACK="${2:-}"; shift 2 ;;
    --stack=*) STACK="${1#*=}"; shift ;;
    --provider) PROVIDER="${2:-}"; shift 2 ;;
    --provider=*) PROVIDER="${1#*=}"; shift ;;
    --chart-version) CHART_VERSION="${2:-}"; shift 2 ;;
    --chart-version=*) CHART_VERSION="${1#*=}"; shift ;;
    --import-file) IMPORT_FILE="${2:-}"; shift 2 ;;
    --import-file=*) IMPORT_FILE="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage; exit 2 ;;
  esac
done
if [ -z "$CTX" ] || [ -z "$STACK" ]; then usage; exit 2; fi
if [ -n "$CHART_VERSION" ] && ! printf '%s' "$CHART_VERSION" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$'; then
  echo "--chart-version must be major.minor.patch (arc.chartVersion, such as 0.14.2), got '$CHART_VERSION'" >&2; exit 2
fi
# major.minor of a version, as ARC's IsVersionAllowed compares them ("" when not a version).
minor_of() { printf '%s' "$1" | sed -n 's/^\([0-9][0-9]*\)\.\([0-9][0-9]*\)\.[0-9][0-9]*$/\1.\2/p'; }
case "$PROVIDER" in aks|k3d) ;; *) echo "--provider must be aks or k3d (the program's Kubernetes provider for the cluster kind)" >&2; exit 2 ;; esac

# Without kubectl every read below fails, which would read as "cluster unreachable": say what is missing.
command -v kubectl >/dev/null 2>&1 || { echo "kubectl not found on PATH: this script reads the cluster with it (install: https://kubernetes.io/docs/tasks/tools/)" >&2; exit 127; }
k() { kubectl --context "$CTX" --request-timeout=20s "$@"; }
if ! k get namespaces -o name >/dev/null; then
  echo "cannot list namespaces with context $CTX (cluster unreachable or no access)" >&2; exit 2
fi

in_the_way=0
imports=""
components=""
# add_import <type> <name> <id> <parent component type> <parent name>
add_import() {
  case " $components " in *" $5 "*) ;; *)
    components="$components $5"
    imports="$imports{\"type\": \"$4\", \"name\": \"$5\", \"component\": true},"
  esac
  imports="$imports{\"type\": \"$1\", \"name\": \"$2\", \"id\": \"$3\", \"parent\": \"$5\", \"provider\": \"$PROVIDER\"},"
}

# Namespace -> the component that declares it (type and name), its parent in Pulumi's state.
# arc-runners-protected: the protected tier's runner namespace (docs/trust-tiers.md), declared by the same component.
for entry in "arc-systems arc-buildkit:arc:ArcRunners arc" "arc-runners arc-buildkit:arc:ArcRunners arc" "arc-runners-protected arc-buildkit:arc:ArcRunners arc" "buildkit arc-buildkit:buildkit:BuildkitService buildkit"; do
  read -r ns component_type component_name <<<"$entry"
  part_of="$(k get namespace "$ns" -o jsonpath='{.metadata.labels.app\.kubernetes\.io/part-of}' 2>/dev/null)" || continue
  in_the_way=1
  if [ "$part_of" = "$PROJECT" ]; then
    echo "IN THE WAY: namespace $ns exists and was created by $PROJECT, but not by this stack's state (another stack or a lost state?)"
  else
    echo "IN THE WAY: namespace $ns exists and was not created by $PROJECT"
  fi
  add_import kubernetes:core/v1:Namespace "$ns" "$ns" "$component_type" "$component_name"
done

releases="$(k get deployments --all-namespaces -l app.kubernetes.io/part-of=gha-rs-controller \
  -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.labels.app\.kubernetes\.io/instance} {.metadata.labels.app\.kubernetes\.io/version}{"\n"}{end}' 2>/dev/null || true)"
while read -r release running; do
  [ -n "$release" ] || continue
  in_the_way=1
  if [ "$release" = "arc-systems/arc" ]; then
    echo "IN THE WAY: the ARC controller's Helm release arc-systems/arc exists (version ${running:-unknown})"
    if [ -z "$CHART_VERSION" ]; then
      echo "  not adopted: run again with --chart-version <arc.chartVersion> to check that it runs the same ARC minor"
    elif [ -z "$(minor_of "${running:-}")" ] || [ "$(minor_of "$running")" != "$(minor_of "$CHART_VERSION")" ]; then
      echo "  REFUSED: it runs ARC ${running:-of an unknown version}, not the $(minor_of "$CHART_VERSION") minor of arc.chartVersion $CHART_VERSION;"
      echo "  upgraded in place, the controller would delete every runner scale set of the old minor. Either set"
      echo "  arc.chartVersion to its version and adopt it, or uninstall its scale sets and then it (docs/operations/arc-upgrade.md)"
    else
      add_import kubernetes:helm.sh/v3:Release arc arc-systems/arc arc-buildkit:arc:ArcRunners arc
    fi
  else
    echo "IN THE WAY: another ARC controller runs as Helm release $release, and two controllers must not manage the same runners:"
    echo "  remove it (helm uninstall --kube-context $CTX -n ${release%%/*} ${release#*/}) or deploy to a cluster without it; it cannot be adopted"
  fi
done <<EOF
$releases
EOF
if k get crd autoscalingrunnersets.actions.github.com -o name >/dev/null 2>&1; then
  echo "note: ARC's CRDs are installed; Helm keeps them as they are, so run scripts/arc/apply-crds.sh --context $CTX --version <arc.chartVersion> before pulumi up"
fi

if [ "$in_the_way" = 0 ]; then
  echo "nothing in the way: the first pulumi up of stack $STACK can create everything"
  exit 0
fi
if [ -n "$imports" ]; then
  provider_urn="urn:pulumi:$STACK::$PROJECT::pulumi:providers:kubernetes::$PROVIDER"
  printf '{"nameTable": {"%s": "%s"}, "resources": [%s]}\n' "$PROVIDER" "$provider_urn" "${imports%,}" >"${IMPORT_FILE:-/dev/null}"
  if [ -n "$IMPORT_FILE" ]; then
    echo "adopt: wrote $IMPORT_FILE; then:"
  else
    echo "adopt: run again with --import-file import.json; then:"
  fi
  echo "  pulumi up --stack $STACK --target '$provider_urn'     # the Kubernetes provider must be in the state first"
  echo "  pulumi import --stack $STACK --file ${IMPORT_FILE:-import.json} --protect=false"
  echo "  pulumi up --stack $STACK                                # brings the adopted objects to the program's settings"
fi
exit 1
