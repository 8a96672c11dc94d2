#!/usr/bin/env python3
"""store_healthz.py -- /healthz latency of a gateway whose Redis store is
stopped (SIGSTOP: connected but silent), while 4 clients keep sending chat
requests, against the same with Redis running.  Issue 10 item 7: with the
old blocking Redis calls /healthz went from 0.3 ms to 812 ms.

    CHATSEAL_BUILD=build python3 bench/store_healthz.py

Uses the gateway tests' helpers (tests/gateway/gwtest.py, a redis-server on
a free 127.0.0.1 port); everything it starts is stopped at the end.
"""
import os
import signal
import statistics
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "gateway"))
os.environ.setdefault("CHATSEAL_BUILD", os.path.join(ROOT, "build"))
os.environ.setdefault("CHATSEAL_SRC", ROOT)
os.environ["CHATSEAL_BUILD"] = os.path.abspath(os.environ["CHATSEAL_BUILD"])

import gwtest  # noqa: E402
from gwtest import Gateway, Upstream  # noqa: E402
from test_rollback import Redis  # noqa: E402


def healthz(gw, n=200):
    ms = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = gw.request("GET", "/healthz")
        ms.append((time.perf_counter() - t0) * 1000)
        assert r.status == 200, r
    ms.sort()
    return statistics.median(ms), ms[int(len(ms) * 0.99) - 1]


def main():
    redis = Redis()
    up = Upstream()
    gw = Gateway("--upstream", up.url, "--store", redis.url,
                 keys=gwtest.new_key_line("k1"))
    try:
        print("redis running: /healthz median %.2f ms, p99 %.2f ms"
              % healthz(gw))
        redis.proc.send_signal(signal.SIGSTOP)
        stop, codes = threading.Event(), {}

        def load():
            while not stop.is_set():
                r = gw.chat([{"role": "user", "content": "x"}], timeout=30,
                            headers={"Chatseal-Conversation":
                                     "c-%d" % time.time_ns()})
                codes[(r.status, r.code)] = codes.get((r.status, r.code),
                                                      0) + 1

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        print("redis stopped: /healthz median %.2f ms, p99 %.2f ms "
              "(4 clients sending chat meanwhile)" % healthz(gw))
        stop.set()
        for t in threads:
            t.join()
        print("chat answers while stopped:", codes)
    finally:
        redis.proc.send_signal(signal.SIGCONT)
        gw.stop()
        up.stop()
        redis.stop()


if __name__ == "__main__":
    main()
