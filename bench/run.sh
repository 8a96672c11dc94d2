#!/usr/bin/env bash
# bench/run.sh [--quick] [--gateway] -- chatseal next to raw SHA-256 and the
# three seed systems, on the same generated request bodies, in one run;
# prints one table (`make bench` runs this after scripts/bootstrap.sh --bench).
#
#   1. builds bench_verify, bench_allocs and chatseal in build-bench/
#      (--buildtype=release)
#   2. writes the bodies (bench/gen_bodies.py) into a temporary folder
#   3. PASSES times (default 3), each pass timing every implementation on
#      every body in turn, so that a slow minute on a shared machine does not
#      land on one implementation only: raw SHA-256 and chatseal
#      canon/verify/sign/extend (bench_verify, interleaved rounds); the seeds
#      as their documents describe them: Node flat "role:content|" HMAC
#      (node:crypto), Node Web Crypto chained per-message HMAC, Python
#      json.loads + json.dumps(sort_keys=True) + hmac.  Times are CPU time of
#      the process, medians of batches; the report takes the median over the
#      passes.
#   4. peak RSS of one verify of each body in a fresh process (getrusage in
#      the process, and /usr/bin/time -v when present), and heap allocations
#      per verify and per sign in steady state (bench_allocs)
#   5. with --gateway: bench/gateway.py (wrk through chatseal serve, nginx
#      proxy_pass and direct; needs nginx and wrk)
#   6. bench/report.py prints medians, verify/SHA-256, the speedups, memory,
#      allocations, the gateway tables and which targets are met
#
# --quick: one pass, fewer batches (BENCH_RUNS=9), the 200- and
# 2000-message bodies only, a short gateway run.  BENCH_RUNS, BENCH_PASSES
# and BENCH_BUILD override the defaults.  Raw results stay in $BENCH_OUT
# (default: a temporary folder, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BENCH_BUILD:-build-bench}
quick=0
gateway=0
for a in "$@"; do
    case $a in
    --quick) quick=1 ;;
    --gateway) gateway=1 ;;
    *)
        echo "usage: bench/run.sh [--quick] [--gateway]" >&2
        exit 2
        ;;
    esac
done
export BENCH_RUNS=${BENCH_RUNS:-$([ $quick = 1 ] && echo 9 || echo 31)}
passes=${BENCH_PASSES:-$([ $quick = 1 ] && echo 1 || echo 3)}

if [ ! -f "$build/build.ninja" ]; then
    # Warnings are enforced by the normal build (warning_level=2, werror);
    # this build only times things, and gcc's -O3 warns about things -O2
    # does not, so it must not stop here.
    meson setup "$build" --buildtype=release -Dwerror=false >/dev/null
fi
ninja -C "$build" bench/bench_verify bench/bench_allocs src/cli/chatseal >/dev/null

out=${BENCH_OUT:-}
if [ -z "$out" ]; then
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
python3 bench/gen_bodies.py "$out/bodies" >&2
names=(ascii-10 ascii-200 ascii-2000 multi-10 multi-200 multi-2000 short-2000)
[ $quick = 1 ] && names=(ascii-200 ascii-2000 multi-200 short-2000)
bodies=()
for n in "${names[@]}"; do bodies+=("$out/bodies/$n.json"); done

res=$out/results.jsonl
: >"$res"
# the machine, for the record
python3 - "$res" <<'EOF'
import json, os, platform, subprocess, sys
def cmd(*a):
    try:
        return subprocess.run(a, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except Exception:
        return "-"
cpu = "-"
for l in open("/proc/cpuinfo"):
    if l.startswith("model name"):
        cpu = l.split(":", 1)[1].strip()
        break
flags = open("/proc/cpuinfo").read()
rec = {"op": "env", "cpu": cpu, "nproc": os.cpu_count(),
       "sha_ni": " sha_ni" in flags, "avx2": " avx2" in flags,
       "kernel": platform.release(), "openssl": cmd("openssl", "version"),
       "node": cmd("node", "--version"), "python": platform.python_version(),
       "cc": cmd("cc", "--version"), "load": os.getloadavg()[0]}
open(sys.argv[1], "a").write(json.dumps(rec) + "\n")
EOF

for p in $(seq 1 "$passes"); do
    echo "bench: pass $p/$passes: chatseal (C)" >&2
    "$build/bench/bench_verify" --runs "$BENCH_RUNS" "${bodies[@]}" >>"$res"
    if command -v node >/dev/null; then
        echo "bench: pass $p/$passes: Node seeds" >&2
        node bench/seeds/conversation_integrity.mjs "${bodies[@]}" >>"$res"
        node bench/seeds/message_signer.mjs "${bodies[@]}" >>"$res"
    else
        echo "bench: node not found, Node seeds skipped" >&2
    fi
    echo "bench: pass $p/$passes: Python seed" >&2
    python3 bench/seeds/ragbits_state.py "${bodies[@]}" >>"$res"
done

echo "bench: memory and allocations" >&2
for n in "${names[@]}"; do
    f=$out/bodies/$n.json
    tok=$("$build/bench/bench_verify" --sign "$f")
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v "$build/bench/bench_verify" --rss "$f" "$tok" \
            >>"$res" 2>"$out/time-$n.txt"
        kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out/time-$n.txt")
        printf '{"impl":"chatseal","op":"time-v","body":"%s","max_rss_kb":%s}\n' \
            "$n" "${kb:-0}" >>"$res"
    else
        "$build/bench/bench_verify" --rss "$f" "$tok" >>"$res"
    fi
done
"$build/bench/bench_allocs" "${bodies[@]}" >>"$res"

rc=0
if [ $gateway = 1 ]; then
    echo "bench: gateway (wrk through chatseal serve, nginx, direct)" >&2
    gw_args=()
    [ $quick = 1 ] && gw_args+=(--quick)
    BENCH_BUILD=$build python3 bench/gateway.py --bodies "$out/bodies" \
        --out "$res" "${gw_args[@]}" || rc=$?
fi

python3 bench/report.py "$res"
exit $rc
