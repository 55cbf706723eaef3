/**
 * CPython 3.13's `Lib/test/test_asyncio/test_subprocess.py`, as behaviours of `createSubprocessExec`,
 * `createSubprocessShell` and `Process` (see conformance/README.md, "test_subprocess.py"). Each test is
 * titled by CPython's test and checks what that test checks, in our own code, with real children.
 *
 * Children: where CPython runs `sys.executable -c <python>`, these run `process.execPath -e <javascript>`
 * doing the same thing; `/bin/sh` and `sleep` where CPython uses them. CPython's `PROGRAM_BLOCKED` is a
 * Node child that never ends, `PROGRAM_CAT` one that copies all its input to its output.
 *
 * Clocks: every test runs on virtual time (a wait for a child holds the clock, so nothing jumps while the
 * child runs; `holdTimeout: Infinity` so it never jumps over one), except the two that must give a real
 * child real time to be in a given state (`test_kill_issue43884`, `test_subprocess_send_signal_race`),
 * which run on the real clock. Nothing asserts on a duration. CPython's `wait_for(..., 60)` guards against
 * a hang; vitest's test timeout does that here.
 *
 * The mixin's tests run under each child watcher on Linux (and the proactor on Windows): they are ported
 * once. Names: Python's `None` is `null`, `bytes` a `Buffer` (compared as strings), `FileNotFoundError` is
 * Node's spawn error with `code` `"ENOENT"`, `BrokenPipeError`/`ConnectionResetError` from `drain()` is our
 * `ConnectionResetError` (docs/rosetta.md). Tests marked `it.fails` keep CPython's behaviour where ours
 * differs: the reason is next to each.
 */
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { describe, expect, it, vi } from "vitest";
import {
  CancelledError,
  ConnectionResetError,
  createSubprocessExec,
  createSubprocessShell,
  createTask,
  DEVNULL,
  type ExceptionContext,
  gather,
  getRunningLoop,
  newEventLoop,
  PIPE,
  type Process,
  ProcessLookupError,
  run,
  sleep,
  type StreamReader,
  waitFor,
} from "../../src/index.js";
import { PipeFeed } from "../../src/subprocess/pipe-reader.js";

const node = process.execPath;
const SIG = constants.signals;

/** CPython's `PROGRAM_BLOCKED`: a child that never ends by itself. */
const BLOCKED = ["-e", "setInterval(() => {}, 3_600_000)"];
/** CPython's `PROGRAM_CAT`: reads all its input, then writes it out. */
const CAT = ["-e", "const parts = []; process.stdin.on('data', (d) => parts.push(d)); process.stdin.on('end', () => process.stdout.write(Buffer.concat(parts)))"];
/** CPython's `sys.stdin.read(); print(len(data))`: the length of all its input, on a line. */
const COUNT_INPUT = ["-e", "let n = 0; process.stdin.on('data', (d) => { n += d.length; }); process.stdin.on('end', () => console.log(n))"];
/** CPython's `support.PIPE_MAX_SIZE`: more than any pipe buffer holds. */
const PIPE_MAX_SIZE = 4 * 1024 * 1024 + 1;

const str = (b: Buffer | null): string | null => (b === null ? null : b.toString("latin1"));

/** The messages the loop's exception handler received. */
type Reports = string[];

/**
 * Run `main` with `run()` and collect the exception handler's messages. Virtual time by default, with a
 * child's wait holding the clock for as long as it takes.
 */
async function runIn<T>(main: (reports: Reports) => Promise<T>, clock: "virtual" | "real" = "virtual"): Promise<[T, Reports]> {
  const reports: Reports = [];
  const value = await run(
    async () => {
      getRunningLoop().setExceptionHandler((_loop, ctx: ExceptionContext) => void reports.push(ctx.message));
      return await main(reports);
    },
    clock === "virtual" ? { virtualTime: true, holdTimeout: Infinity } : {},
  );
  return [value, reports];
}

/** Wait, on Node's own loop, until `proc` has seen its exit (after its loop closed). */
async function exitSeen(proc: Process): Promise<number | null> {
  for (let i = 0; proc.returncode === null && i < 1000; i++) await new Promise((r) => setTimeout(r, 10));
  return proc.returncode;
}

/** Linux: block this thread until process `pid` is a zombie (it exited; nobody reaped it yet). */
function blockUntilZombie(pid: number): boolean {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return true;
  }
  return false;
}

/** What calling `f` throws: the class name, or "no error". */
function thrownName(f: () => void): string {
  try {
    f();
    return "no error";
  } catch (e) {
    return e instanceof ProcessLookupError ? "ProcessLookupError" : (e as Error).name;
  }
}

describe("test_subprocess.py: SubprocessTransportTests", () => {
  it("test_proc_exited: the return code once the child exited; then sendSignal, terminate and kill raise ProcessLookupError", async () => {
    const [r, reports] = await runIn(async () => {
      const proc = await createSubprocessExec(node, ["-e", "process.exitCode = 6"]);
      const code = await proc.wait();
      return [code, proc.returncode, thrownName(() => proc.sendSignal("SIGTERM")), thrownName(() => proc.terminate()), thrownName(() => proc.kill())];
    });
    expect(r).toEqual([6, 6, "ProcessLookupError", "ProcessLookupError", "ProcessLookupError"]);
    expect(reports).toEqual([]);
  });
});

describe("test_subprocess.py: SubprocessMixin, pipes and communicate()", () => {
  it("test_stdin_stdout: write and drain stdin, close it, read stdout to its end, wait", async () => {
    const [r] = await runIn(() =>
      waitFor(async () => {
        const proc = await createSubprocessExec(node, CAT, { stdin: PIPE, stdout: PIPE });
        proc.stdin!.write(Buffer.from("some data"));
        await proc.stdin!.drain();
        proc.stdin!.close();
        const data = await proc.stdout!.read();
        const exitcode = await proc.wait();
        return [exitcode, str(data)];
      }, 60_000),
    );
    expect(r).toEqual([0, "some data"]);
  });

  it("test_communicate: communicate(input) returns the child's output; returncode 0", async () => {
    const [r] = await runIn(() =>
      waitFor(async () => {
        const proc = await createSubprocessExec(node, CAT, { stdin: PIPE, stdout: PIPE });
        const [stdout, stderr] = await proc.communicate(Buffer.from("some data"));
        return [proc.returncode, str(stdout), stderr];
      }, 60_000),
    );
    expect(r).toEqual([0, "some data", null]);
  });

  it("test_communicate_none_input: communicate() with no input closes stdin: the output is empty", async () => {
    const [r] = await runIn(async () => {
      const proc = await createSubprocessExec(node, CAT, { stdin: PIPE, stdout: PIPE });
      const [stdout] = await proc.communicate();
      return [proc.returncode, str(stdout)];
    });
    expect(r).toEqual([0, ""]);
  });

  it("test_stdin_not_inheritable: communicate(b'abc') reaches the child, which sees its input end (3)", async () => {
    // (CPython's close_fds=False is not an option here: Node's spawn makes its pipes close-on-exec)
    const [r] = await runIn(async () => {
      const proc = await createSubprocessExec(node, COUNT_INPUT, { stdin: PIPE, stdout: PIPE, stderr: PIPE });
      const [stdout] = await proc.communicate(Buffer.from("abc"));
      return [str(stdout)!.trimEnd(), await proc.wait()];
    });
    expect(r).toEqual(["3", 0]);
  });

  it("test_empty_input: communicate(b'') gives the child an empty input (0)", async () => {
    const [r] = await runIn(async () => {
      const proc = await createSubprocessExec(node, COUNT_INPUT, { stdin: PIPE, stdout: PIPE, stderr: PIPE });
      const [stdout] = await proc.communicate(Buffer.alloc(0));
      return [str(stdout)!.trimEnd(), await proc.wait()];
    });
    expect(r).toEqual(["0", 0]);
  });

  it("test_devnull_input: stdin DEVNULL: the child reads nothing (0)", async () => {
    const [r] = await runIn(async () => {
      const proc = await createSubprocessExec(node, COUNT_INPUT, { stdin: DEVNULL, stdout: PIPE, stderr: PIPE });
      const [stdout] = await proc.communicate();
      return [proc.stdin, str(stdout)!.trimEnd(), await proc.wait()];
    });
    expect(r).toEqual([null, "0", 0]);
  });

  it("test_devnull_output: stdout DEVNULL: communicate's stdout is null", async () => {
    const [r] = await runIn(async () => {
      const proc = await createSubprocessExec(node, COUNT_INPUT, { stdin: PIPE, stdout: DEVNULL, stderr: PIPE });
      const [stdout] = await proc.communicate(Buffer.from("abc"));
      return [stdout, await proc.wait()];
    });
    expect(r).toEqual([null, 0]);
  });

  it("test_devnull_error: stderr DEVNULL: communicate's stderr is null", async () => {
    const [r] = await runIn(async () => {
      const proc = await createSubprocessExec(node, COUNT_INPUT, { stdin: PIPE, stdout: PIPE, stderr: DEVNULL });
      const [, stderr] = await proc.communicate(Buffer.from("abc"));
      return [stderr, await proc.wait()];
    });
    expect(r).toEqual([null, 0]);
  });

  // DIFFERENCE: Node's spawn makes a PIPE a Unix socket pair, which /dev/stdin cannot open on Linux (ENXIO);
  // CPython's is a pipe (os.pipe): the child reads its input through /dev/stdin and prints 3.
  (process.platform === "linux" ? it.fails : it.skip)("test_devstdin_input: the child reads its input by opening /dev/stdin (Linux)", async () => {
    const [r] = await runIn(async () => {
      const proc = await createSubprocessExec(node, ["-e", "console.log(require('fs').readFileSync('/dev/stdin', 'utf8').length)"], { stdin: PIPE, stdout: PIPE, stderr: PIPE });
      const [stdout] = await proc.communicate(Buffer.from("abc"));
      return [str(stdout)!.trimEnd(), await proc.wait()];
    });
    expect(r).toEqual(["3", 0]);
  });

  // (found by this port, fixed: the connection's loss now completes drain waiters with its error, as
  // CPython's FlowControlMixin.connection_lost does)
  it("test_stdin_broken_pipe: drain() raises once the child is gone with the pipe full", async () => {
    const [r] = await runIn(async () => {
      // the child never reads its stdin; it ends once the pipe's buffer is full (CPython: it is told so
      // through a pipe of its own; here it is killed)
      const proc = await createSubprocessExec(node, BLOCKED, { stdin: PIPE });
      proc.stdin!.write(Buffer.alloc(PIPE_MAX_SIZE, "x"));
      proc.kill();
      let error: unknown = null;
      try {
        await proc.stdin!.drain();
      } catch (e) {
        error = e;
      }
      const code = (error as { code?: unknown } | null)?.code;
      return [error instanceof ConnectionResetError || code === "EPIPE" || code === "ECONNRESET", await proc.wait()];
    });
    expect(r).toEqual([true, -SIG.SIGKILL]);
  });

  it("test_communicate_ignore_broken_pipe: communicate(large input) to a child that exits at once is no error", async () => {
    const [r, reports] = await runIn(async () => {
      const proc = await createSubprocessExec(node, ["-e", ""], { stdin: PIPE });
      const out = await proc.communicate(Buffer.alloc(PIPE_MAX_SIZE, "x"));
      return [out, await proc.wait()];
    });
    expect(r).toEqual([[null, null], 0]);
    expect(reports).toEqual([]);
  });

  it("test_pause_reading: output over twice the limit pauses the stdout pipe, a read resumes it; nothing lost", async () => {
    // (CPython mocks pause_reading/resume_reading on the pipe's transport: here, spies on the pipe feed's)
    const pause = vi.spyOn(PipeFeed.prototype, "pause");
    const resume = vi.spyOn(PipeFeed.prototype, "resume");
    try {
      const limit = 10;
      const size = limit * 2 + 1;
      const [r] = await runIn(async () => {
        const proc = await createSubprocessExec(node, ["-e", `process.stdout.write('x'.repeat(${size}))`], { stdin: PIPE, stdout: PIPE, limit });
        const feed = (proc.stdout as StreamReader)._transport;
        const [stdout] = await proc.communicate();
        return [str(stdout), pause.mock.contexts.includes(feed as PipeFeed), resume.mock.contexts.includes(feed as PipeFeed)];
      });
      expect(r).toEqual(["x".repeat(size), true, true]);
    } finally {
      pause.mockRestore();
      resume.mockRestore();
    }
  });

  it("test_read_stdout_after_process_exit: 256 KiB read 64 KiB at a time, sleeping between reads, up to the end", async () => {
    const [r] = await runIn(async () => {
      const code = "for (let i = 0; i < 64; i++) process.stdout.write('x'.repeat(4096)); process.exitCode = 1";
      const proc = await createSubprocessExec(node, ["-e", code], { stdout: PIPE });
      let total = 0;
      for (;;) {
        const data = await proc.stdout!.read(65536);
        if (data.length === 0) break;
        total += data.length;
        await sleep(300);
      }
      return [total, await proc.wait()];
    });
    expect(r).toEqual([64 * 4096, 1]);
  });

  it("test_subprocess_concurrent_wait: after communicate(), ten wait() at once all give the return code", async () => {
    const [r] = await runIn(async () => {
      const proc = await createSubprocessExec(node, CAT, { stdin: PIPE, stdout: PIPE });
      const [stdout] = await proc.communicate(Buffer.from("some data"));
      const codes = await gather(...Array.from({ length: 10 }, () => () => proc.wait()));
      return [str(stdout), proc.returncode, codes];
    });
    expect(r).toEqual(["some data", 0, Array(10).fill(0)]);
  });

  it("test_subprocess_communicate_stdout: ten children's communicate() at once, each gets its own output", async () => {
    const [r] = await runIn(async () => {
      const outputs = Array.from({ length: 10 }, (_, i) => `foo${i}`);
      const got = await gather(
        ...outputs.map((out) => async () => {
          const proc = await createSubprocessExec(node, ["-e", `console.log(${JSON.stringify(out)})`], { stdout: PIPE });
          const [stdout] = await proc.communicate();
          return str(stdout)!.trim();
        }),
      );
      return [outputs, got];
    });
    expect(r[1]).toEqual(r[0]);
  });

  it("test_subprocess_protocol_events: each pipe's data then its end, and the exit, all seen (the streams' view of the protocol's events)", async () => {
    // CPython's protocol gets pipe_data_received(fd, data), pipe_connection_lost(fd) and process_exited();
    // here the same events are what the readers and wait() return: data, the end (an empty read), the code
    const [events] = await runIn(async () => {
      const events: string[] = [];
      const proc = await createSubprocessExec(node, ["-e", "process.stdout.write('stdout'); process.stderr.write('stderr')"], { stdout: PIPE, stderr: PIPE });
      const drain = async (fd: number, r: StreamReader): Promise<void> => {
        let data = "";
        for (;;) {
          const chunk = await r.read(65536);
          if (chunk.length === 0) break;
          data += chunk.toString("latin1");
        }
        events.push(`pipe_data_received ${fd} ${data}`, `pipe_connection_lost ${fd}`);
      };
      await gather(
        () => drain(1, proc.stdout!),
        () => drain(2, proc.stderr!),
        async () => void events.push(`process_exited ${await proc.wait()}`),
      );
      return events;
    });
    const expected = ["pipe_data_received 1 stdout", "pipe_data_received 2 stderr", "pipe_connection_lost 1", "pipe_connection_lost 2", "process_exited 0"];
    expect([...events].sort()).toEqual([...expected].sort());
    for (const fd of [1, 2]) {
      expect(events.filter((e) => e.startsWith("pipe_") && e.includes(` ${fd}`)).map((e) => e.split(" ")[0])).toEqual(["pipe_data_received", "pipe_connection_lost"]);
    }
  });
});

describe("test_subprocess.py: SubprocessMixin, the shell, the environment, text mode", () => {
  it("test_shell: createSubprocessShell('exit 7') returns 7", async () => {
    const [r] = await runIn(async () => {
      const proc = await createSubprocessShell("exit 7");
      return await proc.wait();
    });
    expect(r).toBe(7);
  });

  /** CPython's `check_stdout_output`: communicate, returncode 0, then a wait() task is done after one sleep(0). */
  async function checkStdoutOutput(proc: Process): Promise<unknown[]> {
    const [stdout] = await proc.communicate();
    const task = createTask(() => proc.wait());
    await sleep(0);
    return [str(stdout), proc.returncode, task.done() ? task.result() : "pending"];
  }

  it("test_create_subprocess_env_shell: env reaches a shell's child", async () => {
    const [r] = await runIn(async () => {
      const cmd = `'${node}' -e "process.stdout.write(process.env.FOO)"`;
      const proc = await createSubprocessShell(cmd, { env: { ...process.env, FOO: "bar" }, stdout: PIPE });
      return await checkStdoutOutput(proc);
    });
    expect(r).toEqual(["bar", 0, 0]);
  });

  it("test_create_subprocess_env_exec: env reaches the child", async () => {
    const [r] = await runIn(async () => {
      const proc = await createSubprocessExec(node, ["-e", "process.stdout.write(process.env.FOO)"], { env: { ...process.env, FOO: "baz" }, stdout: PIPE });
      return await checkStdoutOutput(proc);
    });
    expect(r).toEqual(["baz", 0, 0]);
  });

  for (const [test, start] of [
    ["test_create_subprocess_exec_text_mode_fails", (o: object) => createSubprocessExec(node, [], o)],
    ["test_create_subprocess_shell_text_mode_fails", (o: object) => createSubprocessShell(node, o)],
  ] as const) {
    it(`${test}: text, encoding and errors are refused (CPython: ValueError; here an unknown option, TypeError), nothing starts`, async () => {
      const [r, reports] = await runIn(async () => {
        const out: string[] = [];
        for (const [name, value] of [
          ["text", true],
          ["encoding", "utf-8"],
          ["errors", "strict"],
        ] as const) {
          try {
            await start({ [name]: value });
            out.push("started");
          } catch (e) {
            out.push(`${(e as Error).name}: ${/Unknown option "(\w+)"/.exec((e as Error).message)?.[1]}`);
          }
        }
        return out;
      });
      expect(r).toEqual(["TypeError: text", "TypeError: encoding", "TypeError: errors"]);
      expect(reports).toEqual([]);
    });
  }
});

describe("test_subprocess.py: SubprocessMixin, signals", () => {
  it("test_kill: kill() a blocked child: -SIGKILL", async () => {
    const [r] = await runIn(async () => {
      const proc = await createSubprocessExec(node, BLOCKED);
      proc.kill();
      return await proc.wait();
    });
    expect(r).toBe(-SIG.SIGKILL);
  });

  it("test_kill_issue43884: kill() a shell whose own child holds stdout: -SIGKILL once the pipe closes (real clock)", async () => {
    const [r] = await runIn(async () => {
      const proc = await createSubprocessShell("sleep 1; sleep 1", { stdout: PIPE });
      await sleep(200); // the shell is in its first sleep
      proc.kill();
      const code = await proc.wait();
      return [code, (await proc.stdout!.read()).length];
    }, "real");
    expect(r).toEqual([-SIG.SIGKILL, 0]);
  });

  it("test_terminate: terminate() a blocked child: -SIGTERM", async () => {
    const [r] = await runIn(async () => {
      const proc = await createSubprocessExec(node, BLOCKED);
      proc.terminate();
      return await proc.wait();
    });
    expect(r).toBe(-SIG.SIGTERM);
  });

  it("test_send_signal: SIGHUP to a child once it says it sleeps: -SIGHUP", async () => {
    const [r] = await runIn(async () => {
      const proc = await createSubprocessExec(node, ["-e", "console.log('sleeping'); setInterval(() => {}, 3_600_000)"], { stdout: PIPE });
      const line = str(await proc.stdout!.readline());
      proc.sendSignal(SIG.SIGHUP);
      return [line, await proc.wait()];
    });
    expect(r).toEqual(["sleeping\n", -SIG.SIGHUP]);
  });

  (process.platform === "linux" ? it : it.skip)("test_subprocess_send_signal_race: a signal sent as the child ends is sent or refused, never a wrong exit (real clock, Linux)", async () => {
    const [codes] = await runIn(async () => {
      const codes: number[] = [];
      for (let i = 0; i < 10; i++) {
        const proc = await createSubprocessExec("sleep", ["0.1"]);
        await sleep(100);
        try {
          proc.sendSignal(SIG.SIGUSR1);
        } catch (e) {
          if (!(e instanceof ProcessLookupError)) throw e;
        }
        codes.push(await proc.wait());
      }
      return codes;
    }, "real");
    expect(codes).toHaveLength(10);
    for (const c of codes) {
      expect(c).not.toBe(255);
      expect([0, -SIG.SIGUSR1]).toContain(c);
    }
  });
});

describe("test_subprocess.py: SubprocessMixin, cancellation", () => {
  it("test_cancel_process_wait: a task in wait() cancelled by callSoon; cancel() again does nothing; then kill and wait", async () => {
    const [r, reports] = await runIn(async () => {
      const loop = getRunningLoop();
      const proc = await createSubprocessExec(node, BLOCKED);
      const task = createTask(() => proc.wait());
      loop.callSoon(() => task.cancel());
      let cancelled = false;
      try {
        await task;
      } catch (e) {
        cancelled = e instanceof CancelledError;
      }
      const again = task.cancel();
      const running = proc.returncode;
      proc.kill();
      return [cancelled, task.cancelled(), again, running, await proc.wait()];
    });
    expect(r).toEqual([true, true, false, null, -SIG.SIGKILL]);
    expect(reports).toEqual([]);
  });

  it("test_cancel_make_subprocess_transport_exec: cancelling the task that starts a child raises CancelledError and leaves no child behind", async () => {
    const [r, reports] = await runIn(async () => {
      const task = createTask(() => createSubprocessExec(node, BLOCKED));
      getRunningLoop().callSoon(() => task.cancel());
      try {
        await task;
        return "started";
      } catch (e) {
        return e instanceof CancelledError ? "cancelled" : String(e);
      }
    });
    expect(r).toBe("cancelled");
    // a child left running would be killed and reported at the loop's close
    expect(reports).toEqual([]);
  });
});

describe("test_subprocess.py: SubprocessMixin, close (the loop's close: Process has no close())", () => {
  it("test_close_kill_running: a child still running when its loop closes is killed (kill called; returncode null until then)", async () => {
    const loop = newEventLoop({ virtualTime: true, holdTimeout: Infinity });
    const reports: Reports = [];
    loop.setExceptionHandler((_l, ctx) => void reports.push(ctx.message));
    const proc = await loop.runUntilComplete(() => createSubprocessExec(node, BLOCKED));
    const kill = vi.spyOn(proc._child, "kill");
    const returncode = proc.returncode;
    loop.close();
    expect(returncode).toBeNull();
    expect(kill).toHaveBeenCalledWith("SIGKILL");
    expect(reports).toEqual([`child process ${proc.pid} still running at loop close: killed`]);
    expect(await exitSeen(proc)).toBe(-SIG.SIGKILL);
  });

  // (found by this port, fixed: like CPython's close(), which polls the child first, the loop's close leaves
  // a child that exited alone even before Node reported its exit)
  (process.platform === "linux" ? it : it.skip)("test_close_dont_kill_finished: a child that exited, its exit not seen yet, is not killed at the loop's close (Linux)", async () => {
    const loop = newEventLoop({ virtualTime: true, holdTimeout: Infinity });
    const reports: Reports = [];
    loop.setExceptionHandler((_l, ctx) => void reports.push(ctx.message));
    const proc = await loop.runUntilComplete(() => createSubprocessExec(node, ["-e", ""]));
    const kill = vi.spyOn(proc._child, "kill");
    // the child exits; this thread is blocked, so Node cannot tell us yet (CPython: proc.wait() behind asyncio's back)
    expect(blockUntilZombie(proc.pid)).toBe(true);
    const returncode = proc.returncode;
    loop.close();
    const finalCode = await exitSeen(proc);
    expect(returncode).toBeNull();
    expect(finalCode).toBe(0);
    expect(kill).not.toHaveBeenCalled();
    expect(reports).toEqual([]);
  });
});

describe("test_subprocess.py: SubprocessMixin, a failed spawn", () => {
  /** The pipe handles Node has open (a leak of a failed spawn's pipes shows here). */
  const pipes = (): number => process.getActiveResourcesInfo().filter((x) => x === "PipeWrap").length;

  for (const [test, stdin] of [
    ["test_popen_error", undefined],
    ["test_popen_error_with_stdin_pipe", PIPE],
  ] as const) {
    it(`${test}: a spawn that fails (no such program; no such cwd) rejects with its error and leaves nothing open`, async () => {
      const before = pipes();
      const [r, reports] = await runIn(async () => {
        const out: unknown[] = [];
        for (const [program, cwd] of [
          ["nosuch-asyncio-ts-program", undefined],
          [node, "/nonexistent-asyncio-ts-dir"],
        ] as const) {
          try {
            await createSubprocessExec(program, ["-e", ""], { stdin, ...(cwd !== undefined ? { cwd } : {}) });
            out.push("started");
          } catch (e) {
            out.push((e as NodeJS.ErrnoException).code);
          }
        }
        return out;
      });
      expect(r).toEqual(["ENOENT", "ENOENT"]);
      expect(reports).toEqual([]);
      // (pipes close a tick after a failed spawn; the 5 s allowed only keep a loaded machine from failing it)
      for (let i = 0; pipes() > before && i < 500; i++) await new Promise((res) => setTimeout(res, 10));
      expect(pipes()).toBeLessThanOrEqual(before);
    });
  }
});
