#!/usr/bin/env bash
# `make test`: every step in order, each timed, then a summary.
#
#   deps        apt packages, wasm target, wasm-bindgen-cli, binaryen (if missing)
#   dockerd     a Docker engine (started if none answers)
#   test-image  berth-test/busybox:latest (rebuilt only when its recipe changed)
#   frontend    frontend/dist/ (before the Rust tests: the backend embeds it)
#   unit        cargo test --workspace (the frontend's logic natively; real dockerd)
#   fuzz        a short schemathesis run against a live berth (scripts/fuzz.sh short)
#   release     cargo build --release -p berth
#   dockerd-again  the engine still whole? (restarted if its default bridge
#               went missing during the Rust tests)
#   e2e         Playwright + Debian's Chromium against a fresh berth
#
# A failing setup step stops the run. A failing test step (unit) does not
# stop the browser tests, but the run still exits non-zero. The last line is
# the total count of tests: `total: N passed, N failed, N skipped`.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
MAKE="${MAKE:-make}"
LOGS="$(mktemp -d)"
trap 'rm -rf "$LOGS"' EXIT

start=$SECONDS
names=()
times=()
results=()
failed=0

summary() {
    echo
    echo "==== make test: summary ===="
    local i
    for i in "${!names[@]}"; do
        printf '  %-13s %-5s %5ss\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
    done
    printf '  %-13s %-5s %5ss\n' "wall time" "" "$((SECONDS - start))"

    # Count what the runners reported: cargo test's `test result:` lines and
    # Playwright's closing `N passed` / `N failed` / `N skipped` lines.
    local passed=0 fail=0 skipped=0
    if [ -f "$LOGS/unit.log" ]; then
        read -r p f s < <(sed 's/\x1b\[[0-9;]*m//g' "$LOGS/unit.log" | awk '
            /^test result: / {
                for (i = 1; i <= NF; i++) {
                    if ($(i+1) ~ /^passed;/) p += $i
                    if ($(i+1) ~ /^failed;/) f += $i
                    if ($(i+1) ~ /^ignored;/) s += $i
                }
            }
            END { print p+0, f+0, s+0 }')
        passed=$((passed + p)); fail=$((fail + f)); skipped=$((skipped + s))
    fi
    # The fuzz step counts one test per role it ran as (admin, viewer):
    # passed when every check held for both, failed otherwise.
    for i in "${!names[@]}"; do
        if [ "${names[$i]}" = fuzz ]; then
            if [ "${results[$i]}" = ok ]; then passed=$((passed + 2)); else fail=$((fail + 2)); fi
        fi
    done
    if [ -f "$LOGS/e2e.log" ]; then
        read -r p f s < <(sed 's/\x1b\[[0-9;]*m//g' "$LOGS/e2e.log" | awk '
            /^ +[0-9]+ passed/  { p += $1 }
            /^ +[0-9]+ failed/  { f += $1 }
            /^ +[0-9]+ flaky/   { f += $1 }
            /^ +[0-9]+ skipped/ { s += $1 }
            /^ +[0-9]+ did not run/ { s += $1 }
            END { print p+0, f+0, s+0 }')
        passed=$((passed + p)); fail=$((fail + f)); skipped=$((skipped + s))
    fi
    if [ "$failed" -ne 0 ] && [ "$fail" -eq 0 ]; then
        # A step failed outside the runners' counts (a build, a setup step,
        # a crashed runner): count it, so the total never reads as green.
        echo "  (a step failed outside the test runners' counts)"
        fail=1
    fi
    echo "total: $passed passed, $fail failed, $skipped skipped"
}

# run NAME FATAL [TARGET] -- make TARGET (default NAME), timed; output also
# kept in $LOGS/NAME.log for the summary. FATAL=yes stops the run on failure.
run() {
    local name="$1" fatal="$2" target="${3:-$1}" t0=$SECONDS rc
    echo
    echo "==== make test: $name ===="
    "$MAKE" --no-print-directory "$target" 2>&1 | tee "$LOGS/$name.log"
    rc=${PIPESTATUS[0]}
    names+=("$name")
    times+=("$((SECONDS - t0))")
    if [ "$rc" -eq 0 ]; then
        results+=("ok")
    else
        results+=("FAIL")
        failed=1
        if [ "$fatal" = yes ]; then
            echo "make test: step '$name' failed (exit $rc)" >&2
            summary
            exit 1
        fi
    fi
}

run deps yes
run dockerd yes
run test-image yes
run frontend yes
run unit no
run fuzz no fuzz-short
run release yes
# The engine must still be whole after the Rust tests (a test that starts a
# dockerd of its own can take the default bridge away): check, heal if needed.
run dockerd-again yes dockerd
run e2e no

summary
exit "$failed"
