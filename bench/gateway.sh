#!/usr/bin/env bash
# bench/gateway.sh [--quick] [gateway.py options] -- the gateway benchmark of
# issue 3: wrk on loopback through `chatseal serve`, through nginx proxy_pass
# (upstream keepalive) and straight to the upstream (nginx returning a fixed
# chat.completion), small and 200-message bodies, requests/s and p50/p99,
# plus streaming time to first byte.  Everything listens on 127.0.0.1 on free
# ports and is stopped at the end.  See bench/gateway.py for the method.
#
# Needs nginx and wrk (scripts/bootstrap.sh --bench) and the chatseal binary
# in $BENCH_BUILD (default build-bench, release), which this script builds.
# Prints the results as a table (bench/report.py); raw JSON lines go to
# $BENCH_OUT/gateway.jsonl when BENCH_OUT is set.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BENCH_BUILD:-build-bench}
if [ ! -f "$build/build.ninja" ]; then
    # warnings are enforced by the normal build; this one is for timing only
    meson setup "$build" --buildtype=release -Dwerror=false >/dev/null
fi
ninja -C "$build" src/cli/chatseal >/dev/null

out=${BENCH_OUT:-}
tmp=
if [ -z "$out" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    out=$tmp
fi
mkdir -p "$out"
: >"$out/gateway.jsonl"
rc=0
BENCH_BUILD=$build python3 bench/gateway.py --out "$out/gateway.jsonl" "$@" || rc=$?
python3 bench/report.py "$out/gateway.jsonl"
exit $rc
