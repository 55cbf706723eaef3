/**
 * The kernel schedules with Node's own timers and reads Node's own clock (src/core/real-timers.ts), so
 * that test runners' fake timers neither hang a loop nor move its clock. (The same in real vitest and
 * node:test processes: runners.test.ts.)
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { mock } from "node:test";
import * as timers from "node:timers";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeTimersProblem, realTimers, unwrapFakeTimer } from "../../src/core/real-timers.js";
import { createTask, getRunningLoop, run, sleep } from "../../src/index.js";

afterEach(() => {
  vi.useRealTimers();
  mock.timers.reset();
});

describe("the timers asyncio-ts uses", () => {
  it("are Node's, taken at import: nothing was faked then", () => {
    expect(fakeTimersProblem).toBeNull();
    expect(realTimers.setImmediate).toBe(timers.setImmediate);
    expect(realTimers.setTimeout).toBe(timers.setTimeout);
    expect(realTimers.clearTimeout).toBe(timers.clearTimeout);
    expect(realTimers.clearImmediate).toBe(timers.clearImmediate);
  });

  it("a loop runs under vi.useFakeTimers(), on virtual time and on the real clock", async () => {
    vi.useFakeTimers();
    expect(globalThis.setImmediate).not.toBe(realTimers.setImmediate);
    const order = await run(
      async () => {
        const out: string[] = [];
        const t = createTask(async () => {
          await sleep(200);
          out.push(`late at ${getRunningLoop().time()}`);
        });
        await sleep(100);
        out.push(`early at ${getRunningLoop().time()}`);
        await t;
        return out;
      },
      { virtualTime: true },
    );
    expect(order).toEqual(["early at 100", "late at 200"]);
    const elapsed = await run(async () => {
      const t0 = getRunningLoop().time();
      await sleep(15);
      return getRunningLoop().time() - t0;
    });
    expect(elapsed).toBeGreaterThanOrEqual(15);
  });
});

describe("unwrapFakeTimer: what asyncio-ts takes when the timers are already fakes at its import", () => {
  it("Node's own function: itself", () => {
    expect(unwrapFakeTimer("setImmediate", timers.setImmediate)).toEqual({ fn: timers.setImmediate, faked: false });
  });

  it("vitest's fake (@sinonjs/fake-timers, as jest and sinon): the original it keeps", () => {
    vi.useFakeTimers();
    for (const name of ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate"] as const) {
      const fake = globalThis[name];
      expect(fake).not.toBe(timers[name]);
      expect(unwrapFakeTimer(name, fake)).toEqual({ fn: timers[name], faked: false });
    }
  });

  it("a sinon fake without its original: flagged", () => {
    const fake = Object.assign(() => 0, { clock: {} });
    expect(unwrapFakeTimer("setTimeout", fake)).toEqual({ fn: fake, faked: true });
  });

  it("node:test's mock (its original is private): flagged", () => {
    mock.timers.enable({ apis: ["setImmediate", "setTimeout"] });
    expect(unwrapFakeTimer("setImmediate", globalThis.setImmediate).faked).toBe(true);
    expect(unwrapFakeTimer("setTimeout", globalThis.setTimeout).faked).toBe(true);
  });
});

describe("no global timer in the kernel, the runner or the testing helpers", () => {
  const root = fileURLToPath(new URL("../../src", import.meta.url));
  const files = ["core", "runner", "testing"].flatMap((d) => readdirSync(join(root, d)).map((f) => join(d, f)));
  const names = ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate", "setInterval", "clearInterval", "performance"];

  it.each(files.filter((f) => f.endsWith(".ts") && !f.endsWith("real-timers.ts")))("%s", (file) => {
    const text = readFileSync(join(root, file), "utf8");
    // (code only: comment lines and strings are not calls)
    const code = text
      .split("\n")
      .filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l))
      .join("\n")
      .replace(/"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g, '""');
    const imported = new Set(
      [...text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"\.\/real-timers\.js"/g)].flatMap((m) => m[1]!.split(",").map((s) => s.trim())),
    );
    for (const name of names) {
      const used = new RegExp(`(?<![.\\w])${name}\\s*[.(]`).test(code);
      if (used) expect(imported.has(name), `${file} uses the global ${name}: import it from real-timers.ts (or use realTimers)`).toBe(true);
    }
    expect(/\bDate\.now\(|\bqueueMicrotask\(|\bprocess\.nextTick\(/.test(code), `${file} reads Date.now or schedules through a global`).toBe(false);
  });
});
