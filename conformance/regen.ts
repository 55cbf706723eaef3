/**
 * Regenerate the golden traces: `npm run conformance:regen` (needs CPython 3.13; set `PYTHON` to its
 * path, or have pyenv with a 3.13 installed).
 *
 * Emits every hand-written program and the generated programs of seeds 1, 2, ... (core only, then with
 * primitives and queues) as Python, runs them
 * all in one CPython process (`pyrun.py`, virtual clock), sets aside generated programs that deadlock
 * (`deadlock-*.json`: their trace stops where CPython can go no further), and
 * writes `golden/*.json`: per program its description, the hash of the emitted Python (so the test can
 * tell a stale golden from a runtime difference) and CPython's trace.
 *
 * Options: `--count N` generated core programs to keep (default 600), `--sync M` generated programs
 * with primitives and queues (default 400), `--extra K` generated programs that use `as_completed`,
 * `call_soon`, `call_later`, done callbacks or timeout rescheduling (default 150), `--co C` programs of
 * the coroutine form (`Program.co`: combinators handed `f()`; default 300, and a third as many with
 * primitives and queues), `--streams S` programs with stream readers fed and read by their tasks (default
 * 150, and a third as many of the coroutine form).
 *
 * @module
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { findPython, runPython } from "./python.js";
import { emitPython } from "./emit.js";
import { generate } from "./gen.js";
import { handwritten } from "./handwritten.js";
import { GOLDEN_CHUNK, type GoldenEntry, type GoldenFile, pyHash } from "./golden.js";
import type { Program } from "./program.js";

const here = fileURLToPath(new URL(".", import.meta.url));

function entryOf(p: Program): Omit<GoldenEntry, "trace"> {
  return { id: p.id, main: p.main, ...(p.res ? { res: p.res } : {}), ...(p.co ? { co: true as const } : {}), py: pyHash(emitPython(p)) };
}

function main(): void {
  const args = process.argv.slice(2);
  const ci = args.indexOf("--count");
  const count = ci >= 0 ? Number(args[ci + 1]) : 600;
  const si = args.indexOf("--sync");
  const syncCount = si >= 0 ? Number(args[si + 1]) : 400;
  const ei = args.indexOf("--extra");
  const extraCount = ei >= 0 ? Number(args[ei + 1]) : 150;
  const coi = args.indexOf("--co");
  const coCount = coi >= 0 ? Number(args[coi + 1]) : 300;
  const sti = args.indexOf("--streams");
  const streamsCount = sti >= 0 ? Number(args[sti + 1]) : 150;
  const py = findPython();

  const hand = runPython(py, handwritten);
  const handEntries: GoldenEntry[] = [];
  let version = "";
  for (const p of handwritten) {
    const res = hand.get(p.id)!;
    if (res.deadlock) throw new Error(`hand-written program ${p.id} deadlocks on CPython`);
    version = res.python;
    handEntries.push({ id: p.id, main: p.main, ...(p.res ? { res: p.res } : {}), py: pyHash(emitPython(p)), trace: res.lines });
  }

  const collect = (
    n: number,
    sync: boolean,
    extra = false,
    keep: (p: Program) => boolean = () => true,
    co = false,
    streams = false,
  ): { entries: GoldenEntry[]; deadlocks: GoldenEntry[]; seeds: number; rejected: number } => {
    const entries: GoldenEntry[] = [];
    const deadlocks: GoldenEntry[] = [];
    let seed = 1;
    let rejected = 0;
    while (entries.length < n) {
      const batch: Program[] = [];
      while (batch.length < n - entries.length + 20) {
        const p = generate(seed++, sync, false, extra, co, streams);
        if (keep(p)) batch.push(p);
      }
      const res = runPython(py, batch);
      for (const p of batch) {
        const r = res.get(p.id)!;
        if (r.deadlock) {
          rejected++;
          if (entries.length < n) {
            deadlocks.push({ ...entryOf(p), trace: r.lines, deadlock: true });
          }
          continue;
        }
        if (entries.length < n) {
          entries.push({ ...entryOf(p), trace: r.lines });
        }
      }
    }
    return { entries, deadlocks, seeds: seed - 1, rejected };
  };
  const core = collect(count, false);
  const sync = collect(syncCount, true);
  const usesExtra = (p: Program): boolean => /\["(asCompleted|callSoon|callLater|onDone|reschedule|expired)"/.test(JSON.stringify(p.main));
  const extra = collect(extraCount, false, true, usesExtra);
  const usesCo = (p: Program): boolean => /\["(gatherCo|shieldCo|asCompletedCo|waitFor)",\[/.test(JSON.stringify(p.main));
  const co = collect(coCount, false, false, usesCo, true);
  const coSync = collect(Math.round(coCount / 3), true, false, usesCo, true);
  const streams = collect(streamsCount, false, false, () => true, false, true);
  const coStreams = collect(Math.round(streamsCount / 3), false, false, usesCo, true, true);

  const dir = `${here}/golden`;
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith(".json")) rmSync(`${dir}/${f}`);
  const write = (name: string, entries: GoldenEntry[]): void => {
    const file: GoldenFile = { python: version, generatedBy: "npm run conformance:regen", programs: entries };
    const body = JSON.stringify({ ...file, programs: [] }).replace(/"programs":\[\]\}$/, '"programs":[\n');
    writeFileSync(`${dir}/${name}`, body + entries.map((e) => JSON.stringify(e)).join(",\n") + "\n]}\n");
  };
  write("handwritten.json", handEntries);
  const chunks = (prefix: string, entries: GoldenEntry[]): void => {
    for (let i = 0; i * GOLDEN_CHUNK < entries.length; i++) {
      write(`${prefix}-${String(i).padStart(2, "0")}.json`, entries.slice(i * GOLDEN_CHUNK, (i + 1) * GOLDEN_CHUNK));
    }
  };
  chunks("generated", core.entries);
  chunks("sync", sync.entries);
  chunks("extra", extra.entries);
  chunks("coroutine", [...co.entries, ...coSync.entries]);
  chunks("streams", [...streams.entries, ...coStreams.entries]);
  chunks("deadlock", [...core.deadlocks, ...sync.deadlocks, ...extra.deadlocks, ...co.deadlocks, ...coSync.deadlocks, ...streams.deadlocks, ...coStreams.deadlocks]);
  console.log(
    `CPython ${version}: ${handEntries.length} hand-written programs; ${core.entries.length} generated core programs ` +
      `(seeds 1..${core.seeds}, ${core.rejected} more deadlock); ${sync.entries.length} generated programs ` +
      `with primitives and queues (seeds 1..${sync.seeds}, ${sync.rejected} more deadlock on CPython: compared up to the deadlock); ` +
      `${extra.entries.length} generated programs using as_completed, call_soon, call_later, done callbacks or timeout rescheduling ` +
      `(${extra.rejected} more deadlock); ${co.entries.length + coSync.entries.length} of the coroutine form; ` +
      `${streams.entries.length + coStreams.entries.length} with stream readers`,
  );
}

main();
