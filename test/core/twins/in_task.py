"""Python twins of test/core/in-task.test.ts: each program is the literal asyncio version of the
TypeScript one (coroutines passed to the combinators). Run with CPython 3.13 on a virtual clock:

    PYENV_VERSION=3.13.0 python3 test/core/twins/in_task.py > test/core/twins/in_task.golden.json

Each line is "<loop time in ms> <text>"; the clock jumps to the next timer when nothing is ready,
as asyncio-ts's virtual time does.
"""
import asyncio
import json
import sys

OUT = []


class VirtualLoop(asyncio.SelectorEventLoop):
    """A loop whose clock jumps to the next timer instead of sleeping."""

    def __init__(self):
        super().__init__()
        self._vtime = 0.0

    def time(self):
        return self._vtime

    def _run_once(self):
        if not self._ready and self._scheduled:
            nxt = min(h._when for h in self._scheduled if not h._cancelled) if any(not h._cancelled for h in self._scheduled) else None
            if nxt is not None and nxt > self._vtime:
                self._vtime = nxt
        super()._run_once()


def p(text):
    OUT.append(f"{round(asyncio.get_running_loop().time() * 1000)} {text}")


async def a(n, ms):
    try:
        await asyncio.sleep(ms / 1000)
        p(f"done {n}")
        return n
    except asyncio.CancelledError:
        p(f"cancelled {n}")
        raise


def name(e):
    return type(e).__name__


async def gather_two():
    p(f"result {','.join(await asyncio.gather(a('x', 100), a('y', 50)))}")


async def timeout_gather():
    try:
        async with asyncio.timeout(0.075):
            await asyncio.gather(a("x", 100), a("y", 50))
    except BaseException as e:
        p(f"caught {name(e)}")


async def cancel_gathering_task():
    t = asyncio.create_task(_gather_xy())
    await asyncio.sleep(0.075)
    t.cancel()
    try:
        await t
    except BaseException as e:
        p(f"task {name(e)}")


async def _gather_xy():
    return await asyncio.gather(a("x", 100), a("y", 50))


async def slow():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        p("cleanup start")
        await asyncio.sleep(0.25)
        p("cleanup end")
        raise


async def wait_for_cleanup():
    try:
        await asyncio.wait_for(slow(), 0.5)
    except BaseException as e:
        p(f"caught {name(e)}")


async def shield_in_cancelled_task():
    inner = None

    async def body():
        nonlocal inner
        inner = asyncio.ensure_future(a("s", 100))
        await asyncio.shield(inner)

    t = asyncio.create_task(body())
    await asyncio.sleep(0.05)
    t.cancel()
    try:
        await t
    except BaseException as e:
        p(f"task {name(e)}")
    p(f"inner {await inner}")


async def as_completed_two():
    for f in asyncio.as_completed([a("x", 100), a("y", 50)]):
        p(f"next {await f}")


async def nested_gather_timeout():
    async def pair(tag):
        return await asyncio.gather(a(tag + "1", 50), a(tag + "2", 150))

    try:
        async with asyncio.timeout(0.1):
            await asyncio.gather(pair("p"), pair("q"))
    except BaseException as e:
        p(f"caught {name(e)}")


async def lock_in_gathered():
    lock = asyncio.Lock()

    async def w(n):
        async with lock:
            p(f"{n} has the lock")
            await asyncio.sleep(0.05)
        return n

    p(f"result {','.join(await asyncio.gather(w('a'), w('b'), w('c')))}")


async def semaphore_in_gathered():
    sem = asyncio.Semaphore(2)

    async def w(n):
        async with sem:
            p(f"{n} in")
            await asyncio.sleep(0.05)
            p(f"{n} out")

    await asyncio.gather(w("a"), w("b"), w("c"))


async def queue_in_gathered():
    q = asyncio.Queue(1)

    async def producer():
        for i in range(3):
            await q.put(i)
            p(f"put {i}")
        await q.put(None)

    async def consumer():
        while (item := await q.get()) is not None:
            p(f"got {item}")
            await asyncio.sleep(0.05)

    await asyncio.gather(producer(), consumer())


async def event_in_gathered():
    ev = asyncio.Event()

    async def waiter(n):
        await ev.wait()
        p(f"{n} woke")

    async def setter():
        await asyncio.sleep(0.05)
        ev.set()
        p("set")

    await asyncio.gather(waiter("a"), waiter("b"), setter())


async def condition_in_gathered():
    cond = asyncio.Condition()
    items = []

    async def consumer(n):
        async with cond:
            await cond.wait_for(lambda: items)
            p(f"{n} took {items.pop()}")

    async def producer():
        for i in range(2):
            await asyncio.sleep(0.05)
            async with cond:
                items.append(i)
                cond.notify()

    await asyncio.gather(consumer("a"), consumer("b"), producer())


async def barrier_in_gathered():
    b = asyncio.Barrier(3)

    async def w(n, ms):
        await asyncio.sleep(ms / 1000)
        i = await b.wait()
        p(f"{n} passed")
        return i

    r = await asyncio.gather(w("a", 50), w("b", 100), w("c", 150))
    p(f"indices {sorted(r)}")


async def timeout_in_gathered_lock():
    lock = asyncio.Lock()

    async def holder():
        async with lock:
            await asyncio.sleep(0.1)

    async def impatient():
        try:
            async with asyncio.timeout(0.05):
                async with lock:
                    p("impatient got it")
        except TimeoutError:
            p(f"impatient timed out, locked={lock.locked()}")

    async def patient():
        async with lock:
            p("patient got it")

    await asyncio.gather(holder(), impatient(), patient())
    p(f"locked={lock.locked()}")


async def taskgroup_body_gathers():
    try:
        async with asyncio.TaskGroup() as tg:
            async def boom():
                await asyncio.sleep(0.05)
                raise ValueError()

            tg.create_task(boom())
            await asyncio.gather(a("x", 100), a("y", 25))
    except BaseException as e:
        p(f"caught {name(e)}")


async def timeout_promise_all():
    # TypeScript: timeout(75, () => Promise.all([a(x), a(y)])); gather is the nearest asyncio form
    try:
        async with asyncio.timeout(0.075):
            await asyncio.gather(a("x", 100), a("y", 50))
    except BaseException as e:
        p(f"caught {name(e)}")


async def wait_for_beside_sibling():
    # TypeScript: Promise.all([waitFor(a(x), 75), a(y)]): the timeout cancels x only
    r = await asyncio.gather(asyncio.wait_for(a("x", 100), 0.075), a("y", 150), return_exceptions=True)
    p(f"results {','.join(v if isinstance(v, str) else name(v) for v in r)}")


async def cancel_task_promise_all():
    # TypeScript: a task awaiting Promise.all([a(x), a(y)]) is cancelled at 75
    async def body():
        return await asyncio.gather(a("x", 100), a("y", 50))

    t = asyncio.create_task(body())
    await asyncio.sleep(0.075)
    t.cancel()
    try:
        await t
    except BaseException as e:
        p(f"task {name(e)}")


async def gather_in_gather_cancelled():
    # gather(gather(a(x), a(y)), a(z)) cancelled as a whole at 75
    g = asyncio.gather(asyncio.gather(a("x", 100), a("y", 50)), a("z", 200))
    await asyncio.sleep(0.075)
    g.cancel()
    try:
        await g
    except BaseException as e:
        p(f"gather {name(e)}")


PROGRAMS = {
    "timeout-promise-all": timeout_promise_all,
    "waitfor-beside-sibling": wait_for_beside_sibling,
    "cancel-task-promise-all": cancel_task_promise_all,
    "gather-in-gather-cancelled": gather_in_gather_cancelled,
    "gather": gather_two,
    "timeout-gather": timeout_gather,
    "cancel-gathering-task": cancel_gathering_task,
    "waitfor-cleanup": wait_for_cleanup,
    "shield": shield_in_cancelled_task,
    "as-completed": as_completed_two,
    "nested-gather-timeout": nested_gather_timeout,
    "lock": lock_in_gathered,
    "semaphore": semaphore_in_gathered,
    "queue": queue_in_gathered,
    "event": event_in_gathered,
    "condition": condition_in_gathered,
    "barrier": barrier_in_gathered,
    "timeout-lock": timeout_in_gathered_lock,
    "taskgroup-gather": taskgroup_body_gathers,
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
