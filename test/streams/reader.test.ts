/**
 * `StreamReader` fed by hand: each program is compared line for line with CPython 3.13 running its Python
 * twin (`twins/reader.py`, output in `twins/reader.golden.json`), on both clocks; then bad input.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CancelledError, createTask, gather, IncompleteReadError, LimitOverrunError, run, sleep, StreamReader, TimeoutError, waitFor } from "../../src/index.js";

const golden = JSON.parse(readFileSync(new URL("./twins/reader.golden.json", import.meta.url), "utf8")) as Record<string, string[]>;

const q = (b: Buffer): string => JSON.stringify(b.toString("latin1"));
function err(e: unknown, withClass = true): string {
  const x = e as Error;
  let extra = "";
  if (e instanceof IncompleteReadError) extra = ` partial=${q(e.partial)} expected=${e.expected ?? "None"}`;
  if (e instanceof LimitOverrunError) extra = ` consumed=${e.consumed}`;
  return withClass ? `${x.name}: ${x.message}${extra}` : `error: ${x.message}`;
}

type Program = (p: (...parts: unknown[]) => void) => Promise<void>;

const programs: Record<string, Program> = {
  async readline(p) {
    const r = new StreamReader();
    r.feedData(Buffer.from("one\ntwo\nrest"));
    r.feedEof();
    for (let i = 0; i < 4; i++) p("line", q(await r.readline()));
    p("atEof", r.atEof());
  },
  async "readuntil-multi"(p) {
    const r = new StreamReader();
    r.feedData("a|b;;c;;|");
    p(q(await r.readuntil(["|", ";;"])));
    p(q(await r.readuntil([";;", "|"])));
    p(q(await r.readuntil([Buffer.from("|"), ";;"])));
    r.feedEof();
    p(q(await r.readuntil(["|", ";;"])));
    try {
      await r.readuntil("|");
    } catch (e) {
      p(err(e));
    }
  },
  async "readexactly-incomplete"(p) {
    const r = new StreamReader();
    r.feedData("abc");
    r.feedEof();
    p(q(await r.readexactly(1)));
    try {
      await r.readexactly(5);
    } catch (e) {
      p(err(e));
    }
    p("atEof", r.atEof());
    p(q(await r.readexactly(0)));
  },
  async "limit-readuntil"(p) {
    const r = new StreamReader({ limit: 4 });
    r.feedData("0123456789\n");
    try {
      await r.readuntil("\n");
    } catch (e) {
      p(err(e));
    }
    p("left", q(await r.read(100)));
  },
  async "limit-not-found"(p) {
    const r = new StreamReader({ limit: 3 });
    r.feedData("abcdef");
    try {
      await r.readuntil("\n");
    } catch (e) {
      p(err(e));
    }
    p("left", q(await r.read(100)));
  },
  async "limit-readline"(p) {
    const r = new StreamReader({ limit: 4 });
    r.feedData("0123456789\nok\n");
    try {
      await r.readline();
    } catch (e) {
      expect(e).toBeInstanceOf(LimitOverrunError);
      p(err(e, false));
    }
    p("next", q(await r.readline()));
  },
  async "limit-readline-no-newline"(p) {
    const r = new StreamReader({ limit: 4 });
    r.feedData("0123456789");
    try {
      await r.readline();
    } catch (e) {
      p(err(e, false));
    }
    r.feedData("x\n");
    p("next", q(await r.readline()));
  },
  async "read-all"(p) {
    const r = new StreamReader({ limit: 2 });
    const t = createTask(async () => {
      for (const chunk of ["ab", "cde", "", "f"]) {
        await sleep(0);
        r.feedData(chunk);
      }
      r.feedEof();
    });
    p("all", q(await r.read()));
    p("after", q(await r.read()), q(await r.read(5)));
    await t;
  },
  async "read-n"(p) {
    const r = new StreamReader();
    r.feedData("abcdef");
    p(q(await r.read(2)), q(await r.read(10)), q(await r.read(0)));
  },
  async "two-readers"(p) {
    const r = new StreamReader();
    const reader = async (n: string): Promise<void> => {
      try {
        p(n, "got", q(await r.readline()));
      } catch (e) {
        p(n, (e as Error).name);
      }
    };
    const a = createTask(() => reader("a"));
    const b = createTask(() => reader("b"));
    await sleep(0);
    r.feedData("x\n");
    await gather(a, b);
  },
  async "cancel-keeps-bytes"(p) {
    const r = new StreamReader();
    const t = createTask(() => r.readexactly(4));
    await sleep(0);
    r.feedData("ab");
    await sleep(0);
    t.cancel();
    try {
      await t;
    } catch (e) {
      if (e instanceof CancelledError) p("cancelled");
    }
    r.feedData("cd");
    p(q(await r.readexactly(4)));
  },
  async "wait-for-keeps-bytes"(p) {
    const r = new StreamReader();
    r.feedData("par");
    try {
      await waitFor(r.readline(), 10);
    } catch (e) {
      if (e instanceof TimeoutError) p("timeout");
    }
    r.feedData("tial\n");
    p(q(await r.readline()));
  },
  async exception(p) {
    const r = new StreamReader();
    r.feedData("kept\n");
    const t = createTask(async () => {
      await sleep(0);
      const { RuntimeError } = await import("../../src/index.js");
      r.setException(new RuntimeError("boom"));
    });
    p(q(await r.readline()));
    try {
      await r.readline();
    } catch (e) {
      p(err(e));
    }
    try {
      await r.read(1);
    } catch (e) {
      p(err(e));
    }
    await t;
  },
  async aiter(p) {
    const r = new StreamReader();
    r.feedData("l1\nl2\nl3");
    r.feedEof();
    for await (const line of r) p(q(line));
  },
  async "found-beyond-limit"(p) {
    const r = new StreamReader({ limit: 3 });
    r.feedData("abcdef\n");
    try {
      await r.readuntil("\n");
    } catch (e) {
      p(err(e));
    }
    p("left " + q(await r.read(100)));
  },
  async "read-all-timeout"(p) {
    const r = new StreamReader({ limit: 2 });
    r.feedData("abcdef");
    try {
      await waitFor(r.read(), 10);
    } catch (e) {
      if (e instanceof TimeoutError) p("timeout");
    }
    r.feedData("tail");
    r.feedEof();
    p(q(await r.read()));
  },
  async "data-then-exception"(p) {
    const { RuntimeError } = await import("../../src/index.js");
    for (const m of ["readline", "read", "readexactly", "readuntil", "read-all"]) {
      const r = new StreamReader();
      const reads: Record<string, () => Promise<Buffer>> = {
        readline: () => r.readline(),
        read: () => r.read(100),
        readexactly: () => r.readexactly(5),
        readuntil: () => r.readuntil("\n"),
        "read-all": () => r.read(),
      };
      const t = createTask(reads[m]!);
      await sleep(0);
      r.feedData("line\n");
      r.setException(new RuntimeError("reset"));
      try {
        p(m, q(await t));
      } catch (e) {
        p(m, err(e));
      }
      try {
        await r.read(1);
      } catch (e) {
        p(m, "then", err(e));
      }
    }
  },
};

async function runProgram(name: string, virtualTime: boolean): Promise<string[]> {
  const out: string[] = [];
  const p = (...parts: unknown[]): void => void out.push(parts.map(String).join(" "));
  await run(() => programs[name]!(p), { virtualTime });
  return out;
}

describe("StreamReader against CPython 3.13", () => {
  it("has a twin for every program", () => {
    expect(Object.keys(programs).sort()).toEqual(Object.keys(golden).sort());
  });
  for (const name of Object.keys(golden)) {
    it(`${name} (virtual time)`, async () => {
      expect(await runProgram(name, true)).toEqual(golden[name]);
    });
    it(`${name} (real clock)`, async () => {
      expect(await runProgram(name, false)).toEqual(golden[name]);
    });
  }
});

describe("StreamReader beyond CPython", () => {
  it("a read woken with too little after setException raises it, not waiting for data that cannot come (CPython's waits)", async () => {
    await run(async () => {
      for (const read of [(r: StreamReader) => r.readexactly(10), (r: StreamReader) => r.readuntil("\n\n")]) {
        const r = new StreamReader();
        const t = createTask(() => read(r));
        await sleep(0);
        r.feedData("line\n");
        r.setException(new Error("reset"));
        await expect(t).rejects.toThrow("reset");
        expect(r._buffer.length).toBe(5); // kept: nothing was taken
      }
    });
  });
});

describe("StreamReader bad input", () => {
  it("names the argument", async () => {
    expect(() => new StreamReader({ limit: 0 })).toThrow(/Expected limit to be/);
    expect(() => new StreamReader({ limit: -1 })).toThrow(RangeError);
    expect(() => new StreamReader({ limt: 5 } as never)).toThrow(/Unknown option "limt"/);
    const r = new StreamReader();
    expect(() => r.feedData(5 as never)).toThrow(/Expected data to be a Buffer, a Uint8Array or a string, got 5 \(number\)/);
    await run(async () => {
      await expect(r.readuntil("")).rejects.toThrow(/at least one byte/);
      await expect(r.readuntil([])).rejects.toThrow(/at least one element/);
      await expect(r.readuntil(5 as never)).rejects.toThrow(TypeError);
      await expect(r.readexactly(-1)).rejects.toThrow(RangeError);
      await expect(r.readexactly(1.5)).rejects.toThrow(TypeError);
      await expect(r.read("x" as never)).rejects.toThrow(/Expected n to be an integer/);
    });
    r.feedEof();
    expect(() => r.feedData("late")).toThrow(/feedData after feedEof/);
  });

  it("pauses its transport above twice the limit and resumes at the limit", async () => {
    const calls: string[] = [];
    const r = new StreamReader({ limit: 4 });
    r.setTransport({ pause: () => calls.push("pause"), resume: () => calls.push("resume"), waitHold: () => ({ _release: () => {} }) });
    r.feedData("12345678");
    expect(calls).toEqual([]);
    r.feedData("9");
    expect(calls).toEqual(["pause"]);
    await run(async () => {
      expect(String(await r.read(3))).toBe("123");
      expect(calls).toEqual(["pause"]);
      expect(String(await r.read(2))).toBe("45");
      expect(calls).toEqual(["pause", "resume"]);
    });
  });
});

describe("a reader cancelled in its wait holds the stream until its task resumes (stop 30's fuzz: a regression since 5329461)", () => {
  // CPython 3.13 twin: t1 = create_task(r.readexactly(2)); await sleep(0); t1.cancel(); then
  // `async with timeout(0.25): await r.readexactly(2)` in main -> "main raised RuntimeError", and t1 is
  // not cancelled (it had not resumed: the cancel of its wait is still on its way, the RuntimeError reaches
  // main first). Before the fix: main waited, and its timeout ended the read (TimeoutError).
  it("a second reader while the first, cancelled, has not resumed: RuntimeError", async () => {
    const { timeout } = await import("../../src/index.js");
    const log: string[] = [];
    await run(async () => {
      const r = new StreamReader();
      const t1 = createTask(async () => await r.readexactly(2), { name: "t1" });
      await sleep(0);
      t1.cancel();
      try {
        await timeout(250, async () => log.push(`main read ${String(await r.readexactly(2))}`));
      } catch (e) {
        log.push(`main raised ${(e as Error).name}`);
      }
      log.push(`t1 cancelled: ${t1.cancelled()}`);
      await sleep(0);
      log.push(`t1 cancelled after: ${t1.cancelled()}`);
      r.feedData(Buffer.from("ab"));
      log.push(`then a read: ${String(await r.readexactly(2))}`);
    }, { virtualTime: true });
    expect(log).toEqual(["main raised RuntimeError", "t1 cancelled: false", "t1 cancelled after: true", "then a read: ab"]);
  });
});
