#!/usr/bin/env python3
"""report.py RESULTS.jsonl -- the table bench/run.sh prints.

Reads the JSON lines written by bench_verify, bench_allocs and the seed
benchmarks (one schema: impl, op, body, bytes, median_ns, ...) and prints
medians, verify/SHA-256, chatseal's speedup over each seed, the per-message
overhead, memory, and whether each target of docs/PERFORMANCE.md is met.
Standard library only.
"""
import json
import sys

SEEDS = [("node-flat-hmac", "Node flat HMAC"),
         ("node-webcrypto-chain", "Node WebCrypto chain"),
         ("python-sorted-json-hmac", "Python sorted JSON")]


def us(ns):
    return "%.1f" % (ns / 1000) if ns is not None else "-"


def main():
    rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
    t = {}
    bodies = []
    extra = {}
    for r in rows:
        if "median_ns" in r:
            t[(r["impl"], r["op"], r["body"])] = r
            if r["body"] not in bodies:
                bodies.append(r["body"])
        else:
            extra.setdefault(r["op"], {})[r["body"]] = r

    def med(impl, op, body):
        r = t.get((impl, op, body))
        return r["median_ns"] if r else None

    print()
    print("Medians in microseconds (lower is better); MB/s = body bytes / median.")
    hdr = ("body", "KB", "msgs", "SHA-256", "verify", "verify MB/s", "verify/SHA",
           "sign", "extend", "canon")
    print("%-11s %7s %5s %9s %9s %11s %10s %9s %9s %9s" % hdr)
    for b in bodies:
        c = t.get(("chatseal", "verify", b))
        if not c:
            continue
        sha, ver = med("chatseal", "sha256", b), med("chatseal", "verify", b)
        print("%-11s %7.1f %5d %9s %9s %11.0f %10.2f %9s %9s %9s" % (
            b, c["bytes"] / 1024, c.get("messages", 0), us(sha), us(ver),
            c["bytes"] / ver * 1e3, ver / sha, us(med("chatseal", "sign", b)),
            us(med("chatseal", "extend", b)), us(med("chatseal", "canon", b))))

    print()
    print("Seeds, verify (as their documents describe them), and chatseal's speedup:")
    print("%-11s " % "body" + " ".join("%21s %8s" % (name, "speedup") for _, name in SEEDS))
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

    print()
    print("Memory (one verify per process; KB):")
    for b, r in extra.get("rss", {}).items():
        tv = extra.get("time-v", {}).get(b)
        print("  %-11s body %8.0f  base %6d  peak %7d  (peak-base)/body %.2f%s" % (
            b, r["body_kb"], r["base_kb"], r["peak_kb"], r["extra_over_body"],
            "  /usr/bin/time -v max RSS %d" % tv["max_rss_kb"] if tv else ""))
    print("Allocations per operation in steady state:")
    for b, r in extra.get("allocs", {}).items():
        print("  %-11s %5d messages  verify %7.1f allocs (%8.0f bytes)  sign %7.1f allocs" % (
            b, r["messages"], r["verify_allocs"], r["verify_alloc_bytes"], r["sign_allocs"]))

    print()
    print("Targets:")
    for b in bodies:
        if b.endswith("-200"):
            sha, ver = med("chatseal", "sha256", b), med("chatseal", "verify", b)
            if sha and ver:
                print("  [%s] %s: verify <= 2x SHA-256: %.2fx" % (
                    "met" if ver <= 2 * sha else "NOT met", b, ver / sha))
    for b in bodies:
        ver = med("chatseal", "verify", b)
        peers = [(med(i, "verify", b), n) for i, n in SEEDS if med(i, "verify", b)]
        if ver and peers:
            fastest, name = min(peers)
            print("  [%s] %s: >= 10x the fastest seed (%s): %.1fx" % (
                "met" if fastest >= 10 * ver else "NOT met", b, name, fastest / ver))
    b = "short-2000"
    sha, ver = med("chatseal", "sha256", b), med("chatseal", "verify", b)
    c = t.get(("chatseal", "verify", b))
    if sha and ver and c:
        per = (ver - sha) / c["messages"]
        print("  [%s] %s: <= 1 us overhead per message over raw SHA-256: %.3f us" % (
            "met" if per <= 1000 else "NOT met", b, per / 1000))
    al = extra.get("allocs", {})
    if al:
        counts = sorted((r["messages"], r["verify_allocs"]) for r in al.values())
        lo, hi = counts[0], counts[-1]
        ok = hi[1] - lo[1] < (hi[0] - lo[0]) * 0.01 + 16
        print("  [%s] no allocation per message: verify allocs %.1f at %d messages, %.1f at %d" % (
            "met" if ok else "NOT met", lo[1], lo[0], hi[1], hi[0]))
    for b, r in extra.get("rss", {}).items():
        print("  [%s] %s: peak RSS <= 2x body + constant: (peak-base)/body = %.2f" % (
            "met" if r["extra_over_body"] <= 2 else "NOT met", b, r["extra_over_body"]))


if __name__ == "__main__":
    main()
