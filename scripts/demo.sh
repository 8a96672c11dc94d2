#!/usr/bin/env bash
# demo.sh -- `make demo`: chatseal serve with its built-in mock model, an
# ephemeral development key and the chat page, on 127.0.0.1:8080.
#
#   CHATSEAL_DEMO_PORT=9000 make demo      # another port (PORT works too)
#   CHATSEAL_DEMO_HOST=0.0.0.0 make demo   # reachable from other machines
#
# The mock model is NOT a language model: it echoes the last user message,
# so that the demo needs no GPU.  To put the gateway in front of a real
# server see docs/GATEWAY.md.  Ctrl-C stops the gateway (it drains first).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CHATSEAL_BIN:-build/src/cli/chatseal}
HOST=${CHATSEAL_DEMO_HOST:-127.0.0.1}
PORT=${CHATSEAL_DEMO_PORT:-${PORT:-8080}}
if [ ! -x "$BIN" ]; then
    echo "demo: $BIN is missing; build first (make build)" >&2
    exit 1
fi

# the demo key is ephemeral, so its conversation store lives as long as the
# demo does (a store outlasting its key would only hold unverifiable tokens)
store=$(mktemp -d)
"$BIN" serve --upstream mock --dev --ui web --listen "$HOST:$PORT" \
    --store "$store/store" &
pid=$!
stop() { kill -TERM "$pid" 2>/dev/null || true; }
trap 'rm -rf "$store"' EXIT
# Ctrl-C reaches the gateway directly (same process group) and it drains;
# this script just keeps waiting for it.  TERM/HUP sent to the script are
# passed on.
trap : INT
trap stop TERM HUP

# print the URL once the gateway accepts connections
up=0
for _ in $(seq 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
        break
    fi
    if (exec 3<>"/dev/tcp/${HOST/0.0.0.0/127.0.0.1}/$PORT") 2>/dev/null; then
        up=1
        break
    fi
    sleep 0.1
done
if [ "$up" = 1 ]; then
    url_host=$HOST
    [ "$HOST" = 0.0.0.0 ] && url_host=127.0.0.1
    printf '\n  chatseal demo: open http://%s:%s/ in a browser  (Ctrl-C stops)\n\n' \
        "$url_host" "$PORT"
fi
status=0
wait "$pid" || status=$?
# a signal interrupts the first wait: wait for the drain to finish
if kill -0 "$pid" 2>/dev/null; then
    wait "$pid" || status=$?
fi
exit "$status"
