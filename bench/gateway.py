#!/usr/bin/env python3
"""gateway.py -- wrk on loopback: through `chatseal serve`, through nginx
proxy_pass, and straight to the upstream, in the same run (issue 3's
benchmark).  Started by bench/gateway.sh (or bench/run.sh --gateway).

What runs, all on 127.0.0.1 with ports chosen free at run time, all stopped
at the end (also on error or Ctrl-C):

  upstream   nginx, one worker, answering every POST with a fixed
             chat.completion JSON (`return 200`), and under /sse/ with a
             fixed SSE stream ending in `data: [DONE]`.  Nothing is faster
             and it is the same upstream for all three paths.
  nginx      nginx, one worker, `proxy_pass` to the upstream with an upstream
             keepalive pool (proxy_http_version 1.1, Connection "") and a
             4 MB client body buffer so no body goes to a temp file.
  gateway    `chatseal serve --upstream http://127.0.0.1:UP` (one process,
             one event loop, like the one nginx worker): verifies the
             Chatseal-Token over the history, forwards the canonical body,
             signs the reply.  A second instance points at /sse/ for the
             streaming measurement.

Requests: a small body (system, user, assistant + one new user message,
~0.4 KB) and ascii-200 (~250 KB, 200 messages); both end with a new user
turn after the signed prefix, and carry the token of the prefix (made with
`chatseal sign --count N-1`) in the Chatseal-Token header.  The direct and
nginx paths get the identical request (they ignore the header).

Measurements (JSON lines on stdout or --out):
  saturated  wrk -t1 -cC -dD, REPEAT rounds; each round runs direct, nginx,
             gateway in turn so that load from elsewhere hits all three
             alike; medians over the rounds of requests/s, p50, p99.
  half       the same at about half of saturation: every wrk connection
             waits DELAY ms between requests (wrk's delay()), DELAY chosen so
             that C connections offer half of the lower saturated rate of
             nginx and gateway; the same offered rate for all three paths,
             so p99(gateway) - p99(direct) is the latency the gateway adds.
             Twice: fixed waits (connections stay in step: bursts of C
             requests) and exponential waits of the same mean ("random":
             arrivals close to independent clients).
  ttfb       streaming: time to first byte of the SSE reply, one keep-alive
             connection, N sequential requests (Python http.client; the
             same client for all three paths); median and p99.

Standard library only.  Needs nginx, wrk and a built chatseal.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

REPLY = {
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1767225600,
    "model": "bench-model",
    "choices": [{"index": 0, "message": {
        "role": "assistant",
        "content": "Certainly. This is the fixed reply of the benchmark upstream."},
        "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 12, "total_tokens": 22},
}


def sse_body():
    def chunk(delta, finish=None):
        return {"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                "created": 1767225600, "model": "bench-model",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    events = [chunk({"role": "assistant", "content": ""}),
              chunk({"content": "Certainly. "}),
              chunk({"content": "This is the fixed stream of the benchmark upstream."}),
              chunk({}, "stop")]
    return "".join("data: %s\n\n" % json.dumps(e, separators=(",", ":"))
                   for e in events) + "data: [DONE]\n\n"


def nginx_quote(s):
    """An nginx config double-quoted string (no "$": it would be a variable)."""
    assert "$" not in s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace(
        "\n", "\\n") + '"'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_common(d, name, workers=1):
    lines = ["daemon off;", "worker_processes %d;" % workers,
             "error_log %s/%s-error.log warn;" % (d, name),
             "pid %s/%s.pid;" % (d, name),
             "events { worker_connections 4096; }", "http {",
             "  access_log off;", "  keepalive_requests 10000000;",
             "  keepalive_timeout 300s;",
             "  client_max_body_size 64m;", "  client_body_buffer_size 4m;"]
    for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        lines.append("  %s_temp_path %s/%s-%s;" % (t, d, name, t))
    return lines


def upstream_conf(d, port):
    c = nginx_common(d, "upstream")
    c += ["  server {", "    listen 127.0.0.1:%d;" % port,
          "    location /sse/ { default_type text/event-stream; return 200 %s; }"
          % nginx_quote(sse_body()),
          "    location / { default_type application/json; return 200 %s; }"
          % nginx_quote(json.dumps(REPLY, separators=(",", ":"))),
          "  }", "}"]
    return "\n".join(c) + "\n"


def proxy_conf(d, port, up, workers=1):
    c = nginx_common(d, "proxy", workers)
    c += ["  upstream up { server 127.0.0.1:%d; keepalive 64; }" % up,
          "  server {", "    listen 127.0.0.1:%d;" % port,
          "    location / { proxy_pass http://up; proxy_http_version 1.1;"
          " proxy_set_header Connection \"\"; }",
          "    location /sse/ { proxy_pass http://up; proxy_http_version 1.1;"
          " proxy_set_header Connection \"\"; proxy_buffering off; }",
          "  }", "}"]
    return "\n".join(c) + "\n"


WRK_LUA = r"""
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
local tok = os.getenv("BENCH_TOKEN")
if tok and tok ~= "" then wrk.headers["Chatseal-Token"] = tok end
local d = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
-- "fixed": every connection waits d ms, so connections stay in step and
-- arrive in bursts; "random": exponential waits of mean d ms (arrivals close
-- to a Poisson process, the usual model of independent clients)
local random = os.getenv("BENCH_DELAY_KIND") == "random"
if d > 0 and random then
  math.randomseed(os.time())
  function delay() return math.floor(-math.log(1 - math.random()) * d + 0.5) end
elseif d > 0 then
  function delay() return d end
end
function done(s, lat, req)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"errors":%d,"non2xx":%d}\n',
    s.requests, s.duration, lat:percentile(50), lat:percentile(90),
    lat:percentile(99), lat.max,
    s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout,
    s.errors.status))
end
"""


class Procs:
    """Everything started here, stopped in reverse order."""

    def __init__(self):
        self.procs = []

    def start(self, name, argv, log):
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        self.procs.append((name, p))
        return p

    def stop(self):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, p in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []


def wait_port(port, proc, what, timeout=10.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit("gateway bench: %s exited with %s" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("gateway bench: %s did not listen on %d" % (what, port))


def post(port, path, body, token, read_all=True):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"Content-Type": "application/json"}
    if token:
        h["Chatseal-Token"] = token
    c.request("POST", path, body=body, headers=h)
    r = c.getresponse()
    data = r.read() if read_all else b""
    hdrs = dict((k.lower(), v) for k, v in r.getheaders())
    c.close()
    return r.status, hdrs, data


def cpu_seconds(pid):
    """user + system CPU time of pid and its children (an nginx master and
    its worker), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return total


def run_wrk(url, body_file, token, conns, duration, delay_ms=0, pid=None,
            delay_kind="fixed"):
    env = dict(os.environ, BENCH_BODY=body_file, BENCH_TOKEN=token or "",
               BENCH_DELAY_MS=str(delay_ms), BENCH_DELAY_KIND=delay_kind)
    cpu0 = cpu_seconds(pid) if pid else 0.0
    out = subprocess.run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % duration,
                          "--timeout", "10s", "-s", run_wrk.lua, url],
                         env=env, capture_output=True, text=True, check=True)
    line = [l for l in out.stdout.splitlines() if l.startswith("{")][-1]
    r = json.loads(line)
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    if pid and r["requests"]:
        # CPU the serving process spent per request: what it costs, apart
        # from how the two shared cores were split between wrk and servers
        r["cpu_us_per_req"] = (cpu_seconds(pid) - cpu0) * 1e6 / r["requests"]
    return r


def ttfb(port, path, body, token, n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"Content-Type": "application/json"}
    if token:
        h["Chatseal-Token"] = token
    out = []
    for i in range(n + 5):
        t0 = time.perf_counter()
        c.request("POST", path, body=body, headers=h)
        r = c.getresponse()
        first = r.read(1)
        t = time.perf_counter() - t0
        rest = r.read()
        if r.status != 200 or not first or b"[DONE]" not in first + rest:
            raise SystemExit("gateway bench: stream on port %d: status %d" %
                             (port, r.status))
        if i >= 5:  # warm-up
            out.append(t * 1e6)
    c.close()
    out.sort()
    return {"p50_us": statistics.median(out),
            "p99_us": out[min(len(out) - 1, int(len(out) * 0.99))], "n": n}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("BENCH_BUILD", "build-bench"))
    ap.add_argument("--bodies", help="folder written by gen_bodies.py")
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--ttfb-requests", type=int, default=300)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workers", type=int, default=1,
                    help="nginx proxy worker_processes and chatseal --workers")
    ap.add_argument("--only", help="one body: small or ascii-200")
    ap.add_argument("--phases", default="saturated,half,ttfb",
                    help="comma-separated subset of saturated,half,ttfb")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.quick:
        a.duration, a.repeat, a.ttfb_requests = 3, 1, 100
    names = [a.only] if a.only else ["small", "ascii-200"]
    phases = a.phases.split(",")
    if "half" in phases and "saturated" not in phases:
        phases.append("saturated")  # half needs the saturated rates
    for tool in ("nginx", "wrk"):
        if not shutil.which(tool):
            print("gateway bench: %s not found (scripts/bootstrap.sh --bench)" % tool,
                  file=sys.stderr)
            return 77
    chatseal = os.path.join(ROOT, a.build, "src/cli/chatseal")
    if not os.access(chatseal, os.X_OK):
        print("gateway bench: %s not built" % chatseal, file=sys.stderr)
        return 2
    out = open(a.out, "a") if a.out else sys.stdout

    def emit(rec):
        out.write(json.dumps(rec) + "\n")
        out.flush()

    d = tempfile.mkdtemp(prefix="chatseal-gw-bench-")
    os.chmod(d, 0o755)  # nginx workers run as nobody when we are root
    procs = Procs()
    try:
        # ---------------------------------------------------------- inputs
        if a.bodies:
            bodies_dir = a.bodies
        else:
            bodies_dir = os.path.join(d, "bodies")
            subprocess.run([sys.executable, os.path.join(HERE, "gen_bodies.py"),
                            bodies_dir], check=True, stdout=subprocess.DEVNULL)
        keys = os.path.join(d, "keys")
        with open(keys, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(subprocess.run([chatseal, "keygen", "--kid", "bench"],
                                   check=True, capture_output=True,
                                   text=True).stdout)
        small = {"model": "bench-model", "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the weather in Paris today?"},
            {"role": "assistant", "content": "It is sunny, about 22 degrees."},
            {"role": "user", "content": "Should I take an umbrella?"}]}
        with open(os.path.join(bodies_dir, "ascii-200.json"), "rb") as f:
            big = json.loads(f.read())
        reqs = {}
        for name, body in (("small", small), ("ascii-200", big)):
            for stream in (False, True):
                b = dict(body, stream=stream)
                path = os.path.join(d, "%s%s.json" % (name, "-stream" if stream else ""))
                data = json.dumps(b, ensure_ascii=False).encode()
                with open(path, "wb") as f:
                    f.write(data)
                tok = subprocess.run(
                    [chatseal, "sign", "--key-file", keys, "--count",
                     str(len(b["messages"]) - 1), path],
                    check=True, capture_output=True, text=True).stdout.strip()
                reqs[(name, stream)] = (path, data, tok)
        run_wrk.lua = os.path.join(d, "post.lua")
        with open(run_wrk.lua, "w") as f:
            f.write(WRK_LUA)

        # --------------------------------------------------------- servers
        up, px, gw, gws = free_port(), free_port(), free_port(), free_port()
        with open(os.path.join(d, "upstream.conf"), "w") as f:
            f.write(upstream_conf(d, up))
        with open(os.path.join(d, "proxy.conf"), "w") as f:
            f.write(proxy_conf(d, px, up, a.workers))
        logs = open(os.path.join(d, "servers.log"), "w")
        pids = {}
        p = procs.start("nginx-upstream", ["nginx", "-p", d, "-c",
                                           os.path.join(d, "upstream.conf")], logs)
        wait_port(up, p, "upstream nginx")
        pids["direct"] = p.pid
        p = procs.start("nginx-proxy", ["nginx", "-p", d, "-c",
                                        os.path.join(d, "proxy.conf")], logs)
        wait_port(px, p, "nginx proxy")
        pids["nginx"] = p.pid
        for port, base in ((gw, ""), (gws, "/sse")):
            p = procs.start("chatseal" + base, [
                chatseal, "serve", "--upstream", "http://127.0.0.1:%d%s" % (up, base),
                "--listen", "127.0.0.1:%d" % port, "--key-file", keys, "--quiet",
                "--workers", str(a.workers)],
                logs)
            wait_port(port, p, "chatseal serve")
            if not base:
                pids["gateway"] = p.pid

        targets = [("direct", up, "/v1/chat/completions", "/sse/v1/chat/completions"),
                   ("nginx", px, "/v1/chat/completions", "/sse/v1/chat/completions"),
                   ("gateway", gw, "/v1/chat/completions", None)]
        # ---------------------------------------------------- sanity check
        for name in names:
            path, data, tok = reqs[(name, False)]
            for t, port, url, _ in targets:
                st, hd, body = post(port, url, data, tok)
                ok = st == 200 and (t != "gateway" or (
                    hd.get("chatseal-token", "").startswith("cs1.") and
                    b'"chatseal"' in body))
                if not ok:
                    print("gateway bench: %s %s: HTTP %d %s" %
                          (t, name, st, body[:300].decode("utf-8", "replace")),
                          file=sys.stderr)
                    emit({"impl": t, "op": "http", "body": name,
                          "error": "HTTP %d" % st})
                    return 3
        # ---------------------------------------------------- saturation
        sat = {}
        for name in names if "saturated" in phases else []:
            path, data, tok = reqs[(name, False)]
            runs = {t: [] for t, *_ in targets}
            for _ in range(a.repeat):
                for t, port, url, _ in targets:
                    runs[t].append(run_wrk("http://127.0.0.1:%d%s" % (port, url),
                                           path, tok, a.connections, a.duration,
                                           pid=pids[t]))
            for t, *_ in targets:
                rs = runs[t]
                rec = {"impl": t, "op": "http", "mode": "saturated", "body": name,
                       "workers": a.workers,
                       "cpu_us_per_req": statistics.median(
                           r.get("cpu_us_per_req", 0) for r in rs),
                       "bytes": len(data), "connections": a.connections,
                       "duration_s": a.duration, "rounds": len(rs),
                       "rps": statistics.median(r["rps"] for r in rs),
                       "p50_us": statistics.median(r["p50_us"] for r in rs),
                       "p99_us": statistics.median(r["p99_us"] for r in rs),
                       "errors": sum(r["errors"] for r in rs),
                       "non2xx": sum(r["non2xx"] for r in rs),
                       "rps_all": [round(r["rps"]) for r in rs]}
                sat[(t, name)] = rec
                emit(rec)
        # ----------------------------------------------- half saturation
        halves = [(n, k) for n in names for k in ("fixed", "random")]
        for name, kind in halves if "half" in phases else []:
            path, data, tok = reqs[(name, False)]
            rate = min(sat[("nginx", name)]["rps"], sat[("gateway", name)]["rps"]) / 2
            conns = a.connections
            # each connection waits `delay` between requests: at most `rate`
            # requests/s offered (a little less, since the reply time adds)
            delay = max(1, int(round(conns / rate * 1000)))
            runs = {t: [] for t, *_ in targets}
            for _ in range(a.repeat):
                for t, port, url, _ in targets:
                    runs[t].append(run_wrk("http://127.0.0.1:%d%s" % (port, url),
                                           path, tok, conns, a.duration, delay,
                                           delay_kind=kind))
            for t, *_ in targets:
                rs = runs[t]
                emit({"impl": t, "op": "http",
                      "mode": "half" if kind == "fixed" else "half-random",
                      "body": name,
                      "bytes": len(data), "connections": conns, "delay_ms": delay,
                      "offered_rps": round(rate), "rounds": len(rs),
                      "rps": statistics.median(r["rps"] for r in rs),
                      "p50_us": statistics.median(r["p50_us"] for r in rs),
                      "p99_us": statistics.median(r["p99_us"] for r in rs),
                      "errors": sum(r["errors"] for r in rs),
                      "non2xx": sum(r["non2xx"] for r in rs)})
        # ---------------------------------------------------------- TTFB
        for name in names if "ttfb" in phases else []:
            path, data, tok = reqs[(name, True)]
            for t, port, _, sse in (("direct", up, None, "/sse/v1/chat/completions"),
                                    ("nginx", px, None, "/sse/v1/chat/completions"),
                                    ("gateway", gws, None, "/v1/chat/completions")):
                r = ttfb(port, sse, data, tok, a.ttfb_requests)
                emit(dict({"impl": t, "op": "ttfb", "body": name,
                           "bytes": len(data)}, **r))
        return 0
    finally:
        procs.stop()
        if os.environ.get("BENCH_KEEP"):
            print("gateway bench: kept %s" % d, file=sys.stderr)
        else:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
