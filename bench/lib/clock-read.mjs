// The cost of one read of the monotonic clock, three ways: `performance.now()` (node:perf_hooks), the
// `process.hrtime()` pair counted in ms (what src/core/real-timers.ts reads), and `process.hrtime.bigint()`.
// `node bench/lib/clock-read.mjs`: ns per read, the last of 3 rounds of 2,000,000 reads each.
const { performance } = process.getBuiltinModule("node:perf_hooks");
const hr = process.hrtime;
const big = process.hrtime.bigint;
const [s0, n0] = hr();
const nowHr = () => {
  const t = hr();
  return (t[0] - s0) * 1e3 + (t[1] - n0) / 1e6;
};
const b0 = big();
const nowBig = () => Number(big() - b0) / 1e6;
function bench(name, f) {
  let sink = 0;
  let ns = 0;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    for (let i = 0; i < 2e6; i++) sink += f();
    ns = ((performance.now() - t) * 1e6) / 2e6;
  }
  console.log(`${name}: ${ns.toFixed(1)} ns per read${sink === -1 ? "" : ""}`);
}
bench("performance.now()", () => performance.now());
bench("process.hrtime() in ms", nowHr);
bench("process.hrtime.bigint() in ms", nowBig);
