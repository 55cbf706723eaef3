/**
 * The floor for issue 18's first target: the smallest scheduler with CPython's hand-off semantics that
 * runs async functions, and the primitives the floor suite measures on it. A FIFO ready queue; one loop
 * iteration per hand-off (a woken task runs when the loop reaches its wake-up, after the callbacks
 * already queued, as CPython's `call_soon`); a task's steps atomic (the loop waits for the step to end
 * before it runs the next callback); futures whose callbacks are scheduled, not called. Nothing else: no
 * names, no cancellation, no several chains per task, no tracing, no virtual time, no checks, no timers.
 *
 * A step ends when the task's async function awaits a pending future (V8 calls the future's `then` a
 * microtask after the `await`: that call is the signal) or returns; the loop then continues one
 * microtask later, as asyncio-ts's driver does (continuing inside `then` would run other tasks in the
 * middle of a task that calls `then` without awaiting).
 */

export class Loop {
  constructor() {
    /** the ready queue: callback, argument, callback, argument, ... from `head` on */
    this.q = [];
    this.head = 0;
    /** the task whose step runs, or null */
    this.stepping = null;
    this.driving = false;
    this.continueBound = () => this.drive();
  }

  callSoon(fn, arg) {
    this.q.push(fn, arg);
    if (!this.driving && this.stepping === null) {
      this.driving = true;
      queueMicrotask(this.continueBound);
    }
  }

  drive() {
    this.driving = true;
    const q = this.q;
    while (this.head < q.length) {
      const fn = q[this.head];
      const arg = q[this.head + 1];
      q[this.head] = q[this.head + 1] = undefined;
      this.head += 2;
      fn(arg);
      if (this.stepping !== null) return; // (continued by stepEnded)
    }
    q.length = 0;
    this.head = 0;
    this.driving = false;
  }

  stepEnded() {
    this.stepping = null;
    queueMicrotask(this.continueBound);
  }

  /** Run `main` as a task; resolves with its result. */
  run(main) {
    return new Promise((resolve, reject) => {
      const t = new Task(this, main);
      t.addCallback(() => (t.error !== undefined ? reject(t.error) : resolve(t.value)));
    });
  }
}

const PENDING = 0;
const DONE = 1;

export class Future {
  constructor(loop) {
    this.loop = loop;
    this.state = PENDING;
    this.value = undefined;
    this.error = undefined;
    this.callbacks = null;
  }

  addCallback(cb) {
    if (this.state === DONE) this.loop.callSoon(cb, this);
    else (this.callbacks ??= []).push(cb);
  }

  setResult(v) {
    this.state = DONE;
    this.value = v;
    this.schedule();
  }

  setError(e) {
    this.state = DONE;
    this.error = e;
    this.schedule();
  }

  schedule() {
    const cbs = this.callbacks;
    if (cbs === null) return;
    this.callbacks = null;
    for (const cb of cbs) this.loop.callSoon(cb, this);
  }

  /** An `await` of this future by the stepping task: its wake-up is a callback; the step ends. */
  then(resolve, reject) {
    if (this.state === DONE) {
      if (this.error !== undefined) reject(this.error);
      else resolve(this.value);
      return;
    }
    const loop = this.loop;
    const task = loop.stepping;
    (this.callbacks ??= []).push((f) => {
      loop.stepping = task;
      if (f.error !== undefined) reject(f.error);
      else resolve(f.value);
    });
    loop.stepEnded();
  }
}

export class Task extends Future {
  constructor(loop, fn) {
    super(loop);
    loop.callSoon((t) => t.first(fn), this);
  }

  first(fn) {
    this.loop.stepping = this;
    fn().then(
      (v) => {
        this.loop.stepEnded();
        this.setResult(v);
      },
      (e) => {
        this.loop.stepEnded();
        this.setError(e);
      },
    );
  }
}

/** `await sleep0(loop)`: CPython's bare yield (the task's next step is a callback queued now). */
export function sleep0(loop) {
  return {
    then(resolve) {
      const task = loop.stepping;
      loop.callSoon(() => {
        loop.stepping = task;
        resolve();
      });
      loop.stepEnded();
    },
  };
}

const wakeFirst = (waiters) => {
  while (waiters.length > 0) {
    const w = waiters.shift();
    if (w.state === PENDING) {
      w.setResult(true);
      return;
    }
  }
};

export class Event {
  constructor(loop) {
    this.loop = loop;
    this.flag = false;
    this.waiters = [];
  }
  async wait() {
    if (this.flag) return true;
    const w = new Future(this.loop);
    this.waiters.push(w);
    await w;
    return true;
  }
  set() {
    this.flag = true;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) if (w.state === PENDING) w.setResult(true);
  }
  clear() {
    this.flag = false;
  }
}

/** CPython 3.12's Lock: no barging while waiters wait; the woken waiter takes the lock when it runs. */
export class Lock {
  constructor(loop) {
    this.loop = loop;
    this.locked = false;
    this.waiters = [];
  }
  async acquire() {
    if (!this.locked && this.waiters.length === 0) {
      this.locked = true;
      return true;
    }
    const w = new Future(this.loop);
    this.waiters.push(w);
    await w;
    this.locked = true;
    return true;
  }
  release() {
    this.locked = false;
    wakeFirst(this.waiters);
  }
}

/** CPython 3.12's Semaphore, without cancellation. */
export class Semaphore {
  constructor(loop, value) {
    this.loop = loop;
    this.value = value;
    this.waiters = [];
  }
  async acquire() {
    if (this.value > 0 && this.waiters.length === 0) {
      this.value--;
      return true;
    }
    const w = new Future(this.loop);
    this.waiters.push(w);
    await w;
    this.value--;
    return true;
  }
  release() {
    this.value++;
    wakeFirst(this.waiters);
  }
}

/** CPython's bounded Queue, without cancellation. */
export class Queue {
  constructor(loop, maxsize) {
    this.loop = loop;
    this.maxsize = maxsize;
    this.items = [];
    this.getters = [];
    this.putters = [];
  }
  async put(item) {
    while (this.items.length >= this.maxsize) {
      const w = new Future(this.loop);
      this.putters.push(w);
      await w;
    }
    this.items.push(item);
    wakeFirst(this.getters);
  }
  async get() {
    while (this.items.length === 0) {
      const w = new Future(this.loop);
      this.getters.push(w);
      await w;
    }
    const item = this.items.shift();
    wakeFirst(this.putters);
    return item;
  }
}
