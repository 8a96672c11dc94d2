"""The chat protocol of chatseal serve, end to end over HTTP.

Startup and configuration errors, the non-streaming and streaming replies
(token in the Chatseal-Token header and the "chatseal" member / final
chunk), what is forwarded upstream (canonical body, no token), bindings,
/v1/models, /healthz, /metrics and the 404/405/415 answers.
"""

import json
import os
import subprocess

import gwtest
from gwtest import Upstream, expect_clean_stop, expect_error


def Gateway(*args, **kw):
    """The conversations here open with a client-written system message,
    which the default policy refuses (test_policy.py): allowed explicitly."""
    return gwtest.Gateway("--fresh-roles", "system,developer,user", *args,
                          **kw)

SYS = {"role": "system", "content": "You are terse."}


def run_serve(args, env=None, timeout=20):
    e = {"PATH": "/usr/bin:/bin"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    e.update(env or {})
    return subprocess.run([gwtest.BIN, "serve"] + args, env=e,
                          capture_output=True, timeout=timeout)


def test_no_key_is_exit_2():
    r = run_serve(["--upstream", "mock", "--listen", "127.0.0.1:0"])
    assert r.returncode == 2, r
    assert b"chatseal: no_key:" in r.stderr, r.stderr
    assert b"--dev" in r.stderr


def test_config_errors_are_exit_2():
    line = gwtest.new_key_line("k1")
    key = line.split(":", 1)[1]
    cases = [
        (["--upstream", "ftp://x", "--dev"], {}, b"invalid_argument"),
        (["--listen", "127.0.0.1:0"], {"CHATSEAL_DEV": "1"}, b"--upstream"),
        (["--upstream", "mock", "--bogus"], {}, b"unknown option"),
        (["--upstream", "mock", "--max-body", "lots", "--dev"], {},
         b"invalid value"),
        (["--upstream", "mock"], {"CHATSEAL_KEYS": "k1:" + key[:20]},
         b"weak_key"),
        (["--upstream", "mock"], {"CHATSEAL_KEYS": "bad kid!:" + key},
         b"invalid_key"),
        (["--upstream", "mock", "--key-file", "/nonexistent/keys"], {},
         b"io_error"),
        (["--upstream", "mock", "--key-file", "/nonexistent/keys"],
         {"CHATSEAL_KEYS": line}, b"both CHATSEAL_KEYS"),
        (["--upstream", "mock", "--listen", "999.1.1.1:80", "--dev"], {},
         b"listen"),
        (["--upstream", "mock", "--tls-cert", "/nonexistent", "--dev"], {},
         b"--tls-key"),
    ]
    for args, env, want in cases:
        r = run_serve(args + (["--listen", "127.0.0.1:0"]
                              if "--listen" not in args else []), env)
        assert r.returncode == 2, (args, r)
        assert want in r.stderr, (args, want, r.stderr)
        assert key.encode() not in r.stderr + r.stdout
        assert key[:20].encode() not in r.stderr + r.stdout


def test_help_documents_flags():
    r = run_serve(["--help"])
    assert r.returncode == 0, r
    out = r.stdout.decode()
    for flag in ("--upstream", "--listen", "--key-file", "--dev", "--ui",
                 "--upstream-ca", "--conversation-header",
                 "--principal-header", "--tail-roles", "--max-body",
                 "--sidecar-secret-file", "CHATSEAL_KEYS", "SIGHUP",
                 "--drain-timeout", "--tls-cert", "--workers",
                 "--cors-origins", "CHATSEAL_WORKERS",
                 "CHATSEAL_CORS_ORIGINS"):
        assert flag in out, flag


def test_dev_key_warning_names_only_the_kid():
    gw = Gateway("--upstream", "mock")
    ev = gw.wait_log("dev_key")
    assert ev["level"] == "warn" and ev["kid"].startswith("dev-"), ev
    assert set(ev) <= {"ts", "level", "event", "kid", "message"}, ev
    h = gw.request("GET", "/healthz").json()
    assert h["status"] == "ok" and h["kid"] == ev["kid"], h
    expect_clean_stop(gw)


def test_non_streaming_round_trip():
    up = Upstream()
    gw = Gateway("--upstream", up.url, keys=gwtest.new_key_line("k1"))
    msgs = [SYS, {"role": "user", "content": "hello"}]
    r = gw.chat(msgs, headers={"Authorization": "Bearer sk-upstream"})
    assert r.status == 200, r
    body = r.json()
    seal = body["chatseal"]
    assert seal["token"] == r.header("Chatseal-Token")
    assert seal["count"] == 3 and seal["kid"] == "k1", seal
    hdr = gwtest.token_header(seal["token"])
    assert hdr["n"] == 3 and hdr["kid"] == "k1" and hdr["typ"] == "conv"
    assert body["choices"][0]["message"]["content"] == "echo: hello"
    # what the model received: the canonical body, our header gone, the
    # client's other headers passed on
    fwd = up.chat_requests()[-1]
    assert "chatseal-token" not in fwd["headers"]
    assert fwd["headers"]["authorization"] == "Bearer sk-upstream"
    assert json.loads(fwd["body"])["messages"] == msgs

    # turn 2: the assistant message exactly as returned, token in the body
    msgs2 = msgs + [body["choices"][0]["message"],
                    {"role": "user", "content": "again"}]
    r2 = gw.chat(msgs2, body_token=seal["token"])
    assert r2.status == 200, r2
    assert r2.json()["chatseal"]["count"] == 5
    fwd = json.loads(up.chat_requests()[-1]["body"])
    assert "chatseal_token" not in fwd, fwd
    # the model reads the signed form (FORMAT.md 2.1): the upstream's
    # "refusal": null is not part of it, so it is not forwarded either
    assert msgs2[2].get("refusal", "absent") is None, msgs2[2]
    signed = dict(msgs2[2])
    del signed["refusal"]
    assert fwd["messages"] == msgs2[:2] + [signed] + msgs2[3:], fwd

    # same token in header and body is fine; two different ones are not
    t2 = r2.json()["chatseal"]["token"]
    msgs3 = msgs2 + [r2.json()["choices"][0]["message"],
                     {"role": "user", "content": "three"}]
    assert gw.chat(msgs3, token=t2, body_token=t2).status == 200
    expect_error(gw.chat(msgs3, token=t2, body_token=seal["token"]), 400,
                 "invalid_request")
    expect_clean_stop(gw)


def test_forwarded_body_is_the_canonical_re_encoding():
    up = Upstream()
    # "n" in a new message and "z" at the top are refused by default
    # (test_policy.py); allowed here to see how they are re-encoded
    gw = Gateway("--upstream", up.url, "--user-members", "role,content,n",
                 "--allow-parameters", "z")
    raw = ('{"temperature":1.0,"messages":[{"content":"caf\\u00e9 \\/ x",'
           '"role":"user","n":1e2}],"model":"ok","chatseal_token":"",'
           '"z":[1E0,-0.0,"\\ud83d\\ude00"]}')
    r = gw.request("POST", "/v1/chat/completions", raw)
    assert r.status == 200, r
    got = up.chat_requests()[-1]["body"].decode()
    want = ('{"messages":[{"content":"caf\u00e9 / x","n":100,"role":"user"}],'
            '"model":"ok","temperature":1,"z":[1,0,"\U0001F600"]}')
    assert got == want, got
    expect_clean_stop(gw)


def check_stream(r, want_text):
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/event-stream")
    assert r.header("Chatseal-Token") is None  # streams carry it in-band
    evs = r.events()
    assert evs[-1] == ("", "[DONE]"), evs[-3:]
    final = json.loads(evs[-2][1])
    assert final["object"] == "chat.completion.chunk"
    assert final["choices"] == [], final
    seal = final["chatseal"]
    text = ""
    for _, d in evs[:-2]:
        for ch in json.loads(d)["choices"]:
            text += ch["delta"].get("content") or ""
    if want_text is not None:
        assert text == want_text, text
        assert seal["message"] == {"role": "assistant", "content": text}, seal
        # the signed form itself, canonical (RFC 8785: sorted, no spaces)
        want = json.dumps(seal["message"], sort_keys=True,
                          separators=(",", ":"), ensure_ascii=False)
        assert ('"message":' + want + ',"token"') in evs[-2][1], evs[-2][1]
    assert gwtest.token_header(seal["token"])["n"] == seal["count"]
    return seal


def test_streaming_round_trip():
    up = Upstream()
    gw = Gateway("--upstream", up.url)
    msgs = [SYS, {"role": "user", "content": "stream me please"}]
    r = gw.chat(msgs, stream=True, model="stream")
    seal = check_stream(r, "echo: stream me please")
    assert seal["count"] == 3
    # the events before ours are byte for byte the upstream's
    assert r.body.startswith(b'data: {"id": "chatcmpl-test"')
    msgs2 = msgs + [seal["message"], {"role": "user", "content": "more"}]
    seal2 = check_stream(gw.chat(msgs2, token=seal["token"], stream=True,
                                 model="stream"), "echo: more")
    assert seal2["count"] == 5
    # and a non-streaming turn continues the streamed conversation
    msgs3 = msgs2 + [seal2["message"], {"role": "user", "content": "x"}]
    assert gw.chat(msgs3, token=seal2["token"]).status == 200
    expect_clean_stop(gw)


def test_streamed_tool_calls_are_assembled_and_signed():
    up = Upstream()
    gw = Gateway("--upstream", up.url)
    msgs = [{"role": "user", "content": "weather in Paris?"}]
    r = gw.chat(msgs, stream=True, model="tools-stream")
    seal = check_stream(r, None)
    m = seal["message"]
    # the message as signed (FORMAT.md 2.1): content null is left out
    assert m["role"] == "assistant" and "content" not in m, m
    assert m["tool_calls"] == [{"id": "call_1", "type": "function",
                                "function": {"name": "get_weather",
                                             "arguments":
                                                 '{"city":"Paris"}'}}], m
    # a tool result is a new turn of an allowed role
    msgs2 = msgs + [m, {"role": "tool", "tool_call_id": "call_1",
                        "content": "sunny"}]
    r2 = gw.chat(msgs2, token=seal["token"])
    assert r2.status == 200, r2
    assert r2.json()["chatseal"]["count"] == 4
    expect_clean_stop(gw)


def test_builtin_mock_upstream():
    gw = Gateway("--upstream", "mock", "--mock-delay", "1ms")
    msgs = [{"role": "user", "content": "hi"}]
    r = gw.chat(msgs)
    assert r.status == 200, r
    b = r.json()
    assert b["choices"][0]["message"]["content"].startswith("[mock]")
    assert b["chatseal"]["count"] == 2
    r = gw.chat(msgs, stream=True)
    seal = check_stream(r, None)
    assert seal["message"]["content"].startswith("[mock]")
    # include_usage: the usage chunk passes, the chatseal chunk follows it
    r = gw.chat(msgs, stream=True,
                extra={"stream_options": {"include_usage": True}})
    evs = r.events()
    assert json.loads(evs[-3][1])["usage"]["total_tokens"] > 0, evs[-3:]
    assert "chatseal" in json.loads(evs[-2][1]) and evs[-1][1] == "[DONE]"
    # deterministic: same request, same text
    assert gw.chat(msgs).json()["choices"] == b["choices"]
    m = gw.request("GET", "/v1/models").json()
    assert m["data"][0]["id"] == "chatseal-mock", m
    expect_clean_stop(gw)


def test_chunked_upstream_reply():
    up = Upstream()
    gw = Gateway("--upstream", up.url)
    r = gw.chat([{"role": "user", "content": "c"}], model="chunked")
    assert r.status == 200 and r.json()["chatseal"]["count"] == 2, r
    expect_clean_stop(gw)


def test_binding_headers():
    up = Upstream()
    gw = Gateway("--upstream", up.url, "--conversation-header",
                 "X-Conversation-Id", "--principal-header", "X-User")
    msgs = [{"role": "user", "content": "bound"}]
    alice = {"X-User": "alice", "X-Conversation-Id": "c-1"}
    r = gw.chat(msgs, headers=alice)
    assert r.status == 200, r
    tok = r.json()["chatseal"]["token"]
    msgs2 = msgs + [r.json()["choices"][0]["message"],
                    {"role": "user", "content": "next"}]
    assert gw.chat(msgs2, token=tok, headers=alice).status == 200
    n = len(up.chat_requests())
    for h in ({"X-User": "bob", "X-Conversation-Id": "c-1"},
              {"X-User": "alice", "X-Conversation-Id": "c-2"},
              {"X-User": "alice"}, {}):
        expect_error(gw.chat(msgs2, token=tok, headers=h), 403,
                     "binding_mismatch")
    assert len(up.chat_requests()) == n  # none reached the model
    # a repeated binding header is ambiguous
    conn = gw.connect()
    body = json.dumps({"model": "ok", "messages": msgs})
    conn.putrequest("POST", "/v1/chat/completions")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(len(body)))
    conn.putheader("X-User", "alice")
    conn.putheader("X-User", "bob")
    conn.endheaders(body.encode())
    resp = conn.getresponse()
    assert resp.status == 400, resp.status
    assert json.loads(resp.read())["error"]["code"] == "invalid_request"
    conn.close()
    expect_clean_stop(gw)


def test_models_passthrough():
    up = Upstream()
    gw = Gateway("--upstream", up.url + "/v1")
    r = gw.request("GET", "/v1/models")
    assert r.status == 200 and r.json()["data"][0]["id"] == "upstream-model"
    assert up.requests[-1]["path"] == "/v1/models"
    r = gw.request("GET", "/v1/models/nope")
    assert r.status == 404, r
    expect_error(gw.request("POST", "/v1/models", {}), 405,
                 "method_not_allowed")
    expect_clean_stop(gw)


def test_healthz_metrics_and_errors():
    up = Upstream()
    gw = Gateway("--upstream", up.url)
    h = gw.request("GET", "/healthz")
    assert h.status == 200 and h.json()["status"] == "ok", h
    assert gw.request("HEAD", "/healthz").body == b""
    gw.chat([{"role": "user", "content": "m"}])
    gw.chat([{"role": "user", "content": "m"}], token="garbage")
    gw.chat([{"role": "user", "content": "m"},
             {"role": "assistant", "content": "forged"}])
    m = gw.request("GET", "/metrics")
    assert m.status == 200, m
    assert m.header("Content-Type").startswith("text/plain; version=0.0.4")
    text = m.body.decode()
    for line in (
            'chatseal_requests_total{endpoint="chat",outcome="ok",code="ok"} 1',
            'chatseal_requests_total{endpoint="chat",outcome="rejected",'
            'code="malformed_token"} 1',
            'chatseal_requests_total{endpoint="chat",outcome="rejected",'
            'code="missing_signature"} 1',
            'chatseal_upstream_latency_seconds_count 1',
            'chatseal_open_streams 0',
            'chatseal_tokens_issued_total 1',
            'chatseal_requests_total{endpoint="healthz",outcome="ok",'
            'code="ok"} 2'):
        assert line in text, (line, text)
    expect_error(gw.request("GET", "/nope"), 404, "not_found")
    expect_error(gw.request("GET", "/"), 404, "not_found")
    expect_error(gw.request("GET", "/v1/completions"), 404, "not_found")
    expect_error(gw.request("GET", "/v1/chat/completions"), 405,
                 "method_not_allowed")
    expect_error(gw.request("POST", "/healthz", {}), 405,
                 "method_not_allowed")
    expect_error(gw.request("POST", "/v1/chat/completions", "{}",
                            {"Content-Type": "text/plain"}), 415,
                 "unsupported_media_type")
    expect_clean_stop(gw)


def test_static_ui():
    web = os.path.join(gwtest.SRC, "web")
    gw = Gateway("--upstream", "mock", "--ui", web)
    r = gw.request("GET", "/")
    assert r.status == 200 and r.header("Content-Type").startswith(
        "text/html"), r
    with open(os.path.join(web, "index.html"), "rb") as f:
        assert r.body == f.read()
    assert "frame-ancestors 'none'" in r.header("Content-Security-Policy")
    assert r.header("X-Content-Type-Options") == "nosniff"
    for name, ctype in (("chat.js", "text/javascript"),
                        ("chat.css", "text/css"),
                        ("favicon.svg", "image/svg+xml")):
        r = gw.request("GET", "/" + name)
        assert r.status == 200 and r.header("Content-Type").startswith(
            ctype), (name, r)
    for bad in ("/../README.md", "/%2e%2e/README.md", "/.hidden",
                "/nope.html", "/index.html.bak", "/web/index.html",
                "/README.md"):
        r = gw.request("GET", bad)
        assert r.status == 404, (bad, r)
    expect_error(gw.request("POST", "/index.html", {}), 405,
                 "method_not_allowed")
    expect_clean_stop(gw)


def test_environment_variables_and_flag_precedence():
    up = Upstream()
    gw = Gateway(upstream=None, env={
        "CHATSEAL_UPSTREAM": up.url, "CHATSEAL_MAX_BODY": "1K",
        "CHATSEAL_MAX_MESSAGES": "1", "CHATSEAL_PRINCIPAL_HEADER": "X-User",
        "CHATSEAL_DEV": "yes"}, dev=False)
    big = [{"role": "user", "content": "x" * 2000}]
    expect_error(gw.chat(big), 413, "too_large")
    two = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    expect_error(gw.chat(two), 413, "too_many_messages")
    r = gw.chat([{"role": "user", "content": "a"}], headers={"X-User": "u"})
    assert r.status == 200, r
    expect_clean_stop(gw)
    # a flag wins over the environment
    gw = Gateway("--max-messages", "5", upstream=None, env={
        "CHATSEAL_UPSTREAM": up.url, "CHATSEAL_MAX_MESSAGES": "1"})
    assert gw.chat(two).status == 200
    expect_clean_stop(gw)


gwtest.main(globals())
