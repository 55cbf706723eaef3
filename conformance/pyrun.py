"""Run emitted conformance programs on CPython under a virtual clock and print their traces.

Input (stdin): JSON lines {"id": ..., "py": <program source>}.
Output (stdout): JSON lines {"id": ..., "lines": [...], "deadlock": bool, "python": <version>}.

The virtual clock: the event loop's selector never blocks. When the loop has nothing ready, it asks
the selector to wait until the next timer (`select(timeout)`); the virtual selector moves the clock
forward by exactly that timeout and returns no events. `loop.time()` reads that clock. So a program
that sleeps for minutes runs at once, every timer fires at its exact deadline, and printed times are
deterministic. `select(None)` (nothing ready, no timer) means the program can never progress: it is
reported as a deadlock (the generator then discards that program).

Each program gets a fresh namespace with the prelude below (the helpers the emitted code calls; the
TypeScript twins live in conformance/run-ts.ts).
"""

import asyncio
import json
import selectors
import sys


class Deadlock(Exception):
    pass


class VirtualSelector(selectors.SelectSelector):
    def __init__(self):
        super().__init__()
        self.now = 0.0

    def select(self, timeout=None):
        if timeout is None:
            raise Deadlock()
        if timeout > 0:
            self.now += timeout
        return []


class VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self):
        self._vsel = VirtualSelector()
        super().__init__(self._vsel)

    def time(self):
        return self._vsel.now


PRELUDE = '''
import asyncio
from asyncio import TaskGroup

LINES = []
T = {}
R = {}


def p(text):
    LINES.append(f"{int(round(asyncio.get_running_loop().time() * 1000))} {text}")


def exc(e):
    name = type(e).__name__
    if isinstance(e, asyncio.CancelledError):
        return f"{name}({e})"
    if isinstance(e, BaseExceptionGroup):
        return name + "[" + ", ".join(exc(x) for x in e.exceptions) + "]"
    return name


def fmt(x):
    if isinstance(x, BaseException):
        return exc(x)
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(fmt(y) for y in x) + "]"
    return str(x)


def show(b):
    return b.decode().replace("\\n", "\\\\n")


def feed(r, text):
    if r._eof:
        return "ignored (eof)"
    r.feed_data(text.encode())
    return "ok"


def outcome(t):
    if t.cancelled():
        return "cancelled"
    if t.exception() is not None:
        return "raised " + exc(t.exception())
    return "returned " + fmt(t.result())


def eager(coro):
    """A coroutine started at once, as a JavaScript async function is when it is called (3.12+)."""
    return asyncio.Task(coro, loop=asyncio.get_running_loop(), eager_start=True)


def names(tasks):
    return ",".join(sorted(t.get_name() for t in tasks))


async def cleanup():
    left = [t for t in T.values() if not t.done()]
    if left:
        p("cleanup " + ",".join(t.get_name() for t in left))
        for t in left:
            t.cancel()
        await asyncio.gather(*left, return_exceptions=True)
    p("main exit")
'''


def run_program(pid, src):
    ns = {"__name__": "conformance_program"}
    exec(compile(PRELUDE, "<prelude>", "exec"), ns)
    exec(compile(src, f"<{pid}>", "exec"), ns)

    async def outer():
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: None)
        await ns["main"]()

    deadlock = False
    upto = None
    runner = asyncio.Runner(loop_factory=VirtualLoop)
    try:
        runner.run(outer())
    except Deadlock:
        deadlock = True
        upto = len(ns["LINES"])  # what the runner's shutdown prints after this is not the program's
    except BaseException as e:  # noqa: BLE001 - reported as a line of the trace
        ns["LINES"].append("end raised " + ns["exc"](e))
    finally:
        try:
            runner.close()
        except BaseException:  # noqa: BLE001 - a deadlocked loop cannot shut down cleanly
            deadlock = True
    lines = ns["LINES"] if upto is None else ns["LINES"][:upto]
    return {"id": pid, "lines": lines, "deadlock": deadlock}


def main():
    version = ".".join(map(str, sys.version_info[:3]))
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        res = run_program(job["id"], job["py"])
        res["python"] = version
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
