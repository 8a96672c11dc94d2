"""Rollback protection with the Redis store (--store redis://..., old name
--rollback): only the newest token of a conversation is accepted, by every
replica, because the record lives in Redis; a stopped Redis delays nothing
but the requests that need it, which fail closed (503 store_unavailable).

Starts a real redis-server on a free 127.0.0.1 port (skipped, exit 77, only
when redis-server is not installed), two gateway replicas sharing one key
ring and one Redis, and the test's own upstream.  Without --rollback the same
replay is accepted: that is the hole this option closes.
"""

import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import gwtest
from gwtest import Upstream, expect_clean_stop, expect_error


def Gateway(*args, **kw):
    """The conversations here open with a client-written system message,
    which the default policy refuses (test_policy.py): allowed explicitly."""
    return gwtest.Gateway("--fresh-roles", "system,developer,user", *args,
                          **kw)

SYS = {"role": "system", "content": "You are a bank assistant."}
CONV = {"Chatseal-Conversation": "c-rollback-1", "X-User": "alice"}


class Redis:
    def __init__(self):
        self.port = gwtest.free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError("redis-server did not start")

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def replicas(redis, up, n=2, keys=None):
    keys = keys or gwtest.new_key_line("k1")
    return [Gateway("--upstream", up.url, "--rollback", redis.url,
                    "--principal-header", "X-User", keys=keys)
            for _ in range(n)]


def turn(gw, msgs, token=None, model=None):
    r = gw.chat(msgs, token=token, headers=CONV, model=model)
    assert r.status == 200, r
    msgs = msgs + [r.json()["choices"][0]["message"]]
    return msgs, r.json()["chatseal"]["token"]


def user(text):
    return {"role": "user", "content": text}


def with_redis(fn):
    def run():
        redis = Redis()
        try:
            fn(redis)
        finally:
            redis.stop()
    run.__name__ = fn.__name__
    return run


@with_redis
def test_replicas_agree_and_old_tokens_are_stale(redis):
    up = Upstream()
    a, b = replicas(redis, up)
    h1, t1 = turn(a, [SYS, user("Balance?")])
    # the next turn on the other replica: the record is shared
    h2, t2 = turn(b, h1 + [user("Send 10 to Bob.")], t1)
    h3, t3 = turn(a, h2 + [user("Thanks.")], t2)
    before = len(up.chat_requests())
    # the client rolls back to the first turn (a valid signature!) to make
    # the model forget the transfer: refused by both replicas, never forwarded
    for gw in (a, b):
        r = gw.chat(h1 + [user("Send 10 to Bob.")], token=t1, headers=CONV)
        err = expect_error(r, 403, "stale_token")
        assert "newer token" in err["message"], err
        r = gw.chat(h2 + [user("Again?")], token=t2, headers=CONV)
        expect_error(r, 403, "stale_token")
    assert len(up.chat_requests()) == before, "a rollback reached the model"
    # the newest one still works, streaming included
    r = b.chat(h3 + [user("Bye.")], token=t3, headers=CONV, stream=True,
               model="stream")
    assert r.status == 200, r
    datas = [json.loads(d) for _, d in r.events() if d.startswith("{")]
    final = [d for d in datas if "chatseal" in d]
    assert final and final[0]["chatseal"]["count"] == len(h3) + 2, r
    # no conversation id nor principal in Redis: the keys are digests
    keys = subprocess.run(["redis-cli", "-p", str(redis.port), "--scan"],
                          capture_output=True, text=True).stdout.split()
    assert keys and all(k.startswith("chatseal:conv:") and len(k) == 78
                        for k in keys), keys
    assert not any("c-rollback-1" in k or "alice" in k for k in keys), keys
    for gw in (a, b):
        expect_clean_stop(gw)


@with_redis
def test_sidecar_extend_keeps_the_same_record(redis):
    """An app that answers some turns itself (/v1/chatseal/extend, e.g. a
    cached answer) and lets the model answer others: one record per
    conversation, so the chain of newest tokens goes through both."""
    up = Upstream()
    secret = "sidecar-secret-rollback-0123"
    path = gwtest.write_file("sidecar-rb", secret + "\n")
    gw = Gateway("--upstream", up.url, "--rollback", redis.url,
                 "--principal-header", "X-User", "--sidecar-secret-file", path,
                 keys=gwtest.new_key_line("k1"))
    auth = dict(CONV, Authorization="Bearer " + secret)

    def extend(msgs, token, answer):
        return gw.request("POST", "/v1/chatseal/extend",
                          {"messages": msgs, "token": token,
                           "append": {"role": "assistant", "content": answer}},
                          auth)

    h1, t1 = turn(gw, [SYS, user("Balance?")])
    # the app answers the next turn from its cache, through the sidecar
    h2 = h1 + [user("Balance again?")]
    r = extend(h2, t1, "Still 100.")
    assert r.status == 200, r
    t2 = r.json()["token"]
    h2 = h2 + [{"role": "assistant", "content": "Still 100."}]
    # the chat endpoint takes the sidecar's token as the newest one ...
    h3, t3 = turn(gw, h2 + [user("Thanks.")], t2)
    # ... and both refuse the older ones
    expect_error(gw.chat(h1 + [user("x")], token=t1, headers=CONV), 403,
                 "stale_token")
    expect_error(extend(h2 + [user("y")], t2, "z"), 403, "stale_token")
    expect_error(extend(h1 + [user("y")], t1, "z"), 403, "stale_token")
    # the newest one goes on through the sidecar too
    r = extend(h3 + [user("More?")], t3, "No.")
    assert r.status == 200, r
    # no conversation id: the token (bound to one) does not verify
    r = gw.request("POST", "/v1/chatseal/extend",
                   {"messages": h3, "token": t3},
                   {"Authorization": "Bearer " + secret})
    expect_error(r, 403, "binding_mismatch")
    expect_clean_stop(gw)


def test_without_a_store_the_replay_passes():
    """The hole the store closes: a signed older history verifies."""
    up = Upstream()
    gw = Gateway("--upstream", up.url, "--store", "none",
                 keys=gwtest.new_key_line("k1"))
    h1, t1 = turn(gw, [SYS, user("Balance?")])
    h2, t2 = turn(gw, h1 + [user("Send 10 to Bob.")], t1)
    r = gw.chat(h1 + [user("Send 10 to Bob.")], token=t1, headers=CONV)
    assert r.status == 200, r
    expect_clean_stop(gw)


@with_redis
def test_concurrent_turns_only_one_token(redis):
    """Two requests with the same token, answered at the same time by two
    replicas: both pass the check, only the first commit gets a token; the
    other gets 409 conversation_conflict and no token."""
    up = Upstream()
    a, b = replicas(redis, up)
    h1, t1 = turn(a, [SYS, user("Balance?")])
    results = {}

    def send(name, gw):
        results[name] = gw.chat(h1 + [user("Now?")], token=t1, headers=CONV,
                                model="slow", timeout=30)

    threads = [threading.Thread(target=send, args=(n, g))
               for n, g in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status for r in results.values())
    assert statuses == [200, 409], results
    loser = [r for r in results.values() if r.status == 409][0]
    expect_error(loser, 409, "conversation_conflict")
    assert not loser.header("Chatseal-Token"), loser
    winner = [r for r in results.values() if r.status == 200][0]
    assert winner.header("Chatseal-Token"), winner
    for gw in (a, b):
        expect_clean_stop(gw)


@with_redis
def test_needs_conversation_id_and_fresh_start(redis):
    up = Upstream()
    keys = gwtest.new_key_line("k1")
    (gw,) = replicas(redis, up, 1, keys)
    r = gw.chat([SYS, user("hi")])  # no conversation id: nothing to protect
    assert r.status == 200, r
    # a valid token made where the store was off: no record, fail closed
    plain = Gateway("--upstream", up.url, "--principal-header", "X-User",
                    "--store", "none", keys=keys)
    hp, tp = turn(plain, [SYS, user("Balance?")])
    expect_clean_stop(plain)
    r = gw.chat(hp + [user("x")], token=tp, headers=CONV)
    expect_error(r, 403, "stale_token")
    h1, t1 = turn(gw, [SYS, user("Balance?")])
    r = gw.chat(h1 + [user("x")], token=t1,
                headers={"Chatseal-Conversation": "c-other", "X-User": "alice"})
    # another conversation id: the binding fails before the record is read
    expect_error(r, 403, "binding_mismatch")
    # starting over without a token under the same id never resets it
    r = gw.chat([SYS, user("Start again.")], headers=CONV)
    expect_error(r, 409, "conversation_exists")
    h2, t2 = turn(gw, h1 + [user("x")], t1)  # the owner goes on
    r = gw.chat(h1 + [user("x")], token=t1, headers=CONV)
    expect_error(r, 403, "stale_token")
    expect_clean_stop(gw)


@with_redis
def test_redis_down_fails_closed(redis):
    up = Upstream()
    (gw,) = replicas(redis, up, 1)
    h1, t1 = turn(gw, [SYS, user("Balance?")])
    redis.stop()
    before = len(up.chat_requests())
    t0 = time.time()
    r = gw.chat(h1 + [user("x")], token=t1, headers=CONV)
    expect_error(r, 503, "store_unavailable")
    assert time.time() - t0 < 5, "the Redis timeout is not bounded"
    # the client without token code fails closed the same way
    r = gw.chat(h1 + [user("x")], headers=CONV)
    expect_error(r, 503, "store_unavailable")
    assert len(up.chat_requests()) == before
    r = gw.request("GET", "/healthz")
    assert r.status == 200, r
    expect_clean_stop(gw)


@with_redis
def test_redis_stopped_mid_run_healthz_stays_fast(redis):
    """A Redis that stops answering (SIGSTOP: connected, silent) must delay
    only the requests that wait for it: /healthz answers while a chat
    request waits for its store timeout, the chat request then fails closed
    with 503 store_unavailable, and the gateway recovers when Redis does."""
    up = Upstream()
    gw = Gateway("--upstream", up.url, "--store", redis.url,
                 "--store-timeout", "8s", "--principal-header", "X-User",
                 keys=gwtest.new_key_line("k1"))
    h1, t1 = turn(gw, [SYS, user("Balance?")])
    redis.proc.send_signal(signal.SIGSTOP)
    try:
        result = {}
        th = threading.Thread(target=lambda: result.update(
            r=gw.chat(h1 + [user("x")], headers=CONV, timeout=30)))
        th.start()
        time.sleep(0.3)  # the chat request is now waiting for Redis (8 s)
        for _ in range(5):
            t0 = time.time()
            r = gw.request("GET", "/healthz")
            assert r.status == 200, r
            # far below the 8 s a blocked loop would take
            assert time.time() - t0 < 4.0, "healthz waited for Redis"
        assert th.is_alive(), "the chat request did not wait for Redis"
        th.join(30)
        expect_error(result["r"], 503, "store_unavailable")
    finally:
        redis.proc.send_signal(signal.SIGCONT)
    # Redis is back: a new connection, the same record
    h2, t2 = turn(gw, h1 + [user("x")])
    r = gw.chat(h1 + [user("y")], token=t1, headers=CONV)
    expect_error(r, 403, "stale_token")
    expect_clean_stop(gw)


def test_unreachable_redis_at_start():
    port = gwtest.free_port()
    gw = Gateway("--rollback", f"redis://127.0.0.1:{port}", wait=False,
                 keys=gwtest.new_key_line("k1"))
    rc = gw.proc.wait(20)
    assert rc == 2, rc
    assert "store_unavailable" in gw.log_text(), gw.log_text()
    gw = Gateway("--rollback", "http://nope", wait=False,
                 keys=gwtest.new_key_line("k1"))
    assert gw.proc.wait(20) == 2


if __name__ == "__main__":
    if not shutil.which("redis-server"):
        print("redis-server is not installed: skipped")
        sys.exit(77)
    gwtest.main(globals())
