#!/usr/bin/env bash
# bench/run.sh [--quick] -- chatseal next to raw SHA-256 and the three seed
# systems, on the same generated request bodies, in one run; prints one table.
#
#   1. builds bench_verify and bench_allocs in build-bench/ (release)
#   2. writes the bodies (bench/gen_bodies.py) into a temporary folder
#   3. times: raw SHA-256, chatseal canon/verify/sign/extend (bench_verify);
#      the seeds as their documents describe them: Node flat "role:content|"
#      HMAC (node:crypto), Node Web Crypto chained per-message HMAC, Python
#      json.loads + json.dumps(sort_keys=True) + hmac
#   4. peak RSS of one verify of each 2000-message body (getrusage in the
#      process, and /usr/bin/time -v when present), allocations per verify
#   5. bench/report.py prints medians, verify/SHA-256 and the speedups
#
# --quick: fewer batches (BENCH_RUNS=9) and only the 200- and 2000-message
# bodies.  BENCH_RUNS overrides the number of batches; BENCH_BUILD the build
# folder.  Raw results stay in $BENCH_OUT (default: a temporary folder).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BENCH_BUILD:-build-bench}
quick=0
[ "${1:-}" = "--quick" ] && quick=1
export BENCH_RUNS=${BENCH_RUNS:-$([ $quick = 1 ] && echo 9 || echo 31)}

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" --buildtype=release >/dev/null
fi
ninja -C "$build" bench/bench_verify bench/bench_allocs >/dev/null

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
echo "bench: chatseal (C)" >&2
"$build/bench/bench_verify" --runs "$BENCH_RUNS" "${bodies[@]}" >>"$res"
if command -v node >/dev/null; then
    echo "bench: Node seeds" >&2
    node bench/seeds/conversation_integrity.mjs "${bodies[@]}" >>"$res"
    node bench/seeds/message_signer.mjs "${bodies[@]}" >>"$res"
else
    echo "bench: node not found, Node seeds skipped" >&2
fi
echo "bench: Python seed" >&2
python3 bench/seeds/ragbits_state.py "${bodies[@]}" >>"$res"

echo "bench: memory" >&2
for n in ascii-2000 multi-2000 short-2000; do
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

python3 bench/report.py "$res"
