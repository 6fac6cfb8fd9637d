#!/bin/sh
# buildkit-report: say what one build did, from BuildKit's own output, in the job summary and as
# Prometheus counters.
#
# The cache figures are BuildKit's, not estimates: the progress stream is the sequence of
# client.SolveStatus JSON objects that `buildctl build --progress=rawjson` and
# `docker buildx build --progress=rawjson` print (one per line), and that `buildctl build --trace FILE`
# writes on every BuildKit version. A step is a vertex digest; it is cached when any update of it says
# `cached: true`, completed when any update has a `completed` time, failed when it carries an `error`
# (cancelled when that error ends in "context canceled", as BuildKit's own progress printer decides).
# This is the definition the daemon uses for its build history record (NumCachedSteps/NumTotalSteps,
# moby/buildkit solver/llbsolver/history/buildhistory.go), so the two agree build for build. Field
# names are matched without regard to case: BuildKit v0.12+ tags them (`vertexes`, `cached`), v0.11
# and older encode the Go names (`Vertexes`, `Cached`).
#
# POSIX sh with what GitHub's runner image has: awk, sed, tr, sha256sum, base64, and curl for --push.
#
# Usage: buildkit-report [--progress FILE] [--metadata FILE] [--exit-code N] [--summary FILE]
#                        [--title TEXT] [--metrics] [--push URL]
#   --progress FILE  the rawjson progress stream (or --trace file) of the build
#   --history FILE   instead of a stream: `docker buildx history inspect REF --format json`, the daemon's
#                    own record of the build (docker/build-push-action runs buildx without rawjson)
#   --metadata FILE  the build's --metadata-file (image digest, buildx build ref), optional
#   --exit-code N    the build command's exit status (0 success; otherwise failed or cancelled)
# A --progress, --history or --metadata file that does not exist is reported as missing, not an error.
#   --summary FILE   where the Markdown goes (default "$GITHUB_STEP_SUMMARY"; "-" for stdout)
#   --metrics        print this build's counter increments in Prometheus text format on stdout
#   --push URL       add them to this build's group on a Prometheus Pushgateway (see docs/cache-metrics.md)
# Always prints status=, cached=, total=, completed=, seconds=, builder=, fallback=, reason=,
# repository= lines (GITHUB_OUTPUT format) unless --metrics is given.
#
# Environment (set by select-buildkit and the runner pod):
#   AMEIDE_BUILDKIT_BUILDER, AMEIDE_BUILDKIT_FALLBACK, AMEIDE_BUILDKIT_FALLBACK_REASON,
#   AMEIDE_BUILDKIT_FALLBACK_DETAIL   the selector's choice
#   AMEIDE_BUILDKIT_TIER               the runner's tier: shared (default), protected, ...
#   AMEIDE_BUILDKIT_KEY / GITHUB_REPOSITORY   the repository the build counts for
#   AMEIDE_BUILDKIT_METRICS_REPOSITORIES      repositories (owner/name, space separated) that get their
#                                             own label value; every other one is counted in one of
#                                             16 buckets other-0 .. other-f (bounded cardinality)
#   AMEIDE_BUILDKIT_METRICS_URL        default for --push
# Exit status: 0 (a report that cannot be written or pushed warns, it never fails the job); 2 on usage errors.

set -u
set -f

die() {
    printf 'buildkit-report: %s\n' "$1" >&2
    exit 2
}
warn() { printf '::warning title=BuildKit report::%s\n' "$1" >&2; }

progress=""
history=""
metadata=""
exit_code=""
summary="${GITHUB_STEP_SUMMARY:-}"
title="BuildKit build"
metrics=false
push_url=""

while [ "$#" -gt 0 ]; do
    case "$1" in
        --progress) [ "$#" -ge 2 ] || die "--progress needs a file"; progress="$2"; shift ;;
        --history) [ "$#" -ge 2 ] || die "--history needs a file"; history="$2"; shift ;;
        --metadata) [ "$#" -ge 2 ] || die "--metadata needs a file"; metadata="$2"; shift ;;
        --exit-code) [ "$#" -ge 2 ] || die "--exit-code needs a number"; exit_code="$2"; shift ;;
        --summary) [ "$#" -ge 2 ] || die "--summary needs a file"; summary="$2"; shift ;;
        --title) [ "$#" -ge 2 ] || die "--title needs a text"; title="$2"; shift ;;
        --metrics) metrics=true ;;
        --push) [ "$#" -ge 2 ] || die "--push needs a URL"; push_url="$2"; shift ;;
        -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done
case "$exit_code" in '' | *[!0-9]*) [ -z "$exit_code" ] || die "--exit-code must be a number, not '$exit_code'" ;; esac
# A build that failed early may have written neither file: report what there is.
if [ -n "$progress" ] && [ ! -r "$progress" ]; then warn "no progress stream at $progress (the build wrote none)"; progress=""; fi
if [ -n "$history" ] && [ ! -r "$history" ]; then warn "no build record at $history"; history=""; fi
if [ -n "$metadata" ] && [ ! -r "$metadata" ]; then metadata=""; fi

tier="${AMEIDE_BUILDKIT_TIER:-shared}"
# The program sets it on every runner pod; a job that overrides it with a non-name gets a usage error.
case "$tier" in '' | *[!a-z0-9-]*) die "AMEIDE_BUILDKIT_TIER must be a tier name such as shared or protected, not '$tier'" ;; esac
builder="${AMEIDE_BUILDKIT_BUILDER:-}"
fallback="${AMEIDE_BUILDKIT_FALLBACK:-false}"
selected="${AMEIDE_BUILDKIT_FALLBACK:+yes}"
reason="${AMEIDE_BUILDKIT_FALLBACK_REASON:-}"
detail="${AMEIDE_BUILDKIT_FALLBACK_DETAIL:-}"
repository="${AMEIDE_BUILDKIT_KEY:-${GITHUB_REPOSITORY:-}}"

# --- label values: a closed set, whatever the environment says ------------------------------------
# builder: a pod name (DNS label) or "service" when no builder answered and the Service picked one.
builder_label="$builder"
[ -n "$builder_label" ] || builder_label=service
case "$builder_label" in
    *[!a-z0-9-]* | -* | *-) builder_label=invalid ;;
esac
[ "${#builder_label}" -le 63 ] || builder_label=invalid
# reason: select-buildkit's codes; "none" when the first choice answered.
if [ "$fallback" != true ]; then fallback=false; reason=none; fi
case "$fallback:$reason" in
    false:none | true:not-ready | true:timeout | true:refused | true:no-workers | true:all-unavailable) ;;
    *) reason=unknown ;;
esac
# repository: itself when listed, else other-<first hex digit of sha256(lower-cased name)>; ASCII case
# folding only, as GitHub names are ASCII (components/metrics/labels.ts is the same definition).
repository_lower="$(printf '%s' "$repository" | LC_ALL=C tr '[:upper:]' '[:lower:]')"
repository_label=""
for listed in ${AMEIDE_BUILDKIT_METRICS_REPOSITORIES:-}; do
    listed="$(printf '%s' "$listed" | LC_ALL=C tr '[:upper:]' '[:lower:]')"
    if [ "$listed" = "$repository_lower" ]; then repository_label="$listed"; break; fi
done
if [ -z "$repository_label" ]; then
    digest="$(printf '%s' "$repository_lower" | sha256sum)"
    repository_label="other-$(printf '%s' "$digest" | cut -c1)"
fi
# Only owner/name characters reach a label value (GitHub allows [A-Za-z0-9_.-] in both parts).
case "$repository_label" in
    *[!a-z0-9_./-]*) repository_label=invalid ;;
esac

# --- the progress stream -> one line of facts --------------------------------------------------------
# A small JSON walker (awk has no JSON): it tracks strings, nesting and keys, and looks only at the
# objects inside the top-level "vertexes" array of each line.
parse_progress() {
    awk '
function days(y, m, d) { # days since 1970-01-01 of a civil date (Howard Hinnant'"'"'s algorithm)
    y -= (m <= 2); era = int((y >= 0 ? y : y - 399) / 400); yoe = y - era * 400
    doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
    doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
    return era * 146097 + doe - 719468
}
function epoch(ts,   s, off, sign, t) { # RFC 3339 (Go time.Time JSON) -> seconds, with fractions
    if (ts !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]/) return -1
    s = days(substr(ts, 1, 4) + 0, substr(ts, 6, 2) + 0, substr(ts, 9, 2) + 0) * 86400 \
        + substr(ts, 12, 2) * 3600 + substr(ts, 15, 2) * 60 + substr(ts, 18, 2)
    t = substr(ts, 20)
    if (t ~ /^\.[0-9]+/) { match(t, /^\.[0-9]+/); s += ("0" substr(t, 1, RLENGTH)) + 0; t = substr(t, RLENGTH + 1) }
    if (t ~ /^[+-][0-9][0-9]:[0-9][0-9]$/) {
        off = substr(t, 2, 2) * 3600 + substr(t, 5, 2) * 60; sign = substr(t, 1, 1)
        s = (sign == "+") ? s - off : s + off
    }
    return s
}
function value(v, isstr) { # a scalar at depth 3 inside a vertex object
    if (dep != 3 || !invtx) return
    k = tolower(key[3])
    if (k == "digest" && isstr) vd = v
    else if (k == "name" && isstr) vn = v
    else if (k == "cached") vc = (v == "true")
    else if (k == "started" && isstr) vs = v
    else if (k == "completed" && isstr) vcomp = v
    else if (k == "error" && isstr) ve = v
}
function commit() {
    if (vd == "") return
    if (!(vd in seen)) { seen[vd] = 1; order[++n] = vd }
    if (vn != "") name[vd] = vn
    if (vc) cached[vd] = 1
    if (vs != "") { e = epoch(vs); if (e >= 0 && (first == "" || e < first)) first = e }
    if (vcomp != "") { done[vd] = 1; e = epoch(vcomp); if (e >= 0 && (last == "" || e > last)) last = e }
    if (ve != "") { err[vd] = ve }
}
{
    line = $0
    if (tolower(line) !~ /"vertexes"/) next
    dep = 0; instr = 0; s = ""; lit = ""; invtx = 0
    L = length(line)
    for (i = 1; i <= L; i++) {
        c = substr(line, i, 1)
        if (instr) {
            if (c == "\\") {
                i++; c2 = substr(line, i, 1)
                if (c2 == "n" || c2 == "t" || c2 == "r") s = s " "
                else if (c2 == "u") { u = substr(line, i + 1, 4); i += 4; s = s (u == "0026" ? "&" : u == "003c" ? "<" : u == "003e" ? ">" : u == "0027" ? "'"'"'" : "?") }
                else s = s c2
                continue
            }
            if (c == "\"") {
                instr = 0
                if (typ[dep] == "{" && expect[dep] == "key") key[dep] = s
                else value(s, 1)
                continue
            }
            s = s c; continue
        }
        if (c == "\"") { instr = 1; s = ""; continue }
        if (c ~ /[a-z0-9.+-]/) { lit = lit c; continue }
        if (lit != "") { value(lit, 0); lit = "" }
        if (c == "{" || c == "[") {
            dep++; typ[dep] = c; expect[dep] = "key"; key[dep] = ""
            if (c == "{" && dep == 3 && typ[2] == "[" && tolower(key[1]) == "vertexes") {
                invtx = 1; vd = ""; vn = ""; vc = 0; vs = ""; vcomp = ""; ve = ""
            }
        } else if (c == "}" || c == "]") {
            if (c == "}" && dep == 3 && invtx) { commit(); invtx = 0 }
            dep--
        } else if (c == ":") expect[dep] = "value"
        else if (c == ",") { if (typ[dep] == "{") expect[dep] = "key" }
    }
}
END {
    total = n; ncached = 0; ncompleted = 0; nerr = 0; ncancel = 0; failed = ""; cancelled = ""
    for (j = 1; j <= n; j++) {
        d = order[j]
        if (d in cached) ncached++
        if (d in done) ncompleted++
        if (d in err) {
            nerr++
            if (err[d] ~ /context canceled$/) { ncancel++; if (cancelled == "") cancelled = d }
            else if (failed == "") failed = d
        }
    }
    secs = (first != "" && last != "" && last >= first) ? sprintf("%.1f", last - first) : ""
    printf "total=%d\ncached=%d\ncompleted=%d\nerrors=%d\ncancelled_steps=%d\nseconds=%s\n", total, ncached, ncompleted, nerr, ncancel, secs
    if (failed != "") {
        fs = name[failed]; fe = err[failed]
        gsub(/[\001-\037]/, " ", fs); gsub(/[\001-\037]/, " ", fe)
        printf "failed_step=%s\nfailed_error=%s\n", fs, fe
    }
    if (cancelled != "") { cs = name[cancelled]; gsub(/[\001-\037]/, " ", cs); printf "cancelled_step=%s\n", cs }
}' "$1"
}

total=""
cached=""
completed=""
seconds=""
failed_step=""
failed_error=""
cancelled_step=""
if [ -n "$progress" ]; then
    facts="$(parse_progress "$progress")" || { warn "could not parse $progress"; facts=""; }
    while IFS= read -r fact; do
        case "$fact" in
            total=*) total="${fact#total=}" ;;
            cached=*) cached="${fact#cached=}" ;;
            completed=*) completed="${fact#completed=}" ;;
            seconds=*) seconds="${fact#seconds=}" ;;
            failed_step=*) failed_step="${fact#failed_step=}" ;;
            failed_error=*) failed_error="${fact#failed_error=}" ;;
            cancelled_step=*) cancelled_step="${fact#cancelled_step=}" ;;
        esac
    done <<EOF
$facts
EOF
    [ "$total" != 0 ] || warn "$progress has no BuildKit vertices: was it written with --progress=rawjson (or --trace)?"
fi

history_status=""
time_source="first step started to last step completed, by BuildKit's timestamps"
if [ -z "$progress" ] && [ -n "$history" ]; then
    time_source="the daemon's build record, created to completed"
    # buildx commands/history/inspect.go (inspectOutput): NumCachedSteps, NumTotalSteps, NumCompletedSteps
    # (int32), Duration (time.Duration: nanoseconds), Status completed|running|failed|canceled.
    field() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\{0,1\}\([0-9A-Za-z]*\).*/\1/p" "$history" | sed -n 1p; }
    cached="$(field NumCachedSteps)"
    total="$(field NumTotalSteps)"
    completed="$(field NumCompletedSteps)"
    nanoseconds="$(field Duration)"
    [ -z "$nanoseconds" ] || seconds="$(awk -v n="$nanoseconds" 'BEGIN { printf "%.1f", n / 1e9 }')"
    history_status="$(field Status)"
    case "$cached:$total" in *[!0-9:]* | :* | *:) warn "$history is not a buildx build record (history inspect --format json)"; cached=""; total="" ;; esac
fi

# Success, failure or cancellation: the command's exit status when given, the stream otherwise.
if [ -n "$exit_code" ] && [ "$exit_code" -eq 0 ]; then
    status=success
elif [ -n "$cancelled_step" ] && [ -z "$failed_step" ]; then
    status=cancelled
elif [ -n "$failed_step" ]; then
    status=failed
elif [ -n "$exit_code" ] && { [ "$exit_code" -eq 130 ] || [ "$exit_code" -eq 143 ]; }; then
    status=cancelled # SIGINT or SIGTERM before any step failed
elif [ "$history_status" = canceled ]; then
    status=cancelled
elif [ -n "$exit_code" ] || [ "$history_status" = failed ]; then
    status=failed
elif [ -n "$cancelled_step" ]; then
    status=cancelled
else
    status=success
fi

# --- metadata: the image and the buildx build ref, for the summary -------------------------------------
meta_value() {
    # A top-level string value of the --metadata-file JSON (the keys below never hold quotes).
    sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" "$metadata" | sed -n 1p
}
image_digest=""
build_ref=""
if [ -n "$metadata" ]; then
    image_digest="$(meta_value 'containerimage\.digest')"
    build_ref="$(meta_value 'buildx\.build\.ref')"
fi

# --- the job summary -----------------------------------------------------------------------------------
# Markdown-safe: step names and errors come from the Dockerfile, which a pull request controls.
# md: plain text in a table cell (HTML-escaped); code: inside a code span, where entities are not decoded.
# Text from the build (a pull request's RUN command, its error, the image name) goes into a trusted
# summary: one line each (tr folds newlines, so no row of the table breaks), HTML entities for < > &,
# and a backslash before every character Markdown gives a meaning (links, images, emphasis, headings).
md() { printf '%s' "$1" | tr '\r\n' '  ' | cut -c1-300 | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/`/'"'"'/g' -e 's/[][()!*_~#|\\]/\\&/g'; }
code() { printf '%s' "$1" | tr '\r\n' '  ' | cut -c1-200 | sed -e 's/|/\\|/g' -e 's/`/'"'"'/g'; }

# shellcheck disable=SC2016 # the backticks are Markdown code spans, not command substitutions
write_summary() {
    case "$status" in success) icon="✅" ;; cancelled) icon="⏹️" ;; *) icon="❌" ;; esac
    printf '### %s %s: %s\n\n' "$icon" "$(md "$title")" "$status"
    printf '| | |\n|---|---|\n'
    if [ -z "$selected" ]; then
        printf '| Builder | not chosen in this job (select-buildkit did not run): the Service picked one |\n'
    elif [ -n "$builder" ]; then
        printf '| Builder | `%s` (%s tier) |\n' "$(code "$builder")" "$tier"
    else
        printf '| Builder | the Service (no builder answered; it may pick any builder) |\n'
    fi
    if [ -z "$selected" ]; then
        :
    elif [ "$fallback" = true ]; then
        printf '| Choice | fallback (%s): %s |\n' "$reason" "$(md "${detail:-the first-ranked builder did not answer}")"
    else
        printf '| Choice | first choice for `%s`: the builder that holds its cache |\n' "$(code "$repository")"
    fi
    if [ -n "$total" ] && [ "$total" -gt 0 ]; then
        percent=$((cached * 100 / total))
        printf '| Cache | %s of %s steps cached (%s%%), %s completed |\n' "$cached" "$total" "$percent" "$completed"
    else
        printf '| Cache | unknown (no BuildKit progress stream was given) |\n'
    fi
    [ -z "$seconds" ] || printf '| Time | %s s (%s) |\n' "$seconds" "$time_source"
    [ -z "$failed_step" ] || printf '| Failed step | `%s`: %s |\n' "$(code "$failed_step")" "$(md "$failed_error")"
    [ -z "$cancelled_step" ] || [ -n "$failed_step" ] || printf '| Cancelled at | `%s` |\n' "$(code "$cancelled_step")"
    [ -z "$image_digest" ] || printf '| Image | `%s` |\n' "$(code "$image_digest")"
    [ -z "$build_ref" ] || printf '| Build record | `%s` (docker buildx history inspect) |\n' "$(code "$build_ref")"
    printf '\n'
}

if [ "$summary" = "-" ]; then
    write_summary
elif [ -n "$summary" ]; then
    write_summary >>"$summary" || warn "could not write the job summary to $summary"
fi

# --- counters ------------------------------------------------------------------------------------------
# This build's increments, without the grouping labels (tier, repository, builder), which the
# Pushgateway takes from the URL. Counter names and labels: docs/cache-metrics.md.
help_text() {
    case "$1" in
        arc_buildkit_builds_total) echo "Builds reported by buildkit-report, by result." ;;
        arc_buildkit_build_steps_total) echo "BuildKit steps (vertices) of the reported builds." ;;
        arc_buildkit_build_cached_steps_total) echo "BuildKit steps of the reported builds that came from the cache." ;;
        arc_buildkit_build_seconds_total) echo "Seconds from the first step started to the last step completed, summed." ;;
        arc_buildkit_fallbacks_total) echo "Builds that did not get their first-ranked builder, by select-buildkit's reason." ;;
    esac
}
# One sample: HELP and TYPE, then NAME[{LABELS}] VALUE.
sample() {
    printf '# HELP %s %s\n# TYPE %s counter\n%s%s %s\n' "$1" "$(help_text "$1")" "$1" "$1" "$2" "$3"
}
increments() {
    sample arc_buildkit_builds_total "{result=\"$status\"}" 1
    sample arc_buildkit_build_steps_total "" "${total:-0}"
    sample arc_buildkit_build_cached_steps_total "" "${cached:-0}"
    sample arc_buildkit_build_seconds_total "" "${seconds:-0}"
    if [ "$fallback" = true ]; then
        sample arc_buildkit_fallbacks_total "{reason=\"$reason\"}" 1
    fi
}

if [ "$metrics" = true ]; then
    increments | awk -v l="tier=\"$tier\",repository=\"$repository_label\",builder=\"$builder_label\"" '
        /^arc_/ { name = $1; if (index(name, "{")) sub(/\{/, "{" l ",", name); else name = name "{" l "}"; print name " " $2; next }
        { print }'
fi

# Pushgateway groups replace, they do not add: read the group's current counters, add this build's,
# and put the sum back. Two builds of one repository that finish on one builder within the same
# round trip can lose one increment; docs/cache-metrics.md says so.
push_url="${push_url:-${AMEIDE_BUILDKIT_METRICS_URL:-}}"
if [ -n "$push_url" ] && [ "$metrics" != true ]; then
    b64() { printf '%s' "$1" | base64 | tr -d '\n' | tr '+/' '-_'; }
    group="$push_url/metrics/job/arc-buildkit-builds/tier/$tier/builder/$builder_label/repository@base64/$(b64 "$repository_label")"
    current="$(curl -fsS --max-time 5 "$push_url/metrics" 2>/dev/null)" || current=""
    body="$(
        {
            printf '%s\n' "$current" | awk -v t="$tier" -v r="$repository_label" -v b="$builder_label" '
                /^arc_buildkit_[a-z_]+\{/ {
                    if (index($0, "job=\"arc-buildkit-builds\"") && index($0, "tier=\"" t "\"") && index($0, "repository=\"" r "\"") && index($0, "builder=\"" b "\"")) {
                        name = substr($0, 1, index($0, "{") - 1); extra = ""
                        if (match($0, /(result|reason)="[a-z-]*"/)) extra = substr($0, RSTART, RLENGTH)
                        print name "{" extra "} " $NF
                    }
                }'
            increments | sed -n '/^arc_/p' | sed 's/^\([a-z_]*\) /\1{} /'
        } | awk '
            { k = $1; if (!(k in sum)) order[++n] = k; sum[k] += $2 }
            END { for (i = 1; i <= n; i++) { k = order[i]; v = sum[k]; sub(/\{\}$/, "", k); printf "%s %.10g\n", k, v } }'
    )"
    # The exposition format wants the series of one name together, under its HELP and TYPE.
    body="$(printf '%s\n' "$body" | awk '{ n = $1; sub(/\{.*/, "", n); if (!(n in s)) order[++c] = n; s[n] = s[n] $0 "\n" } END { for (i = 1; i <= c; i++) print order[i] }' |
        while read -r name; do
            printf '# HELP %s %s\n# TYPE %s counter\n' "$name" "$(help_text "$name")" "$name"
            printf '%s\n' "$body" | awk -v n="$name" 'index($0, n "{") == 1 || index($0, n " ") == 1'
        done)"
    if ! printf '%s\n' "$body" | curl -fsS --max-time 5 -X PUT --data-binary @- "$group" >/dev/null 2>&1; then
        warn "could not push this build's counters to $push_url (the build itself is unaffected)"
    fi
fi

if [ "$metrics" != true ]; then
    printf 'status=%s\ncached=%s\ntotal=%s\ncompleted=%s\nseconds=%s\nbuilder=%s\nfallback=%s\nreason=%s\nrepository=%s\n' \
        "$status" "${cached:-}" "${total:-}" "${completed:-}" "$seconds" "$builder_label" "$fallback" "$reason" "$repository_label"
fi
exit 0
