#!/usr/bin/env bash
# Read-only BuildKit inspection, in the runbook's triage order (docs/runbook.md, section Triage).
# Uses only kubectl get/logs: safe against production. Never prints secret contents, only key names.
#   usage: inspect-buildkit.sh --context <kube-context>
set -euo pipefail

NS=buildkit
RUNNER_NS=arc-runners
SELECTOR=app.kubernetes.io/name=buildkitd
POOL_LABEL=ameide.io/pool=buildkit
CTX=""

usage() { echo "usage: $0 --context <kube-context>   (required: this script never uses the current context)" >&2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --context) CTX="${2:-}"; shift 2 ;;
    --context=*) CTX="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage; exit 2 ;;
  esac
done
if [ -z "$CTX" ]; then usage; exit 2; fi
# Without kubectl every read below fails, which would read as "cluster unreachable": say what is missing.
command -v kubectl >/dev/null 2>&1 || { echo "kubectl not found on PATH: this script reads the cluster with it (install: https://kubernetes.io/docs/tasks/tools/)" >&2; exit 127; }

k() { kubectl --context "$CTX" --request-timeout=20s "$@"; }
failures=0
pass() { echo "PASS  $*"; }
warn() { echo "WARN  $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }
gate() { echo; echo "== $*"; }
indent() { sed 's/^/      /'; }

if ! k get namespace "$NS" -o name >/dev/null; then
  echo "FAIL  cannot read namespace $NS with context $CTX (cluster unreachable, no access, or not deployed)"; exit 1
fi

gate "1. Program renders: run 'pulumi preview --stack <stack> --policy-pack policy' (not done here: this script does not touch Pulumi)"

gate "2. Service endpoints and pods Ready (namespace $NS)"
ports="$(k -n "$NS" get service buildkitd -o jsonpath='{.spec.ports[*].port}' 2>/dev/null || true)"
if [ -z "$ports" ]; then fail "Service $NS/buildkitd not found"
elif [[ " $ports " == *" 1234 "* ]]; then pass "Service buildkitd exposes port 1234"
else fail "Service buildkitd ports are '$ports', expected 1234"; fi
ready_eps="$(k -n "$NS" get endpointslices -l kubernetes.io/service-name=buildkitd \
  -o jsonpath='{range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[0]}{" "}{end}' 2>/dev/null || true)"
if [ -n "${ready_eps// /}" ]; then pass "ready endpoints: $ready_eps"; else fail "no ready endpoints behind Service buildkitd (clients see: connection refused)"; fi
k -n "$NS" get statefulset buildkitd -o wide || fail "StatefulSet $NS/buildkitd not found"
k -n "$NS" get pods -l "$SELECTOR" -o wide || true
not_ready="$(k -n "$NS" get pods -l "$SELECTOR" \
  -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.phase}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | awk '$3 != "True"')"
if [ -z "$not_ready" ]; then pass "all buildkitd pods Ready"; else
  fail "buildkitd pods not Ready:"; indent <<<"$not_ready"
  for pod in $(echo "$not_ready" | awk '{print $1}'); do
    echo "      -- events for $pod"; k -n "$NS" get events --field-selector "involvedObject.name=$pod" --sort-by=.lastTimestamp | tail -n 8 | indent || true
    echo "      -- last log lines of $pod"; k -n "$NS" logs "$pod" -c buildkitd --tail=20 2>&1 | indent || true
  done
fi

gate "3. Reachability from the runner namespace: run scripts/runbook/reach-buildkit.sh --context $CTX (creates one short-lived pod)"

gate "4. mTLS material (key names only, never contents)"
check_tls_secret() {
  local ns="$1" name="$2" keys
  # shellcheck disable=SC2016 # a Go template, not a shell expansion
  keys="$(k -n "$ns" get secret "$name" -o go-template='{{range $k, $v := .data}}{{$k}} {{end}}' 2>/dev/null || true)"
  if [ -z "$keys" ]; then fail "Secret $ns/$name not found"; return; fi
  local missing=""
  for key in ca.crt tls.crt tls.key; do [[ " $keys " == *" $key "* ]] || missing="$missing $key"; done
  if [ -z "$missing" ]; then pass "Secret $ns/$name has ca.crt tls.crt tls.key"; else fail "Secret $ns/$name lacks:$missing"; fi
}
check_tls_secret "$NS" buildkitd-server-tls
check_tls_secret "$RUNNER_NS" buildkitd-client-tls
toml="$(k -n "$NS" get configmap buildkitd-config -o jsonpath='{.data.buildkitd\.toml}' 2>/dev/null || true)"
if [ -z "$toml" ]; then fail "ConfigMap $NS/buildkitd-config (key buildkitd.toml) not found"
elif grep -q 'tcp://' <<<"$toml" && ! grep -q '^\[grpc\.tls\]' <<<"$toml"; then fail "buildkitd.toml has a tcp:// listener without [grpc.tls]: plaintext TCP"
else pass "buildkitd.toml: TCP listener is TLS-protected"; fi

gate "5. Platform support (emulation)"
ds="$(k -n "$NS" get daemonset binfmt -o jsonpath='{.status.desiredNumberScheduled} {.status.numberReady}' 2>/dev/null || true)"
if [ -z "$ds" ]; then warn "DaemonSet $NS/binfmt not found (fine if arc-buildkit:buildkit.binfmt.enabled is false and only native platforms are required)"
else read -r desired readyn <<<"$ds"
  if [ "$desired" = "$readyn" ]; then pass "binfmt ready on $readyn/$desired nodes"; else fail "binfmt ready on $readyn/$desired nodes"; fi
fi
echo "      platforms reported by the workers: see reach-buildkit.sh (buildctl debug workers -v)"

gate "6. Scheduling on the BuildKit pool ($POOL_LABEL)"
pool_nodes="$(k get nodes -l "$POOL_LABEL" -o jsonpath='{range .items[*]}{.metadata.name}{" "}{end}')"
if [ -z "$pool_nodes" ]; then warn "no nodes labelled $POOL_LABEL (expected on local k3d; on aks check arc-buildkit:cluster.pool)"
else
  k get nodes -l "$POOL_LABEL" -o wide
  while read -r pod node; do
    [ -z "$pod" ] && continue
    if [ -z "$node" ]; then fail "$pod is not scheduled (Pending: check pool capacity, taint ameide.io/pool=buildkit:NoSchedule and tolerations)"
    elif [[ " $pool_nodes " == *" $node "* ]]; then pass "$pod runs on pool node $node"
    else fail "$pod runs on $node, outside the BuildKit pool"; fi
  done < <(k -n "$NS" get pods -l "$SELECTOR" -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.nodeName}{"\n"}{end}')
fi

gate "7. Cache PVCs (one per pod)"
k -n "$NS" get pvc -o wide || true
unbound="$(k -n "$NS" get pvc -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.phase}{"\n"}{end}' | awk '$2 != "Bound"')"
if [ -z "$unbound" ]; then pass "all PVCs in $NS are Bound"; else fail "PVCs not Bound (check arc-buildkit:buildkit.cache.storageClass):"; indent <<<"$unbound"; fi
used="$(k -n "$NS" get pods -o jsonpath='{range .items[*]}{range .spec.volumes[*]}{.persistentVolumeClaim.claimName}{" "}{end}{end}')"
for pvc in $(k -n "$NS" get pvc -o jsonpath='{.items[*].metadata.name}'); do
  [[ " $used " == *" $pvc "* ]] || warn "PVC $pvc is not mounted by any pod (orphan after a migration? remove it through the program, not by hand)"
done

gate "8. NetworkPolicy"
np="$(k -n "$NS" get networkpolicy buildkitd -o jsonpath='{.spec.podSelector.matchLabels.app\.kubernetes\.io/name}' 2>/dev/null || true)"
if [ "$np" = "buildkitd" ]; then pass "NetworkPolicy $NS/buildkitd selects the buildkitd pods"; k -n "$NS" describe networkpolicy buildkitd | indent
else fail "NetworkPolicy $NS/buildkitd missing or not selecting app.kubernetes.io/name=buildkitd"; fi

echo
if [ "$failures" -gt 0 ]; then echo "$failures gate check(s) failed (symptom map: docs/runbook.md, "Symptom map")"; exit 1; fi
echo "All read-only gates passed. Next: reach-buildkit.sh --context $CTX"
