"""CPython reference for bench/suites/sync.mjs and bench/suites/queue.mjs.

Usage: python3 bench/py/sync.py CASE TASKS OPS ROUNDS
  lock | semaphore -- TASKS tasks share OPS `async with prim: await asyncio.sleep(0)` cycles (a
                      semaphore has max(2, TASKS // 4) permits)
  uncontended      -- one task, OPS `async with asyncio.Semaphore(2)` cycles (TASKS ignored)
  queue            -- OPS items through asyncio.Queue(100), one producer, one consumer
Prints one JSON object on the last line: {"nsPerOp": [one figure per round]}.
"""

import asyncio
import json
import sys
import time


async def contention(sem, tasks, ops):
    prim = asyncio.Semaphore(max(2, tasks // 4)) if sem else asyncio.Lock()
    per = ops // tasks

    async def worker():
        for _ in range(per):
            async with prim:
                await asyncio.sleep(0)

    await asyncio.gather(*(worker() for _ in range(tasks)))


async def uncontended(ops):
    s = asyncio.Semaphore(2)
    for _ in range(ops):
        async with s:
            pass


async def queue(ops):
    q = asyncio.Queue(100)

    async def producer():
        for i in range(ops):
            await q.put(i)

    async def consumer():
        s = 0
        for _ in range(ops):
            s += await q.get()
        return s

    await asyncio.gather(producer(), consumer())


def main():
    case, tasks, ops, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    if case == "queue":
        fn = lambda: queue(ops)
    elif case == "uncontended":
        fn = lambda: uncontended(ops)
    elif case in ("lock", "semaphore"):
        fn = lambda: contention(case == "semaphore", tasks, ops)
    else:
        raise SystemExit(f"unknown case {case}")
    for _ in range(3):  # warm-up, as for the Node peers
        asyncio.run(fn())
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        asyncio.run(fn())
        out.append((time.perf_counter_ns() - t0) / ops)
    print(json.dumps({"nsPerOp": out}))


if __name__ == "__main__":
    main()
