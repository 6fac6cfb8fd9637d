#!/bin/sh
# bench-cache: replay a synthetic multi-repository workload as real builds through select-buildkit,
# against real BuildKit daemons, and record what each build's own progress stream says.
#
# Runs where a runner pod's tools and environment are (select-buildkit and buildctl on PATH,
# AMEIDE_BUILDKIT_BUILDERS / _ADDR / _TLS_* set): in a runner pod, or on any machine given the same.
# The workload comes from `npm run bench:cache -- plan` (the routing simulator's build sequence: which
# repository builds, and whether the build changes its dependency layer); the results go to
# `npm run bench:cache -- report DIR`, which puts the measured hit rates next to the simulator's.
#
# Usage: bench-cache.sh PLAN OUTDIR
#   PLAN     lines "<n> <repository> <dependency version>" (from bench:cache plan)
#   OUTDIR   gets results.csv and one progress stream per build (n.progress.json)
# Environment:
#   BENCH_FROM             the base image line of every Dockerfile (default: busybox; pin it by digest
#                          where a registry is reachable)
#   BENCH_BUILDCTL_ARGS    extra `buildctl build` arguments, split on spaces (for example an
#                          --oci-layout source for a base image without a registry)
#   BENCH_REPORT           buildkit-report's path (default: next to this repository's copy)
#   AMEIDE_BUILDKIT_METRICS_URL  set: every build is also pushed, as buildkit-report does in a job
#   BENCH_ROUTING          selector (default): select-buildkit chooses; service: a builder drawn at
#                          random for each build, as the Service's kube-proxy does for each connection
#
# Each repository's Dockerfile has a dependency step (changes only when the plan bumps its version:
# a lockfile or base-image bump) and a source step (changes every build), so a build on the builder
# that holds the repository's current dependencies reuses that step, and a build elsewhere does not.

set -eu
set -f

[ "$#" -eq 2 ] || { echo "usage: bench-cache.sh PLAN OUTDIR" >&2; exit 2; }
plan="$1"
out="$2"
here="$(cd "$(dirname "$0")" && pwd)"
report="${BENCH_REPORT:-$here/../components/metrics/buildkit-report.sh}"
from="${BENCH_FROM:-busybox}"
mkdir -p "$out/contexts"
printf 'n,repository,version,builder,fallback,reason,status,cached,total,seconds\n' >"$out/results.csv"

while read -r n repository version; do
    [ -n "$n" ] || continue
    # The key is the repository, as in a job; the contract variables are re-read for each build.
    if [ "${BENCH_ROUTING:-selector}" = service ]; then
        # The Service's choice: any builder, uniformly (seeded by the build number, so reruns agree).
        # shellcheck disable=SC2086 # the builder list is split on spaces
        host="$(printf '%s\n' $AMEIDE_BUILDKIT_BUILDERS | awk -v seed="$n" 'BEGIN { srand(seed) } { h[NR] = $0 } END { print h[int(rand() * NR) + 1] }')"
        port="${AMEIDE_BUILDKIT_ADDR##*:}"
        selection="export AMEIDE_BUILDKIT_ADDR='tcp://$host:$port' AMEIDE_BUILDKIT_TLS_SERVERNAME='$host' AMEIDE_BUILDKIT_BUILDER='${host%%.*}' AMEIDE_BUILDKIT_FALLBACK=false"
    else
        selection="$(AMEIDE_BUILDKIT_KEY="$repository" select-buildkit --export)"
    fi
    (
        eval "$selection"
        ctx="$out/contexts/$n"
        mkdir -p "$ctx"
        cat >"$ctx/Dockerfile" <<EOF
FROM $from
RUN echo "dependencies of $repository, version $version" > /deps && seq 1 200000 > /deps.data && sleep 1
COPY src.txt /src.txt
RUN cat /deps /src.txt > /app
EOF
        printf 'source of %s, build %s\n' "$repository" "$n" >"$ctx/src.txt"
        status=0
        # shellcheck disable=SC2086 # BENCH_BUILDCTL_ARGS is a list of words
        buildctl --addr "$AMEIDE_BUILDKIT_ADDR" --tlscacert "$AMEIDE_BUILDKIT_TLS_CA" --tlscert "$AMEIDE_BUILDKIT_TLS_CERT" \
            --tlskey "$AMEIDE_BUILDKIT_TLS_KEY" --tlsservername "$AMEIDE_BUILDKIT_TLS_SERVERNAME" \
            build --frontend dockerfile.v0 --local context="$ctx" --local dockerfile="$ctx" \
            ${BENCH_BUILDCTL_ARGS:-} --trace "$out/$n.progress.json" >"$out/$n.log" 2>&1 || status=$?
        facts="$(GITHUB_REPOSITORY="$repository" AMEIDE_BUILDKIT_KEY="$repository" sh "$report" --progress "$out/$n.progress.json" --exit-code "$status" --summary "$out/summary.md")"
        value() { printf '%s\n' "$facts" | sed -n "s/^$1=//p"; }
        printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$n" "$repository" "$version" "${AMEIDE_BUILDKIT_BUILDER:-service}" \
            "$AMEIDE_BUILDKIT_FALLBACK" "$(value reason)" "$(value status)" "$(value cached)" "$(value total)" "$(value seconds)" >>"$out/results.csv"
        printf 'build %s: %s on %s: %s, %s/%s steps cached\n' "$n" "$repository" "${AMEIDE_BUILDKIT_BUILDER:-service}" "$(value status)" "$(value cached)" "$(value total)" >&2
    )
done <"$plan"
