"""CPython twin of test/sync/event-awaitable.test.ts: Event.wait() handed to gather, wait_for, wait,
shield, and cancelled while it waits or after set() woke it. Prints one JSON object: scenario -> lines.
Regenerate the golden file with: python3.13 test/sync/twins/event.py > test/sync/twins/event.golden.json
"""
import asyncio
import json

out = {}


def log(name):
    lines = out.setdefault(name, [])
    return lambda *a: lines.append(" ".join(str(x) for x in a))


async def gather_wait():
    p = log("gather")
    ev = asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, ev.set)
    r = await asyncio.gather(ev.wait(), ev.wait())
    p("gather", r, "waiters", len(ev._waiters))


async def wait_for_wait():
    p = log("waitFor")
    ev = asyncio.Event()
    try:
        await asyncio.wait_for(ev.wait(), 0.05)
    except TimeoutError:
        p("timeout", "waiters", len(ev._waiters))
    asyncio.get_running_loop().call_later(0.01, ev.set)
    p("waitFor", await asyncio.wait_for(ev.wait(), 5), "waiters", len(ev._waiters))


async def wait_and_shield():
    p = log("wait+shield")
    ev = asyncio.Event()
    asyncio.get_running_loop().call_later(0.005, ev.set)
    done, pending = await asyncio.wait([asyncio.ensure_future(ev.wait())])
    p("wait", len(done), len(pending), [f.result() for f in done])
    ev.clear()
    asyncio.get_running_loop().call_later(0.005, ev.set)
    p("shield", await asyncio.shield(ev.wait()), "waiters", len(ev._waiters))


async def cancelled_waiting():
    p = log("cancel")
    ev = asyncio.Event()

    async def waiter(name):
        r = await ev.wait()
        p(name, "woke", r)

    a = asyncio.create_task(waiter("a"))
    b = asyncio.create_task(waiter("b"))
    await asyncio.sleep(0.005)
    a.cancel()
    try:
        await a
    except asyncio.CancelledError:
        p("a cancelled", "waiters", len(ev._waiters))
    ev.set()
    await b
    p("waiters", len(ev._waiters))


async def cancelled_after_set():
    p = log("cancel after set")
    ev = asyncio.Event()

    async def waiter():
        try:
            r = await ev.wait()
            p("woke", r)
        except asyncio.CancelledError:
            p("cancelled at the await")
            raise

    t = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    ev.set()
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        p("task cancelled", "waiters", len(ev._waiters))


async def main():
    for f in (gather_wait, wait_for_wait, wait_and_shield, cancelled_waiting, cancelled_after_set):
        await f()


asyncio.run(main())
print(json.dumps(out, indent=2))
