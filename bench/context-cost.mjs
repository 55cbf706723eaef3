/**
 * What task identity costs await-heavy code, whatever the library around it: plain async functions
 * (100,000 of them, each awaiting two inner async functions; no asyncio-ts), run in child processes with
 * nothing installed; with one empty `init` promise hook (the least any design that knows a promise's
 * parent must install: V8 then makes a throwaway promise at every `await` and calls the hook for each
 * promise); with the lean promise hooks of `src/core/current.ts` (tags, no log); with AsyncLocalStorage
 * enabled (one `run` at start-up, the first design); and with one `AsyncLocalStorage.run` per outer call
 * (Node 24's frames carrying each call's identity: the design before issue 11).
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
  let als = null;
  if (child === "init") {
    const { promiseHooks } = await import("node:v8");
    promiseHooks.onInit(() => {});
  } else if (child === "hooks") {
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
  } else if (child === "als" || child === "frames") {
    const { AsyncLocalStorage } = await import("node:async_hooks");
    als = new AsyncLocalStorage();
    als.run(1, () => {});
  }
  const N = 100_000;
  const leaf = async (i) => {
    await null;
    return i;
  };
  const mid = async (i) => (await leaf(i)) + (await leaf(i + 1));
  const round = async () => {
    const ps = new Array(N);
    if (child === "frames") for (let i = 0; i < N; i++) ps[i] = als.run(i, mid, i);
    else for (let i = 0; i < N; i++) ps[i] = mid(i);
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
    ["init", "one empty promise `init` hook"],
    ["hooks", "lean promise hooks (tags on every promise)"],
    ["als", "AsyncLocalStorage enabled"],
    ["frames", "one AsyncLocalStorage.run per outer call"],
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
