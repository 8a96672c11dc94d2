#!/usr/bin/env bash
# curl_responses.sh -- the curl examples of docs/GATEWAY.md "OpenAI
# Responses", run for real against `chatseal serve --upstream mock --dev`
# (JSON picked apart with python3, which the bootstrap installs; jq is not).
# Exit 0 on success, 1 on a failed check, 77 without curl.
set -euo pipefail
source "$(dirname "$0")/curl_lib.sh"

start_gateway --store "$tmp/store"
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
