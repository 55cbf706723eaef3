"""Python twins of the StreamReader programs in test/streams/reader.test.ts, run with CPython 3.13:

    PYENV_VERSION=3.13.0 python3 test/streams/twins/reader.py > test/streams/twins/reader.golden.json

Each program prints lines; bytes are printed as JSON strings. `readline()` over the limit raises
ValueError in CPython and LimitOverrunError in asyncio-ts: those lines print the message only.
"""
import asyncio
import json

OUT = {}
cur = []


def p(*parts):
    cur.append(" ".join(str(x) for x in parts))


def q(b):
    return json.dumps(b.decode("latin-1"))


def err(e, with_class=True):
    name = type(e).__name__
    extra = ""
    if isinstance(e, asyncio.IncompleteReadError):
        extra = f" partial={q(e.partial)} expected={e.expected}"
    if isinstance(e, asyncio.LimitOverrunError):
        extra = f" consumed={e.consumed}"
    return (f"{name}: " if with_class else "error: ") + f"{e}{extra}"


async def readline():
    r = asyncio.StreamReader()
    r.feed_data(b"one\ntwo\nrest")
    r.feed_eof()
    for _ in range(4):
        p("line", q(await r.readline()))
    p("atEof", str(r.at_eof()).lower())


async def readuntil_multi():
    r = asyncio.StreamReader()
    r.feed_data(b"a|b;;c;;|")
    p(q(await r.readuntil((b"|", b";;"))))
    p(q(await r.readuntil((b";;", b"|"))))
    p(q(await r.readuntil((b"|", b";;"))))
    r.feed_eof()
    p(q(await r.readuntil((b"|", b";;"))))
    try:
        await r.readuntil(b"|")
    except Exception as e:
        p(err(e))


async def readexactly_incomplete():
    r = asyncio.StreamReader()
    r.feed_data(b"abc")
    r.feed_eof()
    p(q(await r.readexactly(1)))
    try:
        await r.readexactly(5)
    except Exception as e:
        p(err(e))
    p("atEof", str(r.at_eof()).lower())
    p(q(await r.readexactly(0)))


async def limit_readuntil():
    r = asyncio.StreamReader(limit=4)
    r.feed_data(b"0123456789\n")
    try:
        await r.readuntil(b"\n")
    except Exception as e:
        p(err(e))
    p("left", q(await r.read(100)))


async def limit_not_found():
    r = asyncio.StreamReader(limit=3)
    r.feed_data(b"abcdef")
    try:
        await r.readuntil(b"\n")
    except Exception as e:
        p(err(e))
    p("left", q(await r.read(100)))


async def limit_readline():
    r = asyncio.StreamReader(limit=4)
    r.feed_data(b"0123456789\nok\n")
    try:
        await r.readline()
    except Exception as e:
        p(err(e, False))
    p("next", q(await r.readline()))


async def limit_readline_no_newline():
    r = asyncio.StreamReader(limit=4)
    r.feed_data(b"0123456789")
    try:
        await r.readline()
    except Exception as e:
        p(err(e, False))
    r.feed_data(b"x\n")
    p("next", q(await r.readline()))


async def read_all():
    r = asyncio.StreamReader(limit=2)

    async def feeder():
        for chunk in (b"ab", b"cde", b"", b"f"):
            await asyncio.sleep(0)
            r.feed_data(chunk)
        r.feed_eof()

    t = asyncio.create_task(feeder())
    p("all", q(await r.read()))
    p("after", q(await r.read()), q(await r.read(5)))
    await t


async def read_n():
    r = asyncio.StreamReader()
    r.feed_data(b"abcdef")
    p(q(await r.read(2)), q(await r.read(10)), q(await r.read(0)))


async def two_readers():
    r = asyncio.StreamReader()

    async def reader(n):
        try:
            p(n, "got", q(await r.readline()))
        except Exception as e:
            p(n, type(e).__name__)

    a = asyncio.create_task(reader("a"))
    b = asyncio.create_task(reader("b"))
    await asyncio.sleep(0)
    r.feed_data(b"x\n")
    await asyncio.gather(a, b)


async def cancel_keeps_bytes():
    r = asyncio.StreamReader()
    t = asyncio.create_task(r.readexactly(4))
    await asyncio.sleep(0)
    r.feed_data(b"ab")
    await asyncio.sleep(0)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        p("cancelled")
    r.feed_data(b"cd")
    p(q(await r.readexactly(4)))


async def wait_for_keeps_bytes():
    r = asyncio.StreamReader()
    r.feed_data(b"par")
    try:
        await asyncio.wait_for(r.readline(), 0.01)
    except TimeoutError:
        p("timeout")
    r.feed_data(b"tial\n")
    p(q(await r.readline()))


async def exception():
    r = asyncio.StreamReader()
    r.feed_data(b"kept\n")

    async def later():
        await asyncio.sleep(0)
        r.set_exception(RuntimeError("boom"))

    t = asyncio.create_task(later())
    p(q(await r.readline()))
    try:
        await r.readline()
    except Exception as e:
        p(err(e))
    try:
        await r.read(1)
    except Exception as e:
        p(err(e))
    await t


async def aiter():
    r = asyncio.StreamReader()
    r.feed_data(b"l1\nl2\nl3")
    r.feed_eof()
    async for line in r:
        p(q(line))


async def found_beyond_limit():
    r = asyncio.StreamReader(limit=3)
    r.feed_data(b"abcdef\n")
    try:
        await r.readuntil(b"\n")
    except Exception as e:
        p(err(e))
    p(q(await r.readuntil(b"\n")) if False else "left " + q(await r.read(100)))


async def data_then_exception():
    # the data and the error arrive in one go, a read already waiting: it checks the exception on entry
    # only, then finds what it needs in the buffer (read(-1) takes the block, then raises at its next read)
    for m in ["readline", "read", "readexactly", "readuntil", "read-all"]:
        r = asyncio.StreamReader()
        reads = {
            "readline": r.readline,
            "read": lambda: r.read(100),
            "readexactly": lambda: r.readexactly(5),
            "readuntil": lambda: r.readuntil(b"\n"),
            "read-all": r.read,
        }
        t = asyncio.create_task(reads[m]())
        await asyncio.sleep(0)
        r.feed_data(b"line\n")
        r.set_exception(RuntimeError("reset"))
        try:
            p(m, q(await t))
        except Exception as e:
            p(m, err(e))
        try:
            await r.read(1)
        except Exception as e:
            p(m, "then", err(e))


async def read_all_timeout():
    # read() (n = -1) under a timeout: the blocks it gathered left the buffer and are lost
    r = asyncio.StreamReader(limit=2)
    r.feed_data(b"abcdef")
    try:
        await asyncio.wait_for(r.read(), 0.01)
    except TimeoutError:
        p("timeout")
    r.feed_data(b"tail")
    r.feed_eof()
    p(q(await r.read()))


PROGRAMS = {
    "readline": readline,
    "readuntil-multi": readuntil_multi,
    "readexactly-incomplete": readexactly_incomplete,
    "limit-readuntil": limit_readuntil,
    "limit-not-found": limit_not_found,
    "limit-readline": limit_readline,
    "limit-readline-no-newline": limit_readline_no_newline,
    "read-all": read_all,
    "read-n": read_n,
    "two-readers": two_readers,
    "cancel-keeps-bytes": cancel_keeps_bytes,
    "wait-for-keeps-bytes": wait_for_keeps_bytes,
    "exception": exception,
    "aiter": aiter,
    "found-beyond-limit": found_beyond_limit,
    "data-then-exception": data_then_exception,
    "read-all-timeout": read_all_timeout,
}

for name, prog in PROGRAMS.items():
    cur = []
    asyncio.run(prog())
    OUT[name] = cur
print(json.dumps(OUT, indent=1))
