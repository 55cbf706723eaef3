/**
 * The subprocess API with real children. First, programs compared line for line with CPython 3.13 running
 * their Python twins (`twins/subprocess.py`, output in `twins/subprocess.golden.json`), on both clocks;
 * then what has no twin: Node children (`process.execPath -e`), holds on virtual time, the `signal`
 * option, the loop's close, stdio given as file descriptors, and bad input.
 *
 * Nothing here asserts on wall-clock time: waits are on virtual time, or on the child's own events.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  CancelledError,
  ConnectionResetError,
  createSubprocessExec,
  createSubprocessShell,
  createTask,
  DEVNULL,
  type ExceptionContext,
  getRunningLoop,
  LimitOverrunError,
  PIPE,
  Process,
  ProcessLookupError,
  run,
  sleep,
  STDOUT,
  StreamReader,
  StreamWriter,
  timeout,
  TimeoutError,
  waitFor,
} from "../../src/index.js";
import { PipeFeed } from "../../src/subprocess/pipe-reader.js";
import { checkStdio, planStdio } from "../../src/subprocess/stdio.js";

const golden = JSON.parse(readFileSync(new URL("./twins/subprocess.golden.json", import.meta.url), "utf8")) as Record<string, string[]>;

const q = (b: Buffer | null): string => (b === null ? "null" : JSON.stringify(b.toString("latin1")));
const rc = (x: number | null): string => (x === null ? "null" : String(x));
const node = process.execPath;

type Program = (p: (...parts: unknown[]) => void) => Promise<void>;

const programs: Record<string, Program> = {
  async "exec-returncode"(p) {
    let proc = await createSubprocessExec("sh", ["-c", "exit 3"]);
    p("pid is a number", Number.isInteger(proc.pid) && proc.pid > 0);
    p("wait", await proc.wait(), "returncode", rc(proc.returncode));
    proc = await createSubprocessExec("true");
    p("wait", await proc.wait());
  },
  async "shell-communicate"(p) {
    const proc = await createSubprocessShell("echo out; echo err >&2; exit 2", { stdout: PIPE, stderr: PIPE });
    const [out, err] = await proc.communicate();
    p("stdout", q(out), "stderr", q(err), "returncode", proc.returncode);
  },
  async "merge-shell"(p) {
    const proc = await createSubprocessShell("echo o1; echo e1 >&2; echo o2; echo e2 >&2", { stdout: PIPE, stderr: STDOUT });
    p("stderr is null", proc.stderr === null);
    const [out, err] = await proc.communicate();
    p("stdout", q(out), "stderr", q(err));
  },
  async "merge-exec"(p) {
    const proc = await createSubprocessExec("sh", ["-c", "echo o1; echo e1 >&2; echo o2"], { stdout: PIPE, stderr: STDOUT });
    const [out, err] = await proc.communicate();
    p("stdout", q(out), "stderr", q(err), "returncode", proc.returncode);
  },
  async devnull(p) {
    const proc = await createSubprocessExec("sh", ["-c", "echo hidden; echo hidden >&2"], { stdout: DEVNULL, stderr: DEVNULL });
    p("pipes", proc.stdin === null, proc.stdout === null, proc.stderr === null);
    const [out, err] = await proc.communicate();
    p("communicate", q(out), q(err), proc.returncode);
  },
  async "communicate-input"(p) {
    const proc = await createSubprocessExec("cat", [], { stdin: PIPE, stdout: PIPE });
    const [out, err] = await proc.communicate(Buffer.from("abc\ndef"));
    p("stdout", q(out), "stderr", q(err), "returncode", proc.returncode);
  },
  async "input-ignored"(p) {
    const proc = await createSubprocessExec("true");
    const [out, err] = await proc.communicate("nobody reads this");
    p("communicate", q(out), q(err), proc.returncode);
  },
  async "child-closes-stdin"(p) {
    const proc = await createSubprocessExec("sh", ["-c", "exec 0<&-; echo done"], { stdin: PIPE, stdout: PIPE });
    const [out] = await proc.communicate(Buffer.alloc(1_000_000, "x"));
    p("stdout", q(out), "returncode", proc.returncode);
  },
  async "cat-5mb"(p) {
    const data = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = i & 255;
    const proc = await createSubprocessExec("cat", [], { stdin: PIPE, stdout: PIPE });
    const [out] = await proc.communicate(data);
    p("length", out!.length, "same", out!.equals(data), "returncode", proc.returncode);
  },
  async "readline-loop"(p) {
    const proc = await createSubprocessShell("for i in 1 2 3; do echo line$i; done; printf tail", { stdout: PIPE });
    for (;;) {
      const line = await proc.stdout!.readline();
      if (line.length === 0) break;
      p("line", q(line));
    }
    p("wait", await proc.wait());
  },
  async "stdin-writer"(p) {
    const proc = await createSubprocessExec("cat", [], { stdin: PIPE, stdout: PIPE });
    proc.stdin!.write("one\n");
    await proc.stdin!.drain();
    p("echo", q(await proc.stdout!.readline()));
    proc.stdin!.write("two\n");
    proc.stdin!.close();
    await proc.stdin!.waitClosed();
    p("rest", q(await proc.stdout!.read()));
    p("wait", await proc.wait());
  },
  async kill(p) {
    const proc = await createSubprocessExec("sleep", ["30"]);
    p("returncode while running", rc(proc.returncode));
    proc.kill();
    p("wait", await proc.wait(), "returncode", proc.returncode);
    try {
      proc.kill();
    } catch (e) {
      p("kill again", (e as Error).name);
    }
  },
  async terminate(p) {
    const proc = await createSubprocessExec("sleep", ["30"]);
    proc.terminate();
    p("wait", await proc.wait());
  },
  async "send-signal"(p) {
    const proc = await createSubprocessExec("sleep", ["30"]);
    proc.sendSignal(constants.signals.SIGINT);
    p("wait", await proc.wait());
    try {
      proc.sendSignal("SIGTERM");
    } catch (e) {
      p("signal again", (e as Error).name);
    }
  },
  async "timeout-keeps-child"(p) {
    const proc = await createSubprocessExec("sleep", ["30"]);
    try {
      await waitFor(proc.wait(), 50);
    } catch (e) {
      p("timeout", (e as Error).name, "returncode", rc(proc.returncode));
    }
    proc.kill();
    p("wait", await proc.wait());
  },
  async "cancel-communicate"(p) {
    const proc = await createSubprocessExec("sh", ["-c", "echo start; exec sleep 30"], { stdin: PIPE, stdout: PIPE });
    try {
      await waitFor(proc.communicate("unread"), 50);
    } catch (e) {
      p("communicate", (e as Error).name, "returncode", rc(proc.returncode));
    }
    proc.terminate();
    p("wait", await proc.wait());
  },
  async enoent(p) {
    try {
      await createSubprocessExec("nosuch-asyncio-ts-program");
    } catch (e) {
      p("error", (e as NodeJS.ErrnoException).code);
    }
    try {
      await createSubprocessExec("nosuch-asyncio-ts-program", [], { stdout: PIPE, stderr: STDOUT });
    } catch (e) {
      p("error", (e as NodeJS.ErrnoException).code);
    }
  },
  async limit(p) {
    const proc = await createSubprocessShell("echo 0123456789; echo ok", { stdout: PIPE, limit: 4 });
    try {
      await proc.stdout!.readline();
    } catch (e) {
      if (e instanceof LimitOverrunError) p("readline", "over the limit");
    }
    p("next", q(await proc.stdout!.readline()));
    p("wait", await proc.wait());
  },
  async "cwd-env"(p) {
    const proc = await createSubprocessShell('pwd; echo "$ASYNCIO_TS_X"', { stdout: PIPE, cwd: "/", env: { ASYNCIO_TS_X: "from env", PATH: "/usr/bin:/bin" } });
    const [out] = await proc.communicate();
    p("stdout", q(out));
  },
};

/** Messages the loop's exception handler received during a run. */
type Reports = string[];

/**
 * Run `main` on a fresh loop; the exception handler's messages are collected. On virtual time the clock
 * waits 20 ms of real time (not 1 s) for a child before jumping to a pending timeout; those jumps are
 * reported, and dropped here.
 */
async function runIn<T>(virtualTime: boolean, main: (reports: Reports) => Promise<T>, options: { holdTimeout?: number; deadlockTimeout?: number } = {}): Promise<[T, Reports]> {
  const reports: Reports = [];
  const value = await run(
    async () => {
      getRunningLoop().setExceptionHandler((_loop, ctx: ExceptionContext) => {
        if (!/^asyncio-ts: virtual time waited/.test(ctx.message)) reports.push(ctx.message);
      });
      return await main(reports);
    },
    { virtualTime, holdTimeout: options.holdTimeout ?? 20, ...(options.deadlockTimeout !== undefined ? { deadlockTimeout: options.deadlockTimeout } : {}) },
  );
  return [value, reports];
}

async function runProgram(name: string, virtualTime: boolean): Promise<string[]> {
  const out: string[] = [];
  const p = (...parts: unknown[]): void => void out.push(parts.map(String).join(" "));
  const [, reports] = await runIn(virtualTime, () => programs[name]!(p));
  expect(reports).toEqual([]);
  return out;
}

const CLOCKS = [
  ["virtual time", true],
  ["real clock", false],
] as const;

describe("subprocesses against CPython 3.13", () => {
  it("has a twin for every program", () => {
    expect(Object.keys(programs).sort()).toEqual(Object.keys(golden).sort());
  });
  for (const name of Object.keys(golden)) {
    for (const [clock, virtualTime] of CLOCKS) {
      it(`${name} (${clock})`, async () => {
        expect(await runProgram(name, virtualTime)).toEqual(golden[name]);
      });
    }
  }
});

describe.each(CLOCKS)("subprocesses (%s)", (_clock, virtualTime) => {
  it("runs a Node child: exit code, stdout and stderr apart, the pipes' types", async () => {
    const [r] = await runIn(virtualTime, async () => {
      const proc = await createSubprocessExec(node, ["-e", "console.log('to out'); console.error('to err'); process.exitCode = 5"], { stdin: PIPE, stdout: PIPE, stderr: PIPE });
      expect(proc).toBeInstanceOf(Process);
      expect(proc.stdin).toBeInstanceOf(StreamWriter);
      expect(proc.stdout).toBeInstanceOf(StreamReader);
      expect(proc.stderr).toBeInstanceOf(StreamReader);
      expect(String(proc)).toBe(`<Process ${proc.pid}>`);
      const [out, err] = await proc.communicate();
      return [String(out), String(err), proc.returncode];
    });
    expect(r).toEqual(["to out\n", "to err\n", 5]);
  });

  it("reads a Node child's lines as they come, with for await", async () => {
    const [lines] = await runIn(virtualTime, async () => {
      const proc = await createSubprocessExec(node, ["-e", "let i = 0; const t = setInterval(() => { console.log('tick ' + i); if (++i === 3) clearInterval(t); }, 5)"], { stdout: PIPE });
      const got: string[] = [];
      for await (const line of proc.stdout!) got.push(String(line));
      got.push(`rc ${await proc.wait()}`);
      return got;
    });
    expect(lines).toEqual(["tick 0\n", "tick 1\n", "tick 2\n", "rc 0"]);
  });

  it("a timeout gives up wait() and leaves the child running; kill() then ends it", async () => {
    const [r] = await runIn(virtualTime, async () => {
      const proc = await createSubprocessExec(node, ["-e", "setInterval(() => {}, 1000)"]);
      let timedOut = false;
      try {
        await timeout(30, () => proc.wait());
      } catch (e) {
        timedOut = e instanceof TimeoutError;
      }
      const stillRunning = proc.returncode === null;
      proc.kill();
      return [timedOut, stillRunning, await proc.wait()];
    });
    expect(r).toEqual([true, true, -9]);
  });

  it("a cancelled wait() in a task leaves the child alone; two waits see the same code", async () => {
    const [r] = await runIn(virtualTime, async () => {
      const proc = await createSubprocessExec(node, ["-e", "process.stdin.once('data', () => process.exit(4))"], { stdin: PIPE });
      const t = createTask(() => proc.wait());
      await sleep(0);
      t.cancel();
      const cancelled = await t.then(
        () => false,
        (e: unknown) => e instanceof CancelledError,
      );
      const w1 = createTask(() => proc.wait());
      const w2 = createTask(() => proc.wait());
      proc.stdin!.write("go\n");
      return [cancelled, await w1, await w2, proc.returncode];
    });
    expect(r).toEqual([true, 4, 4, 4]);
  });

  it("sendSignal takes names and numbers; terminate and kill give minus the signal's number", async () => {
    // (not SIGUSR1: Node starts its inspector on it)
    const [r] = await runIn(virtualTime, async () => {
      const out: number[] = [];
      for (const send of [(p: Process) => p.sendSignal("SIGUSR2"), (p: Process) => p.sendSignal(constants.signals.SIGHUP), (p: Process) => p.terminate(), (p: Process) => p.kill()]) {
        const proc = await createSubprocessExec(node, ["-e", "setInterval(() => {}, 1000)"]);
        send(proc);
        out.push(await proc.wait());
      }
      return out;
    });
    expect(r).toEqual([-constants.signals.SIGUSR2, -constants.signals.SIGHUP, -15, -9]);
  });

  it("a signal to a child that exited but whose pipes are still open does nothing; once finished, ProcessLookupError", async () => {
    const [r] = await runIn(virtualTime, async () => {
      // the shell exits at once; its background sleep keeps stdout open until we kill it
      const proc = await createSubprocessShell("sleep 30 & echo $!", { stdout: PIPE });
      const grandchild = Number(await proc.stdout!.readline());
      for (let i = 0; proc.returncode === null && i < 10_000; i++) await sleep(1);
      const exited = proc.returncode;
      proc.kill(); // no-op: exited, not finished
      proc.terminate();
      const waited = await proc.wait(); // returns at once: the code is known
      process.kill(grandchild, "SIGKILL"); // the pipe closes
      expect((await proc.stdout!.read()).length).toBe(0);
      for (let i = 0; i < 10_000; i++) {
        try {
          proc.sendSignal("SIGTERM");
        } catch (e) {
          return [exited, waited, e instanceof ProcessLookupError, (e as ProcessLookupError).code];
        }
        await sleep(1);
      }
      return "never finished";
    });
    expect(r).toEqual([0, 0, true, "ESRCH"]);
  });

  it("a wait begun before the exit returns when the pipes have closed too (CPython 3.13)", async () => {
    const [r] = await runIn(virtualTime, async () => {
      // the shell exits when it reads a line; its background job writes later, on the same pipe
      const proc = await createSubprocessShell("(sleep 0.1; echo late) & read x; echo early", { stdin: PIPE, stdout: PIPE });
      const waiting = createTask(() => proc.wait());
      await sleep(0);
      proc.stdin!.write("go\n");
      const rc = await waiting;
      // the output is complete and buffered: one read takes it all, and the end
      return [rc, String(await proc.stdout!.read(100)), proc.stdout!.atEof()];
    });
    expect(r).toEqual([0, "early\nlate\n", true]);
  });

  it("communicate() with 5 MB each way through a Node child, stderr too", async () => {
    const [r] = await runIn(virtualTime, async () => {
      const proc = await createSubprocessExec(node, ["-e", "process.stdin.pipe(process.stdout); process.stdin.on('end', () => process.stderr.write('x'.repeat(1 << 20)))"], { stdin: PIPE, stdout: PIPE, stderr: PIPE });
      const data = Buffer.alloc(5 * 1024 * 1024, "ab");
      const [out, err] = await proc.communicate(data);
      return [out!.equals(data), err!.length, proc.returncode];
    });
    expect(r).toEqual([true, 1 << 20, 0]);
  });

  it("stderr: STDOUT keeps the order of a Node child's writes", async () => {
    const [r] = await runIn(virtualTime, async () => {
      const script = "const fs = require('fs'); for (let i = 0; i < 5; i++) { fs.writeSync(1, 'out' + i + '\\n'); fs.writeSync(2, 'err' + i + '\\n'); }";
      const proc = await createSubprocessExec(node, ["-e", script], { stdout: PIPE, stderr: STDOUT });
      const [out, err] = await proc.communicate();
      return [String(out), err];
    });
    expect(r).toEqual(["out0\nerr0\nout1\nerr1\nout2\nerr2\nout3\nerr3\nout4\nerr4\n", null]);
  });

  it("stdio as file descriptors; stderr: STDOUT follows stdout into a file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "asyncio-ts-sp-"));
    try {
      const input = join(dir, "in.txt");
      const output = join(dir, "out.txt");
      writeFileSync(input, "from a file\n");
      const inFd = openSync(input, "r");
      const outFd = openSync(output, "w");
      try {
        const [rcode] = await runIn(virtualTime, async () => {
          const proc = await createSubprocessShell("cat; echo to-err >&2", { stdin: inFd, stdout: outFd, stderr: STDOUT });
          expect([proc.stdin, proc.stdout, proc.stderr]).toEqual([null, null, null]);
          return await proc.wait();
        });
        expect(rcode).toBe(0);
      } finally {
        closeSync(inFd);
        closeSync(outFd);
      }
      expect(readFileSync(output, "utf8")).toBe("from a file\nto-err\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a failed spawn rejects with Node's error: ENOENT, EACCES, a missing cwd", async () => {
    const dir = mkdtempSync(join(tmpdir(), "asyncio-ts-sp-"));
    const notExec = join(dir, "not-executable");
    writeFileSync(notExec, "#!/bin/sh\necho hi\n", { mode: 0o644 });
    try {
      const [errs] = await runIn(virtualTime, async () => {
        const out: unknown[] = [];
        for (const merge of [false, true]) {
          const opts = merge ? { stdout: PIPE, stderr: STDOUT } : {};
          for (const [program, extra] of [
            ["nosuch-asyncio-ts-program", {}],
            [notExec, {}],
            ["sh", { cwd: join(dir, "missing") }],
          ] as const) {
            try {
              await createSubprocessExec(program, ["a"], { ...opts, ...extra });
              out.push("started");
            } catch (e) {
              const x = e as NodeJS.ErrnoException & { spawnargs?: string[] };
              out.push([x.message, x.code, x.syscall, x.path, x.spawnargs?.at(-1)]);
            }
          }
        }
        return out;
      });
      const expected = [
        ["spawn nosuch-asyncio-ts-program ENOENT", "ENOENT", "spawn nosuch-asyncio-ts-program", "nosuch-asyncio-ts-program", "a"],
        [`spawn ${notExec} EACCES`, "EACCES", `spawn ${notExec}`, notExec, "a"],
        ["spawn sh ENOENT", "ENOENT", "spawn sh", "sh", "a"],
      ];
      expect(errs).toEqual([...expected, ...expected]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the signal option: aborted before, nothing starts; aborted while running, SIGTERM", async () => {
    const [r] = await runIn(virtualTime, async () => {
      const reason = new Error("stop it");
      const before = AbortSignal.abort(reason);
      const first = await createSubprocessExec(node, ["-e", ""], { signal: before }).catch((e: unknown) => e);
      const ac = new AbortController();
      const proc = await createSubprocessExec(node, ["-e", "setInterval(() => {}, 1000)"], { signal: ac.signal });
      ac.abort();
      const code = await proc.wait();
      ac.abort(); // after the end: nothing
      return [first === reason, code];
    });
    expect(r).toEqual([true, -15]);
  });

  it("the signal option: aborted during the spawn, the call rejects with the reason", async () => {
    const [r, reports] = await runIn(virtualTime, async () => {
      const ac = new AbortController();
      const reason = new Error("changed my mind");
      const pending = createSubprocessExec(node, ["-e", "setInterval(() => {}, 1000)"], { signal: ac.signal });
      ac.abort(reason); // the child was spawned; its spawn event has not come yet
      return (await pending.catch((e: unknown) => e)) === reason;
    });
    expect(r).toBe(true);
    expect(reports).toEqual([]); // the child was killed then, not left for the loop's close
  });

  it("stdin is a StreamWriter: writeEof ends the child's input", async () => {
    const [r] = await runIn(virtualTime, async () => {
      const proc = await createSubprocessExec(node, ["-e", "let n = 0; process.stdin.on('data', (d) => { n += d.length; }); process.stdin.on('end', () => console.log('got ' + n))"], { stdin: PIPE, stdout: PIPE });
      const w = proc.stdin!;
      w.writelines(["ab", Buffer.from("cd")]);
      await w.drain();
      const canEof = w.canWriteEof();
      w.writeEof();
      const line = String(await proc.stdout!.readline());
      return [canEof, line, await proc.wait(), w.isClosing()];
    });
    expect(r).toEqual([true, "got 4\n", 0, true]);
  });

  it("drain right after a write the child's closed stdin refused at once raises ConnectionResetError (CPython's first drain)", async () => {
    const [r] = await runIn(virtualTime, async () => {
      const proc = await createSubprocessShell("exec 0<&-; echo closed; exec sleep 10", { stdin: PIPE, stdout: PIPE });
      expect(String(await proc.stdout!.readline())).toBe("closed\n");
      const w = proc.stdin!;
      w.write(Buffer.alloc(65536));
      const errored = (w.transport.errored as { code?: string } | null)?.code; // Node's 'error' comes a tick later
      // CPython: the transport is closing, drain yields, then raises ConnectionResetError('Connection lost')
      const e = await w.drain().then(
        () => "returned",
        (x: unknown) => x,
      );
      proc.kill();
      return [errored, e instanceof ConnectionResetError, (e as Error).message, ((e as Error).cause as { code?: string } | undefined)?.code, await proc.wait()];
    });
    expect(r).toEqual(["EPIPE", true, "Connection lost", "EPIPE", -constants.signals.SIGKILL]);
  });

  it("write() and communicate(input) after writeEof() raise RuntimeError: no byte is dropped silently (CPython drops them)", async () => {
    const [r] = await runIn(virtualTime, async () => {
      const proc = await createSubprocessExec("cat", [], { stdin: PIPE, stdout: PIPE });
      proc.stdin!.write("a");
      proc.stdin!.writeEof();
      const late = (() => {
        try {
          proc.stdin!.write("late");
          return "no error";
        } catch (e) {
          return `${(e as Error).name}: ${(e as Error).message}`;
        }
      })();
      const communicated = await proc.communicate("b").then(
        () => "no error",
        (e: unknown) => (e as Error).name,
      );
      return [late, communicated, await proc.wait()];
    });
    expect(r).toEqual(["RuntimeError: Cannot call write() after writeEof()", "RuntimeError", 0]);
  });

  it("a child still running at loop close is killed and reported", async () => {
    let proc: Process | null = null;
    const [, reports] = await runIn(virtualTime, async () => {
      proc = await createSubprocessExec(node, ["-e", "setInterval(() => {}, 1000)"], { stdout: PIPE });
      const done = await createSubprocessExec("true");
      await done.wait();
    });
    const p = proc as unknown as Process;
    expect(reports).toEqual([`child process ${p.pid} still running at loop close: killed`]);
    // the kill's exit arrives through Node's event loop, after run()
    for (let i = 0; p.returncode === null && i < 1000; i++) await new Promise((r) => setTimeout(r, 10));
    expect(p.returncode).toBe(-9);
  });

  it("run() ends a task waiting on a child without killing it; the loop's close does", async () => {
    let proc: Process | null = null;
    const [, reports] = await runIn(virtualTime, async () => {
      proc = await createSubprocessExec(node, ["-e", "setInterval(() => {}, 1000)"]);
      createTask(() => proc!.wait());
      await sleep(0);
    });
    expect(reports).toEqual([`child process ${(proc as unknown as Process).pid} still running at loop close: killed`]);
  });
});

describe("subprocesses on virtual time", () => {
  it("a wait for a slow child is no deadlock", async () => {
    const [rcode] = await runIn(true, async () => (await createSubprocessExec(node, ["-e", "setTimeout(() => process.exit(2), 300)"])).wait(), { deadlockTimeout: 50, holdTimeout: Infinity });
    expect(rcode).toBe(2);
  });

  it("a read and a wait hold the clock while the child runs", async () => {
    const [r] = await runIn(
      true,
      async () => {
        const loop = getRunningLoop();
        const sleeper = createTask(() => sleep(10_000));
        const t0 = loop.time();
        const proc = await createSubprocessExec(node, ["-e", "setTimeout(() => console.log('late'), 100); setTimeout(() => {}, 200)"], { stdout: PIPE });
        const line = String(await proc.stdout!.readline());
        const afterRead = loop.time() - t0;
        await proc.wait();
        const afterWait = loop.time() - t0;
        sleeper.cancel();
        return [line, afterRead, afterWait];
      },
      { holdTimeout: Infinity },
    );
    expect(r).toEqual(["late\n", 0, 0]);
  });

  it("closing stdin holds the clock until the pipe has closed: its waitClosed under a timeout ends at once", async () => {
    const [r] = await runIn(true, async () => {
      const loop = getRunningLoop();
      const proc = await createSubprocessExec("cat", [], { stdin: PIPE, stdout: PIPE });
      proc.stdin!.write("x");
      proc.stdin!.close();
      const t0 = loop.time();
      await timeout(60_000, () => proc.stdin!.waitClosed());
      const elapsed = loop.time() - t0;
      return [elapsed, q(await proc.stdout!.read()), await proc.wait()];
    });
    expect(r).toEqual([0, '"x"', 0]);
  });

  it("a child nobody waits for does not hold the clock", async () => {
    const [r] = await runIn(
      true,
      async () => {
        const loop = getRunningLoop();
        const proc = await createSubprocessExec(node, ["-e", "setInterval(() => {}, 1000)"]);
        const t0 = loop.time();
        await sleep(60_000);
        const elapsed = loop.time() - t0;
        proc.kill();
        return [elapsed, await proc.wait()];
      },
      { holdTimeout: Infinity },
    );
    expect(r).toEqual([60_000, -9]);
  });
});

describe("stdio plans and pipe feeds", () => {
  const plan = (stdin: unknown, stdout: unknown, stderr: unknown, platform: NodeJS.Platform = "linux") => planStdio(checkStdio(stdin, "stdin"), checkStdio(stdout, "stdout"), checkStdio(stderr, "stderr"), platform);

  it("maps the options to Node's stdio", () => {
    expect(plan(undefined, null, "inherit")).toEqual({ stdio: ["inherit", "inherit", "inherit"], merge: null });
    expect(plan(PIPE, DEVNULL, 7)).toEqual({ stdio: ["pipe", "ignore", 7], merge: null });
    expect(plan(0, PIPE, STDOUT)).toEqual({ stdio: [0, "pipe", "ignore"], merge: "shell" });
    expect(plan(0, PIPE, STDOUT, "win32")).toEqual({ stdio: [0, "pipe", "pipe"], merge: "reader" });
    expect(plan(undefined, undefined, STDOUT)).toEqual({ stdio: ["inherit", "inherit", 1], merge: null });
    expect(plan(undefined, DEVNULL, STDOUT)).toEqual({ stdio: ["inherit", "ignore", "ignore"], merge: null });
    expect(plan(undefined, 9, STDOUT)).toEqual({ stdio: ["inherit", 9, 9], merge: null });
  });

  it("several pipes feed one reader, which ends when all have ended (stderr: STDOUT on Windows)", async () => {
    await run(async () => {
      const a = new PassThrough();
      const b = new PassThrough();
      const feed = new PipeFeed(getRunningLoop(), new StreamReader(), [a, b]);
      a.write("from a\n");
      expect(String(await feed.reader.readline())).toBe("from a\n");
      b.write("from b\n");
      a.end();
      expect(String(await feed.reader.readline())).toBe("from b\n");
      expect(feed.reader.atEof()).toBe(false);
      b.end("last");
      expect(String(await feed.reader.read())).toBe("last");
      expect(feed.reader.atEof()).toBe(true);
    });
  });

  it("a pipe's error fails the reader", async () => {
    await run(async () => {
      const a = new PassThrough();
      const feed = new PipeFeed(getRunningLoop(), new StreamReader(), [a]);
      const boom = new Error("EIO");
      a.destroy(boom);
      await expect(feed.reader.read()).rejects.toBe(boom);
    });
  });
});

describe("subprocess bad input", () => {
  it("names the argument, as a rejection", async () => {
    await run(async () => {
      const calls: [() => Promise<unknown>, ErrorConstructor, RegExp][] = [
        [() => createSubprocessExec(5 as never), TypeError, /^Expected program to be a non-empty string, got 5 \(number\)$/],
        [() => createSubprocessExec(""), RangeError, /^Expected program to be a non-empty string, got "" \(string\)$/],
        [() => createSubprocessExec("ls", "-l" as never), TypeError, /^Expected args to be an array of strings, got "-l" \(string\) \(the arguments are one array/],
        [() => createSubprocessExec("ls", { stdout: PIPE } as never), TypeError, /^Expected args to be an array of strings, got an object \(Object\) \(options come third/],
        [() => createSubprocessExec("ls", ["-l", 1 as never]), TypeError, /^Expected args\[1\] to be a string, got 1 \(number\)$/],
        [() => createSubprocessShell(5 as never), TypeError, /^Expected cmd to be a string \(a shell command\), got 5 \(number\)$/],
        [() => createSubprocessShell("true", 5 as never), TypeError, /^Expected options to be an object, got 5 \(number\)$/],
        [() => createSubprocessExec("ls", [], { stdot: PIPE } as never), TypeError, /^Unknown option "stdot" of createSubprocessExec\(\) \(known: stdin, stdout, stderr, cwd, env, limit, signal\)$/],
        [() => createSubprocessShell("true", { shell: true } as never), TypeError, /^Unknown option "shell" of createSubprocessShell\(\)/],
        [() => createSubprocessExec("ls", [], { stdin: "pipe" as never }), TypeError, /^Expected stdin to be PIPE, DEVNULL, "inherit", a file descriptor \(a non-negative integer\) or undefined, got "pipe" \(string\)$/],
        [() => createSubprocessExec("ls", [], { stdin: STDOUT }), RangeError, /^Expected stdin to be .*, got -2 \(number\) \(STDOUT is for stderr only\)$/],
        [() => createSubprocessExec("ls", [], { stdout: STDOUT }), RangeError, /^Expected stdout to be .*STDOUT is for stderr only/],
        [() => createSubprocessExec("ls", [], { stdout: -7 }), RangeError, /^Expected stdout to be .*, got -7 \(number\)$/],
        [() => createSubprocessExec("ls", [], { stdout: 1.5 }), RangeError, /^Expected stdout to be .*, got 1.5 \(number\)$/],
        [() => createSubprocessExec("ls", [], { stderr: {} as never }), TypeError, /^Expected stderr to be PIPE, DEVNULL, STDOUT, "inherit", a file descriptor \(a non-negative integer\) or undefined, got an object \(Object\)$/],
        [() => createSubprocessExec("ls", [], { cwd: 5 as never }), TypeError, /^Expected cwd to be a string \(a directory\), got 5 \(number\)$/],
        [() => createSubprocessExec("ls", [], { cwd: "" }), RangeError, /^Expected cwd to be a directory, got "" \(string\)$/],
        [() => createSubprocessExec("ls", [], { env: "A=1" as never }), TypeError, /^Expected env to be an object of strings, got "A=1" \(string\)$/],
        [() => createSubprocessExec("ls", [], { env: { A: 1 } as never }), TypeError, /^Expected env\.A to be a string, got 1 \(number\)$/],
        [() => createSubprocessExec("ls", [], { limit: 0 }), RangeError, /^Expected limit to be a positive integer, got 0 \(number\)$/],
        [() => createSubprocessExec("ls", [], { limit: "big" as never }), TypeError, /^Expected limit to be a positive integer, got "big" \(string\)$/],
        [() => createSubprocessExec("ls", [], { signal: {} as never }), TypeError, /^Expected signal to be an AbortSignal, got an object \(Object\)$/],
      ];
      for (const [call, type, message] of calls) {
        const p = call(); // never a synchronous throw
        expect(p).toBeInstanceOf(Promise);
        const e = await p.then(
          () => null,
          (err: unknown) => err,
        );
        expect(e, String(message)).toBeInstanceOf(type);
        expect((e as Error).message).toMatch(message);
      }
      const proc = await createSubprocessExec("cat", [], { stdin: PIPE, stdout: PIPE });
      const c = proc.communicate(5 as never);
      expect(c).toBeInstanceOf(Promise);
      await expect(c).rejects.toThrow(/^Expected input to be a Buffer, a Uint8Array, a string or undefined, got 5 \(number\)$/);
      expect(() => proc.sendSignal("SIGFOO" as never)).toThrow(RangeError);
      expect(() => proc.sendSignal("SIGFOO" as never)).toThrow(/^Expected sig to be a signal name or number of os.constants.signals, got "SIGFOO" \(string\)$/);
      expect(() => proc.sendSignal(99_999)).toThrow(RangeError);
      expect(() => proc.sendSignal({} as never)).toThrow(TypeError);
      expect(await proc.communicate("still usable")).toEqual([Buffer.from("still usable"), null]);
    });
  });

  it("outside a running loop: a rejection that says so", async () => {
    await expect(createSubprocessExec("true")).rejects.toThrow(/no running event loop/i);
  });
});
