/**
 * What task identity would cost code that has nothing to do with asyncio-ts: await-heavy plain async
 * functions (100,000 of them, each awaiting two inner async functions), run in child processes with
 * nothing installed, with the lean promise hooks of `src/core/current.ts` installed (what the hooks
 * mechanism does on Node 20; the frames mechanism installs nothing), and with AsyncLocalStorage enabled
 * (one `run` at start-up, the first design).
 *
 *   node bench/context-cost.mjs            # under the current Node; children alternate, 5 each
 *
 * Prints one Markdown table: the median over the children of each child's mean ns per outer call.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const CHILDREN = 5;
const child = process.argv[2];

if (child !== undefined) {
  if (child === "hooks") {
    const { promiseHooks } = await import("node:v8");
    let current = null;
    const TAG = Symbol("task");
    promiseHooks.onInit((p) => {
      if (current !== null) p[TAG] = current;
    });
    promiseHooks.onBefore((p) => {
      const t = p[TAG];
      current = t === undefined ? null : t;
    });
    promiseHooks.onAfter(() => {
      current = null;
    });
  } else if (child === "als") {
    const { AsyncLocalStorage } = await import("node:async_hooks");
    new AsyncLocalStorage().run(1, () => {});
  }
  const N = 100_000;
  const leaf = async (i) => {
    await null;
    return i;
  };
  const mid = async (i) => (await leaf(i)) + (await leaf(i + 1));
  const round = async () => {
    const ps = new Array(N);
    for (let i = 0; i < N; i++) ps[i] = mid(i);
    return (await Promise.all(ps)).length;
  };
  for (let w = 0; w < 3; w++) await round();
  const R = 10;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < R; r++) await round();
  console.log(JSON.stringify({ ns: Number(process.hrtime.bigint() - t0) / (N * R) }));
} else {
  const kinds = [
    ["none", "nothing installed"],
    ["hooks", "lean promise hooks installed (Node 20's mechanism)"],
    ["als", "AsyncLocalStorage enabled"],
  ];
  const samples = new Map(kinds.map(([k]) => [k, []]));
  for (let c = 0; c < CHILDREN; c++) {
    for (const [k] of kinds) {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), k], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(r.stderr);
      samples.get(k).push(JSON.parse(r.stdout.trim().split("\n").pop()).ns);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const base = median(samples.get("none"));
  console.log(`await-heavy plain code, ns per outer call (Node ${process.versions.node}, median of ${CHILDREN} children)`);
  console.log("| | ns | x nothing |\n|---|---:|---:|");
  for (const [k, name] of kinds) {
    const m = median(samples.get(k));
    console.log(`| ${name} | ${m.toFixed(0)} | ${(m / base).toFixed(2)}x |`);
  }
}
