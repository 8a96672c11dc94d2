# curl_lib.sh -- sourced by the curl_*.sh tests, which run the curl examples
# of docs/GATEWAY.md for real: one temporary folder, one gateway on a free
# port in front of the mock model, stopped on exit whatever happens.  JSON is
# picked apart with python3 (the bootstrap installs it; jq it does not).
# Needs $CHATSEAL_BUILD (meson sets it).  Exit 77 (skip) without curl.
command -v curl >/dev/null || { echo "curl not installed: skip"; exit 77; }
BIN="$CHATSEAL_BUILD/src/cli/chatseal"
tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; echo "--- gateway log"; tail -n 30 "$tmp/gw.log"; exit 1; }
# py EXPR FILE: EXPR evaluated over d, the JSON of FILE (json is the module)
py() { python3 -c 'import json,sys; d=json.load(open(sys.argv[2])); print(eval(sys.argv[1], {"d": d, "json": json}))' "$1" "$2"; }
json() { py "$@"; }

# start_gateway [ARGS...]: `chatseal serve --upstream mock --dev` plus ARGS,
# on 127.0.0.1 and a free port; sets GW to its URL (no trailing slash).
start_gateway() {
    "$BIN" serve --upstream mock --dev --mock-delay 1ms \
        --listen 127.0.0.1:0 "$@" 2>"$tmp/gw.log" &
    pid=$!
    GW=
    for _ in $(seq 200); do
        GW=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    if l.startswith("{") and json.loads(l).get("event") == "listening":
        print(json.loads(l)["url"].rstrip("/")); break' "$tmp/gw.log")
        [ -n "$GW" ] && return 0
        kill -0 "$pid" 2>/dev/null || fail "chatseal serve exited"
        sleep 0.05
    done
    fail "chatseal serve did not start"
}
