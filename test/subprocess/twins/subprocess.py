"""Python twins of the subprocess programs in test/subprocess/subprocess.test.ts, run with CPython 3.13:

    PYENV_VERSION=3.13.0 python3 test/subprocess/twins/subprocess.py > test/subprocess/twins/subprocess.golden.json

Each program starts the same children (`sh`, `cat`, `sleep`) and prints lines; bytes are printed as JSON
strings, errors as their errno name (FileNotFoundError: ENOENT) or their class name.
"""
import os
import sys

# This file's name is the standard library's `subprocess`, which asyncio imports: keep its folder off the path.
sys.path = [d for d in sys.path if os.path.abspath(d or ".") != os.path.dirname(os.path.abspath(__file__))]

import asyncio
import errno
import json
import signal
from asyncio.subprocess import DEVNULL, PIPE, STDOUT

OUT = {}
cur = []


def p(*parts):
    cur.append(" ".join(str(x).lower() if isinstance(x, bool) else str(x) for x in parts))


def q(b):
    return "null" if b is None else json.dumps(b.decode("latin-1"))


def rc(x):
    return "null" if x is None else x


async def exec_returncode():
    proc = await asyncio.create_subprocess_exec("sh", "-c", "exit 3")
    p("pid is a number", isinstance(proc.pid, int) and proc.pid > 0)
    p("wait", await proc.wait(), "returncode", rc(proc.returncode))
    proc = await asyncio.create_subprocess_exec("true")
    p("wait", await proc.wait())


async def shell_communicate():
    proc = await asyncio.create_subprocess_shell("echo out; echo err >&2; exit 2", stdout=PIPE, stderr=PIPE)
    out, err = await proc.communicate()
    p("stdout", q(out), "stderr", q(err), "returncode", proc.returncode)


async def merge_shell():
    proc = await asyncio.create_subprocess_shell("echo o1; echo e1 >&2; echo o2; echo e2 >&2", stdout=PIPE, stderr=STDOUT)
    p("stderr is null", proc.stderr is None)
    out, err = await proc.communicate()
    p("stdout", q(out), "stderr", q(err))


async def merge_exec():
    proc = await asyncio.create_subprocess_exec("sh", "-c", "echo o1; echo e1 >&2; echo o2", stdout=PIPE, stderr=STDOUT)
    out, err = await proc.communicate()
    p("stdout", q(out), "stderr", q(err), "returncode", proc.returncode)


async def devnull():
    proc = await asyncio.create_subprocess_exec("sh", "-c", "echo hidden; echo hidden >&2", stdout=DEVNULL, stderr=DEVNULL)
    p("pipes", proc.stdin is None, proc.stdout is None, proc.stderr is None)
    out, err = await proc.communicate()
    p("communicate", q(out), q(err), proc.returncode)


async def communicate_input():
    proc = await asyncio.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE)
    out, err = await proc.communicate(b"abc\ndef")
    p("stdout", q(out), "stderr", q(err), "returncode", proc.returncode)


async def input_ignored():
    proc = await asyncio.create_subprocess_exec("true")
    out, err = await proc.communicate(b"nobody reads this")
    p("communicate", q(out), q(err), proc.returncode)


async def child_closes_stdin():
    proc = await asyncio.create_subprocess_exec("sh", "-c", "exec 0<&-; echo done", stdin=PIPE, stdout=PIPE)
    out, err = await proc.communicate(b"x" * 1_000_000)
    p("stdout", q(out), "returncode", proc.returncode)


async def cat_5mb():
    data = bytes(range(256)) * (5 * 4096)
    proc = await asyncio.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE)
    out, err = await proc.communicate(data)
    p("length", len(out), "same", out == data, "returncode", proc.returncode)


async def readline_loop():
    proc = await asyncio.create_subprocess_shell("for i in 1 2 3; do echo line$i; done; printf tail", stdout=PIPE)
    while True:
        line = await proc.stdout.readline()
        if not line:
            break
        p("line", q(line))
    p("wait", await proc.wait())


async def stdin_writer():
    proc = await asyncio.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE)
    proc.stdin.write(b"one\n")
    await proc.stdin.drain()
    p("echo", q(await proc.stdout.readline()))
    proc.stdin.write(b"two\n")
    proc.stdin.close()
    await proc.stdin.wait_closed()
    p("rest", q(await proc.stdout.read()))
    p("wait", await proc.wait())


async def kill():
    proc = await asyncio.create_subprocess_exec("sleep", "30")
    p("returncode while running", rc(proc.returncode))
    proc.kill()
    p("wait", await proc.wait(), "returncode", proc.returncode)
    try:
        proc.kill()
    except ProcessLookupError as e:
        p("kill again", type(e).__name__)


async def terminate():
    proc = await asyncio.create_subprocess_exec("sleep", "30")
    proc.terminate()
    p("wait", await proc.wait())


async def send_signal():
    proc = await asyncio.create_subprocess_exec("sleep", "30")
    proc.send_signal(signal.SIGINT)
    p("wait", await proc.wait())
    try:
        proc.send_signal(signal.SIGTERM)
    except ProcessLookupError as e:
        p("signal again", type(e).__name__)


async def timeout_keeps_child():
    proc = await asyncio.create_subprocess_exec("sleep", "30")
    try:
        await asyncio.wait_for(proc.wait(), 0.05)
    except TimeoutError as e:
        p("timeout", type(e).__name__, "returncode", rc(proc.returncode))
    proc.kill()
    p("wait", await proc.wait())


async def cancel_communicate():
    proc = await asyncio.create_subprocess_exec("sh", "-c", "echo start; exec sleep 30", stdin=PIPE, stdout=PIPE)
    try:
        await asyncio.wait_for(proc.communicate(b"unread"), 0.05)
    except TimeoutError as e:
        p("communicate", type(e).__name__, "returncode", rc(proc.returncode))
    proc.terminate()
    p("wait", await proc.wait())


async def enoent():
    try:
        await asyncio.create_subprocess_exec("nosuch-asyncio-ts-program")
    except FileNotFoundError as e:
        p("error", errno.errorcode[e.errno])
    try:
        await asyncio.create_subprocess_exec("nosuch-asyncio-ts-program", stdout=PIPE, stderr=STDOUT)
    except FileNotFoundError as e:
        p("error", errno.errorcode[e.errno])


async def limit():
    proc = await asyncio.create_subprocess_shell("echo 0123456789; echo ok", stdout=PIPE, limit=4)
    try:
        await proc.stdout.readline()
    except ValueError as e:
        p("readline", "over the limit")
    p("next", q(await proc.stdout.readline()))
    p("wait", await proc.wait())


async def cwd_env():
    proc = await asyncio.create_subprocess_shell('pwd; echo "$ASYNCIO_TS_X"', stdout=PIPE, cwd="/", env={"ASYNCIO_TS_X": "from env", "PATH": "/usr/bin:/bin"})
    out, _ = await proc.communicate()
    p("stdout", q(out))


PROGRAMS = {
    "exec-returncode": exec_returncode,
    "shell-communicate": shell_communicate,
    "merge-shell": merge_shell,
    "merge-exec": merge_exec,
    "devnull": devnull,
    "communicate-input": communicate_input,
    "input-ignored": input_ignored,
    "child-closes-stdin": child_closes_stdin,
    "cat-5mb": cat_5mb,
    "readline-loop": readline_loop,
    "stdin-writer": stdin_writer,
    "kill": kill,
    "terminate": terminate,
    "send-signal": send_signal,
    "timeout-keeps-child": timeout_keeps_child,
    "cancel-communicate": cancel_communicate,
    "enoent": enoent,
    "limit": limit,
    "cwd-env": cwd_env,
}

for name, prog in PROGRAMS.items():
    cur = []
    asyncio.run(prog())
    OUT[name] = cur
print(json.dumps(OUT, indent=1))
