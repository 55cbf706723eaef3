/**
 * Running CPython from the conformance scripts (`regen.ts`, `fuzz.ts`).
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { emitPython } from "./emit.js";
import type { Program } from "./program.js";

const here = fileURLToPath(new URL(".", import.meta.url));

/** The command that runs CPython 3.13. */
export function findPython(): string[] {
  if (process.env.PYTHON) return [process.env.PYTHON];
  const r = spawnSync("pyenv", ["versions", "--bare"], { encoding: "utf8" });
  const v = (r.stdout ?? "")
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => /^3\.13\.\d+$/.test(s))
    .sort()
    .pop();
  if (v === undefined) throw new Error("CPython 3.13 not found: set PYTHON=/path/to/python3.13");
  process.env.PYENV_VERSION = v;
  return ["python3"];
}

export interface PyResult {
  id: string;
  lines: string[];
  deadlock: boolean;
  python: string;
}

/** Run programs on CPython; their traces by id. */
export function runPython(py: string[], programs: Program[]): Map<string, PyResult> {
  const input = programs.map((p) => JSON.stringify({ id: p.id, py: emitPython(p) })).join("\n") + "\n";
  const r = spawnSync(py[0]!, [...py.slice(1), `${here}/pyrun.py`], {
    input,
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`pyrun.py failed (${r.status}):\n${r.stderr}`);
  const out = new Map<string, PyResult>();
  for (const line of r.stdout.split("\n")) {
    if (line.trim() === "") continue;
    const res = JSON.parse(line) as PyResult;
    out.set(res.id, res);
  }
  return out;
}
