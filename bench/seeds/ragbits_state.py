#!/usr/bin/env python3
"""ragbits_state.py -- the Ragbits state-signing seed, as its document
describes it: the state is serialized with json.dumps(sort_keys=True) and
signed with HMAC-SHA256 (hmac + hashlib), hex; the API parses the request,
recomputes the HMAC and compares (hmac.compare_digest).  Here the state is the
whole chat request body.

usage: python3 ragbits_state.py BODY.json...
Measures "verify": json.loads of the request bytes {"state": body,
"signature": sig} (as a web framework hands them over) +
json.dumps(state, sort_keys=True) + HMAC + compare, with the same method as
timing.mjs and bench_verify.c (median CPU time of batches of >= 2 ms).
"""
import hashlib
import hmac
import json
import os
import sys
import time

SECRET = b"bench-secret-0123456789abcdef0123456789abcdef"
RUNS = int(os.environ.get("BENCH_RUNS", "31"))


def sign_state(state):
    data = json.dumps(state, sort_keys=True).encode("utf-8")
    return hmac.new(SECRET, data, hashlib.sha256).hexdigest()


def verify_state(state, signature):
    return hmac.compare_digest(sign_state(state), signature)


def measure(fn):
    """Median CPU time per call (time.process_time_ns: user + system), as
    bench_verify and timing.mjs measure; the wall-clock median too."""
    t0 = time.perf_counter_ns()
    iters = 0
    while time.perf_counter_ns() - t0 < 1e8 or iters < 3:
        fn()
        iters += 1
    per = (time.perf_counter_ns() - t0) / iters
    k = max(1, int(2e6 / per + 0.999))
    cpu, wall = [], []
    for _ in range(RUNS):
        t0 = time.perf_counter_ns()
        c0 = time.process_time_ns()
        for _ in range(k):
            fn()
        cpu.append((time.process_time_ns() - c0) / k)
        wall.append((time.perf_counter_ns() - t0) / k)
    cpu.sort()
    wall.sort()
    return {"median_ns": cpu[len(cpu) // 2], "min_ns": cpu[0],
            "wall_median_ns": wall[len(wall) // 2], "clock": "cpu",
            "runs": RUNS, "batch": k}


def main():
    for path in sys.argv[1:]:
        raw = open(path, "rb").read()
        body = json.loads(raw)
        signed = json.dumps({"state": body,
                             "signature": sign_state(body)}).encode("utf-8")

        def verify():
            req = json.loads(signed)
            if not verify_state(req["state"], req["signature"]):
                raise SystemExit("verify failed")

        verify()
        name = os.path.basename(path)[:-5]
        print(json.dumps({"impl": "python-sorted-json-hmac", "op": "verify",
                          "body": name, "bytes": len(raw), **measure(verify)}),
              flush=True)


if __name__ == "__main__":
    main()
