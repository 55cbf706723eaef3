/**
 * The golden files' format (`golden/*.json`), shared by the regeneration script and the test.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Block, Res } from "./program.js";

/** Generated programs per golden file (keeps each file small enough to review and diff). */
export const GOLDEN_CHUNK = 100;

/** One program and CPython's trace of it. */
export interface GoldenEntry {
  id: string;
  /** the program description (body of main) */
  main: Block;
  /** the primitives and queues it uses, if any */
  res?: Res[];
  /** the coroutine form (`Program.co`) */
  co?: true;
  /** hash of the Python program CPython ran (`emitPython`): detects a stale golden */
  py: string;
  /** CPython's printed lines, `<virtual ms> <text>` */
  trace: string[];
  /** the program deadlocks on CPython (nothing can ever wake its tasks): `trace` is what it printed before */
  deadlock?: true;
}

/** A golden file. */
export interface GoldenFile {
  /** the CPython version that produced the traces */
  python: string;
  generatedBy: string;
  programs: GoldenEntry[];
}

/** A short hash of an emitted Python program. */
export function pyHash(source: string): string {
  return createHash("sha256").update(source).digest("hex").slice(0, 12);
}
