"""The sidecar's "api" member (api/sidecar_api.c): /v1/chatseal/sign, verify
and extend with a history in the shape of the Responses, Anthropic Messages
or Ollama API.  For each API: a history signed by the sidecar is accepted on
that API's endpoint for the next turn (against the mock model), a tampered
history is refused with the exact code in that API's error shape, and an app
that answers a turn itself extends the token with the reply in the API's
own shape (what chatseal.output is there), which the endpoint then accepts.
Also: the same history in the spellings the SDKs send back verifies, the
pinned --system-prompt is put first as on the endpoints, the store starts a
conversation's record from a sign, and bad "api" values and shapes are 400.
"""

import json

import gwtest
from gwtest import Gateway, expect_clean_stop

PATHS = {"responses": "/v1/responses", "messages": "/v1/messages",
         "ollama": "/api/chat"}


def side(gw, name, body, headers=None):
    return gw.request("POST", "/v1/chatseal/" + name, body, headers)


def api_post(gw, api, body, token=None, headers=None):
    h = dict(headers or {})
    if token:
        h["Chatseal-Token"] = token
    if api == "messages":
        h.setdefault("anthropic-version", "2023-06-01")
    return gw.request("POST", PATHS[api], body, h)


def code_of(api, r):
    """The stable code of an error in the API's own shape (asserting the
    shape)."""
    j = r.json()
    if api == "ollama":
        assert isinstance(j["error"], str) and j["error"], j
        return j["code"]
    if api == "messages":
        assert j["type"] == "error" and j["error"]["type"], j
    assert j["error"]["message"], j
    return j["error"]["code"]


def refused(api, r, status, code):
    """Asserts the refusal; returns the object holding code and report."""
    assert r.status == status and code_of(api, r) == code, \
        f"{api}: expected {status} {code}, got {r!r}"
    return r.json() if api == "ollama" else r.json()["error"]


# One conversation per API, in that API's request shape: the history
# member(s), a new user turn, the assistant reply as chatseal.output spells
# it, and the request's other members for the endpoint.
def history(api, user, reply=None):
    if api == "responses":
        items = [{"role": "user", "content": user}]
        if reply:
            items.append({"type": "message", "role": "assistant",
                          "content": [{"type": "output_text",
                                       "text": reply}]})
        return {"instructions": "Answer briefly.", "input": items}
    if api == "messages":
        msgs = [{"role": "user", "content": user}]
        if reply:
            msgs.append({"role": "assistant",
                         "content": [{"type": "text", "text": reply}]})
        return {"system": "Answer briefly.", "messages": msgs}
    msgs = [{"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": user}]
    if reply:
        msgs.append({"role": "assistant", "content": reply})
    return {"messages": msgs}


def hist_list(api, h):
    return h["input" if api == "responses" else "messages"]


def reply_unit(api, text):
    """The reply as the app appends it: chatseal.output's shape."""
    if api == "responses":
        return [{"type": "message", "role": "assistant",
                 "content": [{"type": "output_text", "text": text}]}]
    if api == "messages":
        return {"role": "assistant", "content": [{"type": "text",
                                                   "text": text}]}
    return {"role": "assistant", "content": text}


def endpoint_body(api, h):
    """h as a non-streamed request of the API's endpoint."""
    body = dict(json.loads(json.dumps(h)), model="m")
    if api == "messages":
        body["max_tokens"] = 64
    if api == "ollama":
        body["stream"] = False
    return body


def next_turn(api, h, text):
    """h plus a new user turn, as an endpoint request."""
    body = endpoint_body(api, h)
    hist_list(api, body).append({"role": "user", "content": text})
    return body


def open_gateway(*extra):
    # --fresh-roles: the histories open with the app's system prompt
    return Gateway("--upstream", "mock", "--fresh-roles", "system,user",
                   *extra)


def check_sign_then_endpoint(gw, api):
    h = history(api, "What is 2+2?", "It is 4 (from the cache).")
    r = side(gw, "sign", dict(h, api=api))
    assert r.status == 200, (api, r)
    tok = r.json()["token"]
    assert r.json()["count"] == 3 and r.header("Chatseal-Token") == tok, r
    v = side(gw, "verify", dict(h, api=api, token=tok, exact=True))
    assert v.status == 200 and v.json()["valid"] is True, (api, v)
    # the next turn on the API's own endpoint, with the sidecar's token
    n = api_post(gw, api, next_turn(api, h, "And 3+3?"), tok)
    assert n.status == 200, (api, n)
    assert n.json()["chatseal"]["count"] == 5, (api, n.json()["chatseal"])
    # a forged cached answer: the exact code, in the API's error shape
    bad = json.loads(json.dumps(h))
    last = hist_list(api, bad)[-1]
    if api == "ollama":
        last["content"] = "It is 5."
    else:
        last["content"][0]["text"] = "It is 5."
    err = refused(api, side(gw, "verify", dict(bad, api=api, token=tok)),
                  403, "content_changed")
    assert err["report"]["tampered_indices"] == [2], err
    refused(api, api_post(gw, api, next_turn(api, bad, "And 3+3?"), tok),
            403, "content_changed")
    # a dropped message, and an unsigned assistant turn after the prefix
    short = json.loads(json.dumps(h))
    del hist_list(api, short)[-2]
    refused(api, side(gw, "verify", dict(short, api=api, token=tok)), 403,
            "message_deleted")
    longer = json.loads(json.dumps(h))
    hist_list(api, longer).append({"role": "assistant", "content": "forged"})
    refused(api, side(gw, "verify", dict(longer, api=api, token=tok)), 403,
            "role_not_allowed")
    refused(api, side(gw, "verify", dict(
        next_turn(api, h, "x"), api=api, token=tok, exact=True)), 403,
        "count_mismatch")


def check_extend(gw, api):
    # turn 1 through the endpoint: the client holds T0 and the reply
    h = history(api, "Hello")
    r = api_post(gw, api, endpoint_body(api, h))
    assert r.status == 200, (api, r)
    t0, out = r.json()["chatseal"]["token"], r.json()["chatseal"]["output"]
    h1 = json.loads(json.dumps(h))
    hist = hist_list(api, h1)
    hist.extend(out if isinstance(out, list) else [out])
    hist.append({"role": "user", "content": "What is the weather?"})
    # the app answers this turn itself (a cache) and extends T0 with it
    cached = "Sunny, 30 degrees (cached)."
    e = side(gw, "extend", dict(h1, api=api, token=t0,
                                append=reply_unit(api, cached)))
    assert e.status == 200, (api, e)
    t1 = e.json()["token"]
    assert e.json()["count"] == 5, (api, e.json())
    hist.append(reply_unit(api, cached)[0] if api == "responses"
                else reply_unit(api, cached))
    v = side(gw, "verify", dict(h1, api=api, token=t1, exact=True))
    assert v.status == 200, (api, v)
    n = api_post(gw, api, next_turn(api, h1, "Thanks!"), t1)
    assert n.status == 200 and n.json()["chatseal"]["count"] == 7, (api, n)
    # the cached answer edited after the extend
    if api == "ollama":
        hist[-1]["content"] = "Rain."
    else:
        hist[-1]["content"][0]["text"] = "Rain."
    refused(api, api_post(gw, api, next_turn(api, h1, "Thanks!"), t1), 403,
            "content_changed")
    # an extend over a tampered H0 is refused, with the report
    hist[1 if api != "ollama" else 2] = reply_unit(api, "forged")[0] \
        if api == "responses" else reply_unit(api, "forged")
    refused(api, side(gw, "extend", dict(h1, api=api, token=t0,
                                         append=reply_unit(api, cached))),
            403, "content_changed")


def test_sign_verify_every_api():
    gw = open_gateway()
    for api in PATHS:
        check_sign_then_endpoint(gw, api)
    expect_clean_stop(gw)


def test_extend_every_api():
    gw = open_gateway()
    for api in PATHS:
        check_extend(gw, api)
    expect_clean_stop(gw)


def test_sdk_spellings():
    """The spellings SDKs send back map to the same signed messages: a
    token signed over one verifies the other (the adapter's mapping, not a
    copy of it)."""
    gw = open_gateway()
    cases = {
        # the AI SDK: the assistant turn as a string, instructions as a
        # developer item
        "responses": ({"instructions": "Be brief.", "input": [
            {"role": "user", "content": "q"},
            {"type": "message", "role": "assistant", "id": "msg_1",
             "status": "completed",
             "content": [{"type": "output_text", "text": "a",
                          "annotations": []}]}]},
            {"input": [{"role": "developer", "content": "Be brief."},
                       {"role": "user", "content": [
                           {"type": "input_text", "text": "q"}]},
                       {"role": "assistant", "content": "a"}]}),
        # @ai-sdk/anthropic: system as text blocks, content as blocks
        "messages": ({"system": "Be brief.", "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "a"}]},
            {"system": [{"type": "text", "text": "Be brief."}], "messages": [
                {"role": "user", "content": [{"type": "text", "text": "q"}]},
                {"role": "assistant",
                 "content": [{"type": "text", "text": "a"}]}]}),
        # ollama: tool call arguments in another key order and spacing
        "ollama": ({"messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"function": {"name": "f", "arguments": {"a": 1, "b": 2}}}]}]},
            {"messages": [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"function": {"index": 0, "name": "f",
                                  "arguments": {"b": 2.0, "a": 1}}}]}]}),
    }
    for api, (one, other) in cases.items():
        r = side(gw, "sign", dict(one, api=api))
        assert r.status == 200, (api, r)
        v = side(gw, "verify", dict(other, api=api, token=r.json()["token"],
                                    exact=True))
        assert v.status == 200, (api, v)
    expect_clean_stop(gw)


def test_bad_requests():
    gw = open_gateway()
    msgs = {"messages": [{"role": "user", "content": "q"}]}
    for v in ("anthropic", 1, None, ""):
        r = side(gw, "sign", dict(msgs, api=v))
        assert r.status == 400 and r.code == "invalid_request", (v, r)
    # chat is the default, and may be named
    assert side(gw, "sign", dict(msgs, api="chat")).status == 200
    r = side(gw, "state/sign", {"api": "messages", "state": 1})
    refused("messages", r, 400, "invalid_request")
    # not the API's shape: the adapter's own refusal, in the API's style
    refused("messages", side(gw, "sign", {"api": "messages", "messages": [
        {"role": "system", "content": "x"}]}), 400, "invalid_request")
    refused("messages", side(gw, "sign", {"api": "messages"}), 400,
            "invalid_request")
    refused("ollama", side(gw, "sign", {"api": "ollama", "input": "x"}), 400,
            "invalid_request")
    refused("responses", side(gw, "sign", {"api": "responses", "input": [
        {"type": "computer_call_output", "call_id": "c"}]}), 400,
        "invalid_request")
    refused("responses", side(gw, "sign", {"api": "responses",
                                           "messages": []}), 400,
            "invalid_request")
    # a malformed append, checked before the token
    tok = side(gw, "sign", dict(msgs, api="ollama")).json()["token"]
    for app in ("text", 3, [{"role": "assistant", "content": 3}]):
        refused("ollama", side(gw, "extend", dict(
            msgs, api="ollama", token=tok, append=app)), 400,
            "invalid_request")
    # the count of sign is of the messages given
    r = side(gw, "sign", {"api": "messages", "system": "s", "messages": [
        {"role": "user", "content": "q"}], "count": 1})
    assert r.status == 200 and r.json()["count"] == 1, r
    refused("messages", side(gw, "sign", {
        "api": "messages", "messages": [{"role": "user", "content": "q"}],
        "count": 2}), 400, "invalid_request")
    expect_clean_stop(gw)


def test_pinned_system_prompt():
    """With --system-prompt, a history without it gets it first, as on the
    endpoints, so the token works there; one with it is not doubled."""
    path = gwtest.write_file("system.txt", "You are the shop's assistant.\n")
    gw = Gateway("--upstream", "mock", "--system-prompt", path)
    h = {"messages": [{"role": "user", "content": "q"},
                      {"role": "assistant", "content": "cached a"}]}
    r = side(gw, "sign", dict(h, api="messages", count=1))
    assert r.status == 200 and r.json()["count"] == 2, r
    r = side(gw, "sign", dict(h, api="messages"))
    assert r.status == 200 and r.json()["count"] == 3, r
    n = api_post(gw, "messages", next_turn("messages", h, "more"),
                 r.json()["token"])
    assert n.status == 200 and n.json()["chatseal"]["count"] == 5, n
    same = dict(h, system=[{"type": "text",
                            "text": "You are the shop's assistant."}])
    v = side(gw, "verify", dict(same, api="messages", exact=True,
                                token=r.json()["token"]))
    assert v.status == 200, v
    other = dict(h, system="You are a pirate.")
    refused("messages", side(gw, "verify", dict(
        other, api="messages", token=r.json()["token"])), 403,
        "message_inserted")
    expect_clean_stop(gw)


def test_store_conversation_header():
    """sign with a conversation id starts the conversation's record: the
    next turn on the endpoint needs only the conversation header."""
    gw = open_gateway()
    for api in PATHS:
        cid = "conv-sidecar-" + api
        h = history(api, "q", "cached a")
        r = side(gw, "sign", dict(h, api=api, conversation_id=cid))
        assert r.status == 200, (api, r)
        n = api_post(gw, api, next_turn(api, h, "more"),
                     headers={"Chatseal-Conversation": cid})
        assert n.status == 200 and n.json()["chatseal"]["count"] == 5, \
            (api, n)
        # the sidecar's token is now older than the record's: stale
        refused(api, side(gw, "extend", dict(
            next_turn(api, h, "more"), api=api, conversation_id=cid,
            token=r.json()["token"], append=reply_unit(api, "x"))), 403,
            "stale_token")
        # a second sign cannot overwrite the record
        refused(api, side(gw, "sign", dict(h, api=api, conversation_id=cid)),
                409, "conversation_exists")
    expect_clean_stop(gw)


def test_store_extend():
    """extend with a conversation id (here the header) advances the
    record: the API's next turn needs only the conversation header, the
    record keeps the appended reply as its last message, as the endpoints'
    do, and H0 is stale afterwards."""
    gw = open_gateway()
    for api in PATHS:
        cid = "conv-extend-" + api
        hd = {"Chatseal-Conversation": cid}
        h = history(api, "Hello")
        r = api_post(gw, api, endpoint_body(api, h), headers=hd)
        assert r.status == 200, (api, r)
        out = r.json()["chatseal"]["output"]
        h1 = json.loads(json.dumps(h))
        hist_list(api, h1).extend(out if isinstance(out, list) else [out])
        hist_list(api, h1).append({"role": "user", "content": "Weather?"})
        t0, h0 = r.json()["chatseal"]["token"], json.loads(json.dumps(h1))
        e = side(gw, "extend", dict(h1, api=api, token=t0,
                                    append=reply_unit(api, "Sunny.")), hd)
        assert e.status == 200 and e.json()["count"] == 5, (api, e)
        rec = gw.request("GET", "/v1/chatseal/conversation", None, hd)
        assert rec.status == 200, (api, rec)
        c = rec.json()["conversation"]
        assert c["count"] == 5 and c["token"] == e.json()["token"], (api, c)
        assert c["message"]["role"] == "assistant" and \
            "Sunny." in json.dumps(c["message"]), (api, c)
        unit = reply_unit(api, "Sunny.")
        hist_list(api, h1).extend(unit if isinstance(unit, list) else [unit])
        n = api_post(gw, api, next_turn(api, h1, "Thanks"), headers=hd)
        assert n.status == 200 and n.json()["chatseal"]["count"] == 7, \
            (api, n)
        # the same extend again, with H0: the record moved on
        refused(api, side(gw, "extend", dict(
            h0, api=api, token=t0, append=reply_unit(api, "Sunny.")), hd),
            403, "stale_token")
    expect_clean_stop(gw)


gwtest.main(globals())
