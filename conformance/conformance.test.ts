/**
 * The differential test: every program of `golden/*.json` runs on asyncio-ts under virtual time, and
 * its trace must equal CPython's line for line, timestamps included. A failure prints both programs and
 * the first differing line. (Regenerate the goldens with `npm run conformance:regen`.)
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { emitPython, emitTs } from "./emit.js";
import { type GoldenEntry, type GoldenFile, pyHash } from "./golden.js";
import { runTs } from "./run-ts.js";

const dir = fileURLToPath(new URL("./golden/", import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .sort();

function report(entry: GoldenEntry, py: string, ts: string, got: string[], hung: boolean): string {
  const want = entry.trace;
  let i = 0;
  while (i < want.length && i < got.length && want[i] === got[i]) i++;
  const show = (lines: string[]): string =>
    lines
      .slice(Math.max(0, i - 3), i + 4)
      .map((l, k) => `${Math.max(0, i - 3) + k === i ? ">" : " "} ${l}`)
      .join("\n");
  return [
    `${entry.id}: traces differ at line ${i + 1}${hung ? " (asyncio-ts hung)" : ""}`,
    `  CPython:    ${want[i] ?? "<end of trace>"}`,
    `  asyncio-ts: ${got[i] ?? "<end of trace>"}`,
    "",
    "CPython trace around it:",
    show(want),
    "asyncio-ts trace around it:",
    show(got),
    "",
    "Python program (prelude: conformance/pyrun.py):",
    py,
    "TypeScript program (prelude: conformance/run-ts.ts):",
    ts,
  ].join("\n");
}

for (const f of files) {
  const golden = JSON.parse(readFileSync(dir + f, "utf8")) as GoldenFile;
  describe(`conformance ${f} (CPython ${golden.python})`, () => {
    it.each(golden.programs.map((p) => [p.id, p] as const))("%s", async (_id, entry) => {
      const program = { id: entry.id, main: entry.main, res: entry.res, co: entry.co };
      const py = emitPython(program);
      if (pyHash(py) !== entry.py) {
        throw new Error(`${entry.id}: the Python emitter changed since the golden was made: run npm run conformance:regen`);
      }
      const ts = emitTs(program);
      if (entry.deadlock) {
        // CPython can never finish this one: asyncio-ts must print the same lines, then find the
        // deadlock too (its report is the point where the traces stop being comparable).
        const { lines, hung, deadlockAfter } = await runTs(ts, 5000, 5);
        const got = deadlockAfter === undefined ? [...lines, "<no deadlock>"] : lines.slice(0, deadlockAfter);
        if (hung || got.length !== entry.trace.length || got.some((l, i) => l !== entry.trace[i])) {
          expect.fail(report(entry, py, ts, got, hung));
        }
        return;
      }
      const { lines, hung } = await runTs(ts);
      if (hung || lines.length !== entry.trace.length || lines.some((l, i) => l !== entry.trace[i])) {
        expect.fail(report(entry, py, ts, lines, hung));
      }
    });
  });
}
