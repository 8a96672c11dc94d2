// timing.mjs -- the measurement loop shared by the Node seed benchmarks, the
// same method as bench/bench_verify.c and timing.py: warm up, size a batch so
// that it runs for at least ~2 ms, then take the median of many batches.
// Prints one JSON line per measurement.

export const RUNS = Number(process.env.BENCH_RUNS || 31);
const BATCH_NS = 2e6;
const WARM_NS = 1e8;

export async function measure(fn) {
  const now = () => process.hrtime.bigint();
  let t0 = now();
  let iters = 0;
  while (Number(now() - t0) < WARM_NS || iters < 3) {
    await fn();
    iters++;
  }
  const per = Number(now() - t0) / iters;
  const k = Math.max(1, Math.ceil(BATCH_NS / per));
  const samples = [];
  for (let r = 0; r < RUNS; r++) {
    t0 = now();
    for (let i = 0; i < k; i++) await fn();
    samples.push(Number(now() - t0) / k);
  }
  samples.sort((a, b) => a - b);
  return { median_ns: samples[samples.length >> 1], min_ns: samples[0], runs: RUNS, batch: k };
}

export function report(impl, op, body, bytes, r) {
  console.log(JSON.stringify({ impl, op, body, bytes, ...r }));
}

export function bodyName(path) {
  return path.split('/').pop().replace(/\.json$/, '');
}
