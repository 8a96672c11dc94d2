"""Small holes of issue 10 (items 8-12), each sent as the attack it was.

  8. --dev with a real key: the sidecar must not sign with it for anyone;
  9. GET /v1/models/{id}: no dot segments, no percent-encoding, no query;
 10. a compressed request body: 415 unless Content-Encoding is identity;
 11. with a header token, a body chatseal_token that is not a string: 400;
 12. upstream SSE: CR-only line endings, a leading BOM and a string choice
     index: the signed message is what a spec-compliant client assembles,
     or there is no token.
"""

import gzip
import http.server
import json
import threading
import time

import gwtest
from gwtest import Gateway, Upstream, expect_clean_stop, expect_error

U = {"role": "user", "content": "hi"}


def test_dev_with_a_real_key_keeps_the_sidecar_closed():
    line = gwtest.new_key_line("prod-1")
    path = gwtest.write_file("prod.keys", line + "\n")
    for kw in ({"keys": line}, {"args": ("--key-file", path)}):
        gw = Gateway(*kw.get("args", ()), keys=kw.get("keys"), dev=True)
        r = gw.request("POST", "/v1/chatseal/sign", {"messages": [U]})
        expect_error(r, 404, "not_found")
        ev = gw.wait_log("dev_with_key")
        assert ev["kid"] == "prod-1", ev
        assert gw.wait_log("listening")["sidecar"] == "off"
        expect_clean_stop(gw)
    # the ephemeral --dev key alone: open, as documented
    gw = Gateway()
    r = gw.request("POST", "/v1/chatseal/sign", {"messages": [U]})
    assert r.status == 200, r
    expect_clean_stop(gw)


def test_model_ids_cannot_name_other_paths():
    up = Upstream()
    gw = Gateway("--upstream", up.url)
    for path in ("/v1/models/..", "/v1/models/../../internal/slots",
                 "/v1/models/%2e%2e", "/v1/models/%2E%2E/internal",
                 "/v1/models/a%2fb", "/v1/models/./x", "/v1/models/a/./b",
                 "/v1/models/a//b", "/v1/models/a/", "/v1/models/",
                 "/v1/models/x?next=/internal", "/v1/models/a\\b",
                 "/v1/models/" + "a/" * 5 + "b", "/v1/models/" + "x" * 300):
        r = gw.request("GET", path)
        expect_error(r, 400, "invalid_request")
    assert up.requests == [], up.requests
    for mid in ("gpt-4o", "meta-llama/Llama-3.1-8B-Instruct", "llama3.1:8b",
                "ft:gpt-4o-mini:org:x:1", "accounts/fw/models/x"):
        r = gw.request("GET", "/v1/models/" + mid)
        assert r.status == 404, r  # the test upstream knows no model
        assert up.requests[-1]["path"] == "/v1/models/" + mid
    expect_clean_stop(gw)


def test_compressed_request_bodies_are_refused():
    up = Upstream()
    gw = Gateway("--upstream", up.url)
    body = json.dumps({"model": "ok", "messages": [U]}).encode()
    for enc, data in (("gzip", gzip.compress(body)), ("gzip", body),
                      ("br", body), ("identity, gzip", body),
                      ("deflate", body)):
        r = gw.request("POST", "/v1/chat/completions", data,
                       {"Content-Encoding": enc})
        expect_error(r, 415, "unsupported_media_type")
    assert up.chat_requests() == []
    r = gw.request("POST", "/v1/chat/completions", body,
                   {"Content-Encoding": "Identity"})
    assert r.status == 200, r
    assert "content-encoding" not in up.chat_requests()[-1]["headers"] or \
        up.chat_requests()[-1]["headers"]["content-encoding"].lower() == \
        "identity"
    expect_clean_stop(gw)


def test_errors_before_routing_have_the_apis_shape():
    """A 415 is answered before the route, yet in each API's error shape:
    Ollama users copy curl examples that send no JSON content type."""
    gw = Gateway()
    body = json.dumps({"model": "m", "messages": [U]}).encode()
    r = gw.request("POST", "/api/chat", body,
                   {"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 415, r
    j = r.json()
    assert j["code"] == "unsupported_media_type" and \
        isinstance(j["error"], str), j
    r = gw.request("POST", "/v1/messages", body, {"Content-Type": "text/plain"})
    assert r.status == 415, r
    j = r.json()
    assert j["type"] == "error" and \
        j["error"]["code"] == "unsupported_media_type" and \
        j["error"]["type"] == "invalid_request_error", j
    r = gw.request("POST", "/v1/responses", body, {"Content-Type": "text/plain"})
    expect_error(r, 415, "unsupported_media_type")
    expect_clean_stop(gw)


def test_body_token_must_be_a_string_even_with_a_header_token():
    up = Upstream()
    gw = Gateway("--upstream", up.url)
    r = gw.chat([U], model="ok")
    assert r.status == 200, r
    tok = r.json()["chatseal"]["token"]
    hist = [U, r.json()["choices"][0]["message"], U]
    n = len(up.chat_requests())
    for bad in (123, {"t": tok}, [tok], None, True):
        r = gw.chat(hist, token=tok, model="ok",
                    extra={"chatseal_token": bad})
        err = expect_error(r, 400, "invalid_request")
        assert "chatseal_token" in err["message"], err
    assert len(up.chat_requests()) == n
    r = gw.chat(hist, token=tok, body_token=tok, model="ok")
    assert r.status == 200, r
    assert "chatseal_token" not in json.loads(up.chat_requests()[-1]["body"])
    expect_clean_stop(gw)


# --------------------------------------------------------------- SSE (12) --


def chunk(delta, finish=None, index=0):
    return json.dumps({"id": "c1", "object": "chat.completion.chunk",
                       "created": 1, "model": "m",
                       "choices": [{"index": index, "delta": delta,
                                    "finish_reason": finish}]}).encode()


class Scripted:
    """An upstream that answers every chat request with the given raw SSE
    byte pieces (one write each) and closes the connection."""

    def __init__(self, pieces, hold=0.0):
        owner = self
        self.pieces = pieces
        self.hold = hold

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                for p in owner.pieces:
                    self.wfile.write(p)
                    self.wfile.flush()
                time.sleep(owner.hold)  # the connection stays open
                self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def client_assembles(events):
    """What a spec-compliant client shows for choice 0 (content)."""
    text = ""
    for _, d in events:
        if d == "[DONE]":
            break
        obj = json.loads(d)
        for ch in obj.get("choices", []):
            if ch.get("index") == 0:
                text += ch["delta"].get("content") or ""
    return text


def stream_through(pieces):
    up = Scripted(pieces)
    try:
        gw = Gateway("--upstream", up.url)
        r = gw.chat([U], stream=True, model="m")
        expect_clean_stop(gw)
    finally:
        up.stop()
    assert r.status == 200, r
    return r


def sealed(r):
    evs = gwtest.parse_sse(r.body.replace(b"\r", b"\n").replace(b"\n\n\n",
                                                                 b"\n\n"))
    seals = [json.loads(d)["chatseal"] for _, d in evs
             if d.startswith("{") and "chatseal" in json.loads(d)]
    return evs, seals


def test_sse_cr_only_line_endings_complete_every_event():
    parts = [chunk({"role": "assistant", "content": "Hel"}),
             chunk({"content": "lo"}), chunk({}, "stop")]
    for done in (True, False):  # the last event ends the stream, or [DONE]
        body = b"".join(b"data: " + p + b"\r\r" for p in parts)
        if done:
            body += b"data: [DONE]\r\r"
        r = stream_through([body])
        evs, seals = sealed(r)
        assert len(seals) == 1, r
        assert seals[0]["message"] == {"role": "assistant",
                                       "content": "Hello"}, seals
    # a CRLF whose LF comes in the next write, and mixed endings
    r = stream_through([b"data: " + parts[0] + b"\r", b"\n\r", b"\n",
                        b"data: " + parts[1] + b"\n\r\n",
                        b"data: " + parts[2] + b"\r\n\r\ndata: [DONE]\r",
                        b"\n\r\n"])
    evs, seals = sealed(r)
    assert [s["message"]["content"] for s in seals] == ["Hello"], r


def test_sse_leading_bom_is_stripped_as_clients_do():
    body = ("\ufeff".encode() + b"data: " +
            chunk({"role": "assistant", "content": "secret "}) + b"\n\n" +
            b"data: " + chunk({"content": "text"}) + b"\n\n" +
            b"data: " + chunk({}, "stop") + b"\n\ndata: [DONE]\n\n")
    for pieces in ([body], [body[:2], body[2:]]):
        r = stream_through(pieces)
        evs, seals = sealed(r)
        assert len(seals) == 1, r
        assert seals[0]["message"]["content"] == "secret text", seals


def test_sse_choice_index_that_is_not_a_number_gets_no_token():
    for bad in ('"1"', '"0"', "null", "0.5", "-1"):
        first = chunk({"role": "assistant", "content": "A"}).replace(
            b'"index": 0', b'"index": ' + bad.encode())
        body = (b"data: " + first + b"\n\n" +
                b"data: " + chunk({}, "stop") + b"\n\ndata: [DONE]\n\n")
        r = stream_through([body])
        evs, seals = sealed(r)
        assert seals == [], (bad, r)
        last = json.loads(evs[-1][1])
        assert last["error"]["code"] == "upstream_error", (bad, evs[-1])
    # a missing index too: clients file it nowhere
    first = json.loads(chunk({"role": "assistant", "content": "A"}))
    del first["choices"][0]["index"]
    r = stream_through([b"data: " + json.dumps(first).encode() + b"\n\n"
                        b"data: [DONE]\n\n"])
    assert sealed(r)[1] == [], r


# ------------------------------------------------------ exit frees (14) --


def test_exit_frees_an_upstream_request_still_open():
    """The reply is complete ([DONE], token sent) but the upstream keeps its
    connection open: on SIGTERM the gateway exits with that request still in
    flight, and must free it (the ASan build fails the stop on a leak).  The
    upstream holds the connection for longer than the whole test, so the
    request is in flight at exit every time, not by chance."""
    body = (b"data: " + chunk({"role": "assistant", "content": "ok"}) +
            b"\n\ndata: " + chunk({}, "stop") + b"\n\ndata: [DONE]\n\n")
    up = Scripted([body], hold=30)
    try:
        gw = Gateway("--upstream", up.url)
        r = gw.chat([U], stream=True, model="m")
        assert sealed(r)[1][0]["message"]["content"] == "ok", r
        expect_clean_stop(gw)
    finally:
        up.stop()


gwtest.main(globals())
