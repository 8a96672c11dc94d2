"""--cors-origins: pages of another origin calling the gateway (CORS).

Off by default: no CORS header at all, and OPTIONS is a 405 as before.  On:
a preflight from an allowed origin gets 204 with the methods, the echoed
request headers and a max age; real answers carry Access-Control-Allow-Origin
and expose Chatseal-Token (without it a page cannot read its new token);
other origins get none of it.  The browser side is tests/browser/cors.mjs.
"""

import gwtest
from gwtest import Gateway, expect_clean_stop, expect_error

APP = "http://127.0.0.1:3000"
MSGS = [{"role": "user", "content": "hello"}]
WANT = "content-type, chatseal-token, x-stainless-os"


def preflight(gw, origin, headers=WANT):
    h = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    if headers:
        h["Access-Control-Request-Headers"] = headers
    return gw.request("OPTIONS", "/v1/chat/completions", headers=h)


def test_off_by_default():
    gw = Gateway("--mock-delay", "0")
    r = preflight(gw, APP)
    expect_error(r, 405, "method_not_allowed")
    r = gw.chat(MSGS, headers={"Origin": APP})
    assert r.status == 200
    assert not [k for k in r.headers if k.startswith("access-control-")], \
        r.headers
    assert r.header("Vary") is None
    expect_clean_stop(gw)


def test_allowed_and_other_origins():
    gw = Gateway("--mock-delay", "0", "--cors-origins",
                 APP + ", https://app.example")
    r = preflight(gw, APP)
    assert r.status == 204 and r.body == b"", r
    assert r.header("Content-Length") is None  # none on a 204
    assert r.header("Access-Control-Allow-Origin") == APP
    assert r.header("Access-Control-Allow-Methods") == "GET, POST, OPTIONS"
    assert r.header("Access-Control-Allow-Headers") == WANT
    assert r.header("Access-Control-Max-Age") == "600"
    assert r.header("Access-Control-Allow-Credentials") is None
    assert "Origin" in r.header("Vary")
    # a list that is not plain header names is not echoed
    r = preflight(gw, "https://app.example", "x-a\u00e9".encode().decode(
        "latin-1"))
    assert r.status == 204
    assert r.header("Access-Control-Allow-Origin") == "https://app.example"
    assert r.header("Access-Control-Allow-Headers") is None

    # a real request: the token is readable by the page
    r = gw.chat(MSGS, headers={"Origin": APP})
    assert r.status == 200
    assert r.header("Access-Control-Allow-Origin") == APP
    exposed = r.header("Access-Control-Expose-Headers")
    assert "Chatseal-Token" in exposed and "X-Request-Id" in exposed
    tok = r.header("Chatseal-Token")
    # errors carry the headers too, so the page can read the code
    h2 = MSGS + [{"role": "assistant", "content": "forged"},
                 {"role": "user", "content": "next"}]
    r = gw.chat(h2, token=tok, headers={"Origin": APP})
    expect_error(r, 403, "content_changed")
    assert r.header("Access-Control-Allow-Origin") == APP

    # other origins: nothing, whatever the path; the request itself is
    # still answered (CORS is enforced by the browser, not here)
    for origin in ("http://127.0.0.1:3001", "https://evil.example",
                   "http://127.0.0.1:3000/", "null"):
        r = preflight(gw, origin)
        assert r.status == 204, r
        assert r.header("Access-Control-Allow-Origin") is None, origin
        assert r.header("Access-Control-Allow-Methods") is None, origin
        r = gw.chat(MSGS, headers={"Origin": origin})
        assert r.status == 200
        assert r.header("Access-Control-Allow-Origin") is None, origin
        assert "Origin" in r.header("Vary")
    # OPTIONS without an Origin is not a preflight
    expect_error(gw.request("OPTIONS", "/v1/chat/completions"), 405,
                 "method_not_allowed")
    expect_clean_stop(gw)


def test_any_origin():
    gw = Gateway("--mock-delay", "0", env={"CHATSEAL_CORS_ORIGINS": "*"})
    r = preflight(gw, "https://anything.example")
    assert r.status == 204
    assert r.header("Access-Control-Allow-Origin") == "*"
    r = gw.request("GET", "/healthz", headers={"Origin": "http://x.example"})
    assert r.status == 200 and r.header("Access-Control-Allow-Origin") == "*"
    expect_clean_stop(gw)


def test_bad_origin_lists_are_usage_errors():
    for bad in ("app.example", "https://app.example/path", "ftp://x",
                "https://", "*,https://a.example", "https://a b"):
        gw = Gateway("--cors-origins", bad, wait=False)
        assert gw.proc.wait(10) == 2, bad
        assert "--cors-origins" in gw.log_text(), gw.log_text()


gwtest.main(globals())
