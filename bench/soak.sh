#!/usr/bin/env bash
# bench/soak.sh [soak.py options] -- the load soak of issue 10: minutes of
# mixed traffic over Chat Completions, Responses, Anthropic Messages and
# Ollama (conversations with tokens, JSON and streamed; conversation-
# header-only turns; tampered and malformed requests; slow clients; clients
# that hang up mid-stream; injected upstream faults) through `chatseal serve`,
# checking that RSS stays flat, that no 5xx comes from the gateway and that
# no token goes with a reply the client did not fully get.  See bench/soak.py.
#
#   bash bench/soak.sh                  3 minutes (the figures in PERFORMANCE.md)
#   bash bench/soak.sh --short          20 seconds
#   BENCH_BUILD=build-asan bash bench/soak.sh --short --no-rss-check
#                                       under ASan+UBSan: a leak or an error
#                                       makes the gateway's exit status non-zero,
#                                       which fails the soak
#
# Builds chatseal in $BENCH_BUILD (default build-bench, release) unless that
# folder is already set up with another build type.  Exit status: 0 when
# every invariant held, 1 when one failed, 2 on a setup error.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BENCH_BUILD:-build-bench}
if [ ! -f "$build/build.ninja" ]; then
    # warnings are enforced by the normal build; this one is for timing only
    meson setup "$build" --buildtype=release -Dwerror=false >/dev/null
fi
ninja -C "$build" src/cli/chatseal >/dev/null
exec python3 bench/soak.py --build "$build" "$@"
