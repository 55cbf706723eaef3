"""Python twins of the tour's chapter beyond the seed (examples/beyond/*.ts), run with CPython 3.13:

    PYENV_VERSION=3.13.0 python3 test/cli/twins/beyond.py > test/cli/twins/beyond.golden.json
"""
import asyncio
import json

OUT = {}
cur = []


def log(s):
    cur.append(s)


async def handle(reader, writer):
    async for line in reader:
        word = line.decode().strip()
        if word == "slow":
            await asyncio.sleep(1)
        writer.write(f"echo: {word}\n".encode())
        await writer.drain()
    writer.close()


async def echo():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        for word in ["hello", "slow"]:
            log(f"client sends {word}")
            writer.write(f"{word}\n".encode())
            try:
                async with asyncio.timeout(0.5):
                    reply = await reader.readline()
                log(f'client got "{reply.decode().strip()}"')
            except TimeoutError:
                log(f"no reply to {word} within 500 ms")
        log(f'client got "{(await reader.readline()).decode().strip()}" (late)')
        writer.close()
        await writer.wait_closed()


PRODUCER = "for w in pear apple fig; do echo $w; sleep 0.1; done"


async def pipeline():
    async with asyncio.timeout(5):
        producer = await asyncio.create_subprocess_exec("sh", "-c", PRODUCER, stdout=asyncio.subprocess.PIPE)
        sorter = await asyncio.create_subprocess_exec("sort", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)

        async def pump():
            async for line in producer.stdout:
                log(f"pump: {line.decode().strip()}")
                sorter.stdin.write(line)
                await sorter.stdin.drain()
            sorter.stdin.close()

        t = asyncio.create_task(pump())
        async for line in sorter.stdout:
            log(f"sorted: {line.decode().strip()}")
        await t
        log(f"exit codes: {await producer.wait()}, {await sorter.wait()}")


for name, prog in [("Echo", echo), ("Pipeline", pipeline)]:
    cur = []
    asyncio.run(prog())
    OUT[name] = cur
print(json.dumps(OUT, indent=1))
