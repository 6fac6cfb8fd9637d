#!/bin/sh
# select-buildkit: choose the BuildKit builder that holds this job's cache.
#
# Every builder (StatefulSet pod) keeps its own cache volume, and the `buildkitd` Service spreads
# connections at random, so a repository finds its warm cache about 1 time in N. This maps a key
# (the repository by default) to one builder with rendezvous (highest-random-weight) hashing:
# every builder gets the weight sha256("<key>\n<pod name>") and the builders are tried from the
# highest weight down; the first that answers `buildctl debug workers` within the timeout wins.
# Adding a builder moves only the keys it now wins (about 1/(N+1)); removing one moves only its own.
#
# POSIX sh (dash and bash) with what GitHub's runner image has: coreutils (sha256sum, sort,
# timeout), getent (libc-bin) and the buildctl the init container copies next to this script.
#
# Usage: select-buildkit [--key KEY] [--arm64] [--timeout SECONDS] [--export | --github-env | --rank]
#   (default)     print addr=, server-name=, builder=, rank=, fallback=, fallback-reason= lines (GITHUB_OUTPUT format)
#   --export      print `export NAME='value'` lines for: eval "$(select-buildkit --export)"
#   --github-env  append the same variables to "$GITHUB_ENV" (later steps see them), print the lines
#   --rank        print the builders in preference order without contacting them
# Exported: AMEIDE_BUILDKIT_ADDR and AMEIDE_BUILDKIT_TLS_SERVERNAME now name the chosen builder (so
# the contract's buildctl command works unchanged), AMEIDE_BUILDKIT_BUILDER its pod name,
# AMEIDE_BUILDKIT_FALLBACK true or false, AMEIDE_BUILDKIT_FALLBACK_REASON why (none, not-ready,
# timeout, refused, no-workers: what the first-ranked builder did; all-unavailable: no builder
# answered) with AMEIDE_BUILDKIT_FALLBACK_DETAIL the words for each skipped builder (buildkit-report
# puts both in the job summary and counts the reason), and AMEIDE_BUILDKIT_SERVICE_ADDR /
# AMEIDE_BUILDKIT_SERVICE_TLS_SERVERNAME keep the Service's. With
# --arm64 the same names with AMEIDE_BUILDKIT_ARM64_ instead.
#
# Environment (set in every runner pod by arc-buildkit):
#   AMEIDE_BUILDKIT_BUILDERS        the builders' stable DNS names, space separated
#   AMEIDE_BUILDKIT_ADDR, AMEIDE_BUILDKIT_TLS_SERVERNAME, AMEIDE_BUILDKIT_TLS_CA/_CERT/_KEY
#   AMEIDE_BUILDKIT_ARM64_BUILDERS, AMEIDE_BUILDKIT_ARM64_ADDR, ..._ARM64_TLS_SERVERNAME (arm64 only)
#   AMEIDE_BUILDKIT_KEY             overrides the key (default: GITHUB_REPOSITORY)
#   AMEIDE_BUILDKIT_SELECT_TIMEOUT  seconds one builder may take to answer (default 5)
# Exit status: 0 with a builder (fallback=true when it is not the first choice, or when no builder
# answered and the Service address is returned); 2 on a usage or environment error.

set -u
# No pathname expansion: the builder list is split on spaces, and nothing here is a glob.
set -f

die() {
    printf 'select-buildkit: %s\n' "$1" >&2
    exit 2
}

key="${AMEIDE_BUILDKIT_KEY:-${GITHUB_REPOSITORY:-}}"
timeout_seconds="${AMEIDE_BUILDKIT_SELECT_TIMEOUT:-5}"
prefix=AMEIDE_BUILDKIT
mode=print

while [ "$#" -gt 0 ]; do
    case "$1" in
        --key) [ "$#" -ge 2 ] || die "--key needs a value"; key="$2"; shift ;;
        --key=*) key="${1#--key=}" ;;
        --timeout) [ "$#" -ge 2 ] || die "--timeout needs a value"; timeout_seconds="$2"; shift ;;
        --timeout=*) timeout_seconds="${1#--timeout=}" ;;
        --arm64) prefix=AMEIDE_BUILDKIT_ARM64 ;;
        --export) mode="export" ;;
        --github-env) mode="github-env" ;;
        --rank) mode="rank" ;;
        -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done

[ -n "$key" ] || die "no key: set GITHUB_REPOSITORY or AMEIDE_BUILDKIT_KEY, or pass --key"
case "$timeout_seconds" in
    '' | *[!0-9.]* | *.*.* | .*) die "--timeout must be a positive number of seconds, not '$timeout_seconds'" ;;
    *[1-9]*) ;;
    *) die "--timeout must be a positive number of seconds, not '$timeout_seconds'" ;;
esac

# Indirect reads of the fixed variable names above ($prefix is one of two literals).
value_of() { eval "printf '%s' \"\${$1:-}\""; }

builders="$(value_of "${prefix}_BUILDERS")"
[ -n "$builders" ] || die "${prefix}_BUILDERS is empty: this runner pod lists no builders (not an arc-buildkit runner, or no arm64 builders)"
# The Service's address survives an earlier --export that pointed ${prefix}_ADDR at one builder.
service_addr="$(value_of "${prefix}_SERVICE_ADDR")"
[ -n "$service_addr" ] || service_addr="$(value_of "${prefix}_ADDR")"
[ -n "$service_addr" ] || die "${prefix}_ADDR is not set"
service_server_name="$(value_of "${prefix}_SERVICE_TLS_SERVERNAME")"
[ -n "$service_server_name" ] || service_server_name="$(value_of "${prefix}_TLS_SERVERNAME")"
if [ -z "$service_server_name" ]; then
    service_server_name="${service_addr#tcp://}"
    service_server_name="${service_server_name%:*}"
fi
port="${service_addr##*:}"

# Builders in preference order: "<sha256 hex> <dns name>", highest weight first. The weight hashes
# the key with the pod's own name (first DNS label), so it does not depend on the cluster domain.
ranked="$(
    for host in $builders; do
        weight="$(printf '%s\n%s' "$key" "${host%%.*}" | sha256sum)"
        printf '%s %s\n' "${weight%% *}" "$host"
    done | LC_ALL=C sort -r
)"

if [ "$mode" = rank ]; then
    printf '%s\n' "$ranked" | while read -r _ host; do printf '%s\n' "$host"; done
    exit 0
fi

# A builder answers when its name resolves (the headless Service publishes ready pods only, so a
# pod that is down or not ready fails here at once) and `buildctl debug workers` lists a worker
# within the timeout.
answers() {
    if command -v getent >/dev/null 2>&1; then
        timeout "$timeout_seconds" getent hosts "$1" >/dev/null 2>&1 || { reason="not in DNS (down or not ready)"; code=not-ready; return 1; }
    fi
    workers="$(timeout "$timeout_seconds" buildctl --addr "tcp://$1:$port" \
        --tlscacert "${AMEIDE_BUILDKIT_TLS_CA:-}" --tlscert "${AMEIDE_BUILDKIT_TLS_CERT:-}" --tlskey "${AMEIDE_BUILDKIT_TLS_KEY:-}" \
        --tlsservername "$1" debug workers 2>/dev/null)"
    status=$?
    if [ "$status" -eq 124 ]; then reason="no answer within ${timeout_seconds}s"; code=timeout; return 1; fi
    if [ "$status" -ne 0 ]; then reason="buildctl failed (exit $status: refused or TLS error)"; code=refused; return 1; fi
    # The first line is the table header; a ready daemon lists at least one worker under it.
    if [ -z "$(printf '%s\n' "$workers" | sed -n '2p')" ]; then reason="no workers"; code=no-workers; return 1; fi
    return 0
}

chosen=""
chosen_rank=0
rank=0
skipped=""
fallback_reason=none
# A here-document, not a pipe: the loop must set $chosen in this shell (dash runs pipes in subshells).
while read -r _ host; do
    rank=$((rank + 1))
    if answers "$host"; then
        chosen="$host"
        chosen_rank=$rank
        break
    fi
    skipped="${skipped}${skipped:+; }${host%%.*}: $reason"
    [ "$rank" -ne 1 ] || fallback_reason="$code"
done <<EOF
$ranked
EOF

if [ -n "$chosen" ]; then
    addr="tcp://$chosen:$port"
    server_name="$chosen"
    builder="${chosen%%.*}"
    if [ "$chosen_rank" -eq 1 ]; then fallback=false; else fallback=true; fi
else
    addr="$service_addr"
    server_name="$service_server_name"
    builder=""
    fallback=true
    fallback_reason=all-unavailable
fi

if [ "$fallback" = true ]; then
    # Workflow command on stderr: annotated in the run, and harmless inside eval "$(...)".
    if [ -n "$chosen" ]; then
        printf '::warning title=BuildKit cache fallback::%s is choice %s for %s (%s); expect a colder cache\n' "$builder" "$chosen_rank" "$key" "$skipped" >&2
    else
        printf '::warning title=BuildKit cache fallback::no builder answered (%s); using the Service %s, which may pick any builder\n' "$skipped" "$service_addr" >&2
    fi
fi

emit() {
    # NAME VALUE; values are DNS names and tcp:// addresses, never containing a single quote.
    case "$mode" in
        export) printf "export %s='%s'\n" "$1" "$2" ;;
        github-env) printf '%s=%s\n' "$1" "$2" >>"${GITHUB_ENV:?GITHUB_ENV is not set (not in a GitHub Actions step)}" ;;
    esac
}

if [ "$mode" = export ] || [ "$mode" = github-env ]; then
    emit "${prefix}_SERVICE_ADDR" "$service_addr"
    emit "${prefix}_SERVICE_TLS_SERVERNAME" "$service_server_name"
    emit "${prefix}_ADDR" "$addr"
    emit "${prefix}_TLS_SERVERNAME" "$server_name"
    emit "${prefix}_BUILDER" "$builder"
    emit "${prefix}_FALLBACK" "$fallback"
    emit "${prefix}_FALLBACK_REASON" "$fallback_reason"
    emit "${prefix}_FALLBACK_DETAIL" "$skipped"
fi
if [ "$mode" != export ]; then
    printf 'addr=%s\nserver-name=%s\nbuilder=%s\nrank=%s\nfallback=%s\nfallback-reason=%s\n' "$addr" "$server_name" "$builder" "$chosen_rank" "$fallback" "$fallback_reason"
fi
