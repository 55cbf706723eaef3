"""CPython's asyncio streams as the peer of asyncio-ts's, for test/streams/interop.test.ts.

    python3 peer.py server          # prints "port N", serves until killed
    python3 peer.py client PORT     # talks to a server on 127.0.0.1:PORT, prints what it saw, exits

The protocol (both sides implement it; asyncio-ts's server is in the test):
    ECHO text            -> TEXT (upper case)
    SLOW ms text         -> "par", then after ms milliseconds "tial text"
    FRAMES               -> then frames: 4-byte big-endian length + payload, each answered by a
                            frame holding the payload's SHA-256 (hex); a zero length ends them
    QUIET ms             -> answers nothing for ms milliseconds, then "done"
    BYE                  -> "bye", then the server closes the connection
"""
import asyncio
import hashlib
import struct
import sys


async def handle(reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd, _, rest = line.decode().rstrip("\n").partition(" ")
        if cmd == "ECHO":
            writer.write(rest.upper().encode() + b"\n")
        elif cmd == "SLOW":
            ms, _, text = rest.partition(" ")
            writer.write(b"par")
            await writer.drain()
            await asyncio.sleep(int(ms) / 1000)
            writer.write(f"tial {text}\n".encode())
        elif cmd == "FRAMES":
            while True:
                (n,) = struct.unpack(">I", await reader.readexactly(4))
                if n == 0:
                    break
                payload = await reader.readexactly(n)
                digest = hashlib.sha256(payload).hexdigest().encode()
                writer.write(struct.pack(">I", len(digest)) + digest)
                await writer.drain()
        elif cmd == "QUIET":
            await asyncio.sleep(int(rest) / 1000)
            writer.write(b"done\n")
        elif cmd == "BYE":
            writer.write(b"bye\n")
            await writer.drain()
            break
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def server():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    print("port", srv.sockets[0].getsockname()[1], flush=True)
    async with srv:
        await srv.serve_forever()


async def client(port):
    out = []
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"ECHO hello from cpython\n")
    await writer.drain()
    out.append("echo " + (await reader.readline()).decode().rstrip("\n"))
    # a read cancelled by a timeout mid-line loses nothing
    writer.write(b"SLOW 300 x\n")
    await writer.drain()
    try:
        await asyncio.wait_for(reader.readline(), 0.05)
        out.append("no timeout")
    except TimeoutError:
        out.append("timeout mid-line")
    out.append("then " + (await reader.readline()).decode().rstrip("\n"))
    # binary framing, sizes around the reader's limit
    writer.write(b"FRAMES\n")
    for size in (1, 1000, 65536, 300000):
        payload = bytes((i * 31) & 255 for i in range(size))
        writer.write(struct.pack(">I", size) + payload)
        await writer.drain()
        (n,) = struct.unpack(">I", await reader.readexactly(4))
        got = (await reader.readexactly(n)).decode()
        out.append(f"frame {size} {'ok' if got == hashlib.sha256(payload).hexdigest() else 'BAD ' + got}")
    writer.write(struct.pack(">I", 0))
    # a task cancelled while it reads
    writer.write(b"QUIET 300\n")
    await writer.drain()
    t = asyncio.create_task(reader.readline())
    await asyncio.sleep(0.05)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        out.append("read cancelled")
    out.append("after cancel " + (await reader.readline()).decode().rstrip("\n"))
    writer.write(b"BYE\n")
    out.append((await reader.readline()).decode().rstrip("\n"))
    out.append("eof " + str(await reader.read() == b"").lower())
    writer.close()
    await writer.wait_closed()
    print("\n".join(out), flush=True)


if sys.argv[1] == "server":
    asyncio.run(server())
else:
    asyncio.run(client(int(sys.argv[2])))
