"""CPython reference for bench/suites/core.mjs.

Usage: python3 bench/py/core.py CASE N ROUNDS
  spawn  -- create_task + gather of N trivial coroutines, after 5 warm-up rounds; prints the per-round
            ns/task and the mean over the rounds
  sleeps -- N concurrent tasks each awaiting asyncio.sleep(0.010); one round; wall ms and peak RSS
  memory -- N started tasks blocked on one future; bytes per task (tracemalloc)
Prints one JSON object on the last line of stdout.
"""

import asyncio
import gc
import json
import resource
import sys
import time


async def trivial(i):
    return i


async def spawn_round(n):
    t0 = time.perf_counter_ns()
    tasks = [asyncio.create_task(trivial(i)) for i in range(n)]
    await asyncio.gather(*tasks)
    return time.perf_counter_ns() - t0


def spawn(n, rounds, warmup=5):
    samples = []
    for _ in range(warmup):
        asyncio.run(spawn_round(n))
    for _ in range(rounds):
        samples.append(asyncio.run(spawn_round(n)) / n)
    # the mean over the rounds, as for the Node peers (each round timed inside its event loop)
    return {"nsPerTask": samples, "meanNsPerTask": sum(samples) / len(samples)}


async def sleeper():
    await asyncio.sleep(0.010)


async def sleeps_main(n):
    t0 = time.perf_counter_ns()
    tasks = [asyncio.create_task(sleeper()) for _ in range(n)]
    await asyncio.gather(*tasks)
    return (time.perf_counter_ns() - t0) / 1e6


def sleeps(n, _rounds):
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ms = asyncio.run(sleeps_main(n))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"wallMs": ms, "maxRssKiB": peak, "baseRssKiB": base}


async def memory_main(n):
    import tracemalloc

    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    async def blocked():
        await fut

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tasks = [asyncio.create_task(blocked()) for _ in range(n)]
    await asyncio.sleep(0)  # every task has started and is suspended on fut
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    fut.set_result(None)
    await asyncio.gather(*tasks)
    return (after - before) / n


def memory(n, _rounds):
    return {"bytesPerTask": asyncio.run(memory_main(n))}


def main():
    case, n, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    out = {"spawn": spawn, "sleeps": sleeps, "memory": memory}[case](n, rounds)
    out["python"] = sys.version.split()[0]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
