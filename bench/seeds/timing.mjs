// timing.mjs -- the measurement loop shared by the Node seed benchmarks, the
// same method as bench/bench_verify.c and ragbits_state.py: warm up, size a
// batch so that it runs for at least ~2 ms, then take the median of many
// batches.  Time is the process's CPU time (process.cpuUsage(): user +
// system, every thread of the process, so Web Crypto work done on libuv's
// thread pool counts too), as bench_verify measures chatseal: on a shared
// machine wall-clock batches mostly measure waiting for a core.  The
// wall-clock median is reported too (wall_median_ns).
// Prints one JSON line per measurement.

export const RUNS = Number(process.env.BENCH_RUNS || 31);
const BATCH_NS = 2e6;
const WARM_NS = 1e8;

const cpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1e3;
};

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
  const cpu = [];
  const wall = [];
  for (let r = 0; r < RUNS; r++) {
    t0 = now();
    const c0 = cpuNs();
    for (let i = 0; i < k; i++) await fn();
    cpu.push((cpuNs() - c0) / k);
    wall.push(Number(now() - t0) / k);
  }
  const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
  return {
    median_ns: med(cpu), min_ns: cpu[0], wall_median_ns: med(wall), clock: 'cpu',
    runs: RUNS, batch: k,
  };
}

export function report(impl, op, body, bytes, r) {
  console.log(JSON.stringify({ impl, op, body, bytes, ...r }));
}

export function bodyName(path) {
  return path.split('/').pop().replace(/\.json$/, '');
}
