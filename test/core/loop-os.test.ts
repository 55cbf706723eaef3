/**
 * The loop and the operating system: signal handlers, name resolution, calls from outside the loop,
 * shutting the default executor down.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  CancelledError,
  ContextVar,
  createTask,
  Event,
  getRunningLoop,
  newEventLoop,
  Queue,
  run,
  runCoroutineThreadsafe,
  RuntimeError,
  sleep,
  ThreadPoolExecutor,
  timeout,
  TimeoutError,
  toThread,
  type ExceptionContext,
} from "../../src/index.js";

describe("addSignalHandler / removeSignalHandler", () => {
  it("runs the callback on the loop with its arguments; replaces and removes; the loop's close removes", async () => {
    const seen: string[] = [];
    const before = process.listenerCount("SIGUSR2");
    await run(async () => {
      const loop = getRunningLoop();
      const got = new Event();
      loop.addSignalHandler("SIGUSR2", (a: string, b: number) => {
        seen.push(`first ${a} ${b} on loop ${getRunningLoop() === loop}`);
        got.set();
      }, "x", 1);
      expect(process.listenerCount("SIGUSR2")).toBe(before + 1);
      process.kill(process.pid, "SIGUSR2");
      await got.wait();
      got.clear();
      loop.addSignalHandler(12, () => {
        seen.push("second");
        got.set();
      }); // 12 is SIGUSR2 on Linux: replaces the first
      expect(process.listenerCount("SIGUSR2")).toBe(before + 1);
      process.kill(process.pid, "SIGUSR2");
      await got.wait();
      expect(loop.removeSignalHandler("SIGUSR2")).toBe(true);
      expect(loop.removeSignalHandler("SIGUSR2")).toBe(false);
      loop.addSignalHandler("SIGUSR2", () => {});
    });
    expect(seen).toEqual(["first x 1 on loop true", "second"]);
    expect(process.listenerCount("SIGUSR2")).toBe(before);
  });

  it("a SIGINT handler of the program takes the place of run()'s Ctrl-C handling", async () => {
    const out: string[] = [];
    await run(async () => {
      const loop = getRunningLoop();
      const got = new Event();
      loop.addSignalHandler("SIGINT", () => {
        out.push("handled");
        got.set();
      });
      process.kill(process.pid, "SIGINT");
      await got.wait();
      await sleep(5);
      out.push("main goes on");
    });
    expect(out).toEqual(["handled", "main goes on"]);
  });

  it("bad signals and callbacks are clear errors", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      expect(() => loop.addSignalHandler("SIGNOPE" as never, () => {})).toThrow(/Expected sig to be a signal name or number, got "SIGNOPE" \(string\)/);
      expect(() => loop.addSignalHandler(999, () => {})).toThrow(RangeError);
      expect(() => loop.addSignalHandler({} as never, () => {})).toThrow(TypeError);
      expect(() => loop.addSignalHandler("SIGUSR2", 5 as never)).toThrow(/Expected callback to be a function/);
      expect(() => loop.addSignalHandler("SIGKILL", () => {})).toThrow(RuntimeError);
      expect(() => loop.addSignalHandler("SIGSTOP", () => {})).toThrow(/cannot be caught/);
    });
  });
});

describe("a signal handler's context", () => {
  it("is copied once, when the handler is added: what it sets is there at its next call (CPython's Handle, made once)", async () => {
    const v = new ContextVar<string>("sig-v", { default: "dflt" });
    const seen: string[] = [];
    await run(async () => {
      const loop = getRunningLoop();
      v.set("task");
      const done = new Event();
      loop.addSignalHandler("SIGUSR2", () => {
        seen.push(v.get());
        v.set("handler-set");
        if (seen.length === 2) done.set();
      });
      process.kill(process.pid, "SIGUSR2");
      await sleep(20);
      process.kill(process.pid, "SIGUSR2");
      await done.wait();
      loop.removeSignalHandler("SIGUSR2");
      seen.push(v.get());
    });
    expect(seen).toEqual(["task", "handler-set", "task"]); // CPython 3.13: the same
  });
});

describe("a program that waits only for a signal (the graceful-shutdown pattern)", () => {
  // CPython 3.13: loop.add_signal_handler(SIGTERM, h), then `await stop.wait()`: waits, prints
  // "got SIGTERM", then returns "clean stop". Node keeps no process alive for a signal listener, and the
  // loop took the wait for a deadlock (real clock: at once; virtual time: after deadlockTimeout).
  const dist = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));
  for (const virtualTime of [false, true]) {
    it(`waits for the signal, not a deadlock report, and ends when its handler is removed (${virtualTime ? "virtual time" : "real clock"})`, async () => {
      const program = `
        import { run, getRunningLoop, Event } from ${JSON.stringify(dist)};
        const r = await run(async () => {
          const loop = getRunningLoop();
          const stop = new Event();
          loop.addSignalHandler("SIGTERM", () => { console.log("got SIGTERM"); stop.set(); });
          console.log("waiting");
          await stop.wait();
          loop.removeSignalHandler("SIGTERM");
          return "clean stop";
        }, { virtualTime: ${virtualTime}, deadlockTimeout: 100 });
        console.log(r);`;
      const child = spawn(process.execPath, ["--input-type=module", "-e", program], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      await new Promise<void>((resolve) => {
        const poll = (): void => void (out.includes("waiting") ? resolve() : setTimeout(poll, 10));
        poll();
      });
      // (longer than deadlockTimeout, and than Node's exit when nothing is left: the program must wait)
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(err).toBe("");
      child.kill("SIGTERM");
      const code = await new Promise((resolve) => child.once("exit", resolve));
      expect({ code, out, err }).toEqual({ code: 0, out: "waiting\ngot SIGTERM\nclean stop\n", err: "" });
    });
  }
});

describe("getaddrinfo / getnameinfo", () => {
  it("resolves localhost through /etc/hosts with the port; families; bad input", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const all = await loop.getaddrinfo("localhost", 8080);
      expect(all.length).toBeGreaterThan(0);
      expect(all.every((a) => a.sockaddr[1] === 8080 && (a.family === 4 || a.family === 6))).toBe(true);
      const v4 = await loop.getaddrinfo("127.0.0.1", null, { family: 4 });
      expect(v4).toEqual([{ family: 4, sockaddr: ["127.0.0.1", 0] }]);
      await expect(loop.getaddrinfo("no-such-host.invalid")).rejects.toMatchObject({ code: "ENOTFOUND" });
      await expect(loop.getaddrinfo(5 as never)).rejects.toThrow(/Expected host to be a non-empty string/);
      await expect(loop.getaddrinfo("localhost", 70000)).rejects.toThrow(/Expected port to be an integer from 0 to 65535/);
      await expect(loop.getaddrinfo("localhost", 1, { family: 5 as never })).rejects.toThrow(/Expected family to be 0, 4 or 6/);
      const [host, service] = await loop.getnameinfo(["127.0.0.1", 22]);
      expect(typeof host).toBe("string");
      expect(service).toMatch(/ssh|22/);
      await expect(loop.getnameinfo("127.0.0.1" as never)).rejects.toThrow(/Expected sockaddr to be \[address, port\]/);
    });
  });

  it("a lookup is a cancellation point", async () => {
    await run(
      async () => {
        const t = createTask(() => getRunningLoop().getaddrinfo("localhost"));
        await sleep(0);
        t.cancel();
        await expect(t).rejects.toBeInstanceOf(CancelledError);
      },
      { virtualTime: true },
    );
  });
});

describe("callSoonThreadsafe / runCoroutineThreadsafe", () => {
  it("a Node callback outside the loop puts into a queue on it; an idle loop wakes", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const q = new Queue<string>();
      setTimeout(() => loop.callSoonThreadsafe((x: string) => q.putNowait(x), "from a timer"), 5);
      expect(await q.get()).toBe("from a timer");
    });
  });

  it("starts a task on another running loop and returns its result; cancel() cancels the task there", async () => {
    const loop = newEventLoop({ virtualTime: true });
    const running = loop.runForever();
    try {
      const answer = runCoroutineThreadsafe(async () => {
        await sleep(1000);
        return getRunningLoop() === loop ? 42 : -1;
      }, loop);
      expect(await answer).toBe(42);
      const failing = runCoroutineThreadsafe(async () => {
        await sleep(1);
        throw new Error("inside");
      }, loop);
      await expect(failing).rejects.toThrow("inside");
      const cleanup: string[] = [];
      let started!: () => void;
      const waiting = new Promise<void>((r) => (started = r));
      const slow = runCoroutineThreadsafe(async () => {
        try {
          started();
          await new Event().wait(); // never set
        } catch (e) {
          cleanup.push(e instanceof CancelledError ? "cancelled on its loop" : String(e));
          throw e;
        }
      }, loop);
      await waiting; // (not a real timer: on a loaded machine it could fire before the loop started the task)
      expect(slow.cancel("stop")).toBe(true);
      await expect(slow).rejects.toBeInstanceOf(CancelledError);
      expect(cleanup).toEqual(["cancelled on its loop"]);
      expect(slow.cancel()).toBe(false);
      const never = runCoroutineThreadsafe(async () => 1, loop);
      expect(never.cancel()).toBe(true); // before the loop started it
      await expect(never).rejects.toBeInstanceOf(CancelledError);
    } finally {
      loop.stop();
      await running;
      loop.close();
    }
    expect(() => runCoroutineThreadsafe(async () => 1, loop)).toThrow(/Event loop is closed/);
    expect(() => runCoroutineThreadsafe((async () => 1)() as never, loop)).toThrow(/pass \(\) => work\(\), not work\(\)/);
    expect(() => runCoroutineThreadsafe(async () => 1, {} as never)).toThrow(/Expected loop to be an EventLoop/);
  });
});

/** A thread job that blocks until `release(gate)` (at most 15 s: a failed test must not hang its pool). */
const gatedJob = (sab: SharedArrayBuffer): string => {
  const w = new Int32Array(sab);
  const end = Date.now() + 15_000;
  while (Atomics.load(w, 0) === 0 && Date.now() < end) Atomics.wait(w, 0, 0, 100);
  return Atomics.load(w, 0) === 1 ? "finished" : "never released";
};
const release = (gate: Int32Array): void => {
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
};

describe("shutdownDefaultExecutor", () => {
  it("waits for the default executor's jobs; with a timeout, reports and goes on", async () => {
    const reports: ExceptionContext[] = [];
    await run(async () => {
      const loop = getRunningLoop();
      loop.setExceptionHandler((_l, c) => reports.push(c));
      loop.setDefaultExecutor(new ThreadPoolExecutor({ maxWorkers: 1 }));
      expect(await toThread(() => 7)).toBe(7);
      await loop.shutdownDefaultExecutor();
      await loop.shutdownDefaultExecutor(); // none any more: returns at once
      // (then the default executor is done for on this loop, even a new one: CPython 3.12/3.13 raise too)
      const other = new ThreadPoolExecutor({ maxWorkers: 1 });
      loop.setDefaultExecutor(other);
      await expect(Promise.resolve().then(() => toThread(() => 8))).rejects.toThrow("Executor shutdown has been called");
      expect(() => loop.runInExecutor(null, () => 9)).toThrow("Executor shutdown has been called");
      await other.shutdown();
    });
    await run(async () => {
      const loop = getRunningLoop();
      loop.setExceptionHandler((_l, c) => reports.push(c));
      const slowPool = new ThreadPoolExecutor({ maxWorkers: 1 });
      loop.setDefaultExecutor(slowPool);
      // (the job runs until the test lets it go: a job of a fixed 300 ms raced the 20 + 10 ms here)
      const gate = new Int32Array(new SharedArrayBuffer(4));
      const job = toThread(gatedJob, gate.buffer as SharedArrayBuffer);
      await sleep(20);
      await loop.shutdownDefaultExecutor(10);
      expect(reports.map((c) => c.message)).toEqual(["The executor did not finish joining its threads within 10 ms (shutdownDefaultExecutor)"]);
      release(gate);
      expect(await job).toBe("finished");
      await expect(loop.shutdownDefaultExecutor(-1)).rejects.toThrow(/Expected timeout to be/);
    });
  }, 20_000);

  it("a timeout around it cancels the wait, not the executor's jobs", async () => {
    await run(async () => {
      const loop = getRunningLoop();
      loop.setDefaultExecutor(new ThreadPoolExecutor({ maxWorkers: 1 }));
      const gate = new Int32Array(new SharedArrayBuffer(4));
      const job = toThread(gatedJob, gate.buffer as SharedArrayBuffer);
      await sleep(10);
      await expect(timeout(20, () => loop.shutdownDefaultExecutor())).rejects.toBeInstanceOf(TimeoutError);
      release(gate);
      expect(await job).toBe("finished");
    });
  }, 20_000);
});
