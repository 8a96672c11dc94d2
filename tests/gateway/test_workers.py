"""--workers N: one master and N worker processes on one listening socket.

Whichever worker answers, a conversation must go on: the same key ring in
every worker (even an ephemeral --dev key, made before the fork), metrics
that count every worker's requests, SIGHUP reaching every worker, a crashed
worker replaced, SIGTERM stopping them all.  To know which worker answers,
the others are paused with SIGSTOP: a stopped process accepts nothing, so
the one left running takes the connection (each log line names its worker).
"""

import os
import re
import signal
import time

import gwtest
from gwtest import Gateway, expect_clean_stop

MSGS = [{"role": "user", "content": "hello"}]


def workers_of(gw):
    """pids of the master's children, by worker index (from the log)."""
    pids = {}
    for ev in gw.log_events():
        if ev.get("event") == "worker_started":
            pids[ev["index"]] = ev["pid"]
    with open("/proc/%d/task/%d/children" % (gw.proc.pid, gw.proc.pid)) as f:
        alive = {int(p) for p in f.read().split()}
    return {i: p for i, p in pids.items() if p in alive}


def only(gw, index):
    """Pauses every worker but `index`; returns a function that resumes."""
    stopped = [p for i, p in workers_of(gw).items() if i != index]
    for p in stopped:
        os.kill(p, signal.SIGSTOP)

    def resume():
        for p in stopped:
            os.kill(p, signal.SIGCONT)
    return resume


def turn(gw, msgs, token, worker):
    """One turn answered by `worker` (the others paused)."""
    resume = only(gw, worker)
    try:
        before = len([e for e in gw.log_events() if e.get("event") == "request"])
        r = gw.chat(msgs, token=token)
    finally:
        resume()
    assert r.status == 200, r
    reqs = [e for e in gw.log_events() if e.get("event") == "request"]
    assert len(reqs) == before + 1 and reqs[-1]["worker"] == worker, reqs[-1:]
    return r


def metric(text, name, labels=""):
    m = re.search(r"^%s%s (\d+)$" % (re.escape(name), re.escape(labels)), text,
                  re.M)
    assert m, (name, labels, text)
    return int(m.group(1))


def test_workers_share_ring_metrics_and_signals():
    # --dev: an ephemeral key, which exists only if made before the fork
    gw = Gateway("--workers", "3", "--mock-delay", "0")
    gw.wait_log("listening", count=3)
    assert sorted(workers_of(gw)) == [0, 1, 2]
    dev = [e for e in gw.log_events() if e.get("event") == "dev_key"]
    assert len(dev) == 1, dev  # one key for all, logged once by the master

    # one conversation, each turn answered by another worker, each
    # verifying the token the previous one issued
    msgs, token = list(MSGS), None
    for n, w in enumerate([0, 1, 2, 1, 0, 2]):
        r = turn(gw, msgs, token, w)
        token = r.header("Chatseal-Token")
        assert gwtest.token_header(token)["n"] == len(msgs) + 1
        msgs += [r.json()["choices"][0]["message"],
                 {"role": "user", "content": "turn %d" % (n + 2)}]
    # a forged history is refused by every worker
    bad = [dict(m) for m in msgs]
    bad[1]["content"] = "forged"
    for w in (0, 1, 2):
        resume = only(gw, w)
        try:
            r = gw.chat(bad, token=token)
        finally:
            resume()
        assert r.status == 403 and r.code == "content_changed", r

    # the metrics count every worker's requests, whoever answers
    for w in (2, 0):
        resume = only(gw, w)
        try:
            text = gw.request("GET", "/metrics").body.decode()
        finally:
            resume()
        ok = metric(text, "chatseal_requests_total",
                    '{endpoint="chat",outcome="ok",code="ok"}')
        assert ok == 6, text
        assert metric(text, "chatseal_requests_total",
                      '{endpoint="chat",outcome="rejected",'
                      'code="content_changed"}') == 3
        assert metric(text, "chatseal_tokens_issued_total") == 6

    # a worker that dies is replaced; the conversation goes on
    victim = workers_of(gw)[1]
    os.kill(victim, signal.SIGKILL)
    ev = gw.wait_log("worker_exited")
    assert ev["index"] == 1 and ev["pid"] == victim and ev["status"] == 137
    deadline = time.time() + 10
    while time.time() < deadline:
        ws = workers_of(gw)
        if len(ws) == 3 and ws[1] != victim:
            break
        time.sleep(0.05)
    assert len(ws) == 3 and ws[1] != victim, ws
    gw.wait_log("listening", count=4)
    r = turn(gw, msgs, token, 1)
    assert r.json()["chatseal"]["count"] == len(msgs) + 1

    # SIGTERM: every worker drains and exits, then the master, with 0
    pids = list(workers_of(gw).values())
    expect_clean_stop(gw)
    for p in pids:
        assert not os.path.exists("/proc/%d" % p) or \
            open("/proc/%d/stat" % p).read().split()[2] == "Z", p


def test_sighup_reaches_every_worker():
    k1, k2 = gwtest.new_key_line("k1"), gwtest.new_key_line("k2")
    path = gwtest.write_file("ring-workers", k1 + "\n")
    gw = Gateway("--workers", "2", "--key-file", path, "--mock-delay", "0")
    gw.wait_log("listening", count=2)
    r = turn(gw, MSGS, None, 0)
    t1 = r.header("Chatseal-Token")
    assert gwtest.token_header(t1)["kid"] == "k1"
    h = MSGS + [r.json()["choices"][0]["message"],
                {"role": "user", "content": "again"}]

    gwtest.write_file("ring-workers", k1 + "\n" + k2 + "\n")
    gw.proc.send_signal(signal.SIGHUP)
    evs = [gw.wait_log("keyring_reloaded", count=2)]
    reloads = [e for e in gw.log_events() if e.get("event") == "keyring_reloaded"]
    assert sorted(e["worker"] for e in reloads) == [0, 1], reloads
    assert all(e["signing_kid"] == "k2" for e in reloads), evs
    for w in (0, 1):  # each worker accepts the old token and signs with k2
        r = turn(gw, h, t1, w)
        assert gwtest.token_header(r.header("Chatseal-Token"))["kid"] == "k2"
    expect_clean_stop(gw)


def test_workers_auto_is_one_per_core():
    gw = Gateway("--mock-delay", "0", env={"CHATSEAL_WORKERS": "auto"})
    n = os.cpu_count()
    gw.wait_log("listening", count=n)
    if n > 1:
        assert len(workers_of(gw)) == n
        assert all(e.get("workers") == n for e in gw.log_events()
                   if e.get("event") == "listening")
    assert gw.chat(MSGS).status == 200
    expect_clean_stop(gw)


def test_workers_leave_with_a_killed_master():
    gw = Gateway("--workers", "2", "--mock-delay", "0")
    gw.wait_log("listening", count=2)
    pids = list(workers_of(gw).values())
    assert len(pids) == 2
    gw.proc.kill()  # SIGKILL: the master cannot pass anything on
    gw.proc.wait(10)
    deadline = time.time() + 10
    alive = pids
    try:
        while alive and time.time() < deadline:
            alive = [p for p in pids if os.path.exists("/proc/%d" % p) and
                     open("/proc/%d/stat" % p).read().split()[2] != "Z"]
            time.sleep(0.05)
        assert not alive, "workers outlived their master: %s" % alive
    finally:
        for p in alive:  # this test stops what it started, even on failure
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        gw.stop()


def test_worker_that_cannot_start_stops_the_gateway():
    # --workers out of range is a usage error
    for bad in ("0", "257", "two", "auto2"):
        gw = Gateway("--workers", bad, wait=False)
        assert gw.proc.wait(10) == 2, bad
        assert "--workers" in gw.log_text() or bad in gw.log_text(), \
            gw.log_text()
    # a worker that fails in its first second (here: Redis unreachable)
    # makes the master stop the others and exit with its status
    gw = Gateway("--workers", "2", "--store", "redis://127.0.0.1:1",
                 "--conversation-header", "X-Conversation", wait=False)
    assert gw.proc.wait(20) == 2, gw.log_text()
    assert "store_unavailable" in gw.log_text()


gwtest.main(globals())
