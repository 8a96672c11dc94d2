#!/usr/bin/env bash
# curl_sidecar_apis.sh -- the curl examples of docs/GATEWAY.md "Histories of the
# other APIs" (the sidecar's "api" member), run for
# real against `chatseal serve --upstream mock --dev` (JSON picked apart with
# python3 instead of jq, which the bootstrap does not install).
# Exit 0 on success, 1 on a failed check, 77 without curl.
set -euo pipefail
source "$(dirname "$0")/curl_lib.sh"

start_gateway --store none
cd "$tmp"

J='Content-Type: application/json'

# Responses: a cached answer signed as output items; the next turn goes to
# /v1/responses with the token
curl -sS $GW/v1/chatseal/sign -H "$J" -d '{
  "api":"responses","instructions":"Answer briefly.",
  "input":[{"role":"user","content":"What is 2+2?"},
           {"type":"message","role":"assistant","content":[{"type":"output_text","text":"It is 4."}]}]}' > s1.json
[ "$(py 'd["count"]' s1.json)" = 3 ] || fail "responses sign: $(cat s1.json)"
curl -sS $GW/v1/responses -H "$J" -H "Chatseal-Token: $(py 'd["token"]' s1.json)" -d '{
  "model":"m","instructions":"Answer briefly.",
  "input":[{"role":"user","content":"What is 2+2?"},
           {"type":"message","role":"assistant","content":[{"type":"output_text","text":"It is 4."}]},
           {"role":"user","content":"And 3+3?"}]}' > r2.json
[ "$(py 'd["chatseal"]["count"]' r2.json)" = 5 ] || fail "responses turn: $(cat r2.json)"

# Anthropic Messages: sign, then verify the history a client sent back; an
# edited answer is refused in Anthropic's shape
curl -sS $GW/v1/chatseal/sign -H "$J" -d '{
  "api":"messages","system":"Answer briefly.",
  "messages":[{"role":"user","content":"What is 2+2?"},
              {"role":"assistant","content":[{"type":"text","text":"It is 4."}]}]}' > m1.json
T=$(py 'd["token"]' m1.json)
status=$(curl -sS -o v.json -w '%{http_code}' $GW/v1/chatseal/verify -H "$J" -d '{
  "api":"messages","token":"'"$T"'","system":"Answer briefly.",
  "messages":[{"role":"user","content":"What is 2+2?"},
              {"role":"assistant","content":[{"type":"text","text":"It is 5."}]}]}')
[ "$status" = 403 ] || fail "messages verify: HTTP $status"
[ "$(py '(d["type"], d["error"]["code"], d["error"]["type"], d["error"]["report"]["tampered_indices"])' v.json)" = \
  "('error', 'content_changed', 'permission_error', [2])" ] || fail "messages verify: $(cat v.json)"

# Ollama: turn 1 through /api/chat; the app answers turn 2 itself and
# extends the client's token H0 with its answer (an Ollama message)
curl -sS $GW/api/chat -H "$J" -d '{"model":"m",
  "stream":false,"messages":[{"role":"user","content":"Hello"}]}' > o1.json
py 'json.dumps({"api": "ollama", "token": d["chatseal"]["token"], "messages": [{"role": "user", "content": "Hello"}, d["message"], {"role": "user", "content": "What is the weather?"}], "append": {"role": "assistant", "content": "Sunny, 30 degrees."}})' o1.json > ext.json
curl -sS $GW/v1/chatseal/extend -H "$J" -d @ext.json > e.json
[ "$(py 'd["count"]' e.json)" = 4 ] || fail "ollama extend: $(cat e.json)"
# the next /api/chat turn sends H1
py 'json.dumps({"model": "m", "stream": False, "messages": d["messages"] + [d["append"], {"role": "user", "content": "Thanks"}]})' ext.json > o3.json
curl -sS $GW/api/chat -H "$J" -H "Chatseal-Token: $(py 'd["token"]' e.json)" -d @o3.json > r3.json
[ "$(py 'd["chatseal"]["count"]' r3.json)" = 6 ] || fail "ollama turn 3: $(cat r3.json)"

kill -TERM "$pid"
wait "$pid" || fail "chatseal serve exit status $?"
pid=
echo "ok: the sidecar's per-API curl examples"
