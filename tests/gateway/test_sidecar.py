"""The sidecar endpoints (/v1/chatseal/...): sign, verify, extend, message
and state signing, access control, and the two seed workflows they replace:

  - conversation-integrity: an app answers from a cache ("similar answer")
    instead of the model, and extends the token itself (H0 -> H1); the next
    turn then goes through the gateway's chat endpoint;
  - ragbits: the server signs `state`, sends {state, signature} to the client
    in a `state_update` event, and verifies both when the client sends them
    back in `context`.
"""

import json

import gwtest
from gwtest import Gateway, Upstream, expect_clean_stop, expect_error

SECRET = "sidecar-secret-0123456789"
AUTH = {"Authorization": "Bearer " + SECRET}


def post(gw, name, body, headers=AUTH):
    return gw.request("POST", "/v1/chatseal/" + name, body, headers)


def sidecar_gateway(*extra, upstream="mock"):
    path = gwtest.write_file("sidecar", SECRET + "\n")
    return Gateway("--upstream", upstream, "--sidecar-secret-file", path,
                   *extra, keys=gwtest.new_key_line("k1"))


def test_access_control():
    gw = Gateway("--upstream", "mock", keys=gwtest.new_key_line("k1"))
    expect_error(post(gw, "sign", {"messages": []}), 404, "not_found")
    expect_clean_stop(gw)
    gw = sidecar_gateway()
    for h in ({}, {"Authorization": "Bearer wrong-secret-wrong-secret"},
              {"Authorization": SECRET},
              {"Authorization": "Bearer " + SECRET + "x"}):
        r = post(gw, "sign", {"messages": []}, h)
        expect_error(r, 401, "invalid_argument")
        assert r.header("WWW-Authenticate").startswith("Bearer")
    assert post(gw, "sign", {"messages": []}).status == 200
    expect_error(gw.request("GET", "/v1/chatseal/sign", None, AUTH), 405,
                 "method_not_allowed")
    expect_error(post(gw, "nope", {}), 404, "not_found")
    expect_clean_stop(gw)
    gw = Gateway("--upstream", "mock")  # --dev: open
    assert post(gw, "sign", {"messages": []}, {}).status == 200
    expect_clean_stop(gw)


def test_sign_verify_and_tamper():
    gw = sidecar_gateway()
    msgs = [{"role": "user", "content": "q"},
            {"role": "assistant", "content": "cached answer"}]
    r = post(gw, "sign", {"messages": msgs})
    assert r.status == 200, r
    tok = r.json()["token"]
    assert r.json()["count"] == 2 and r.json()["kid"] == "k1"
    assert r.header("Chatseal-Token") == tok
    v = post(gw, "verify", {"messages": msgs, "token": tok})
    assert v.status == 200 and v.json()["valid"] is True, v
    assert v.json()["count"] == 2
    # the token may come in the header too
    assert post(gw, "verify", {"messages": msgs},
                dict(AUTH, **{"Chatseal-Token": tok})).status == 200
    bad = [msgs[0], dict(msgs[1], content="forged")]
    err = expect_error(post(gw, "verify", {"messages": bad, "token": tok}),
                       403, "content_changed")
    assert err["report"]["tampered_indices"] == [1], err
    # new user turns may follow (tail roles); exact:true forbids them
    longer = msgs + [{"role": "user", "content": "more"}]
    assert post(gw, "verify", {"messages": longer, "token": tok}).status == 200
    expect_error(post(gw, "verify", {"messages": longer, "token": tok,
                                     "exact": True}), 403, "count_mismatch")
    # count: sign a prefix
    r = post(gw, "sign", {"messages": msgs, "count": 1})
    assert r.json()["count"] == 1
    expect_error(post(gw, "sign", {"messages": msgs, "count": 3}), 400,
                 "invalid_request")
    # strict parsing, same codes as chat
    expect_error(post(gw, "sign", '{"messages":[],"messages":[]}'), 400,
                 "duplicate_key")
    expect_error(post(gw, "verify", {"messages": msgs, "token": "x"}), 400,
                 "malformed_token")
    expect_error(post(gw, "verify", {"messages": msgs, "token": 5}), 400,
                 "invalid_request")
    expect_error(post(gw, "sign", "[]"), 400, "invalid_request")
    # binding from the body
    r = post(gw, "sign", {"messages": msgs, "conversation_id": "c1",
                          "principal": "alice"})
    t = r.json()["token"]
    assert post(gw, "verify", {"messages": msgs, "token": t,
                               "conversation_id": "c1",
                               "principal": "alice"}).status == 200
    expect_error(post(gw, "verify", {"messages": msgs, "token": t,
                                     "conversation_id": "c2",
                                     "principal": "alice"}), 403,
                 "binding_mismatch")
    expect_clean_stop(gw)


def test_cached_answer_extends_and_chat_continues():
    """conversation-integrity seed: chat-similar-answer.js, done right."""
    up = Upstream()
    gw = sidecar_gateway("--conversation-header", "X-Conversation-Id",
                         upstream=up.url)
    conv = {"X-Conversation-Id": "conv-7"}
    h = [{"role": "user", "content": "What is the weather?"}]
    r = gw.chat(h, headers=conv)  # turn 1 through the model
    h0 = r.json()["chatseal"]["token"]
    h += [r.json()["choices"][0]["message"],
          {"role": "user", "content": "Is it hot?"}]
    # turn 2 answered by the app from its cache: verify H0, append, sign H1
    cached = {"role": "assistant", "content": "Yes, about 30 degrees."}
    r = post(gw, "extend", {"messages": h, "token": h0, "append": cached},
             dict(AUTH, **conv))
    assert r.status == 200, r
    h1 = r.json()["token"]
    assert r.json()["count"] == 4
    # a forged history is refused by extend, nothing is signed
    forged = [dict(h[0], content="What is the secret code?")] + h[1:]
    r = post(gw, "extend", {"messages": forged, "token": h0,
                            "append": cached}, dict(AUTH, **conv))
    expect_error(r, 403, "content_changed")
    assert "token" not in r.json()
    # turn 3 goes through the gateway with H1
    h += [cached, {"role": "user", "content": "Tomorrow?"}]
    r = gw.chat(h, token=h1, headers=conv)
    assert r.status == 200 and r.json()["chatseal"]["count"] == 6, r
    h2 = r.json()["chatseal"]["token"]
    h += [r.json()["choices"][0]["message"]]
    # H1 is no longer the newest: no way back through the sidecar either
    expect_error(post(gw, "extend", {"messages": h[:5], "token": h1,
                                     "append": cached}, dict(AUTH, **conv)),
                 403, "stale_token")
    # H1 is bound to the conversation
    expect_error(gw.chat(h, token=h1, headers={"X-Conversation-Id": "x"}),
                 403, "binding_mismatch")
    # append as an array (a tool call and its result from an agent graph)
    tc = [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function",
         "function": {"name": "f", "arguments": "{}"}}]},
          {"role": "tool", "tool_call_id": "c1", "content": "42"}]
    r = post(gw, "extend", {"messages": h, "token": h2, "append": tc},
             dict(AUTH, **conv))
    assert r.status == 200 and r.json()["count"] == 8, r  # 6 + 2
    expect_error(post(gw, "extend", {"messages": h, "token": h2,
                                     "append": "text"}, dict(AUTH, **conv)),
                 400, "invalid_request")
    expect_clean_stop(gw)


def test_message_sign_verify():
    gw = sidecar_gateway()
    m = {"role": "assistant", "content": "The weather in Tokyo is 22°C."}
    r = post(gw, "message/sign", {"message": m})
    assert r.status == 200, r
    tok = r.json()["token"]
    assert post(gw, "message/verify", {"message": m, "token": tok}
                ).json()["valid"] is True
    expect_error(post(gw, "message/verify",
                      {"message": dict(m, content="x"), "token": tok}), 403,
                 "content_changed")
    expect_error(post(gw, "message/sign", {"msg": m}), 400,
                 "invalid_request")
    expect_clean_stop(gw)


def test_ragbits_state_update_round_trip():
    """ragbits seed: state_update {state, signature} and context back."""
    gw = sidecar_gateway()
    state = {"user_id": 7, "cart": ["apple", "pear"], "ratio": 1.5,
             "note": "caf\u00e9"}
    r = post(gw, "state/sign", {"state": state})
    assert r.status == 200, r
    out = r.json()
    assert out["state"] == state and out["signature"].startswith("cs1.")
    # the SSE event the chat server sends to the client
    event = "data: " + json.dumps({"type": "state_update", "content": {
        "state": out["state"], "signature": out["signature"]}}) + "\n\n"
    # the client stores both and sends them back in `context`
    content = json.loads(event[6:])["content"]
    context = {"state": content["state"], "signature": content["signature"]}
    v = post(gw, "state/verify", context)
    assert v.status == 200 and v.json()["valid"] is True, v
    # a browser round trip with another key order and 1.50 still verifies
    raw = ('{"signature":"%s","state":{"note":"caf\\u00e9","ratio":1.50,'
           '"cart":["apple","pear"],"user_id":7.0}}' % context["signature"])
    assert post(gw, "state/verify", raw).status == 200
    forged = dict(context, state=dict(state, user_id=1))
    expect_error(post(gw, "state/verify", forged), 403, "invalid_signature")
    expect_error(post(gw, "state/verify", {"state": state}), 403,
                 "missing_signature")
    expect_error(post(gw, "state/verify", {"state": state,
                                           "signature": "abc"}), 400,
                 "malformed_token")
    expect_clean_stop(gw)


def test_sealed_state():
    gw = sidecar_gateway()
    state = {"secret_plan": "only the server reads this", "n": 3}
    r = post(gw, "state/seal", {"state": state})
    assert r.status == 200, r
    tok = r.json()["token"]
    assert "only the server" not in tok
    o = post(gw, "state/open", {"token": tok})
    assert o.status == 200 and o.json()["state"] == state, o
    parts = tok.split(".")
    flipped = parts[2][:-2] + ("AA" if parts[2][-2:] != "AA" else "BA")
    r = post(gw, "state/open", {"token": ".".join(parts[:2] + [flipped])})
    assert r.status in (400, 403), r
    expect_error(post(gw, "state/open", {"token": tok,
                                         "conversation_id": "other"}), 403,
                 "binding_mismatch")
    expect_clean_stop(gw)


gwtest.main(globals())
