"""The upstream side: failures, timeouts, cut streams, clients that leave,
and HTTPS with certificate verification (a CA made here with openssl).

An upstream failure never yields a token: the client gets a 502/504 JSON
error, or, once a stream has started, an error event instead of the
chatseal chunk and [DONE].
"""

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time

import gwtest
from gwtest import Gateway, Upstream, expect_clean_stop, expect_error

MSGS = [{"role": "user", "content": "hello there"}]


def test_refused_is_502():
    port = gwtest.free_port()
    gw = Gateway("--upstream", f"http://127.0.0.1:{port}")
    err = expect_error(gw.chat(MSGS), 502, "upstream_unavailable")
    assert err["type"] == "upstream_error"
    expect_error(gw.chat(MSGS, stream=True), 502, "upstream_unavailable")
    expect_clean_stop(gw)


def test_slow_upstream_is_504():
    up = Upstream()
    gw = Gateway("--upstream", up.url, "--upstream-timeout", "1s")
    t0 = time.time()
    expect_error(gw.chat(MSGS, model="slow"), 504, "upstream_timeout")
    assert time.time() - t0 < 3.5
    # a stream that stalls after it started: error event, no token
    r = gw.chat(MSGS, stream=True, model="slowstream")
    assert r.status == 200, r
    evs = r.events()
    assert evs[-1][1] != "[DONE]", evs[-2:]
    assert json.loads(evs[-1][1])["error"]["code"] == "upstream_timeout"
    assert b'"chatseal"' not in r.body
    assert gw.request("GET", "/healthz").status == 200
    expect_clean_stop(gw)


def test_upstream_500_is_passed_through_without_token():
    up = Upstream()
    gw = Gateway("--upstream", up.url)
    r = gw.chat(MSGS, model="500")
    assert r.status == 500, r
    assert r.json()["error"]["message"] == "model exploded"
    assert r.header("Chatseal-Token") is None and b"chatseal" not in r.body
    r = gw.chat(MSGS, model="500", stream=True)
    assert r.status == 500 and b"chatseal" not in r.body, r
    expect_clean_stop(gw)


def test_bad_upstream_replies_are_502():
    up = Upstream()
    gw = Gateway("--upstream", up.url)
    expect_error(gw.chat(MSGS, model="cut"), 502, "upstream_error")
    expect_error(gw.chat(MSGS, model="badjson"), 502, "upstream_error")
    expect_error(gw.chat(MSGS, model="gzip"), 502, "upstream_error")
    assert gw.chat(MSGS).status == 200  # and the next request is fine
    expect_clean_stop(gw)


def test_cut_mid_stream_gets_an_error_and_no_token():
    up = Upstream()
    gw = Gateway("--upstream", up.url)
    for model in ("cutstream", "cutchunk"):
        r = gw.chat(MSGS, stream=True, model=model)
        assert r.status == 200, r
        evs = r.events()
        # the chunks before the cut arrived, then an error, no token
        assert json.loads(evs[0][1])["object"] == "chat.completion.chunk"
        last = json.loads(evs[-1][1])
        assert last["error"]["code"] == "upstream_error", (model, last)
        assert all(d != "[DONE]" for _, d in evs), model
        assert b'"chatseal"' not in r.body, model
    m = gw.request("GET", "/metrics").body.decode()
    assert "chatseal_tokens_issued_total 0" in m
    assert "chatseal_open_streams 0" in m
    expect_clean_stop(gw)


def test_client_disconnect_mid_stream():
    up = Upstream()
    gw = Gateway("--upstream", up.url)
    body = json.dumps({"model": "longstream", "stream": True,
                       "messages": MSGS}).encode()
    for _ in range(3):
        s = socket.create_connection((gw.host, gw.port), timeout=10)
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        got = b""
        while got.count(b"data: ") < 3:
            got += s.recv(4096)
        s.close()
    deadline = time.time() + 10
    while time.time() < deadline:
        m = gw.request("GET", "/metrics").body.decode()
        if "chatseal_open_streams 0" in m:
            break
        time.sleep(0.1)
    assert "chatseal_open_streams 0" in m, m
    assert 'code="io_error"' in m  # logged as client_closed
    ev = [e for e in gw.log_events() if e.get("client_closed")]
    assert len(ev) == 3 and ev[0]["status"] == 499, ev
    # the gateway is healthy and serves the next conversation
    assert gw.chat(MSGS).status == 200
    r = gw.chat(MSGS, stream=True, model="stream")
    assert r.events()[-1][1] == "[DONE]"
    expect_clean_stop(gw)


def make_pki(tmp):
    """A CA and a server certificate for 127.0.0.1/localhost."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True,
                       capture_output=True, cwd=tmp)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=chatseal test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", "srv.key", "-out", "srv.csr",
        "-subj", "/CN=localhost")
    with open(os.path.join(tmp, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey",
        "ca.key", "-CAcreateserial", "-out", "srv.pem", "-days", "2",
        "-extfile", "ext.cnf")
    # a certificate from the right CA for another name
    run("req", *ec, "-keyout", "wrong.key", "-out", "wrong.csr",
        "-subj", "/CN=example.invalid")
    with open(os.path.join(tmp, "wrong.cnf"), "w") as f:
        f.write("subjectAltName=DNS:example.invalid\n"
                "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "wrong.csr", "-CA", "ca.pem", "-CAkey",
        "ca.key", "-CAcreateserial", "-out", "wrong.pem", "-days", "2",
        "-extfile", "wrong.cnf")
    # a second, unrelated CA
    run("req", "-x509", *ec, "-keyout", "other.key", "-out", "other.pem",
        "-days", "2", "-subj", "/CN=other CA",
        "-addext", "basicConstraints=critical,CA:TRUE")
    return {k: os.path.join(tmp, v) for k, v in (
        ("ca", "ca.pem"), ("cert", "srv.pem"), ("key", "srv.key"),
        ("other", "other.pem"), ("wrong", "wrong.pem"),
        ("wrong_key", "wrong.key"))}


def test_https_upstream_with_private_ca():
    if not shutil.which("openssl"):
        sys.exit(77)
    pki = make_pki(gwtest.TMP)
    up = Upstream(tls_cert=pki["cert"], tls_key=pki["key"])
    for host in ("127.0.0.1", "localhost"):
        gw = Gateway("--upstream", f"https://{host}:{up.port}",
                     "--upstream-ca", pki["ca"])
        r = gw.chat(MSGS)
        assert r.status == 200 and r.json()["chatseal"]["count"] == 2, r
        r = gw.chat(MSGS, stream=True, model="stream")
        assert r.events()[-1][1] == "[DONE]", r
        # keep-alive: several requests on the pooled TLS connection
        for _ in range(3):
            assert gw.chat(MSGS).status == 200
        expect_clean_stop(gw)
    # the wrong CA, or the system store: verification fails -> 502
    for ca in (["--upstream-ca", pki["other"]], []):
        gw = Gateway("--upstream", f"https://127.0.0.1:{up.port}", *ca)
        err = expect_error(gw.chat(MSGS), 502, "upstream_unavailable")
        assert "certificate" in err["message"], err
        expect_clean_stop(gw)
    # a certificate for a name other than the one connected to
    up2 = Upstream(tls_cert=pki["wrong"], tls_key=pki["wrong_key"])
    gw = Gateway("--upstream", f"https://127.0.0.1:{up2.port}",
                 "--upstream-ca", pki["ca"])
    err = expect_error(gw.chat(MSGS), 502, "upstream_unavailable")
    assert "certificate" in err["message"], err
    expect_clean_stop(gw)


def test_tls_listener():
    if not shutil.which("openssl"):
        sys.exit(77)
    pki = make_pki(gwtest.TMP)
    gw = Gateway("--upstream", "mock", "--tls-cert", pki["cert"],
                 "--tls-key", pki["key"])
    assert gw.url.startswith("https://"), gw.url
    ctx = ssl.create_default_context(cafile=pki["ca"])
    gw.tls_ctx = ctx
    r = gw.chat(MSGS)
    assert r.status == 200 and r.json()["chatseal"]["count"] == 2, r
    assert gw.request("GET", "/healthz").status == 200
    # plain HTTP on the TLS port is refused, the gateway carries on
    try:
        s = socket.create_connection((gw.host, gw.port), timeout=3)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(100)
        s.close()
    except OSError:
        pass
    assert gw.request("GET", "/healthz").status == 200
    expect_clean_stop(gw)


gwtest.main(globals())
