/**
 * Helpers for the conformance tests (CPython's `test_utils.run_briefly` and friends).
 */
import { afterEach } from "vitest";
import { EventLoop, setEventLoop, type ExceptionContext } from "../../src/index.js";
import { VirtualClock } from "../../src/testing/index.js";

/** A hand-driven loop on virtual time (it never runs unless a test runs it). */
export function virtualLoop(): EventLoop {
  return new EventLoop({ clock: new VirtualClock() });
}

/** Run the loop until a one-step task is done: two iterations (CPython's `test_utils.run_briefly`). */
export async function runBriefly(loop: EventLoop): Promise<void> {
  await loop.runUntilComplete(async () => {});
}

/** Collect what the loop's exception handler receives. */
export function captureHandler(loop: EventLoop): ExceptionContext[] {
  const seen: ExceptionContext[] = [];
  loop.setExceptionHandler((_l, ctx) => {
    seen.push(ctx);
  });
  return seen;
}

/** Await `p` and return what it threw (fails the test if it did not throw). */
export async function rejection(p: PromiseLike<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

/** Call `fn` and return what it threw (fails the test if it did not throw). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

/**
 * A maker of virtual loops for one test file: every loop it made is closed after each test (unless
 * still running), and the process's current loop is reset.
 */
export function loopsClosedAfterEach(): () => EventLoop {
  const loops: EventLoop[] = [];
  afterEach(() => {
    for (const l of loops.splice(0)) if (!l.isRunning()) l.close();
    setEventLoop(null);
  });
  return () => {
    const l = virtualLoop();
    loops.push(l);
    return l;
  };
}
