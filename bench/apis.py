#!/usr/bin/env python3
"""bench/apis.py -- gateway CPU per request for each wire protocol.

What it answers: how much does an adapter (Responses, Anthropic Messages,
Ollama) cost compared with Chat Completions, whose body is already the
internal shape?  Each adapter maps its body onto internal messages and back
with jansson, so it is expected to cost more per request; this says how much.

How: one `chatseal serve --upstream mock --dev --store none --quiet` (the
built-in mock model answers in every API's format, in-process, so its cost is
part of every figure alike).  For each API a conversation of --turns turns is
played first (so the token is real), then its last request (history + token)
is sent --requests times on one kept-alive connection, JSON and streamed.  The
gateway's CPU time (/proc/PID/schedstat, in ns) over those requests,
divided by their number, is one sample; --runs samples, APIs alternated
within each run, give a median.  The ratio to Chat Completions is taken
within the same run.

    python3 bench/apis.py [--build build-release] [--runs 5] [--turns 10]

Noisy machine: the medians and ratios are the figures, not any one sample.
Standard library only.
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    # schedstat's first field: nanoseconds on a CPU (all threads of the
    # process's main task); /proc/PID/stat's utime+stime only in 10 ms ticks
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0]) / 1e9
    except OSError:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK


def start(binary):
    log = tempfile.NamedTemporaryFile(prefix="bench-apis-", suffix=".log",
                                      delete=False)
    proc = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--upstream", "mock",
         "--dev", "--store", "none", "--mock-delay", "0"],
        stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items()
             if not k.startswith("CHATSEAL_")})
    deadline = time.time() + 20
    while time.time() < deadline:
        with open(log.name, "rb") as f:
            for line in f.read().decode("utf-8", "replace").splitlines():
                if line.startswith("{") and '"listening"' in line:
                    ev = json.loads(line)
                    port = int(ev["address"].rsplit(":", 1)[1])
                    return proc, port, log.name
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    sys.exit("the gateway did not start: see " + log.name)


# Each API: path, the request body for a history, how to add the reply to
# the history, and the next user turn.
def chat_body(hist, stream):
    return {"model": "m", "messages": hist, "stream": stream}


def chat_next(hist, reply):
    return hist + [reply["choices"][0]["message"]]


def resp_body(hist, stream):
    return {"model": "m", "input": hist, "stream": stream, "store": False}


def resp_next(hist, reply):
    return hist + reply["output"]


def msgs_body(hist, stream):
    return {"model": "m", "max_tokens": 256, "messages": hist,
            "stream": stream}


def msgs_next(hist, reply):
    return hist + [{"role": "assistant", "content": reply["content"]}]


def ollama_body(hist, stream):
    return {"model": "m", "messages": hist, "stream": stream}


def ollama_next(hist, reply):
    return hist + [reply["message"]]


def user(i):
    return {"role": "user",
            "content": f"Question {i}: tell me something about the number "
                       f"{i * 7} and why it matters."}


APIS = [
    ("chat", "/v1/chat/completions", chat_body, chat_next),
    ("responses", "/v1/responses", resp_body, resp_next),
    ("messages", "/v1/messages", msgs_body, msgs_next),
    ("ollama", "/api/chat", ollama_body, ollama_next),
]


def post(conn, path, body, token):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Chatseal-Token"] = token
    data = json.dumps(body).encode()
    conn.request("POST", path, body=data, headers=headers)
    r = conn.getresponse()
    raw = r.read()
    if r.status != 200:
        sys.exit(f"{path}: {r.status} {raw[:300]!r}")
    return r.getheader("Chatseal-Token"), raw


def prepare(port, api, turns):
    """Plays `turns` turns; returns the last request's body and token."""
    name, path, body, nxt = api
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    hist, token = [user(0)], None
    for i in range(1, turns):
        token, raw = post(conn, path, body(hist, False), token)
        hist = nxt(hist, json.loads(raw)) + [user(i)]
    conn.close()
    return hist, token


def sample(port, pid, api, hist, token, stream, n):
    name, path, body, _ = api
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    b = body(hist, stream)
    post(conn, path, b, token)  # warm the connection
    t0 = cpu_seconds(pid)
    for _ in range(n):
        post(conn, path, b, token)
    t1 = cpu_seconds(pid)
    conn.close()
    return (t1 - t0) / n * 1e6  # µs per request


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("BENCH_BUILD",
                                                      "build-release"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--requests", type=int, default=300)
    args = ap.parse_args()
    binary = os.path.join(args.build, "src", "cli", "chatseal")
    if not os.access(binary, os.X_OK):
        sys.exit(f"no {binary}: build it first (meson setup {args.build} "
                 "--buildtype release && ninja -C " + args.build + ")")
    proc, port, logname = start(binary)
    try:
        prepared = {api[0]: prepare(port, api, args.turns) for api in APIS}
        res = {(a[0], s): [] for a in APIS for s in (False, True)}
        ratios = {(a[0], s): [] for a in APIS for s in (False, True)}
        for run in range(args.runs):
            order = APIS if run % 2 == 0 else list(reversed(APIS))
            for stream in (False, True):
                got = {}
                for api in order:
                    hist, token = prepared[api[0]]
                    got[api[0]] = sample(port, proc.pid, api, hist, token,
                                         stream, args.requests)
                for k, v in got.items():
                    res[(k, stream)].append(v)
                    ratios[(k, stream)].append(v / max(got["chat"], 1e-9))
        print(f"gateway CPU per request, {args.turns}-message history + "
              f"reply, mock upstream in-process, {args.runs} runs x "
              f"{args.requests} requests (median; ratio to chat in the same "
              "run)")
        print(f"{'api':<10} {'mode':<7} {'µs/request':>11} {'x chat':>7}")
        for a in APIS:
            for stream in (False, True):
                print(f"{a[0]:<10} {'stream' if stream else 'json':<7} "
                      f"{statistics.median(res[(a[0], stream)]):>11.1f} "
                      f"{statistics.median(ratios[(a[0], stream)]):>7.2f}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        os.unlink(logname)


if __name__ == "__main__":
    main()
