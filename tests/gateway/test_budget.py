"""Issue 10 item 6: request bytes in flight, and connections, per client.

Stalled bodies are reserved at their declared length: a client that holds
its budget gets 429 rate_limited (with Retry-After) for the next one, the
worker as a whole 503 overloaded; another client address (127.0.0.2, also
loopback) is still served.  Each stalled head asks for `100 Continue`, which
the gateway sends only after the reservation, so the order of events is
known without sleeping.
"""

import socket
import time

import gwtest
from gwtest import Gateway, expect_clean_stop

BODY = b'{"model":"m","messages":[{"role":"user","content":"hi"}]}'


def connect(gw, source="127.0.0.1"):
    s = socket.socket()
    s.settimeout(10)
    s.bind((source, 0))
    s.connect((gw.host, gw.port))
    return s


def stalled(gw, length, source="127.0.0.1"):
    """A request whose head claims `length` body bytes and sends none; returns
    the socket once the gateway said 100 Continue (the bytes are reserved)."""
    s = connect(gw, source)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
              b"Content-Length: %d\r\n\r\n" % length)
    got = b""
    while b"\r\n\r\n" not in got:
        data = s.recv(4096)
        assert data, got
        got += data
    assert got.startswith(b"HTTP/1.1 100"), got
    return s


def answer(s):
    """Status, headers (lower-case names) and body of one answer on s."""
    got = b""
    while True:
        data = s.recv(65536)
        if not data:
            break
        got += data
        head, _, body = got.partition(b"\r\n\r\n")
        if _ and b"content-length:" in head.lower():
            n = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            if len(body) >= n:
                break
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    hdrs = {k.strip().lower(): v.strip() for k, v in
            (ln.split(":", 1) for ln in lines[1:])}
    return int(lines[0].split()[1]), hdrs, body


def post(gw, source="127.0.0.1", body=BODY):
    s = connect(gw, source)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nConnection: close\r\n"
              b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    try:
        return answer(s)
    finally:
        s.close()


def expect_refusal(res, status, code):
    st, hdrs, body = res
    assert st == status and code.encode() in body, res
    assert hdrs.get("retry-after") == "2", hdrs


def eventually_ok(gw, source="127.0.0.1"):
    """The gateway sees a closed socket when its loop next runs: wait for
    the budget to come back (a condition, bounded)."""
    deadline = time.time() + 10
    while time.time() < deadline:
        res = post(gw, source)
        if res[0] == 200:
            return
        time.sleep(0.05)
    raise AssertionError(f"budget not released: {res}")


def test_per_client_bytes_budget():
    gw = Gateway("--max-inflight-per-client", "1M", "--max-inflight", "0")
    a = stalled(gw, 700 * 1024)
    # the same client: a reservation over what is left of its budget
    s = connect(gw)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nContent-Length: 400000\r\n"
              b"\r\n")
    expect_refusal(answer(s), 429, "rate_limited")
    s.close()
    # a small one still fits; another client is not affected at all
    assert post(gw)[0] == 200
    b = stalled(gw, 700 * 1024, source="127.0.0.2")
    assert post(gw, "127.0.0.2")[0] == 200
    a.close()
    b.close()
    eventually_ok(gw)
    expect_clean_stop(gw)


def test_global_bytes_budget():
    gw = Gateway("--max-inflight", "1M", "--max-inflight-per-client", "0")
    a = stalled(gw, 900 * 1024)
    big = b'{"model":"m","messages":[{"role":"user","content":"' + \
        b"x" * 200000 + b'"}]}'
    expect_refusal(post(gw, "127.0.0.2", big), 503, "overloaded")
    assert post(gw, "127.0.0.2")[0] == 200  # small ones still fit
    a.close()
    eventually_ok(gw, "127.0.0.2")
    expect_clean_stop(gw)


def test_a_chunked_body_is_counted_as_it_grows():
    gw = Gateway("--max-inflight-per-client", "256K", "--max-inflight", "0")
    s = connect(gw)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    piece = b"x" * 65536
    try:
        for _ in range(8):
            s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
    except OSError:
        pass  # the gateway answered and closed: read the answer
    expect_refusal(answer(s), 429, "rate_limited")
    s.close()
    eventually_ok(gw)
    expect_clean_stop(gw)


def test_one_client_cannot_take_every_connection():
    gw = Gateway("--max-connections-per-client", "3")
    mine = [connect(gw) for _ in range(3)]
    for s in mine:  # each is really open: it answers
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer_keepalive(s) == 200
    extra = connect(gw)
    expect_refusal(answer(extra), 429, "rate_limited")
    extra.close()
    # another client still gets in
    assert post(gw, "127.0.0.2")[0] == 200
    mine.pop().close()
    eventually_ok(gw)
    for s in mine:
        s.close()
    expect_clean_stop(gw)


def answer_keepalive(s):
    got = b""
    while b"\r\n\r\n" not in got:
        got += s.recv(4096)
    head, _, body = got.partition(b"\r\n\r\n")
    n = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < n:
        body += s.recv(4096)
    return int(head.split()[1])


gwtest.main(globals())
