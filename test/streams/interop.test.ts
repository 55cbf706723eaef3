/**
 * asyncio-ts streams against CPython's asyncio streams, both ways, over real loopback sockets: a CPython
 * client (`twins/peer.py client`) against an asyncio-ts server, and an asyncio-ts client against a CPython
 * server (`twins/peer.py server`), running one script (line protocol, binary frames around the reader's
 * limit, a timeout mid-line, a read cancelled in a task). Both clients must print the same lines.
 *
 * Needs `python3` >= 3.11 (CPython's `wait_for` raises the builtin `TimeoutError` from 3.11): in CI a
 * missing one fails the test (`.ci/run` installs Debian's), elsewhere it is skipped.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CancelledError, createTask, getRunningLoop, openConnection, run, sleep, startServer, timeout, TimeoutError, type ExceptionContext, type StreamReader, type StreamWriter } from "../../src/index.js";

const PEER = fileURLToPath(new URL("./twins/peer.py", import.meta.url));

function findPython(): string | null {
  for (const cmd of ["python3.13", "python3.12", "python3.11", "python3"]) {
    try {
      const v = execFileSync(cmd, ["-c", "import sys; print(sys.version_info[1])"], { encoding: "utf8", env: { ...process.env, PYENV_VERSION: process.env["PYENV_VERSION"] ?? "3.13.0:system" } }).trim();
      if (Number(v) >= 11) return cmd;
    } catch {
      // not this one
    }
  }
  return null;
}
const python = findPython();
if (python === null && process.env["CI"]) throw new Error("the interop test needs python3 >= 3.11 (.ci/run installs it)");
const pyEnv = { ...process.env, PYENV_VERSION: process.env["PYENV_VERSION"] ?? "3.13.0:system" };

const EXPECTED = [
  "echo HELLO FROM CPYTHON",
  "timeout mid-line",
  "then partial x",
  "frame 1 ok",
  "frame 1000 ok",
  "frame 65536 ok",
  "frame 300000 ok",
  "read cancelled",
  "after cancel done",
  "bye",
  "eof true",
];

/** The protocol of twins/peer.py, served by asyncio-ts. */
async function handle(reader: StreamReader, writer: StreamWriter): Promise<void> {
  for (;;) {
    const line = await reader.readline();
    if (line.length === 0) break;
    const text = line.toString().replace(/\n$/, "");
    const sp = text.indexOf(" ");
    const [cmd, rest] = sp === -1 ? [text, ""] : [text.slice(0, sp), text.slice(sp + 1)];
    if (cmd === "ECHO") writer.write(`${rest.toUpperCase()}\n`);
    else if (cmd === "SLOW") {
      const [ms, word] = rest.split(" ");
      writer.write("par");
      await writer.drain();
      await sleep(Number(ms));
      writer.write(`tial ${word}\n`);
    } else if (cmd === "FRAMES") {
      for (;;) {
        const n = (await reader.readexactly(4)).readUInt32BE(0);
        if (n === 0) break;
        const digest = Buffer.from(createHash("sha256").update(await reader.readexactly(n)).digest("hex"));
        const head = Buffer.alloc(4);
        head.writeUInt32BE(digest.length);
        writer.write(Buffer.concat([head, digest]));
        await writer.drain();
      }
    } else if (cmd === "QUIET") {
      await sleep(Number(rest));
      writer.write("done\n");
    } else if (cmd === "BYE") {
      writer.write("bye\n");
      await writer.drain();
      break;
    }
    await writer.drain();
  }
  writer.close();
  await writer.waitClosed();
}

/** The client script of twins/peer.py, in asyncio-ts. */
async function client(port: number): Promise<string[]> {
  const out: string[] = [];
  const [reader, writer] = await openConnection("127.0.0.1", port);
  const line = async (): Promise<string> => (await reader.readline()).toString().replace(/\n$/, "");
  writer.write("ECHO hello from cpython\n");
  await writer.drain();
  out.push(`echo ${await line()}`);
  writer.write("SLOW 300 x\n");
  await writer.drain();
  try {
    await timeout(50, () => reader.readline());
    out.push("no timeout");
  } catch (e) {
    if (!(e instanceof TimeoutError)) throw e;
    out.push("timeout mid-line");
  }
  out.push(`then ${await line()}`);
  writer.write("FRAMES\n");
  for (const size of [1, 1000, 65536, 300000]) {
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i++) payload[i] = (i * 31) & 255;
    const head = Buffer.alloc(4);
    head.writeUInt32BE(size);
    writer.write(Buffer.concat([head, payload]));
    await writer.drain();
    const n = (await reader.readexactly(4)).readUInt32BE(0);
    const got = (await reader.readexactly(n)).toString();
    out.push(`frame ${size} ${got === createHash("sha256").update(payload).digest("hex") ? "ok" : `BAD ${got}`}`);
  }
  writer.write(Buffer.alloc(4));
  writer.write("QUIET 300\n");
  await writer.drain();
  const t = createTask(() => reader.readline());
  await sleep(50);
  t.cancel();
  try {
    await t;
  } catch (e) {
    if (e instanceof CancelledError) out.push("read cancelled");
  }
  out.push(`after cancel ${await line()}`);
  writer.write("BYE\n");
  out.push(await line());
  out.push(`eof ${(await reader.read()).length === 0}`);
  writer.close();
  await writer.waitClosed();
  return out;
}

describe.skipIf(python === null)("interop with CPython's asyncio streams", () => {
  let pyServer: ChildProcess | null = null;
  let pyPort = 0;
  beforeAll(async () => {
    const child = spawn(python!, [PEER, "server"], { env: pyEnv, stdio: ["ignore", "pipe", "inherit"] });
    pyServer = child;
    pyPort = await new Promise<number>((resolve, reject) => {
      let buf = "";
      child.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        const m = /port (\d+)/.exec(buf);
        if (m) resolve(Number(m[1]));
      });
      child.on("exit", (code) => reject(new Error(`the CPython server exited with ${code}`)));
    });
  });
  afterAll(() => {
    pyServer?.kill();
  });

  it("a CPython client against an asyncio-ts server (real clock)", async () => {
    let lines = "";
    await run(async () => {
      await using server = await startServer(handle, "127.0.0.1", 0);
      const port = server.sockets[0]!.port;
      const child = spawn(python!, [PEER, "client", String(port)], { env: pyEnv, stdio: ["ignore", "pipe", "inherit"] });
      child.stdout!.on("data", (d: Buffer) => (lines += d.toString()));
      const loop = getRunningLoop();
      const exited = loop.createFuture<number | null>();
      child.on("exit", (code) => exited.setResult(code));
      expect(await exited).toBe(0);
    });
    expect(lines.trim().split("\n")).toEqual(EXPECTED);
  }, 30_000);

  it("an asyncio-ts client against a CPython server (real clock)", async () => {
    const out = await run(() => client(pyPort));
    expect(out).toEqual(EXPECTED);
  }, 30_000);

  it("an asyncio-ts client against a CPython server on virtual time: the clock waits for the peer's bytes (holdTimeout), then jumps and says so", async () => {
    const reports: ExceptionContext[] = [];
    const out = await run(
      async () => {
        getRunningLoop().setExceptionHandler((_l, ctx) => reports.push(ctx));
        return client(pyPort);
      },
      { virtualTime: true, holdTimeout: 100 },
    );
    expect(out).toEqual(EXPECTED);
    // the timeout mid-line and the cancelled read each waited 100 ms of real time for CPython's bytes
    expect(reports.length).toBeGreaterThanOrEqual(2);
    expect(reports.every((c) => /EventLoopOptions.holdTimeout/.test(c.message))).toBe(true);
  }, 30_000);

  it("with the default holdTimeout (1 s), virtual time waits for bytes that come within it: no timeout", async () => {
    const out = await run(
      async () => {
        const [reader, writer] = await openConnection("127.0.0.1", pyPort);
        writer.write("SLOW 200 y\n");
        const loop = getRunningLoop();
        const t0 = loop.time();
        const got = String(await timeout(50, () => reader.readline()));
        const at = loop.time() - t0;
        writer.close();
        return [got, at];
      },
      { virtualTime: true },
    );
    expect(out).toEqual(["partial y\n", 0]);
  }, 30_000);
});
