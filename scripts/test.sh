#!/usr/bin/env bash
# test.sh -- build chatseal four ways and run every test; `make test` runs this.
#
#   build/       gcc, -Wall -Wextra -Werror, every suite
#   build-asan/  gcc with AddressSanitizer + UndefinedBehaviorSanitizer (leaks
#                included), every suite but the browser one
#   build-fuzz/  clang with libFuzzer: each fuzz target runs FUZZ_SECONDS
#                (default 10) from its seed corpus
#   build-release/  -O3, built only (warnings are errors), not tested
# plus a style check (clang-format) and the source rules of
# scripts/checksrc.py (banned calls, function length).  The last line is the summary
# "N passed, N failed, N skipped" counted over all of them; the exit status is
# non-zero if anything failed, including a build.
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
export FUZZ_SECONDS
jobs=$(nproc 2>/dev/null || echo 2)
extra_failed=0
extra_passed=0
logs=()

step() { printf '\n=== %s\n' "$*"; }

run_build() { # dir, meson test args..., -- setup args...
    local dir=$1; shift
    local test_args=() setup_args=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do test_args+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    setup_args=("$@")
    step "configure + build $dir"
    if [ ! -f "$dir/build.ninja" ]; then
        if ! meson setup "$dir" "${setup_args[@]}" >"$dir.setup.log" 2>&1; then
            cat "$dir.setup.log"; echo "FAIL: meson setup $dir"
            extra_failed=$((extra_failed + 1)); return
        fi
    fi
    if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
        tail -n 60 "$dir.build.log"; echo "FAIL: build $dir"
        extra_failed=$((extra_failed + 1)); return
    fi
    extra_passed=$((extra_passed + 1))  # the warning-free build itself
    step "tests in $dir"
    meson test -C "$dir" --print-errorlogs --num-processes "$jobs" "${test_args[@]}"
    logs+=("$dir/meson-logs/testlog.json")
}

run_build build -- -Dwerror=true
run_build build-asan --no-suite browser --timeout-multiplier 3 -- \
    -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true
if command -v clang >/dev/null; then
    CC=clang run_build build-fuzz --suite fuzz -- -Dfuzzing=true -Dwerror=true \
        -Db_sanitize=address,undefined -Db_lundef=false
fi

# the optimized build users install (-O3 finds warnings -O2 does not)
step "configure + build build-release (warnings only)"
if { [ -f build-release/build.ninja ] ||
     meson setup build-release -Dbuildtype=release -Dwerror=true \
        >build-release.setup.log 2>&1; } &&
   ninja -C build-release >build-release.build.log 2>&1; then
    echo "build-release: ok"; extra_passed=$((extra_passed + 1))
else
    tail -n 40 build-release.setup.log build-release.build.log 2>/dev/null
    echo "FAIL: build build-release"; extra_failed=$((extra_failed + 1))
fi

step "style (clang-format)"
if command -v clang-format >/dev/null; then
    # every C file of the project: library, CLI, gateway, tests, fuzz
    # targets, benchmarks, examples
    files=$(git ls-files '*.c' '*.h' 2>/dev/null || true)
    if [ -z "$files" ]; then
        files=$(find src include tests fuzz bench examples -name '*.[ch]')
    fi
    if clang-format --dry-run -Werror $files >style.log 2>&1; then
        echo "style: ok"; extra_passed=$((extra_passed + 1))
    else
        head -n 40 style.log; echo 'FAIL: clang-format (run: make format)'
        extra_failed=$((extra_failed + 1))
    fi
fi

step "source rules (scripts/checksrc.py)"
# banned calls and function length fail; long files are listed only
if python3 scripts/checksrc.py >checksrc.log 2>&1; then
    tail -n 1 checksrc.log; echo "checksrc: ok"
    extra_passed=$((extra_passed + 1))
else
    grep -v '(allowed: ' checksrc.log | head -n 40
    echo "FAIL: checksrc (rules: head -n 30 scripts/checksrc.py)"
    extra_failed=$((extra_failed + 1))
fi

python3 - "$extra_passed" "$extra_failed" "${logs[@]}" <<'PY'
import json, sys
passed, failed, skipped = int(sys.argv[1]), int(sys.argv[2]), 0
bad = []
for path in sys.argv[3:]:
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        failed += 1; bad.append(f"{path}: no test log"); continue
    for line in lines:
        if not line.strip():
            continue
        r = json.loads(line)
        res = r.get("result")
        where = path.split("/")[0]
        if res in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif res == "SKIP":
            skipped += 1
        else:
            failed += 1; bad.append(f"{where}: {r.get('name')} ({res})")
print()
for b in bad:
    print("FAILED:", b)
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
