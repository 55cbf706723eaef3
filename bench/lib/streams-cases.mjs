/**
 * Cases of bench/suites/streams.mjs, one per child process: client and server in the same process, over
 * loopback TCP, so each peer is measured as a whole stack (both ends).
 *
 * Usage: node bench/lib/streams-cases.mjs CASE PEER N ROUNDS
 *   echo  -- 10 connections at once, each N round trips of a 32-byte line (the server echoes the line;
 *            the client waits for it before the next): { perSec: [requests per second, one per round] }
 *   bulk  -- one connection, N MiB written in 64 KiB writes (with drain), read by the server in 64 KiB
 *            reads, which answers with the count: { mbPerSec: [...] }
 *   idle  -- N idle connections (both ends open) held at once: { bytesPerConn: [JS heap], rssPerConn: [resident
 *            memory] } per connection, after a full GC, with the connections minus before (run with
 *            --expose-gc; one round per process, no warm-up: a previous round's sockets would still be
 *            closing)
 *   PEER: aio (StreamReader/StreamWriter, startServer/openConnection) | raw (node:net sockets and events;
 *         in the idle case both ends have a 'data' listener, as the ends of a protocol do) | rawtask (idle
 *         only: raw's sockets, and on the server side one asyncio-ts task per connection waiting for its
 *         input on a future of the loop: the floor of any design with a task per handler, as CPython's
 *         start_server and issue 15 have, with no reader, writer or connection object of ours)
 * Prints one JSON object on the last line.
 */
import { Buffer } from "node:buffer";
import * as net from "node:net";
import { pathToFileURL } from "node:url";

const DIST = process.env.ASYNCIO_BENCH_DIST ? pathToFileURL(process.env.ASYNCIO_BENCH_DIST).href : new URL("../../dist", import.meta.url).href;
const aio = await import(`${DIST}/src/index.js`);

const [, , kase, peer, nArg, roundsArg] = process.argv;
const N = Number(nArg);
const ROUNDS = Number(roundsArg);
const CONNS = 10;
const LINE = Buffer.from("0123456789abcdefghijklmnopqrstu\n"); // 32 bytes
const CHUNK = Buffer.alloc(64 * 1024, 7);

// ------------------------------------------------------------------ asyncio-ts

async function aioEcho() {
  return aio.run(async () => {
    const server = await aio.startServer(async (reader, writer) => {
      for (;;) {
        const line = await reader.readline();
        if (line.length === 0) break;
        writer.write(line);
        await writer.drain();
      }
    }, "127.0.0.1", 0);
    const port = server.sockets[0].port;
    const t0 = process.hrtime.bigint();
    await aio.gather(
      ...Array.from({ length: CONNS }, async () => {
        const [r, w] = await aio.openConnection("127.0.0.1", port);
        for (let i = 0; i < N; i++) {
          w.write(LINE);
          await w.drain();
          await r.readline();
        }
        w.close();
        await w.waitClosed();
      }),
    );
    const ns = Number(process.hrtime.bigint() - t0);
    server.close();
    await server.waitClosed();
    return (CONNS * N) / (ns / 1e9);
  });
}

async function aioBulk() {
  return aio.run(async () => {
    const server = await aio.startServer(async (reader, writer) => {
      let n = 0;
      for (;;) {
        const b = await reader.read(65536);
        if (b.length === 0) break;
        n += b.length;
      }
      writer.write(`${n}\n`);
      await writer.drain();
    }, "127.0.0.1", 0);
    const [r, w] = await aio.openConnection("127.0.0.1", server.sockets[0].port);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N * 16; i++) {
      w.write(CHUNK);
      await w.drain();
    }
    w.writeEof();
    const got = Number(String(await r.readline()));
    const ns = Number(process.hrtime.bigint() - t0);
    if (got !== N * 1024 * 1024) throw new Error(`bulk: got ${got}`);
    w.close();
    server.close();
    await server.waitClosed();
    return N / (ns / 1e9);
  });
}

async function aioIdle() {
  return aio.run(async () => {
    const server = await aio.startServer(async (reader) => {
      await reader.read();
    }, "127.0.0.1", 0);
    const port = server.sockets[0].port;
    const before = mem();
    const pairs = [];
    for (let i = 0; i < N; i++) pairs.push(await aio.openConnection("127.0.0.1", port));
    await aio.sleep(50);
    const after = mem();
    for (const [, w] of pairs) w.close();
    server.close();
    await server.waitClosed();
    return perConn(before, after);
  });
}

// ------------------------------------------------------------------ raw node:net

function listen(onConn) {
  return new Promise((res) => {
    const s = net.createServer(onConn);
    s.listen(0, "127.0.0.1", () => res(s));
  });
}
const connect = (port) =>
  new Promise((res, rej) => {
    const s = net.connect(port, "127.0.0.1", () => res(s));
    s.on("error", rej);
  });

async function rawEcho() {
  const server = await listen((sock) => {
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      let i;
      while ((i = buf.indexOf("\n")) !== -1) {
        sock.write(Buffer.from(buf.slice(0, i + 1), "latin1"));
        buf = buf.slice(i + 1);
      }
    });
  });
  const port = server.address().port;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONNS }, async () => {
      const s = await connect(port);
      let buf = "";
      let waiting = null;
      s.on("data", (d) => {
        buf += d.toString("latin1");
        if (waiting !== null && buf.includes("\n")) {
          const i = buf.indexOf("\n");
          buf = buf.slice(i + 1);
          const w = waiting;
          waiting = null;
          w();
        }
      });
      for (let i = 0; i < N; i++) {
        await new Promise((res) => {
          waiting = res;
          s.write(LINE);
        });
      }
      s.end();
    }),
  );
  const ns = Number(process.hrtime.bigint() - t0);
  server.close();
  return (CONNS * N) / (ns / 1e9);
}

async function rawBulk() {
  const server = await listen((sock) => {
    let n = 0;
    sock.on("data", (d) => (n += d.length));
    sock.on("end", () => sock.end(`${n}\n`));
  });
  const s = await connect(server.address().port);
  const t0 = process.hrtime.bigint();
  const reply = new Promise((res) => {
    let buf = "";
    s.on("data", (d) => {
      buf += d;
      if (buf.includes("\n")) res(Number(buf));
    });
  });
  for (let i = 0; i < N * 16; i++) {
    if (!s.write(CHUNK)) await new Promise((res) => s.once("drain", res));
  }
  s.end();
  const got = await reply;
  const ns = Number(process.hrtime.bigint() - t0);
  if (got !== N * 1024 * 1024) throw new Error(`bulk: got ${got}`);
  server.close();
  return N / (ns / 1e9);
}

async function rawIdle() {
  // both ends read, as a server and a client of a protocol do (a socket with a 'data' listener flows)
  const server = await listen((sock) => sock.on("data", () => {}));
  const port = server.address().port;
  const before = mem();
  const socks = [];
  for (let i = 0; i < N; i++) {
    const s = await connect(port);
    s.on("data", () => {});
    socks.push(s);
  }
  await new Promise((r) => setTimeout(r, 50));
  const after = mem();
  for (const s of socks) s.destroy();
  server.close();
  return perConn(before, after);
}

async function rawTaskIdle() {
  return aio.run(async () => {
    const loop = aio.getRunningLoop();
    const handler = async (sock) => {
      const input = loop.createFuture();
      sock.on("data", () => input.done() || input.setResult(undefined));
      await input;
    };
    const server = await listen((sock) => void loop.createTask(() => handler(sock))); // (a Node event: no task is current)
    const port = server.address().port;
    const before = mem();
    const socks = [];
    for (let i = 0; i < N; i++) {
      const s = await aio.fromPromise(connect(port));
      s.on("data", () => {});
      socks.push(s);
    }
    await aio.sleep(50);
    const after = mem();
    for (const s of socks) s.destroy();
    server.close();
    await aio.sleep(50);
    return perConn(before, after);
  });
}

function mem() {
  if (globalThis.gc === undefined) throw new Error("run the idle case with --expose-gc");
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external, rss: m.rss };
}
const perConn = (before, after) => ({ bytesPerConn: (after.heap - before.heap) / N, rssPerConn: (after.rss - before.rss) / N });

// ------------------------------------------------------------------

const cases = {
  echo: { aio: aioEcho, raw: rawEcho, key: "perSec" },
  bulk: { aio: aioBulk, raw: rawBulk, key: "mbPerSec" },
  idle: { aio: aioIdle, raw: rawIdle, rawtask: rawTaskIdle, key: "bytesPerConn" },
};
const c = cases[kase];
if (c === undefined || c[peer] === undefined) {
  console.error(`unknown case/peer ${kase} ${peer}`);
  process.exit(2);
}
if (kase === "idle") {
  const m = await c[peer]();
  console.log(JSON.stringify({ bytesPerConn: [m.bytesPerConn], rssPerConn: [m.rssPerConn] }));
} else {
  await c[peer](); // warm-up round
  const out = [];
  for (let r = 0; r < ROUNDS; r++) out.push(await c[peer]());
  console.log(JSON.stringify({ [c.key]: out }));
}
