#!/bin/sh
# run_fuzzer.sh TARGET SEED_DIR SCRATCH_DIR SECONDS
# Runs a libFuzzer target for SECONDS ($FUZZ_SECONDS if set) over a copy of
# its seed corpus.  Exit 0 only if no crash, leak, timeout or failed
# assertion was found.
set -eu
target=$1 seeds=$2 scratch=$3 secs=${FUZZ_SECONDS:-$4}
rm -rf "$scratch" && mkdir -p "$scratch"
cp "$seeds"/* "$scratch"/ 2>/dev/null || true
# libFuzzer exits 77 on a crash by default, which meson reads as "skipped":
# every finding must be a failure.
exec "$target" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -error_exitcode=1 -timeout_exitcode=1 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$scratch/" "$scratch"
