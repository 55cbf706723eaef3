/**
 * The tour's programs against CPython's transcripts (virtual time, timestamps included) and against the
 * seed notebook's own transcript.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BEYOND, CELLS, Kernel, cellSource, runCellNotebook, runCellScript, type CellRun } from "../../src/cli/tour.js";

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8");

/** CPython's virtual-clock transcripts: cell key -> ["<ms> <text>", ...] */
function cpythonTranscripts(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of fixture("seed-cpython-virtual.txt").split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(\S+) (\d+) (.*)$/.exec(line);
    if (!m) throw new Error(`bad fixture line ${line}`);
    const [, key, ms, text] = m;
    if (!out.has(key!)) out.set(key!, []);
    out.get(key!)!.push(`${ms} ${text === "{'data': 1}" ? "{ data: 1 }" : text}`);
  }
  out.set("In21", out.get("In22")!); // seed-notes: In [21] prints the same as In [22]
  return out;
}

function notebookTranscripts(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | null = null;
  for (const line of fixture("seed-notebook.txt").split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^\[(\w+)\]$/.exec(line);
    if (m) out.set(m[1]!, (cur = []));
    else cur!.push(line);
  }
  return out;
}

const cpython = cpythonTranscripts();
const notebook = notebookTranscripts();
const key = (id: string): string => id.replace(/[[\] ]/g, "");
const stamped = (r: CellRun, t0: number): string[] => r.lines.map((l) => `${l.t - t0} ${l.text}`);

describe("the tour's cells on virtual time match CPython 3.13 (timestamps included)", () => {
  for (const cell of CELLS.filter((c) => c.id !== "In [34]")) {
    it(`${cell.id} in a notebook (the loop keeps running)`, async () => {
      const { main } = await cell.load();
      const kernel = new Kernel({ virtualTime: true });
      try {
        const t0 = kernel.loop.time();
        const r = await runCellNotebook(kernel, main);
        expect(stamped(r, t0)).toEqual(cpython.get(key(cell.id)));
      } finally {
        kernel.close();
      }
    });
  }

  for (const id of ["In [8]", "In [12]"]) {
    it(`${id} as a script (run() cancels leftover tasks)`, async () => {
      const cell = CELLS.find((c) => c.id === id)!;
      const { main } = await cell.load();
      const r = await runCellScript(main, true);
      expect(stamped(r, 0)).toEqual(cpython.get(`${key(id)}script`));
    });
  }

  it("every cell runs on a kernel shared by all cells, as in the notebook", async () => {
    const kernel = new Kernel({ virtualTime: true });
    try {
      for (const cell of CELLS.filter((c) => c.id !== "In [34]")) {
        const { main } = await cell.load();
        const t0 = kernel.loop.time();
        const r = await runCellNotebook(kernel, main);
        expect(stamped(r, t0)).toEqual(cpython.get(key(cell.id)));
      }
    } finally {
      kernel.close();
    }
  });
});

describe("the seed notebook's own transcript", () => {
  it("every cell but In [22]/In [21] prints the notebook's lines on virtual time", async () => {
    for (const cell of CELLS.filter((c) => !["In [34]", "In [22]", "In [21]"].includes(c.id))) {
      const { main } = await cell.load();
      const kernel = new Kernel({ virtualTime: true });
      try {
        const r = await runCellNotebook(kernel, main);
        expect(r.lines.map((l) => l.text)).toEqual(notebook.get(key(cell.id)));
      } finally {
        kernel.close();
      }
    }
  });

  it("In [22]/In [21] differ from the notebook on virtual time only by the timer tie at 2 s", async () => {
    for (const id of ["In [22]", "In [21]"]) {
      const { main } = await CELLS.find((c) => c.id === id)!.load();
      const kernel = new Kernel({ virtualTime: true });
      try {
        const r = await runCellNotebook(kernel, main);
        const ours = r.lines.map((l) => l.text);
        const seed = notebook.get(key(id))!;
        expect(ours).not.toEqual(seed);
        expect([...ours].sort()).toEqual([...seed].sort());
        expect(ours.slice(9, 12)).toEqual(["done fetching", "8", "{ data: 1 }"]);
        expect(seed.slice(9, 12)).toEqual(["done fetching", "{ data: 1 }", "8"]);
      } finally {
        kernel.close();
      }
    }
  });

  // The suite's only wall-clock test, asked for by the core issue: on a real clock each 250 ms sleep
  // wakes a little late, so the eighth number's timer drifts past 2 s and main prints the value first,
  // as in the notebook. It asserts order only, never durations. A loaded machine can stall the process
  // across the 2 s mark long enough for both timers to be due together; one retry covers that.
  it("In [22] on the real clock prints the notebook's order", { retry: 2, timeout: 20_000 }, async () => {
    const { main } = await CELLS.find((c) => c.id === "In [22]")!.load();
    const kernel = new Kernel({ virtualTime: false });
    try {
      const r = await runCellNotebook(kernel, main);
      expect(r.lines.map((l) => l.text)).toEqual(notebook.get("In22"));
    } finally {
      kernel.close();
    }
  });
});

describe("the tour shows each cell's program", () => {
  it("shows the code without the script guard, ending with the seed's entry line", () => {
    const src = cellSource(CELLS.find((c) => c.id === "In [22]")!)!;
    expect(src).toContain("const task1 = createTask(fetchData);");
    expect(src).not.toContain("isScript");
    expect(src.trimEnd().endsWith("await run(main);")).toBe(true);
    const src21 = cellSource(CELLS.find((c) => c.id === "In [21]")!)!;
    expect(src21.trimEnd().endsWith("await loop.runUntilComplete(main);")).toBe(true);
  });
});

describe("the chapter beyond the seed prints what its CPython twin prints (twins/beyond.py)", () => {
  const golden = JSON.parse(readFileSync(new URL("./twins/beyond.golden.json", import.meta.url), "utf8")) as Record<string, string[]>;
  it("has a twin for every cell", () => {
    expect(BEYOND.map((c) => c.id).sort()).toEqual(Object.keys(golden).sort());
  });
  for (const cell of BEYOND) {
    for (const virtualTime of [true, false]) {
      it(`${cell.id} in a notebook, ${virtualTime ? "virtual time" : "real clock"}`, async () => {
        const { main } = await cell.load();
        const kernel = new Kernel({ virtualTime });
        try {
          const t0 = kernel.loop.time();
          const r = await runCellNotebook(kernel, main);
          expect(r.lines.map((l) => l.text)).toEqual(golden[cell.id]);
          if (virtualTime && cell.id === "Echo") {
            // the timeout fires at 500 ms of loop time, the late reply comes at 1000
            expect(r.lines.map((l) => l.t - t0)).toEqual([0, 0, 0, 500, 1000]);
          }
        } finally {
          kernel.close();
        }
      }, 20_000);
    }
    it(`${cell.id} shows its program`, () => {
      const src = cellSource(cell);
      expect(src).toContain("export async function main");
      expect(src).not.toContain("isScript");
    });
  }
});
