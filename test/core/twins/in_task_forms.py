"""Python twins of test/core/in-task-forms.test.ts: the promise forms that a called async function
takes on its way to a combinator (`a().then(f)`, `Promise.all([a(), b()])`, `fut.then(cb)`, a promise made
in an earlier step, a call nobody awaits), each beside the asyncio program it stands for. A JavaScript
call runs the function up to its first await at once, so the twins start coroutines as eager tasks
(`E(...)`, CPython 3.12+), and `p.then(f)` is `then(p, f)`, a coroutine `f(await p)`. Run with CPython
3.13 on a virtual clock, with asyncio.run's shutdown (leftover tasks cancelled and waited for):

    PYENV_VERSION=3.13.0 python3 test/core/twins/in_task_forms.py > test/core/twins/in_task_forms.golden.json

Each line is "<loop time in ms> <text>".
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
            live = [h._when for h in self._scheduled if not h._cancelled]
            if live and min(live) > self._vtime:
                self._vtime = min(live)
        super()._run_once()


def p(text):
    OUT.append(f"{round(asyncio.get_running_loop().time() * 1000)} {text}")


def E(coro):
    return asyncio.Task(coro, loop=asyncio.get_running_loop(), eager_start=True)


async def then(aw, f):
    return f(await aw)


def name(e):
    return type(e).__name__


async def w(n, ms, cl=10):
    try:
        await asyncio.sleep(ms / 1000)
        p(f"{n} done")
        return n
    except asyncio.CancelledError:
        p(f"{n} caught CancelledError")
        raise
    finally:
        await asyncio.sleep(cl / 1000)
        p(f"{n} cleanup end")


async def waitfor_zero_of_gather():
    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
    q = asyncio.Queue()

    async def get_one():
        return await q.get()

    async def attempt(label, aw):
        try:
            p(f"{label} -> {await aw}")
        except BaseException as e:
            p(f"{label} threw {name(e)}")

    q.put_nowait("i1")
    await attempt("gather(q.get())", asyncio.wait_for(asyncio.gather(q.get()), 0))
    p(f"qsize {q.qsize()}")
    q.put_nowait("i2")
    await attempt("gather(getOne())", asyncio.wait_for(asyncio.gather(get_one()), 0))
    p(f"qsize {q.qsize()}")
    q.put_nowait("i3")
    await attempt("shield(getOne())", asyncio.wait_for(asyncio.shield(get_one()), 0))
    p(f"qsize {q.qsize()}")
    lock = asyncio.Lock()

    async def take():
        await lock.acquire()
        return "held"

    await attempt("gather(take())", asyncio.wait_for(asyncio.gather(take()), 0))
    p(f"locked {lock.locked()}")


async def derived_by_value():
    q = asyncio.Queue()
    try:
        p(f"got {await asyncio.wait_for(then(q.get(), str.upper), 0.05)}")
    except TimeoutError:
        p("get TimeoutError")
    q.put_nowait("item")
    await asyncio.sleep(0.01)
    p(f"qsize {q.qsize()}")
    lock = asyncio.Lock()
    await lock.acquire()

    async def release_later():
        await asyncio.sleep(0.06)
        lock.release()

    rel = E(release_later())
    try:
        await asyncio.wait_for(then(lock.acquire(), lambda _: "held"), 0.05)
    except TimeoutError:
        p("acquire TimeoutError")
    await rel
    await asyncio.sleep(0.01)
    p(f"locked {lock.locked()}")


async def derived_cleanup():
    try:
        await asyncio.wait_for(then(w("a", 100, 20), lambda x: x + "!"), 0.05)
    except TimeoutError:
        p("waitFor TimeoutError")
    holder = {}

    async def shielded():
        holder["inner"] = E(then(w("s", 100, 20), lambda x: x + "!"))
        await asyncio.shield(holder["inner"])

    t = E(shielded())
    await asyncio.sleep(0.05)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        p("task CancelledError")
    p(f"inner {await holder['inner']}")

    async def gathering():
        await asyncio.gather(E(then(w("g", 100, 20), lambda x: x + "!")))

    t = E(gathering())
    await asyncio.sleep(0.05)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        p("gather CancelledError")


async def promise_all_under_waitfor():
    try:
        await asyncio.wait_for(asyncio.gather(E(w("a", 100, 20)), E(w("b", 100, 10))), 0.05)
    except TimeoutError:
        p("waitFor TimeoutError")


async def earlier_step_gather():
    for i in range(3):
        ps = [E(w("a", 100, 0)), E(w("b", 200, 0))]
        await asyncio.sleep(0.01)
        p(f"round {i} {','.join(await asyncio.gather(*ps))}")


async def cancel_order():
    async def body():
        await asyncio.gather(E(w("a", 100, 0)), E(w("b", 100, 0)), E(w("c", 100, 0)))

    t = asyncio.create_task(body())
    await asyncio.sleep(0.01)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        p("task CancelledError")


async def shutdown_floating():
    E(w("b", 100))
    await asyncio.sleep(0.01)
    p("main returns")


async def shutdown_race_loser():
    ts = [E(w("a", 10, 5)), E(w("b", 100, 5))]
    done, _ = await asyncio.wait(ts, return_when=asyncio.FIRST_COMPLETED)
    p(f"main got {next(iter(done)).result()}")


async def fin(aw, h):
    try:
        return await aw
    finally:
        h()


async def deep(aw, n):
    for _ in range(n):
        aw = then(aw, lambda x: x)
    return await aw


async def gather_source_and_derived():
    a = E(w("a", 100))
    try:
        await asyncio.wait_for(asyncio.gather(a, E(then(a, lambda x: x + "!"))), 0.05)
    except TimeoutError:
        p("waitFor TimeoutError")
    await asyncio.sleep(0.2)
    b = E(w("b", 100))
    p(f"gather {','.join(await asyncio.gather(b, E(then(b, lambda x: x + '!'))))}")
    c = E(w("c", 100))
    try:
        await asyncio.wait_for(asyncio.gather(E(then(c, lambda x: x + "!")), c), 0.05)
    except TimeoutError:
        p("waitFor TimeoutError")


async def deep_then():
    for n in (3, 40):
        try:
            await asyncio.wait_for(deep(w(f"a{n}", 100), n), 0.05)
        except TimeoutError:
            p(f"{n} levels TimeoutError")


async def chain_of_chain():
    forms = [
        ("then-then", lambda l: then(then(l.acquire(), lambda _: "held"), lambda x: x)),
        ("then-finally", lambda l: fin(then(l.acquire(), lambda _: "held"), lambda: None)),
        ("all-of-then", lambda l: asyncio.gather(E(then(l.acquire(), lambda _: "held")))),
        ("async-wrapper", lambda l: E(then(l.acquire(), lambda _: "held"))),
        ("gather-then-then", lambda l: asyncio.gather(E(then(then(l.acquire(), lambda _: "held"), lambda x: x)))),
    ]
    for k, f in forms:
        lock = asyncio.Lock()
        await lock.acquire()
        try:
            r = await asyncio.wait_for(f(lock), 0.05)
        except TimeoutError:
            r = "TimeoutError"
        lock.release()
        await asyncio.sleep(0.001)
        p(f"{k}: {r}; locked {lock.locked()}")


async def waitfor_zero_free_lock():
    await asyncio.sleep(0.001)
    for k, wrap in (("plain", lambda x: x), ("gather", lambda x: asyncio.gather(x)), ("shield", lambda x: asyncio.shield(x))):
        lock = asyncio.Lock()
        try:
            r = await asyncio.wait_for(wrap(E(then(lock.acquire(), lambda _: "held"))), 0)
            r = f"-> {r if isinstance(r, str) else r[0]}"
        except TimeoutError:
            r = "TimeoutError"
        await asyncio.sleep(0.001)
        p(f"{k}: {r}; locked {lock.locked()}")


async def scope_awaits_earlier():
    a = E(w("a", 100))
    try:
        async with asyncio.timeout(0.02):
            await a
    except TimeoutError:
        p("1 TimeoutError")
    b = E(w("b", 100))
    try:
        async with asyncio.timeout(0.02):
            await b
    except TimeoutError:
        p("2 TimeoutError")
    q = asyncio.Queue()
    g = E(q.get())
    try:
        async with asyncio.timeout(0.02):
            await g
    except TimeoutError:
        p("3 TimeoutError")
    q.put_nowait("item")
    await asyncio.sleep(0.001)
    p(f"qsize {q.qsize()}")


async def timeout_tie_swallowed():
    async def body():
        try:
            await asyncio.sleep(0.25)
        except asyncio.CancelledError:
            p("body caught CancelledError")
        await asyncio.sleep(0)
        p("body after")
        await asyncio.sleep(0.1)
        return "body"

    await asyncio.sleep(0.25)
    p(f"waitFor -> {await asyncio.wait_for(E(body()), 0.25)}")


async def waitfor_zero_swallowed_then_fails():
    async def body():
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            p("body caught CancelledError")

        async def inner():
            await asyncio.sleep(0)
            raise KeyError("KeyError")

        p(f"inner -> {await asyncio.wait_for(E(inner()), 0.25)}")
        return "body"

    try:
        p(f"waitFor -> {await asyncio.wait_for(E(body()), 0)}")
    except BaseException as e:
        p(f"waitFor raised {e.args[0] if isinstance(e, KeyError) else type(e).__name__}")


async def gather_cancelled_child_finishes():
    async def child_fn():
        try:
            await asyncio.sleep(0.5)
        except asyncio.CancelledError as e:
            p(f"child caught CancelledError({e.args[0] if e.args else ''})")
        await asyncio.sleep(0.1)
        return "v:child"

    child = asyncio.create_task(child_fn())

    async def g_fn():
        return await asyncio.gather(child)

    g = asyncio.create_task(g_fn())
    await asyncio.sleep(0.5)
    g.cancel("m1")
    try:
        await g
    except asyncio.CancelledError as e:
        p(f"gather CancelledError({e.args[0] if e.args else ''})")


async def shield_of_work_done_in_first_step():
    async def sleeper():
        await asyncio.sleep(0.5)

    t1 = asyncio.create_task(sleeper())
    await asyncio.sleep(0)
    t1.cancel("m2")
    await asyncio.wait([t1])

    async def sc():
        return await t1

    try:
        await asyncio.shield(E(sc()))
    except asyncio.CancelledError as e:
        p(f"shield CancelledError({e.args[0] if e.args else ''})")


async def all_(*cs):
    return await asyncio.gather(*[E(c) for c in cs])


async def several_chains_cancelled_at_once():
    q = asyncio.Queue()
    try:
        await asyncio.wait_for(E(all_(q.get(), q.get(), q.get())), 0)
    except TimeoutError:
        p("all TimeoutError")

    async def settled(*cs):
        return await asyncio.gather(*[E(c) for c in cs], return_exceptions=True)

    try:
        await asyncio.wait_for(asyncio.gather(E(settled(q.get(), q.get()))), 0)
    except TimeoutError:
        p("allSettled TimeoutError")
    await asyncio.sleep(0.02)
    for i in range(5):
        q.put_nowait(f"i{i}")
    await asyncio.sleep(0.005)
    p(f"remaining {q.qsize()}")


async def two_derived_from_one():
    async def a_():
        await asyncio.sleep(0.03)
        p("a done")
        return "a"

    a = E(a_())
    r = await asyncio.gather(E(then(a, lambda x: x + "!")), E(then(a, lambda x: x + "?")))
    p(f"got {','.join(r)}")
    b = E(w("b", 30))
    try:
        await asyncio.wait_for(asyncio.gather(E(then(b, lambda x: x + "!")), E(then(b, lambda x: x + "?"))), 0.01)
    except TimeoutError:
        p("waitFor TimeoutError")


async def chain_made_before_scope_at_zero():
    async def f(msg):
        await asyncio.sleep(0.05)
        p(msg)
        return 1

    op = E(f("op ran"))
    r = None
    try:
        async with asyncio.timeout(0):
            await op
            r = "body done"
    except TimeoutError:
        pass
    p(f"scope -> {r}")
    lock = asyncio.Lock()
    await lock.acquire()
    op2 = E(then(lock.acquire(), lambda _: "held"))
    try:
        async with asyncio.timeout(0):
            await op2
    except TimeoutError:
        p("timeout TimeoutError")
    lock.release()
    await asyncio.sleep(0.1)
    p(f"locked {lock.locked()}")


async def woken_then_cancelled():
    loop = asyncio.get_running_loop()
    lock = asyncio.Lock()
    sem = asyncio.Semaphore(0)
    await lock.acquire()

    async def body():
        await all_(lock.acquire(), sem.acquire())
        p("both acquired")

    t = asyncio.create_task(body())
    await asyncio.sleep(0)
    lock.release()
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        p("task CancelledError")
    p(f"locked {lock.locked()}")

    q = asyncio.Queue()
    u = asyncio.create_task(asyncio.wait_for(E(all_(q.get(), q.get(), q.get())), 1))
    await asyncio.sleep(0)
    q.put_nowait("x")
    q.put_nowait("y")
    u.cancel()
    try:
        await u
    except asyncio.CancelledError:
        p("waitFor CancelledError")
    p(f"qsize {q.qsize()}")

    s2 = asyncio.Semaphore(0)
    when = loop.time() + 0.005

    def release_two():
        s2.release()
        s2.release()

    loop.call_at(when, release_two)
    try:
        async with asyncio.timeout_at(when):
            await all_(s2.acquire(), s2.acquire(), s2.acquire())
    except TimeoutError:
        p("timeoutAt TimeoutError")
    p(f"semaphore locked {s2.locked()}")
    await s2.acquire()
    await s2.acquire()
    p("two permits taken")

    q2 = asyncio.Queue()
    g = asyncio.gather(E(all_(q2.get(), q2.get())))
    await asyncio.sleep(0)
    q2.put_nowait("a")
    g.cancel()
    try:
        await g
    except asyncio.CancelledError:
        p("gather CancelledError")
    p(f"qsize {q2.qsize()}")


async def sibling_scope_requests():
    async def A():
        try:
            async with asyncio.timeout(0.01):
                try:
                    await asyncio.sleep(0.1)
                except asyncio.CancelledError:
                    p("A cancelled, cleaning up")
                    await asyncio.sleep(0.05)
                    p("A cleanup done")
                    raise
        except TimeoutError as e:
            p(f"A got {name(e)}")
            return f"A:{name(e)}"
        return "A:none"

    async def B():
        try:
            async with asyncio.timeout(0.02):
                await asyncio.sleep(0.1)
        except TimeoutError as e:
            p(f"B got {name(e)}")
            return f"B:{name(e)}"
        return "B:none"

    p(f"all {await all_(A(), B())}")
    p(f"cancelling {asyncio.current_task().cancelling()}")

    async def G():
        async def fails():
            await asyncio.sleep(0.005)
            raise Exception("child failed")

        async def slow_cleanup():
            try:
                await asyncio.sleep(1)
            finally:
                await asyncio.sleep(0.05)

        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(fails())
                tg.create_task(slow_cleanup())
        except BaseExceptionGroup as e:
            p(f"G got {name(e)}")
            return f"G:{name(e)}"
        return "G:none"

    async def H():
        try:
            async with asyncio.timeout(0.02):
                await asyncio.sleep(1)
        except TimeoutError as e:
            p(f"H got {name(e)}")
            return f"H:{name(e)}"
        return "H:none"

    p(f"all {await all_(G(), H())}")
    p(f"cancelling {asyncio.current_task().cancelling()}")
    await asyncio.sleep(0.001)
    p("next await ok")


async def woken_then_cancelled_then_uncancelled():
    loop = asyncio.get_running_loop()
    q1 = asyncio.Queue()
    q2 = asyncio.Queue()
    lock = asyncio.Lock()
    await lock.acquire()

    async def body():
        try:
            await all_(q1.get(), lock.acquire(), q2.get())
            p("b got all")
        except asyncio.CancelledError:
            p(f"b caught CancelledError, uncancel -> {asyncio.current_task().uncancel()}")

    b = asyncio.create_task(body())
    await asyncio.sleep(0.01)
    q1.put_nowait("a")
    lock.release()
    q2.put_nowait("b")
    b.cancel()
    await b
    await asyncio.sleep(0.01)
    p(f"q1 {q1.qsize()} q2 {q2.qsize()} locked {lock.locked()}")
    when = loop.time() + 0.01
    await lock.acquire()

    def wake():
        q1.put_nowait("c")
        lock.release()
        q2.put_nowait("d")

    loop.call_at(when, wake)

    async def scoped():
        try:
            async with asyncio.timeout_at(when):
                await all_(q1.get(), q1.get(), lock.acquire(), q2.get(), q2.get())
        except TimeoutError:
            p("timeoutAt TimeoutError")

    await asyncio.create_task(scoped())
    await asyncio.sleep(0.01)
    p(f"q1 {q1.qsize()} q2 {q2.qsize()} locked {lock.locked()}")


async def yield_chain_cancelled():
    # (the fuzz probe's min3: one chain waits on q.get(), the other is in sleep(0) when the task is
    # cancelled; both raise, and nobody takes a later item)
    q = asyncio.Queue()

    async def a():
        try:
            await q.get()
        except asyncio.CancelledError:
            p("A raised CancelledError")
            raise

    async def b():
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            p("B sleep raised CancelledError")
            raise
        p("B after sleep")
        x = await q.get()
        p(f"B got {x}")

    t = asyncio.create_task(all_(a(), b()))
    await asyncio.sleep(0)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        p("t CancelledError")
    q.put_nowait("job-1")
    await asyncio.sleep(0.001)
    p(f"qsize {q.qsize()}")

    async def two_yields():
        async def c(n):
            try:
                await asyncio.sleep(0)
                p(f"{n} after sleep")
            except asyncio.CancelledError:
                p(f"{n} sleep raised CancelledError")
                raise

        await all_(c("c1"), c("c2"))

    u = asyncio.create_task(two_yields())
    await asyncio.sleep(0)
    u.cancel("stop")
    try:
        await u
    except asyncio.CancelledError as e:
        p(f"u CancelledError {e}")


async def passed_deadline_gather():
    # (the fuzz probe's f2: a scope whose deadline has passed when it is entered; the chain before a
    # gather/shield of running work waits on q.get(): it is cancelled too, and takes no later item)
    q = asyncio.Queue()

    async def a():
        try:
            p(f"A got {await q.get()}")
        except asyncio.CancelledError:
            p("A raised CancelledError")
            raise

    async def b():
        try:
            await asyncio.sleep(0)
            p("B slept")
        except asyncio.CancelledError:
            p("B raised CancelledError")
            raise

    try:
        async with asyncio.timeout(0):
            await asyncio.gather(E(a()), asyncio.gather(E(b())))
    except TimeoutError:
        p("timeout TimeoutError")
    try:
        async with asyncio.timeout(0):
            await asyncio.gather(E(a()), asyncio.shield(E(b())))
    except TimeoutError:
        p("shield timeout TimeoutError")
    await asyncio.sleep(0.003)
    p(f"getters {len(q._getters)}")
    q.put_nowait("job")
    await asyncio.sleep(0.001)
    p(f"qsize {q.qsize()}")


async def then_callback_is_task_code():
    # (the low-level probe's th2/th3: the callback of `pending.then(async cb)` inside a task is the task's
    # code: its awaits are cancelled with the task or the timeout, and the lock it holds is released)
    loop = asyncio.get_running_loop()
    lock = asyncio.Lock()
    main = asyncio.current_task()

    async def use(_):
        p(f"use in main {asyncio.current_task() is main}")
        try:
            await asyncio.sleep(0.1)
            p("use not cancelled")
        except asyncio.CancelledError:
            p("use CancelledError")
            raise
        finally:
            lock.release()

    async def then_async(aw, f):
        return await f(await aw)

    await lock.acquire()
    loop.call_later(0.005, lock.release)
    try:
        await asyncio.wait_for(then_async(lock.acquire(), use), 0.02)
    except TimeoutError:
        p("waitFor TimeoutError")
    p(f"locked {lock.locked()}")

    async def cb(_):
        p(f"cb in {asyncio.current_task().get_name()}")
        try:
            await asyncio.sleep(0.1)
            p("cb not cancelled")
        except asyncio.CancelledError:
            p("cb CancelledError")
            raise

    t = asyncio.create_task(then_async(asyncio.sleep(0.005), cb), name="sleeper")
    await asyncio.sleep(0.02)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        p("t CancelledError")


async def scope_body_then():
    # (the fuzz probe's f5b: a scope's body that awaits task.then(f), handed to gather / shield / waitFor:
    # the scope's strand moved to the combinator's task with its await, which had been counted on the
    # caller; virtual time was held for a second, and the run ended in a deadlock report)
    async def child():
        await asyncio.sleep(0.001)
        return "x"

    async def body(ms):
        async with asyncio.timeout(ms):
            return await then(asyncio.create_task(child()), lambda v: v + "!")

    p(f"gather {await asyncio.gather(E(body(0.1)))}")
    p(f"gather of no deadline {await asyncio.gather(E(body(None)))}")
    p(f"shield {await asyncio.shield(E(body(0.1)))}")
    p(f"waitFor {await asyncio.wait_for(body(0.1), 0.05)}")


async def orphan_scopes():
    # (the fuzz probe's f3: a chain of a Promise.all whose task caught the rejection and returned goes on,
    # as CPython's gather child task does after its parent; its waitFor, timeout and scopes work there.
    # It threw "Timeout should be used inside a task", after q.get() had taken the item: lost)
    q = asyncio.Queue()
    q.put_nowait("item")

    async def a():
        await asyncio.sleep(0.002)
        p(f"a got {await asyncio.wait_for(q.get(), 0.005)}")
        try:
            async with asyncio.timeout(0.005):
                await asyncio.sleep(0.1)
        except TimeoutError:
            p("a timeout TimeoutError")
        try:
            await asyncio.wait_for(q.get(), 0.005)
        except TimeoutError:
            p("a waitFor TimeoutError")

    async def b():
        await asyncio.sleep(0.001)
        raise ValueError("boom")

    async def parent():
        try:
            await all_(a(), b())
        except ValueError as e:
            p(f"parent caught {e}")

    await asyncio.create_task(parent())
    await asyncio.sleep(0.03)
    p(f"qsize {q.qsize()} getters {len(q._getters)}")


async def eager_task_ends_while_waiting():
    # (the second fuzz probe's m3/m4: a task whose first step runs eagerly starts waits and ends; its
    # waits were handed a result that did not exist: Event.wait() returned unset, a lock held twice)
    lock = asyncio.Lock()
    ev = asyncio.Event()
    await lock.acquire()

    async def body():
        E(then(ev.wait(), lambda _: p(f"wait returned, set {ev.is_set()}")))
        E(then(lock.acquire(), lambda _: p("task acquired the lock")))

    await E(body())
    await asyncio.sleep(0.005)
    p("setting, releasing")
    ev.set()
    lock.release()
    await asyncio.sleep(0.005)
    p(f"locked {lock.locked()}")


async def then_of_done_task_awaited():
    # (the kernel probe's finding 1: a `.then` chain made by a task that finished, awaited by main: its
    # await moved to main, but the finished task stayed counted as having code running, and run()'s end
    # waited for it for ever: a deadlock report after main returned, its result lost)
    ev = asyncio.Event()

    async def maker():
        return E(then(ev.wait(), lambda _: "cb"))

    p_ = await asyncio.create_task(maker())
    ev.set()
    p(f"main got {await p_}")


async def started_then_chain_to_combinator():
    # (the kernel probe's finding 2: a `.then(async cb)` chain whose callback has started, handed to
    # shield / gather / waitFor: taken for foreign work, it held virtual time for a second of real time)
    ev = asyncio.Event()

    async def cb(_):
        await asyncio.sleep(0.02)
        return "cb"

    async def then_async(aw, f):
        return await f(await aw)

    async def body(kind):
        p_ = E(then_async(ev.wait(), cb))
        await asyncio.sleep(0.003)
        if kind == "shield":
            return await asyncio.shield(p_)
        if kind == "gather":
            return await asyncio.gather(p_)
        return await asyncio.wait_for(p_, 0.1)

    for kind in ["shield", "gather", "waitFor"]:
        ev.clear()
        t = asyncio.create_task(body(kind))
        await asyncio.sleep(0.001)
        ev.set()
        p(f"{kind} {await t}")


async def then_made_during_eager_step():
    # (the second fuzz probe's m5f: `t.then(f)` made while a gather's eager step ran was deferred in the
    # caller's strand; the next gather took the work over, not the deferred await, and its task held
    # virtual time for a second of real time)
    async def resolved():
        return None

    async def sub():
        t = asyncio.create_task(asyncio.sleep(0.001, "t"))
        return await then(t, lambda v: v + "!")

    r = await asyncio.gather(asyncio.gather(E(resolved())), E(sub()))
    p(f"gather {r[1]} of {len(r)}")


async def then_returns_future_all_cancelled():
    # (the structured probe's p35/min5: chains `.then(() => sleep(100))` in a Promise.all; the future a
    # callback returned was followed through a real promise, registered as an element of that step only,
    # and cancelling the task (or a task group's failure) reached only the chain woken last)
    async def chain(i):
        try:
            await asyncio.sleep(0)
            await asyncio.sleep(0.1)
            p(f"chain {i} not cancelled")
        except asyncio.CancelledError:
            p(f"chain {i} CancelledError")
            raise

    t = asyncio.create_task(all_(chain(1), chain(2), chain(3)))
    await asyncio.sleep(0.005)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        p("task CancelledError")

    async def boom():
        await asyncio.sleep(0.005)
        raise ValueError("boom")

    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(boom())
            await all_(chain(4), chain(5))
    except ExceptionGroup as e:
        p(f"group {[str(x) for x in e.exceptions]}")
    await asyncio.sleep(0.2)


async def orphan_then_chain_combinators():
    # (the structured probe's min1: in the code of a finished task, waitFor / gather of a `.then` chain
    # was taken for foreign work: not cancelled at the deadline, and virtual time held for a second)
    async def inner():
        try:
            await asyncio.sleep(0.005)
            await asyncio.sleep(0.1)
        finally:
            p("inner finally")

    async def orphan():
        await asyncio.sleep(0.001)
        try:
            await asyncio.wait_for(inner(), 0.008)
        except TimeoutError:
            p("waitFor TimeoutError")
        p(f"gather {await asyncio.gather(then(asyncio.sleep(0.005), lambda _: 'x'))}")

    async def parent():
        asyncio.create_task(orphan())

    await asyncio.create_task(parent())
    await asyncio.sleep(0.3)


async def orphan_task_groups():
    # (the structured probe's min2/p22: in the code of a finished task, entering a TaskGroup raised
    # "cannot determine the parent task"; and a group entered while the task lived did not abort when a
    # child failed after the task returned: the body and its sibling ran on, the error reported twice)
    async def failer():
        await asyncio.sleep(0.005)
        raise ValueError("child fails")

    async def sib():
        try:
            await asyncio.sleep(0.1)
        finally:
            p("sib finally")

    async def chain():
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(failer())
                tg.create_task(sib())
                try:
                    await asyncio.sleep(0.1)
                finally:
                    p("body finally")
        except ExceptionGroup as e:
            p(f"group {[str(x) for x in e.exceptions]}")
        await asyncio.sleep(0.001)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(asyncio.sleep(0.005))
        p("second group ok")

    async def parent():
        asyncio.create_task(chain())
        return "t done"

    p(await asyncio.create_task(parent()))
    await asyncio.sleep(0.2)


PROGRAMS = {
    "several-chains-cancelled-at-once": several_chains_cancelled_at_once,
    "two-derived-from-one": two_derived_from_one,
    "chain-made-before-scope-at-zero": chain_made_before_scope_at_zero,
    "waitfor-zero-swallowed-then-fails": waitfor_zero_swallowed_then_fails,
    "gather-cancelled-child-finishes": gather_cancelled_child_finishes,
    "shield-of-work-done-in-first-step": shield_of_work_done_in_first_step,
    "timeout-tie-swallowed": timeout_tie_swallowed,
    "gather-source-and-derived": gather_source_and_derived,
    "deep-then": deep_then,
    "chain-of-chain": chain_of_chain,
    "waitfor-zero-free-lock": waitfor_zero_free_lock,
    "scope-awaits-earlier": scope_awaits_earlier,
    "waitfor-zero-of-gather": waitfor_zero_of_gather,
    "derived-by-value": derived_by_value,
    "derived-cleanup": derived_cleanup,
    "promise-all-under-waitfor": promise_all_under_waitfor,
    "earlier-step-gather": earlier_step_gather,
    "cancel-order": cancel_order,
    "shutdown-floating": shutdown_floating,
    "shutdown-race-loser": shutdown_race_loser,
    "woken-then-cancelled": woken_then_cancelled,
    "sibling-scope-requests": sibling_scope_requests,
    "woken-then-cancelled-then-uncancelled": woken_then_cancelled_then_uncancelled,
    "yield-chain-cancelled": yield_chain_cancelled,
    "passed-deadline-gather": passed_deadline_gather,
    "then-callback-is-task-code": then_callback_is_task_code,
    "scope-body-then": scope_body_then,
    "orphan-scopes": orphan_scopes,
    "eager-task-ends-while-waiting": eager_task_ends_while_waiting,
    "then-of-done-task-awaited": then_of_done_task_awaited,
    "started-then-chain-to-combinator": started_then_chain_to_combinator,
    "then-made-during-eager-step": then_made_during_eager_step,
    "then-returns-future-all-cancelled": then_returns_future_all_cancelled,
    "orphan-then-chain-combinators": orphan_then_chain_combinators,
    "orphan-task-groups": orphan_task_groups,
}


def run(prog):
    """asyncio.run on the virtual loop: main, then every leftover task cancelled and waited for."""
    loop = VirtualLoop()
    try:
        loop.run_until_complete(prog())
        left = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in left:
            t.cancel()
        if left:
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
    finally:
        loop.close()


result = {}
for key, prog in PROGRAMS.items():
    OUT.clear()
    run(prog)
    result[key] = list(OUT)
json.dump(result, sys.stdout, indent=1)
print()
