"""CPython reference for bench/suites/streams.mjs: the same cases as bench/lib/streams-cases.mjs, with
asyncio's streams (client and server in one process, loopback TCP).

Usage: python3 bench/py/streams.py CASE N ROUNDS [uvloop]
  echo -- 10 connections at once, each N round trips of a 32-byte line: {"perSec": [...]}
  bulk -- one connection, N MiB in 64 KiB writes (with drain): {"mbPerSec": [...]}
  idle -- N idle connections held at once: {"bytesPerConn": [...]} (tracemalloc's traced Python memory
          per connection; the kernel's socket buffers are not counted, as in the Node cases)
"""
import asyncio
import json
import sys
import time
import tracemalloc

LINE = b"0123456789abcdefghijklmnopqrstu\n"
CHUNK = bytes(64 * 1024)
CONNS = 10


async def echo(n):
    async def handle(reader, writer):
        while True:
            line = await reader.readline()
            if not line:
                break
            writer.write(line)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def client():
        r, w = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(n):
            w.write(LINE)
            await w.drain()
            await r.readline()
        w.close()
        await w.wait_closed()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONNS)))
    dt = time.perf_counter() - t0
    server.close()
    await server.wait_closed()
    return CONNS * n / dt


async def bulk(n):
    async def handle(reader, writer):
        total = 0
        while True:
            b = await reader.read(65536)
            if not b:
                break
            total += len(b)
        writer.write(f"{total}\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    r, w = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    t0 = time.perf_counter()
    for _ in range(n * 16):
        w.write(CHUNK)
        await w.drain()
    w.write_eof()
    got = int(await r.readline())
    dt = time.perf_counter() - t0
    assert got == n * 1024 * 1024, got
    w.close()
    server.close()
    await server.wait_closed()
    return n / dt


async def idle(n):
    async def handle(reader, writer):
        await reader.read()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    pairs = [await asyncio.open_connection("127.0.0.1", port) for _ in range(n)]
    await asyncio.sleep(0.05)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    for _, w in pairs:
        w.close()
    server.close()
    await server.wait_closed()
    return (after - before) / n


CASES = {"echo": (echo, "perSec"), "bulk": (bulk, "mbPerSec"), "idle": (idle, "bytesPerConn")}
kase, n, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fn, key = CASES[kase]
if sys.argv[4:] == ["uvloop"]:
    # uvloop's event loop under the same asyncio streams code (`pip install uvloop`)
    import uvloop
    run = uvloop.run
else:
    run = asyncio.run
run(fn(n))  # warm-up
out = [run(fn(n)) for _ in range(rounds)]
print(json.dumps({key: out}))
