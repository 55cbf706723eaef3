"""CPython's ThreadPoolExecutor on the executors benchmark's tiny tasks (x + 1).

usage: python3 bench/py/executors.py <workers> <n> <rounds>; prints {"usPerTask": [...]} on its last line.
"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor, wait


def inc(x):
    return x + 1


def main():
    w, n, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    samples = []
    with ThreadPoolExecutor(max_workers=w) as pool:
        wait([pool.submit(inc, i) for i in range(min(n, 2000))])
        for _ in range(rounds):
            t0 = time.perf_counter()
            wait([pool.submit(inc, i) for i in range(n)])
            samples.append((time.perf_counter() - t0) * 1e6 / n)
    print(json.dumps({"usPerTask": samples}))


main()
