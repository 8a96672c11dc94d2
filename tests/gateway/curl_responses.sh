#!/usr/bin/env bash
# curl_responses.sh -- the curl examples of docs/GATEWAY.md "OpenAI
# Responses", run for real against `chatseal serve --upstream mock --dev`
# (JSON picked apart with python3, which the bootstrap installs; jq is not).
# Exit 0 on success, 1 on a failed check, 77 without curl.
set -euo pipefail
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
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[2])); print(eval(sys.argv[1], {"d": d}))' "$1" "$2"; }

"$BIN" serve --upstream mock --dev --mock-delay 1ms --listen 127.0.0.1:0 \
    --store "$tmp/store" 2>"$tmp/gw.log" &
pid=$!
GW=
for _ in $(seq 200); do
    GW=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    if l.startswith("{") and json.loads(l).get("event") == "listening":
        print(json.loads(l)["url"].rstrip("/")); break' "$tmp/gw.log")
    [ -n "$GW" ] && break
    kill -0 "$pid" 2>/dev/null || fail "chatseal serve exited"
    sleep 0.05
done
[ -n "$GW" ] || fail "chatseal serve did not start"
cd "$tmp"

# turn 1
curl -s -D h1 "$GW/v1/responses" -H 'Content-Type: application/json' \
  -d '{"model":"m","input":"Hello"}' >r1.json
[ "$(json 'd["chatseal"]["count"]' r1.json)" = 2 ] || fail "turn 1: $(cat r1.json)"
[ "$(json 'd["chatseal"]["output"][0]["type"]' r1.json)" = message ] || fail "turn 1 output"
TOKEN=$(sed -n 's/^Chatseal-Token: //Ip' h1 | tr -d '\r')
[ "$TOKEN" = "$(json 'd["chatseal"]["token"]' r1.json)" ] || fail "header and member differ"

# turn 2
python3 -c 'import json; r=json.load(open("r1.json")); print(json.dumps({"model":"m",
  "input":[{"role":"user","content":"Hello"}]+r["output"]+[{"role":"user","content":"And now?"}]}))' >t2.json
curl -s "$GW/v1/responses" -H 'Content-Type: application/json' \
  -H "Chatseal-Token: $TOKEN" -d @t2.json >r2.json
[ "$(json 'd["chatseal"]["count"]' r2.json)" = 4 ] || fail "turn 2: $(cat r2.json)"

# store:true refused
code=$(curl -s -o r3.json -w '%{http_code}' "$GW/v1/responses" -H 'Content-Type: application/json' \
  -d '{"model":"m","input":"Hi","store":true}')
[ "$code" = 400 ] || fail "store:true got $code"
[ "$(json 'd["error"]["code"]' r3.json)" = parameter_not_allowed ] || fail "store: $(cat r3.json)"

# streaming: the token in the last event, no [DONE]
curl -sN "$GW/v1/responses" -H 'Content-Type: application/json' \
  -d '{"model":"m","input":"Hello","stream":true}' >s.txt
tail -n 3 s.txt | head -n 1 | grep -qx 'event: response.chatseal' || fail "stream end: $(tail -n 3 s.txt)"
tail -n 2 s.txt | head -n 1 | grep -q '^data: {"type":"keepalive","sequence_number":[0-9]*,"chatseal":{"count":2,' \
    || fail "chatseal event: $(tail -n 2 s.txt)"
! grep -q '\[DONE\]' s.txt || fail "[DONE] in a Responses stream"

kill -TERM "$pid"
wait "$pid" || fail "gateway exit status $?"
pid=
echo "curl_responses: ok"
