#!/usr/bin/env bash
# Reachability check from the runner namespace, run by hand (the deploy-time probe Job is the program's
# own, automatic check): one short-lived pod in arc-runners mounts the client
# certificate (Secret buildkitd-client-tls) and runs `buildctl debug workers -v` with the contract values,
# then the required platforms are checked. The pod is always deleted (trap). No other writes.
#   usage: reach-buildkit.sh --context <kube-context> (--image <buildkit-image@sha256:...> | --stack <stack>)
#                            [--platforms linux/amd64,linux/arm64] [--timeout 120]
set -euo pipefail

RUNNER_NS=arc-runners
ADDR=tcp://buildkitd.buildkit.svc.cluster.local:1234
SERVERNAME=buildkitd.buildkit.svc.cluster.local
TLS_DIR=/etc/buildkit/tls
CTX="" IMAGE="" STACK="" PLATFORMS="linux/amd64,linux/arm64" TIMEOUT=120

usage() {
  echo "usage: $0 --context <kube-context> (--image <buildkit-image@sha256:...> | --stack <pulumi stack>) [--platforms linux/amd64,linux/arm64] [--timeout 120]" >&2
  echo "  --context is required: this script never uses the current context." >&2
  echo "  --stack reads the image from the stack config key arc-buildkit:buildkit.image (pulumi config get)." >&2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --context|--image|--stack|--platforms|--timeout)
      [ $# -ge 2 ] || { usage; exit 2; }
      case "$1" in
        --context) CTX="$2" ;; --image) IMAGE="$2" ;; --stack) STACK="$2" ;;
        --platforms) PLATFORMS="$2" ;; --timeout) TIMEOUT="$2" ;;
      esac
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage; exit 2 ;;
  esac
done
if [ -z "$CTX" ]; then usage; exit 2; fi
if [ -z "$IMAGE" ] && [ -n "$STACK" ]; then
  # Both tools at once, so a second run does not reveal the second one missing.
  missing=""
  for tool in pulumi kubectl; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done
  if [ -n "$missing" ]; then
    echo "not found on PATH:$missing (--stack reads the image with 'pulumi config get', or pass --image; kubectl creates the check pod)" >&2
    exit 127
  fi
  IMAGE="$(pulumi config get --path buildkit.image --stack "$STACK")"
fi
if [ -z "$IMAGE" ]; then echo "no BuildKit image: pass --image or --stack" >&2; usage; exit 2; fi
if [[ "$IMAGE" != *@sha256:* ]]; then echo "image must be pinned by digest (…@sha256:…), got: $IMAGE" >&2; exit 2; fi
if [[ ! "$PLATFORMS" =~ ^[a-z0-9/_,]+$ ]] || [[ ! "$TIMEOUT" =~ ^[0-9]+$ ]]; then usage; exit 2; fi

# Say what is missing rather than fail later in a way that reads like a cluster problem.
command -v kubectl >/dev/null 2>&1 || { echo "kubectl not found on PATH: this script creates its check pod with it (install: https://kubernetes.io/docs/tasks/tools/)" >&2; exit 127; }
k() { kubectl --context "$CTX" --request-timeout=20s "$@"; }
# Its own name and label: the deploy-time probe Jobs (and their alert) own the probe's.
POD="buildkit-reach-$(date +%s)-$RANDOM"
cleanup() { k -n "$RUNNER_NS" delete pod "$POD" --ignore-not-found --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM

# Passes Pod Security "restricted", which arc-runners enforces.
k -n "$RUNNER_NS" create -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $POD
  labels:
    app.kubernetes.io/name: buildkit-reach-check
    app.kubernetes.io/managed-by: reach-buildkit.sh
spec:
  restartPolicy: Never
  activeDeadlineSeconds: $TIMEOUT
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    runAsGroup: 1000
    fsGroup: 1000
    seccompProfile: { type: RuntimeDefault }
  containers:
    - name: buildctl
      image: "$IMAGE"
      command: [buildctl]
      args: [--addr, "$ADDR", --tlscacert, "$TLS_DIR/ca.crt", --tlscert, "$TLS_DIR/tls.crt",
             --tlskey, "$TLS_DIR/tls.key", --tlsservername, "$SERVERNAME", debug, workers, -v]
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: { drop: [ALL] }
      resources:
        requests: { cpu: 10m, memory: 32Mi }
        limits: { memory: 128Mi }
      volumeMounts:
        - { name: tls, mountPath: $TLS_DIR, readOnly: true }
  volumes:
    - name: tls
      secret: { secretName: buildkitd-client-tls, defaultMode: 0440 }
YAML
echo "check pod $RUNNER_NS/$POD created (image $IMAGE); waiting up to ${TIMEOUT}s"

phase=""
for _ in $(seq 1 "$TIMEOUT"); do
  phase="$(k -n "$RUNNER_NS" get pod "$POD" -o jsonpath='{.status.phase}' 2>/dev/null || true)"
  case "$phase" in Succeeded|Failed) break ;; esac
  sleep 1
done
out="$(k -n "$RUNNER_NS" logs "$POD" -c buildctl 2>&1 || true)"
echo "$out"

if [ "$phase" != "Succeeded" ]; then
  echo
  echo "FAIL  check pod ended in phase '${phase:-unknown}'"
  case "$out" in
    *"connection refused"*) echo "      connection refused: Service buildkitd has no ready endpoint listening on 1234 (run inspect-buildkit.sh, gate 2)" ;;
    *"i/o timeout"*|*"context deadline exceeded"*) echo "      timeout: NetworkPolicy buildkitd / DNS / routing (inspect-buildkit.sh, gate 8)" ;;
    *"unknown authority"*) echo "      TLS unknown authority: client ca.crt does not match the server's CA; the program re-issues both secrets together (pulumi up)" ;;
    *"certificate is valid for"*|*"not valid for"*) echo "      TLS wrong server name: server certificate SANs lack $SERVERNAME" ;;
    *"bad certificate"*|*"certificate required"*|*"expired"*) echo "      TLS client certificate rejected/expired: check arc-buildkit:tls.validityHours / tls.earlyRenewalHours and re-run pulumi up" ;;
    "") k -n "$RUNNER_NS" get events --field-selector "involvedObject.name=$POD" --sort-by=.lastTimestamp | tail -n 8 || true ;;
  esac
  exit 1
fi

missing=""
for p in ${PLATFORMS//,/ }; do
  grep -q "$p" <<<"$out" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "FAIL  connected over mTLS, but the workers lack platform(s):$missing (binfmt DaemonSet, arc-buildkit:buildkit.platforms, arc-buildkit:buildkit.binfmt.enabled)"
  exit 1
fi
echo "PASS  connected from $RUNNER_NS over mTLS; workers report: ${PLATFORMS//,/ }"
