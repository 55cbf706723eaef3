/**
 * What debug mode's await sites cost (`src/core/current.ts`, "await sites"): 10,000 tasks each awaiting
 * 10 one-millisecond sleeps on virtual time, with and without debug mode, in alternating child
 * processes (5 each); prints the median ns per await.
 *
 *   npm run build && node bench/debug-cost.mjs
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const DIST = process.env.ASYNCIO_BENCH_DIST ?? fileURLToPath(new URL("../dist", import.meta.url));
if (process.argv[2] === "child") {
  const { run, createTask, gather, sleep } = await import(`${DIST}/src/index.js`);
  const debug = process.argv[3] === "debug";
  const TASKS = 10_000;
  const AWAITS = 10;
  const once = () =>
    run(async () => {
      const ts = [];
      for (let i = 0; i < TASKS; i++) ts.push(createTask(async () => { for (let k = 0; k < AWAITS; k++) await sleep(1); }));
      await gather(...ts);
    }, { virtualTime: true, debug, slowCallbackDuration: 1e9 });
  await once(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < 3; r++) await once();
  console.log(JSON.stringify({ nsPerAwait: Number(process.hrtime.bigint() - t0) / (3 * TASKS * AWAITS) }));
} else {
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const res = { off: [], debug: [] };
  for (let i = 0; i < 5; i++) {
    for (const mode of ["off", "debug"]) {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "child", mode], { encoding: "utf8" });
      res[mode].push(JSON.parse(out.trim().split("\n").at(-1)).nsPerAwait);
    }
  }
  console.log(`| mode | ns per await (median of 5 children) |\n|---|---:|`);
  for (const mode of ["off", "debug"]) console.log(`| ${mode === "off" ? "no debug mode" : "debug mode (await sites recorded)"} | ${Math.round(med(res[mode]))} |`);
  console.log(`ratio: ${(med(res.debug) / med(res.off)).toFixed(2)}x (Node ${process.versions.node})`);
}
