"""Operations: key rotation with SIGHUP in the middle of a conversation,
SIGTERM draining open streams, the drain bound, and what the logs may hold.
"""

import json
import re
import os
import signal
import socket
import threading
import time

import gwtest
from gwtest import Upstream, expect_clean_stop, expect_error


def Gateway(*args, **kw):
    """The conversations here open with a client-written system message,
    which the default policy refuses (test_policy.py): allowed explicitly."""
    return gwtest.Gateway("--fresh-roles", "system,developer,user", *args,
                          **kw)

MSGS = [{"role": "system", "content": "sys"},
        {"role": "user", "content": "TOP-SECRET-MESSAGE-42"}]


def test_sighup_rotation_mid_conversation():
    up = Upstream()
    k1, k2 = gwtest.new_key_line("k1"), gwtest.new_key_line("k2")
    path = gwtest.write_file("ring", "# test ring\n" + k1 + "\n")
    gw = Gateway("--upstream", up.url, "--key-file", path)
    assert gw.wait_log("keyring_loaded")["signing_kid"] == "k1"
    r1 = gw.chat(MSGS)
    t1 = r1.json()["chatseal"]["token"]
    assert gwtest.token_header(t1)["kid"] == "k1"
    h1 = MSGS + [r1.json()["choices"][0]["message"],
                 {"role": "user", "content": "turn 2"}]

    # a stream in progress while the ring is reloaded
    result = {}

    def stream():
        result["r"] = gw.chat(MSGS, stream=True, model="longstream",
                              timeout=30)
    th = threading.Thread(target=stream)
    th.start()
    time.sleep(0.5)

    # rotate: append k2 (the last key signs), reload
    gwtest.write_file("ring", "# test ring\n" + k1 + "\n" + k2 + "\n")
    gw.proc.send_signal(signal.SIGHUP)
    ev = gw.wait_log("keyring_reloaded")
    assert ev["signing_kid"] == "k2" and ev["keys"] == 2, ev

    r2 = gw.chat(h1, token=t1)  # the old token is still accepted
    assert r2.status == 200, r2
    t2 = r2.json()["chatseal"]["token"]
    assert r2.json()["chatseal"]["kid"] == "k2"
    assert gwtest.token_header(t2)["kid"] == "k2"
    h2 = h1 + [r2.json()["choices"][0]["message"],
               {"role": "user", "content": "turn 3"}]
    assert gw.chat(h2, token=t2).status == 200

    th.join(30)
    evs = result["r"].events()
    assert evs[-1][1] == "[DONE]", evs[-2:]  # not dropped by the reload
    assert json.loads(evs[-2][1])["chatseal"]["kid"] in ("k1", "k2")

    # retire k1: its tokens stop verifying
    gwtest.write_file("ring", k2 + "\n")
    gw.proc.send_signal(signal.SIGHUP)
    gw.wait_log("keyring_reloaded", 2)
    expect_error(gw.chat(h1, token=t1), 403, "unknown_key")
    assert gw.chat(h2, token=t2).status == 200

    # a broken file: the reload fails, the gateway keeps the ring it has
    gwtest.write_file("ring", "k3:" + gwtest.b64u(b"0123456789abcdef") + "\n")
    gw.proc.send_signal(signal.SIGHUP)
    ev = gw.wait_log("keyring_reload_failed")
    assert ev["code"] == "weak_key" and ev["signing_kid"] == "k2", ev
    assert gw.chat(h2, token=t2).status == 200
    m = gw.request("GET", "/metrics").body.decode()
    assert 'chatseal_keyring_reloads_total{result="ok"} 2' in m
    assert 'chatseal_keyring_reloads_total{result="error"} 1' in m
    expect_clean_stop(gw)


def start_stream(gw, model="longstream"):
    body = json.dumps({"model": model, "stream": True,
                       "messages": MSGS}).encode()
    s = socket.create_connection((gw.host, gw.port), timeout=20)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    got = b""
    while b"data: " not in got:
        got += s.recv(4096)
    return s, got


def read_all(s, got):
    while True:
        try:
            d = s.recv(65536)
        except OSError:
            break
        if not d:
            break
        got += d
    s.close()
    return got


def test_sigterm_drains_open_streams():
    up = Upstream()
    gw = Gateway("--upstream", up.url, "--drain-timeout", "20s")
    idle = socket.create_connection((gw.host, gw.port))
    s, got = start_stream(gw)
    gw.proc.send_signal(signal.SIGTERM)
    gw.wait_log("draining")
    # no new connections; the idle keep-alive one is closed
    time.sleep(0.2)
    try:
        c = socket.create_connection((gw.host, gw.port), timeout=2)
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.recv(100) == b"", "a new connection was served"
        c.close()
    except OSError:
        pass
    idle.settimeout(5)
    assert idle.recv(100) == b""
    idle.close()
    # the stream in progress finishes, token and all
    got = read_all(s, got)
    assert b'"chatseal":{' in got and b"data: [DONE]" in got, got[-500:]
    gw.proc.wait(10)
    assert gw.proc.returncode == 0, gw.log_text()
    assert gw.wait_log("stopped")
    expect_clean_stop(gw)


def test_drain_timeout_bounds_shutdown():
    up = Upstream()
    gw = Gateway("--upstream", up.url, "--drain-timeout", "500ms")
    s, got = start_stream(gw)
    t0 = time.time()
    gw.proc.send_signal(signal.SIGTERM)
    got = read_all(s, got)
    gw.proc.wait(10)
    assert time.time() - t0 < 4
    assert gw.proc.returncode == 0, gw.log_text()
    assert b"[DONE]" not in got and b'"chatseal":{' not in got
    gw.wait_log("drain_timeout")
    expect_clean_stop(gw)


def test_logs_hold_no_key_material_and_no_message_text():
    up = Upstream()
    k1 = gwtest.new_key_line("k1")
    path = gwtest.write_file("ring2", k1 + "\n")
    gw = Gateway("--upstream", up.url, "--key-file", path)
    r = gw.chat(MSGS)
    assert r.status == 200
    r2 = gw.chat(MSGS + [{"role": "assistant", "content": "TOP-SECRET-FORGED"}],
                 token="garbage")
    r3 = gw.chat(MSGS, stream=True, model="stream")
    ids = [x.headers.get("x-request-id") for x in (r, r2, r3)]
    gw.proc.send_signal(signal.SIGHUP)
    gw.wait_log("keyring_reloaded")
    expect_clean_stop(gw)
    text = gw.log_text()
    gwtest.check_no_secrets(text)
    key = k1.split(":", 1)[1]
    assert key not in text and key[:16] not in text
    assert "TOP-SECRET" not in text, "message text in the log"
    for line in text.splitlines():
        json.loads(line)  # every line is JSON
    reqs = [e for e in gw.log_events() if e.get("event") == "request"]
    assert len(reqs) == 3, reqs
    assert reqs[0]["status"] == 200 and reqs[0]["kid"] == "k1"
    assert reqs[0]["count"] == 3 and reqs[0]["code"] == "ok"
    assert reqs[1]["status"] == 400 and reqs[1]["code"] == "malformed_token"
    assert reqs[2]["stream"] is True
    # request ids: 16 hex digits, distinct, the same in the header and the log
    assert all(i and re.fullmatch(r"[0-9a-f]{16}", i) for i in ids), ids
    assert len(set(ids)) == 3, ids
    assert [e["id"] for e in reqs] == ids, (ids, reqs)


def test_world_readable_key_file_warns():
    k = gwtest.new_key_line("k1")
    path = gwtest.write_file("ring3", k + "\n", mode=0o644)
    gw = Gateway("--upstream", "mock", "--key-file", path)
    assert "chmod 600" in gw.wait_log("file_permissions")["message"]
    expect_clean_stop(gw)


gwtest.main(globals())
