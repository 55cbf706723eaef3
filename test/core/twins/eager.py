"""Python twins of test/core/eager.test.ts (task factories and eager tasks), run with CPython 3.13 on a
virtual clock:

    PYENV_VERSION=3.13.0 python3 test/core/twins/eager.py > test/core/twins/eager.golden.json
"""
import asyncio
import json
import sys

OUT = []


class VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self):
        super().__init__()
        self._vtime = 0.0

    def time(self):
        return self._vtime

    def _run_once(self):
        if not self._ready and self._scheduled:
            live = [h._when for h in self._scheduled if not h._cancelled]
            if live and min(live) > self._vtime:
                self._vtime = min(live)
        super()._run_once()


def p(text):
    OUT.append(f"{round(asyncio.get_running_loop().time() * 1000)} {text}")


async def factory_order():
    main = asyncio.current_task()
    loop = asyncio.get_running_loop()
    loop.set_task_factory(asyncio.eager_task_factory)

    async def work(n, ms):
        p(f"{n} starts, own task {asyncio.current_task() is not main}")
        if ms:
            await asyncio.sleep(ms / 1000)
        p(f"{n} ends")
        return n

    t1 = asyncio.create_task(work("a", 0), name="A")
    p("after a")
    t2 = asyncio.create_task(work("b", 10), name="B")
    p("after b")
    lazy = asyncio.Task(work("c", 0), loop=loop, name="C")
    p("after c")
    p(f"results {await t1} {await t2} {await lazy}")
    p(f"factory set {loop.get_task_factory() is asyncio.eager_task_factory}")
    loop.set_task_factory(None)
    t3 = asyncio.create_task(work("d", 0), name="D")
    p("after d")
    await t3


async def eager_in_gather():
    loop = asyncio.get_running_loop()
    loop.set_task_factory(asyncio.eager_task_factory)

    async def w(n, ms):
        p(f"{n} start")
        await asyncio.sleep(ms / 1000)
        p(f"{n} end")
        return n

    r = await asyncio.gather(w("x", 20), w("y", 10))
    p(f"gather {','.join(r)}")
    async with asyncio.TaskGroup() as tg:
        tg.create_task(w("g1", 5))
        p("after g1")
        tg.create_task(w("g2", 0))
        p("after g2")
    p("group done")


async def eager_cancelled():
    loop = asyncio.get_running_loop()
    loop.set_task_factory(asyncio.eager_task_factory)

    async def w():
        try:
            p("w start")
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            p("w cancelled")
            raise

    t = asyncio.create_task(w())
    p(f"cancel -> {t.cancel()}")
    try:
        await t
    except asyncio.CancelledError:
        p("t CancelledError")


PROGRAMS = {
    "factory-order": factory_order,
    "eager-in-gather": eager_in_gather,
    "eager-cancelled": eager_cancelled,
}

result = {}
for key, prog in PROGRAMS.items():
    OUT.clear()
    loop = VirtualLoop()
    loop.run_until_complete(prog())
    loop.close()
    result[key] = list(OUT)
json.dump(result, sys.stdout, indent=1)
print()
