#!/usr/bin/env python3
"""report.py RESULTS.jsonl... -- the tables bench/run.sh and bench/gateway.sh
print.

Reads the JSON lines written by bench_verify, bench_allocs, the seed
benchmarks (one schema: impl, op, body, bytes, median_ns, ...), run.sh's
environment line and gateway.py, and prints medians, verify/SHA-256,
chatseal's speedup over each seed, the per-message overhead, allocations,
memory, the gateway figures, and whether each target of issues 3 and 4 is
met.  When a measurement appears several times (run.sh --passes), the
median of the medians is used.  Standard library only.
"""
import json
import statistics
import sys

SEEDS = [("node-flat-hmac", "Node flat HMAC"),
         ("node-webcrypto-chain", "Node WebCrypto chain"),
         ("python-sorted-json-hmac", "Python sorted JSON")]


def us(ns):
    return "%.1f" % (ns / 1000) if ns is not None else "-"


def load(paths):
    rows = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            rows += [json.loads(l) for l in f if l.strip().startswith("{")]
    return rows


def timing_tables(rows):
    groups, bodies, extra = {}, [], {}
    for r in rows:
        if "median_ns" in r:
            groups.setdefault((r["impl"], r["op"], r["body"]), []).append(r)
            if r["body"] not in bodies:
                bodies.append(r["body"])
        elif r.get("op") in ("rss", "time-v", "allocs"):
            extra.setdefault(r["op"], {})[r["body"]] = r
    t = {}
    for k, rs in groups.items():
        m = dict(rs[0])
        m["median_ns"] = statistics.median(r["median_ns"] for r in rs)
        m["min_ns"] = min(r["min_ns"] for r in rs)
        if "vs_sha256" in rs[0]:
            m["vs_sha256"] = statistics.median(r["vs_sha256"] for r in rs)
        m["passes"] = len(rs)
        t[k] = m
    if not t:
        return

    def med(impl, op, body):
        r = t.get((impl, op, body))
        return r["median_ns"] if r else None

    passes = max(r["passes"] for r in t.values())
    print()
    print("Medians in microseconds per request body (lower is better); MB/s = "
          "body bytes / median; verify/SHA = median over rounds of the per-round "
          "ratio (same moment, same load); %d pass(es)." % passes)
    hdr = ("body", "KB", "msgs", "SHA-256", "verify", "verify MB/s", "verify/SHA",
           "sign", "sign/SHA", "extend", "canon")
    print("%-11s %7s %5s %9s %9s %11s %10s %9s %9s %9s %9s" % hdr)
    for b in bodies:
        c = t.get(("chatseal", "verify", b))
        if not c:
            continue
        s = t.get(("chatseal", "sign", b), {})
        print("%-11s %7.1f %5d %9s %9s %11.0f %10.2f %9s %9s %9s %9s" % (
            b, c["bytes"] / 1024, c.get("messages", 0),
            us(med("chatseal", "sha256", b)), us(c["median_ns"]),
            c["bytes"] / c["median_ns"] * 1e3, c.get("vs_sha256", 0),
            us(med("chatseal", "sign", b)),
            "%.2f" % s["vs_sha256"] if "vs_sha256" in s else "-",
            us(med("chatseal", "extend", b)), us(med("chatseal", "canon", b))))

    print()
    print("Seeds, verify as their documents describe it (medians in us), and "
          "chatseal verify's speedup over each:")
    print("%-11s " % "body" + " ".join("%21s %8s" % (name, "speedup")
                                       for _, name in SEEDS))
    for b in bodies:
        ver = med("chatseal", "verify", b)
        cells = []
        for impl, _ in SEEDS:
            s = med(impl, "verify", b)
            if s is None or ver is None:
                cells.append("%21s %8s" % ("-", "-"))
            else:
                cells.append("%21s %7.1fx" % (us(s), s / ver))
        print("%-11s " % b + " ".join(cells))
    print("(for scale: raw SHA-256 of the body is this much faster than the "
          "fastest seed:",
          ", ".join("%s %.1fx" % (b, min(med(i, "verify", b) for i, _ in SEEDS
                                         if med(i, "verify", b)) /
                                  med("chatseal", "sha256", b))
                    for b in bodies if med("chatseal", "sha256", b) and
                    any(med(i, "verify", b) for i, _ in SEEDS)) + ")")

    rss = extra.get("rss", {})
    if rss:
        print()
        print("Memory: peak RSS of one parse + verify in a fresh process "
              "(getrusage ru_maxrss; base = after a warm-up verify of a tiny "
              "body, before reading the body; the body's own bytes count):")
        for b, r in rss.items():
            tv = extra.get("time-v", {}).get(b)
            print("  %-11s body %7.0f KB  base %6d  peak %7d  (peak-base)/body %.2f%s" % (
                b, r["body_kb"], r["base_kb"], r["peak_kb"], r["extra_over_body"],
                "  (/usr/bin/time -v: %d)" % tv["max_rss_kb"] if tv else ""))
        pts = [(r["body_kb"], r["peak_kb"] - r["base_kb"]) for r in rss.values()]
        if len(pts) >= 2:
            mx = statistics.mean(x for x, _ in pts)
            my = statistics.mean(y for _, y in pts)
            sxx = sum((x - mx) ** 2 for x, _ in pts)
            slope = sum((x - mx) * (y - my) for x, y in pts) / sxx if sxx else 0
            icpt = my - slope * mx
            print("  least-squares fit over %d bodies: peak - base = %.2f x body "
                  "+ %.0f KB" % (len(pts), slope, icpt))
            extra["rss_fit"] = (slope, icpt)
    al = extra.get("allocs", {})
    if al:
        print()
        print("Heap allocations per operation in steady state (after 3 warm-up "
              "rounds; mean of 10), verify split by the caller's library:")
        for b, r in sorted(al.items(), key=lambda kv: kv[1]["messages"]):
            split = "  ".join("%s %.0f" % (w, r["verify_allocs_" + w])
                              for w in ("chatseal", "libcrypto", "libjansson", "other")
                              if "verify_allocs_" + w in r)
            print("  %-11s %5d msgs  verify %7.1f (%s)  sign %7.1f" % (
                b, r["messages"], r["verify_allocs"], split, r["sign_allocs"]))

    print()
    print("Targets of issue 4:")
    for b in bodies:
        if b.endswith("-200") and ("chatseal", "verify", b) in t:
            v = t[("chatseal", "verify", b)]["vs_sha256"]
            print("  [%s] %s: verify <= 2x raw SHA-256: %.2fx" % (
                "met" if v <= 2 else "NOT met", b, v))
    for b in bodies:
        ver = med("chatseal", "verify", b)
        peers = [(med(i, "verify", b), n) for i, n in SEEDS if med(i, "verify", b)]
        if ver and peers:
            fastest, name = min(peers)
            print("  [%s] %s: >= 10x the fastest seed (%s): %.1fx" % (
                "met" if fastest >= 10 * ver else "NOT met", b, name, fastest / ver))
    b = "short-2000"
    c = t.get(("chatseal", "verify", b))
    if c and "vs_sha256" in c and med("chatseal", "sha256", b):
        sha = med("chatseal", "sha256", b)
        per = (c["median_ns"] - sha) / c["messages"]
        print("  [%s] %s: <= 1 us per message over raw SHA-256: "
              "(verify - SHA-256) / messages = %.3f us" % (
                  "met" if per <= 1000 else "NOT met", b, per / 1000))
    if al:
        counts = sorted((r["messages"], r.get("verify_allocs_chatseal", r["verify_allocs"]),
                         r["verify_allocs"]) for r in al.values())
        lo, hi = counts[0], counts[-1]
        own_ok = hi[1] - lo[1] < (hi[0] - lo[0]) * 0.01 + 32
        all_ok = hi[2] - lo[2] < (hi[0] - lo[0]) * 0.01 + 32
        print("  [%s] no allocation per message, chatseal's own code: %.0f allocs "
              "at %d messages, %.0f at %d" % ("met" if own_ok else "NOT met",
                                               lo[1], lo[0], hi[1], hi[0]))
        print("  [%s] no allocation per message, whole process (OpenSSL included): "
              "%.0f at %d messages, %.0f at %d" % ("met" if all_ok else "NOT met",
                                                   lo[2], lo[0], hi[2], hi[0]))
    if "rss_fit" in extra:
        slope, icpt = extra["rss_fit"]
        c = max(r["peak_kb"] - r["base_kb"] - 2 * r["body_kb"] for r in rss.values())
        print("  [%s] peak RSS <= 2x body + constant: holds for every body with a "
              "constant of %.0f KB (least-squares fit: %.2f x body + %.0f KB; the "
              "body's own bytes are 1x of it)" % (
                  "met" if c <= 1024 else "NOT met", max(c, 0), slope, icpt))


def gateway_tables(rows):
    g = [r for r in rows if r.get("op") in ("http", "ttfb")]
    if not g:
        return
    print()
    err = [r for r in g if "error" in r]
    for r in err:
        print("gateway bench: %s %s failed: %s" % (r["impl"], r["body"], r["error"]))
    idx = {(r["impl"], r["op"], r.get("mode"), r["body"]): r for r in g if "error" not in r}
    bodies = []
    for r in g:
        if r["body"] not in bodies:
            bodies.append(r["body"])
    sat = [r for r in g if r.get("mode") == "saturated"]
    if sat:
        r0 = sat[0]
        print("Gateway (wrk -t1 -c%d -d%ds on loopback, median of %d rounds; "
              "nginx worker_processes and chatseal --workers: %d; "
              "latency in us):" % (r0["connections"], r0["duration_s"],
                                   r0["rounds"], r0.get("workers", 1)))
        print("%-10s %-8s %10s %8s %8s %10s %8s %9s" % (
            "body", "path", "req/s", "p50", "p99", "vs nginx", "errors",
            "cpu/req"))
        for b in bodies:
            n = idx.get(("nginx", "http", "saturated", b))
            for t in ("direct", "nginx", "gateway"):
                r = idx.get((t, "http", "saturated", b))
                if not r:
                    continue
                print("%-10s %-8s %10.0f %8d %8d %10s %8d %9s" % (
                    b, t, r["rps"], r["p50_us"], r["p99_us"],
                    "%.2fx" % (r["rps"] / n["rps"]) if n else "-",
                    r["errors"] + r["non2xx"],
                    "%.1f" % r["cpu_us_per_req"] if r.get("cpu_us_per_req") else "-"))
        print("(cpu/req: CPU time in us of the process wrk talks to, per request:"
              " the upstream nginx for direct, the nginx proxy, the gateway)")
    for mode, what in (("half", "fixed waits: connections in step, bursts"),
                       ("half-random", "exponential waits: independent arrivals")):
        half = [r for r in g if r.get("mode") == mode]
        if not half:
            continue
        print()
        print("At about half of saturation, %s (same offered rate for all "
              "paths; latency in us):" % what)
        print("%-10s %-8s %10s %10s %8s %8s %14s" % (
            "body", "path", "offered", "req/s", "p50", "p99", "p99 - direct"))
        for b in bodies:
            d = idx.get(("direct", "http", mode, b))
            for t in ("direct", "nginx", "gateway"):
                r = idx.get((t, "http", mode, b))
                if not r:
                    continue
                print("%-10s %-8s %10d %10.0f %8d %8d %14s" % (
                    b, t, r["offered_rps"], r["rps"], r["p50_us"], r["p99_us"],
                    "%+d" % (r["p99_us"] - d["p99_us"]) if d else "-"))
    tt = [r for r in g if r["op"] == "ttfb"]
    if tt:
        print()
        print("Streaming time to first byte (us; one keep-alive connection, "
              "%d sequential requests):" % tt[0]["n"])
        print("%-10s %-8s %8s %8s %14s" % ("body", "path", "p50", "p99", "p50 - direct"))
        for b in bodies:
            d = idx.get(("direct", "ttfb", None, b))
            for t in ("direct", "nginx", "gateway"):
                r = idx.get((t, "ttfb", None, b))
                if r:
                    print("%-10s %-8s %8.0f %8.0f %14s" % (
                        b, t, r["p50_us"], r["p99_us"],
                        "%+.0f" % (r["p50_us"] - d["p50_us"]) if d else "-"))
    print()
    print("Targets of issue 3:")
    for b in bodies:
        n, w = idx.get(("nginx", "http", "saturated", b)), idx.get(("gateway", "http", "saturated", b))
        if n and w:
            x = w["rps"] / n["rps"]
            print("  [%s] %s: gateway >= 0.8x nginx proxy throughput: %.2fx" % (
                "met" if x >= 0.8 else "NOT met", b, x))
    for mode in ("half", "half-random"):
        for b in bodies:
            d, w = idx.get(("direct", "http", mode, b)), idx.get(("gateway", "http", mode, b))
            if d and w:
                x = w["p99_us"] - d["p99_us"]
                print("  [%s] %s: p99 added latency < 1 ms at half saturation (%s): %+d us" % (
                    "met" if x < 1000 else "NOT met", b,
                    "fixed waits" if mode == "half" else "exponential waits", x))
    for b in bodies:
        d, w = idx.get(("direct", "ttfb", None, b)), idx.get(("gateway", "ttfb", None, b))
        if d and w:
            x = w["p50_us"] - d["p50_us"]
            print("  [%s] %s: streaming TTFB within 1 ms of direct: %+.0f us (median)" % (
                "met" if x <= 1000 else "NOT met", b, x))


def environment(rows):
    for r in rows:
        if r.get("op") == "env":
            print("Machine: %s, %s cores; %s; %s; node %s; %s; %s" % (
                r.get("cpu"), r.get("nproc"), r.get("kernel"), r.get("openssl"),
                r.get("node"), r.get("python"), r.get("cc")))
            return


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: report.py RESULTS.jsonl...")
    rows = load(sys.argv[1:])
    environment(rows)
    timing_tables(rows)
    gateway_tables(rows)


if __name__ == "__main__":
    main()
