/**
 * Streams over real sockets on loopback (TCP, Unix, TLS), on both clocks: round trips, timeouts and
 * cancellation at every wait (connect, read, drain, serveForever), backpressure, half close, failures,
 * servers left open at the end of run(), bad input.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CancelledError,
  ConnectionResetError,
  createTask,
  Event,
  gather,
  getRunningLoop,
  openConnection,
  openUnixConnection,
  run,
  sleep,
  startServer,
  startUnixServer,
  TaskGroup,
  timeout,
  TimeoutError,
  waitFor,
  type ExceptionContext,
  type StreamReader,
  type StreamWriter,
} from "../../src/index.js";

const HOST = "127.0.0.1";
const clocks = [
  ["virtual time", true],
  ["real clock", false],
] as const;

async function echoUpper(reader: StreamReader, writer: StreamWriter): Promise<void> {
  for await (const line of reader) {
    writer.write(line.toString().toUpperCase());
    await writer.drain();
  }
  writer.close();
}

describe.each(clocks)("TCP streams (%s)", (_name, virtualTime) => {
  it("round trips: 200 lines echoed, each under a timeout that a premature clock jump would trip", async () => {
    await run(
      async () => {
        await using server = await startServer(echoUpper, HOST, 0);
        const [r, w] = await openConnection(HOST, server.sockets[0]!.port);
        const t0 = getRunningLoop().time();
        for (let i = 0; i < 200; i++) {
          w.write(`line ${i}\n`);
          await w.drain();
          expect(String(await timeout(1000, () => r.readline()))).toBe(`LINE ${i}\n`);
        }
        if (virtualTime) expect(getRunningLoop().time()).toBe(t0);
        w.close();
        await w.waitClosed();
      },
      { virtualTime },
    );
  });

  it("a read cancelled by a timeout loses no byte: the reply read afterwards is whole", async () => {
    const out: string[] = [];
    await run(
      async () => {
        const loop = getRunningLoop();
        await using server = await startServer(async (reader, writer) => {
          await reader.readline();
          writer.write("par");
          await sleep(50);
          writer.write("tial\n");
          await reader.read(); // until the client closes
          writer.close();
        }, HOST, 0);
        const [r, w] = await openConnection(HOST, server.sockets[0]!.port);
        w.write("go\n");
        const t0 = loop.time();
        try {
          await timeout(20, () => r.readline());
        } catch (e) {
          out.push(`${e instanceof TimeoutError ? "TimeoutError" : String(e)}${virtualTime ? ` at ${loop.time() - t0}` : ""}`);
        }
        out.push(JSON.stringify(String(await r.readline())));
        w.close();
      },
      { virtualTime },
    );
    expect(out).toEqual([virtualTime ? "TimeoutError at 20" : "TimeoutError", '"partial\\n"']);
  });

  it("a handler's sleep is virtual: a reply 5 s later arrives at loop time 5000", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        await using server = await startServer(async (reader, writer) => {
          await reader.readline();
          await sleep(5000);
          writer.write("late\n");
          writer.close();
        }, HOST, 0);
        const [r, w] = await openConnection(HOST, server.sockets[0]!.port);
        const t0 = loop.time();
        w.write("x\n");
        expect(String(await waitFor(r.readline(), 10_000))).toBe("late\n");
        const elapsed = loop.time() - t0;
        if (virtualTime) expect(elapsed).toBe(5000);
        w.close();
      },
      { virtualTime },
    );
  }, 20_000);

  it("gather of reads and writes of one connection, as CPython's gather of coroutines", async () => {
    await run(
      async () => {
        await using server = await startServer(echoUpper, HOST, 0);
        const [r, w] = await openConnection(HOST, server.sockets[0]!.port);
        const [line, sent] = await gather(
          r.readline(),
          (async () => {
            w.write("both\n");
            await w.drain();
            return "sent";
          })(),
        );
        expect([String(line), sent]).toEqual(["BOTH\n", "sent"]);
        const [a, b] = await Promise.all([r.readexactly(2), (async () => w.write("ok\n"))()]);
        expect([String(a), b]).toEqual(["OK", undefined]);
        w.close();
      },
      { virtualTime },
    );
  });

  it("drain waits while the peer does not read (backpressure); 8 MiB arrive whole", async () => {
    await run(
      async () => {
        let received = 0;
        let sum = 0;
        const gate = { open: false };
        await using server = await startServer(async (reader, writer) => {
          while (!gate.open) await sleep(10);
          for (;;) {
            const chunk = await reader.read(1 << 16);
            if (chunk.length === 0) break;
            received += chunk.length;
            for (const b of chunk) sum = (sum + b) % 65521;
          }
          writer.write(`${received}\n`);
          writer.close();
        }, HOST, 0);
        const [r, w] = await openConnection(HOST, server.sockets[0]!.port);
        const block = Buffer.alloc(1 << 20);
        for (let i = 0; i < block.length; i++) block[i] = (i * 7) & 255;
        let expectedSum = 0;
        for (const b of block) expectedSum = (expectedSum + b) % 65521;
        let blocked = false;
        for (let i = 0; i < 8; i++) {
          w.write(block);
          if (!blocked) {
            // the server is not reading: drain cannot finish
            try {
              await timeout(30, () => w.drain());
            } catch (e) {
              if (!(e instanceof TimeoutError)) throw e;
              blocked = true;
              gate.open = true;
            }
          }
          await w.drain();
        }
        w.writeEof();
        expect(blocked).toBe(true);
        expect(String(await r.readline())).toBe(`${8 << 20}\n`);
        expect(received).toBe(8 << 20);
        expect(sum).toBe((expectedSum * 8) % 65521);
        w.close();
      },
      { virtualTime },
    );
  }, 30_000);

  it("half close: writeEof ends the peer's reading, the reply still comes back", async () => {
    await run(
      async () => {
        await using server = await startServer(async (reader, writer) => {
          const all = await reader.read();
          writer.write(`got ${all.length} bytes\n`);
          writer.close();
        }, HOST, 0);
        const [r, w] = await openConnection(HOST, server.sockets[0]!.port);
        expect(w.canWriteEof()).toBe(true);
        w.write("abc");
        w.writeEof();
        expect(() => w.write("more")).toThrow(/after writeEof/);
        expect(String(await r.readline())).toBe("got 3 bytes\n");
        expect((await r.read()).length).toBe(0);
        expect(r.atEof()).toBe(true);
        w.close();
        await w.waitClosed();
      },
      { virtualTime },
    );
  });

  it("cancelling serveForever closes the server, cancels its handlers and ends their connections", async () => {
    const events: string[] = [];
    await run(
      async () => {
        const server = await startServer(async (reader) => {
          try {
            await reader.readline();
            events.push("handler read a line");
          } catch (e) {
            events.push(e instanceof CancelledError ? "handler cancelled" : `handler ${String(e)}`);
            throw e;
          }
        }, HOST, 0);
        const port = server.sockets[0]!.port;
        const serving = createTask(() => server.serveForever());
        const [r] = await openConnection(HOST, port);
        await sleep(10);
        serving.cancel();
        await expect(serving).rejects.toBeInstanceOf(CancelledError);
        events.push(`serving: ${server.isServing()}`);
        expect((await r.read()).length).toBe(0); // the connection was closed: end of file
        events.push("client saw EOF");
        await expect(openConnection(HOST, port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
      },
      { virtualTime },
    );
    expect(events).toEqual(["handler cancelled", "serving: false", "client saw EOF"]);
  });

  it("a handler that fails is reported and its connection closed; the server goes on", async () => {
    const reports: ExceptionContext[] = [];
    await run(
      async () => {
        getRunningLoop().setExceptionHandler((_l, ctx) => reports.push(ctx));
        await using server = await startServer(async (reader, writer) => {
          if (String(await reader.readline()) === "fail\n") throw new Error("handler broke");
          writer.close();
        }, HOST, 0);
        const [r1, w1] = await openConnection(HOST, server.sockets[0]!.port);
        w1.write("fail\n");
        expect((await r1.read()).length).toBe(0);
        w1.close();
        const [, w2] = await openConnection(HOST, server.sockets[0]!.port);
        w2.write("fine\n");
        w2.close();
        await w2.waitClosed();
      },
      { virtualTime },
    );
    expect(reports.map((c) => [c.message, (c.exception as Error).message])).toEqual([["Unhandled exception in clientConnected", "handler broke"]]);
  });

  it("after close(), writes are dropped and drain raises ConnectionResetError (CPython's order)", async () => {
    await run(
      async () => {
        await using server = await startServer(echoUpper, HOST, 0);
        const [r, w] = await openConnection(HOST, server.sockets[0]!.port);
        w.write("last\n");
        w.close();
        expect(w.isClosing()).toBe(true);
        w.write("dropped\n");
        await expect(w.drain()).rejects.toBeInstanceOf(ConnectionResetError);
        await w.waitClosed();
        expect(String(await r.read())).toBe(""); // this end stopped reading at close()
      },
      { virtualTime },
    );
  });

  it("a peer that went away: a later drain raises the connection's error", async () => {
    await run(
      async () => {
        await using server = await startServer(async (_reader, writer) => {
          writer.transport.destroy();
        }, HOST, 0);
        const [r, w] = await openConnection(HOST, server.sockets[0]!.port);
        expect((await r.read()).length).toBe(0);
        let failure: unknown = null;
        for (let i = 0; i < 200 && failure === null; i++) {
          w.write(Buffer.alloc(1024));
          try {
            await w.drain();
            await sleep(5);
          } catch (e) {
            failure = e;
          }
        }
        const code = (failure as { code?: string }).code;
        expect(["EPIPE", "ECONNRESET"]).toContain(code);
        expect(w.isClosing()).toBe(true);
        await expect(w.drain()).rejects.toBeDefined();
      },
      { virtualTime },
    );
  });

  it("connect: refused is Node's error; a cancelled or aborted connect destroys the socket", async () => {
    await run(
      async () => {
        const spare = net.createServer();
        await new Promise<void>((res) => spare.listen(0, HOST, res));
        const port = (spare.address() as net.AddressInfo).port;
        await new Promise<void>((res) => spare.close(() => res()));
        await expect(openConnection(HOST, port)).rejects.toMatchObject({ code: "ECONNREFUSED" });

        await using server = await startServer(echoUpper, HOST, 0);
        const p2 = server.sockets[0]!.port;
        const t = createTask(() => openConnection(HOST, p2));
        await sleep(0); // the connect is under way
        t.cancel();
        await expect(t).rejects.toBeInstanceOf(CancelledError);

        const ac = new AbortController();
        const pending = openConnection(HOST, p2, { signal: ac.signal });
        ac.abort(new Error("changed my mind"));
        await expect(pending).rejects.toThrow("changed my mind");
        await expect(openConnection(HOST, p2, { signal: AbortSignal.abort(new Error("already")) })).rejects.toThrow("already");

        const [r, w] = await openConnection(HOST, p2);
        w.write("still serving\n");
        expect(String(await r.readline())).toBe("STILL SERVING\n");
        w.close();
      },
      { virtualTime },
    );
  });

  it("getExtraInfo: peername and sockname are [host, port]; socket is the transport", async () => {
    await run(
      async () => {
        let serverSide: unknown[] = [];
        await using server = await startServer(async (_r, w) => {
          serverSide = [w.getExtraInfo("peername"), w.getExtraInfo("sockname")];
          w.close();
        }, HOST, 0);
        const port = server.sockets[0]!.port;
        const [r, w] = await openConnection(HOST, port);
        await r.read();
        const peer = w.getExtraInfo("peername") as [string, number];
        const sock = w.getExtraInfo("sockname") as [string, number];
        expect(peer).toEqual([HOST, port]);
        expect(serverSide).toEqual([sock, peer]);
        expect(w.getExtraInfo("socket")).toBe(w.transport);
        expect(w.getExtraInfo("peercert", "none")).toBe("none");
        expect(w.getExtraInfo("nothing", 7)).toBe(7);
        w.close();
      },
      { virtualTime },
    );
  });

  it("a TaskGroup of clients under one timeout: every client's read is cancelled at the deadline", async () => {
    const out: string[] = [];
    await run(
      async () => {
        await using server = await startServer(async (reader) => {
          await reader.read(); // never answers
        }, HOST, 0);
        const port = server.sockets[0]!.port;
        const writers: StreamWriter[] = [];
        try {
          await timeout(100, async () => {
            const tg = new TaskGroup();
            await tg.run(async () => {
              for (let i = 0; i < 3; i++) {
                tg.createTask(async () => {
                  const [r, w] = await openConnection(HOST, port);
                  writers.push(w);
                  try {
                    await r.readline();
                  } catch (e) {
                    out.push(`client ${i} ${e instanceof CancelledError ? "cancelled" : String(e)}`);
                    throw e;
                  }
                });
              }
            });
          });
        } catch (e) {
          out.push(e instanceof TimeoutError ? "TimeoutError" : String(e));
        }
        for (const w of writers) w.close();
        server.closeClients();
      },
      { virtualTime },
    );
    expect(out).toEqual(["client 0 cancelled", "client 1 cancelled", "client 2 cancelled", "TimeoutError"]);
  });

  it("a close in progress holds the virtual clock: server.waitClosed, both writers' waitClosed and a cancelled serveForever end at once", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        const t0 = loop.time();
        // the client closes; the handler closes at its end of file; the server's waitClosed waits for both
        const server = await startServer(async (r, w) => {
          await r.read();
          w.close();
        }, HOST, 0);
        const [, w] = await openConnection(HOST, server.sockets[0]!.port);
        w.write("x");
        w.close();
        server.close();
        await timeout(60_000, () => server.waitClosed());
        await timeout(60_000, () => w.waitClosed());
        // the server's writer closed by the handler's side, then the client's writer closed by the client
        let serverWriter: StreamWriter | undefined;
        let accepted!: () => void;
        const acceptedP = new Promise<void>((res) => (accepted = res));
        const s2 = await startServer(async (_r, sw) => {
          serverWriter = sw;
          accepted();
          await sleep(1e9);
        }, HOST, 0);
        const [, w2] = await openConnection(HOST, s2.sockets[0]!.port);
        await acceptedP;
        serverWriter!.close();
        await timeout(60_000, () => serverWriter!.waitClosed());
        w2.close();
        await timeout(60_000, () => w2.waitClosed());
        s2.close();
        await timeout(60_000, () => s2.waitClosed());
        // serveForever cancelled with a client connected: the handler is cancelled, its connection closed
        let handling!: () => void;
        const handlingP = new Promise<void>((res) => (handling = res));
        const s3 = await startServer(async (r) => {
          handling();
          await r.read();
        }, HOST, 0);
        const serving = createTask(() => s3.serveForever());
        const [r3] = await openConnection(HOST, s3.sockets[0]!.port);
        await handlingP;
        serving.cancel();
        await expect(timeout(60_000, () => serving)).rejects.toBeInstanceOf(CancelledError);
        expect((await timeout(60_000, () => r3.read())).length).toBe(0);
        if (virtualTime) expect(loop.time() - t0).toBe(0);
      },
      { virtualTime },
    );
  });

  it("waitClosed after the connection broke, then close(): raises the error it broke with (CPython's wait_closed)", async () => {
    await run(
      async () => {
        let serverWriter: StreamWriter | undefined;
        let accepted!: () => void;
        const acceptedP = new Promise<void>((res) => (accepted = res));
        await using server = await startServer(async (_r, sw) => {
          serverWriter = sw;
          accepted();
          await sleep(1e9);
        }, HOST, 0);
        const [r, w] = await openConnection(HOST, server.sockets[0]!.port);
        await acceptedP;
        serverWriter!.transport.resetAndDestroy();
        await expect(r.read()).rejects.toMatchObject({ code: "ECONNRESET" });
        w.close();
        // CPython: connection_lost(exc) sets the close waiter's exception (streams.py, StreamReaderProtocol)
        await expect(w.waitClosed()).rejects.toMatchObject({ code: "ECONNRESET" });
        await expect(w.waitClosed()).rejects.toMatchObject({ code: "ECONNRESET" });
        server.abortClients();
      },
      { virtualTime },
    );
  });
});

describe("virtual time: what does not hold the clock", () => {
  it("the peer's close alone: this end stays half open, its waitClosed times out on time (as CPython's)", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        let serverWriter: StreamWriter | undefined;
        let accepted!: () => void;
        const acceptedP = new Promise<void>((res) => (accepted = res));
        await using server = await startServer(async (_r, sw) => {
          serverWriter = sw;
          accepted();
          await sleep(1e9);
        }, HOST, 0);
        const [r, w] = await openConnection(HOST, server.sockets[0]!.port);
        await acceptedP;
        serverWriter!.close();
        expect((await r.read()).length).toBe(0);
        const t0 = loop.time();
        await expect(timeout(60_000, () => w.waitClosed())).rejects.toBeInstanceOf(TimeoutError);
        expect(loop.time() - t0).toBe(60_000);
        w.close();
        await w.waitClosed();
      },
      { virtualTime: true },
    );
  });
});

describe("servers and the end of run()", () => {
  it("a server left open when run() ends is closed with its loop (Node does not stay alive for it)", async () => {
    let port = 0;
    let handlerCancelled = false;
    await run(async () => {
      // (main ends once the handler runs: a fixed sleep(20) raced the server's accept on a loaded machine)
      const handling = new Event();
      const server = await startServer(async (reader) => {
        handling.set();
        try {
          await reader.read();
        } catch (e) {
          handlerCancelled = e instanceof CancelledError;
          throw e;
        }
      }, HOST, 0);
      port = server.sockets[0]!.port;
      await openConnection(HOST, port);
      await handling.wait();
      await sleep(20);
    });
    expect(handlerCancelled).toBe(true);
    await expect(
      new Promise((res, rej) => {
        const s = net.connect(port, HOST);
        s.on("connect", () => res("connected"));
        s.on("error", rej);
      }),
    ).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("startServing: false listens only when asked; close() twice is harmless; serveForever after close fails", async () => {
    await run(async () => {
      const server = await startServer(echoUpper, HOST, 0, { startServing: false });
      expect(server.isServing()).toBe(false);
      expect(server.sockets).toEqual([]);
      await server.startServing();
      expect(server.isServing()).toBe(true);
      const [r, w] = await openConnection(HOST, server.sockets[0]!.port);
      w.write("on\n");
      expect(String(await r.readline())).toBe("ON\n");
      w.close();
      server.close();
      server.close();
      await server.waitClosed();
      await expect(server.serveForever()).rejects.toThrow(/is closed/);
      await expect(server.startServing()).rejects.toThrow(/is closed/);
    });
  });

  it("serveForever twice at once is refused", async () => {
    await run(async () => {
      const server = await startServer(echoUpper, HOST, 0);
      const t = createTask(() => server.serveForever());
      await sleep(0);
      await expect(server.serveForever()).rejects.toThrow(/already being awaited on serveForever/);
      t.cancel();
      await expect(t).rejects.toBeInstanceOf(CancelledError);
    });
  });

  it("abortClients drops the connections at once; closeClients after a flush", async () => {
    await run(async () => {
      await using server = await startServer(async (_r, w) => {
        w.write("hello\n");
        await sleep(1e9);
      }, HOST, 0);
      const [r1] = await openConnection(HOST, server.sockets[0]!.port);
      expect(String(await r1.readline())).toBe("hello\n");
      server.closeClients();
      expect((await r1.read()).length).toBe(0);
      const [r2] = await openConnection(HOST, server.sockets[0]!.port);
      expect(String(await r2.readline())).toBe("hello\n");
      server.abortClients();
      const rest = await r2.read().catch((e: { code?: string }) => e.code);
      expect(rest === "ECONNRESET" || (Buffer.isBuffer(rest) && rest.length === 0)).toBe(true);
    }, { virtualTime: true });
  });

  it("listens on several hosts", async () => {
    await run(async () => {
      await using server = await startServer(echoUpper, [HOST, "localhost"], 0);
      expect(server.sockets.length).toBe(2);
    });
  });

  it("a port in use fails with Node's EADDRINUSE", async () => {
    await run(async () => {
      await using a = await startServer(echoUpper, HOST, 0);
      await expect(startServer(echoUpper, HOST, a.sockets[0]!.port)).rejects.toMatchObject({ code: "EADDRINUSE" });
    });
  });
});

describe("Unix sockets", () => {
  it("drain right after a write that failed at once (EPIPE: Node sets socket.errored, emits 'error' a tick later) raises ConnectionResetError, as CPython's first drain", async () => {
    const dir = mkdtempSync(join(tmpdir(), "asyncio-ts-unix-"));
    try {
      for (const virtualTime of [true, false]) {
        const path = join(dir, `d-${virtualTime}.sock`);
        await run(
          async () => {
            await using server = await startUnixServer(async (_r, w) => {
              w.transport.destroy();
            }, path);
            const [r, w] = await openUnixConnection(path);
            expect((await r.read()).length).toBe(0); // the peer is gone: a write to it fails with EPIPE at once
            w.write(Buffer.alloc(1000));
            expect(w.transport.errored).toMatchObject({ code: "EPIPE" });
            const e = await w.drain().then(
              () => "returned",
              (x: unknown) => x,
            );
            // CPython: the transport is closing, drain yields, then `_drain_helper` raises
            // ConnectionResetError('Connection lost') (streams.py, FlowControlMixin._drain_helper)
            expect(e).toBeInstanceOf(ConnectionResetError);
            expect((e as Error).message).toBe("Connection lost");
            expect((e as Error).cause).toMatchObject({ code: "EPIPE" });
            await expect(w.drain()).rejects.toBeDefined();
            void server;
          },
          { virtualTime },
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("server and client on a path, on both clocks", async () => {
    const dir = mkdtempSync(join(tmpdir(), "asyncio-ts-unix-"));
    try {
      for (const virtualTime of [true, false]) {
        const path = join(dir, `s-${virtualTime}.sock`);
        await run(
          async () => {
            await using server = await startUnixServer(echoUpper, path);
            expect(server.path).toBe(path);
            const [r, w] = await openUnixConnection(path);
            for (let i = 0; i < 20; i++) {
              w.write(`u${i}\n`);
              expect(String(await timeout(1000, () => r.readline()))).toBe(`U${i}\n`);
            }
            expect(w.getExtraInfo("peername")).toBe(path);
            w.close();
          },
          { virtualTime },
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("TLS", () => {
  let dir = "";
  let key = "";
  let cert = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "asyncio-ts-tls-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "2"], { stdio: "ignore" });
    key = readFileSync(join(dir, "k.pem"), "utf8");
    cert = readFileSync(join(dir, "c.pem"), "utf8");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const virtualTime of [true, false]) {
    it(`ssl server and client (${virtualTime ? "virtual time" : "real clock"}); an untrusted server is refused`, async () => {
      await run(
        async () => {
          await using server = await startServer(echoUpper, HOST, 0, { ssl: { key, cert } });
          const port = server.sockets[0]!.port;
          const [r, w] = await openConnection("localhost", port, { ssl: { ca: [cert] } });
          w.write("secret\n");
          expect(String(await r.readline())).toBe("SECRET\n");
          expect(w.canWriteEof()).toBe(false);
          expect((w.getExtraInfo("cipher") as { name: string }).name).toMatch(/\w/);
          w.close();
          await w.waitClosed();
          await expect(openConnection("localhost", port, { ssl: true })).rejects.toThrow(/self[- ]signed|certificate/i);
        },
        { virtualTime },
      );
    });
  }

  it("startTls upgrades a plain connection on both sides (a STARTTLS exchange)", async () => {
    await run(
      async () => {
        await using server = await startServer(async (reader, writer) => {
          expect(String(await reader.readline())).toBe("STARTTLS\n");
          writer.write("GO\n");
          await writer.drain();
          await writer.startTls({ key, cert });
          const line = await reader.readline();
          writer.write(`secure: ${String(line)}`);
          writer.close();
        }, HOST, 0);
        const [r, w] = await openConnection(HOST, server.sockets[0]!.port);
        w.write("STARTTLS\n");
        expect(String(await r.readline())).toBe("GO\n");
        await w.startTls({ ca: [cert], serverHostname: "localhost" });
        expect(w.getExtraInfo("peercert")).toMatchObject({ subject: { CN: "localhost" } });
        w.write("hi\n");
        expect(String(await r.readline())).toBe("secure: hi\n");
        await expect(w.startTls({ ca: [cert] })).rejects.toThrow(/already uses TLS/);
        w.close();
      },
      { virtualTime: true },
    );
  });
});

describe("bad input", () => {
  it("names the argument and the fix", async () => {
    await run(async () => {
      const cb = async (): Promise<void> => {};
      await expect(openConnection(HOST, -1)).rejects.toThrow("Expected port to be an integer from 1 to 65535, got -1 (number)");
      await expect(openConnection(HOST, 70000)).rejects.toThrow(RangeError);
      await expect(openConnection(HOST, "80" as never)).rejects.toThrow(/Expected port to be an integer from 1 to 65535, got "80" \(string\)/);
      await expect(openConnection(5 as never, 80)).rejects.toThrow(/Expected host to be a string/);
      await expect(openConnection("", 80)).rejects.toThrow(RangeError);
      await expect(openConnection(HOST, 80, { limit: 0 })).rejects.toThrow(/Expected limit to be/);
      await expect(openConnection(HOST, 80, { ssl: "yes" as never })).rejects.toThrow(/Expected ssl to be a boolean or Node's TLS options/);
      await expect(openConnection(HOST, 80, { timeout: 5 } as never)).rejects.toThrow(/Unknown option "timeout" of openConnection\(\)/);
      await expect(openConnection(HOST, 80, { signal: "x" } as never)).rejects.toThrow(/Expected signal to be an AbortSignal/);
      await expect(openConnection(HOST, 80, { localAddr: HOST } as never)).rejects.toThrow(/Expected localAddr to be \[host, port\]/);
      await expect(openConnection(HOST, 80, { family: 5 } as never)).rejects.toThrow(/Expected family to be 0, 4 or 6/);
      await expect(openUnixConnection("")).rejects.toThrow(/Expected path to be a non-empty string/);
      await expect(startServer("handler" as never, HOST, 0)).rejects.toThrow(/Expected clientConnected to be a function/);
      await expect(startServer(cb, HOST, 65536)).rejects.toThrow("Expected port to be an integer from 0 to 65535, got 65536 (number)");
      await expect(startServer(cb, 5 as never, 0)).rejects.toThrow(/Expected host to be a string/);
      await expect(startServer(cb, [HOST, 5] as never, 0)).rejects.toThrow(/Expected host\[1\] to be a string/);
      await expect(startServer(cb, [], 0)).rejects.toThrow(/at least one host/);
      await expect(startServer(cb, HOST, 0, { backlog: -1 })).rejects.toThrow(/Expected backlog to be/);
      await expect(startServer(cb, HOST, 0, { reuseAddress: false })).rejects.toThrow(/SO_REUSEADDR/);
      await expect(startServer(cb, HOST, 0, { ssl: 5 } as never)).rejects.toThrow(/Expected ssl to be Node's TLS server options/);
      await expect(startServer(cb, HOST, 0, { startServing: "no" } as never)).rejects.toThrow(/Expected startServing to be a boolean/);
      await expect(startUnixServer(cb, 5 as never)).rejects.toThrow(/Expected path to be a non-empty string/);
      await using server = await startServer(echoUpper, HOST, 0);
      const [, w] = await openConnection(HOST, server.sockets[0]!.port);
      expect(() => w.write(5 as never)).toThrow(/Expected data to be a Buffer, a Uint8Array or a string, got 5 \(number\)/);
      expect(() => w.writelines(5 as never)).toThrow(/Expected data to be an iterable/);
      expect(() => w.getExtraInfo(5 as never)).toThrow(/Expected name to be a string/);
      w.close();
    });
  });
});
