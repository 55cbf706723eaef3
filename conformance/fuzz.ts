/**
 * Look for differences beyond the committed goldens: `npx vite-node conformance/fuzz.ts -- --from 5000
 * --count 2000 [--sync] [--big] [--extra] [--co] [--streams]` generates programs (`--co`: the coroutine form, see
 * `Program.co`), runs them on CPython (`pyrun.py`) and on asyncio-ts, and
 * prints the first differing line of each mismatch (nothing is written). Needs CPython 3.13 like
 * `regen.ts`. A mismatch found this way becomes a hand-written program once understood.
 *
 * @module
 */
import { emitTs } from "./emit.js";
import { generate } from "./gen.js";
import type { Program } from "./program.js";
import { findPython, runPython } from "./python.js";
import { runTs } from "./run-ts.js";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const num = (name: string, dflt: number): number => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const from = num("--from", 100_000);
  const count = num("--count", 1000);
  const sync = args.includes("--sync");
  const big = args.includes("--big");
  const extra = args.includes("--extra");
  const co = args.includes("--co");
  const streams = args.includes("--streams");
  const py = findPython();
  const programs: Program[] = [];
  for (let s = from; s < from + count; s++) programs.push(generate(s, sync, big, extra, co, streams));
  const res = runPython(py, programs);
  let compared = 0;
  let differ = 0;
  let deadlocks = 0;
  let deadlocksDiffer = 0;
  for (const p of programs) {
    const r = res.get(p.id)!;
    if (r.deadlock) {
      // CPython can never finish it: asyncio-ts must print the same lines up to that point, then
      // find the deadlock too (it cancels the blocked tasks, which CPython never gets to do).
      deadlocks++;
      const silent = console.error;
      console.error = () => {};
      const { lines, deadlockAfter } = await runTs(emitTs(p), 5000, 5);
      console.error = silent;
      const got = deadlockAfter === undefined ? [...lines, "<no deadlock>"] : lines.slice(0, deadlockAfter);
      let i = r.lines.findIndex((l, k) => l !== got[k]);
      if (i < 0 && got.length !== r.lines.length) i = r.lines.length;
      if (i >= 0) {
        deadlocksDiffer++;
        console.log(`${p.id} (deadlocks) line ${i + 1}\n  CPython:    ${r.lines[i]}\n  asyncio-ts: ${got[i]}`);
      }
      continue;
    }
    compared++;
    const { lines, hung } = await runTs(emitTs(p));
    let i = 0;
    while (i < r.lines.length && r.lines[i] === lines[i]) i++;
    if (hung || i < r.lines.length || lines.length !== r.lines.length) {
      differ++;
      console.log(`${p.id} line ${i + 1}${hung ? " (hung)" : ""}\n  CPython:    ${r.lines[i]}\n  asyncio-ts: ${lines[i]}`);
    }
  }
  console.log(`${compared} compared, ${differ} differ; ${deadlocks} deadlock on CPython, ${deadlocksDiffer} differ before it`);
}

await main();
