/**
 * Context per task, as CPython's `contextvars`: a task runs in a copy of the async context current where
 * it was created (every `AsyncLocalStorage` store), so values set in one task (`enterWith`, `run`, a
 * `ContextVar`) stay in it and in the tasks it creates later, and siblings never see each other's.
 * Callbacks (`callSoon`, `callLater`, `callAt`) run in the context current when they were scheduled.
 *
 * ## Approach
 * Node keeps `AsyncLocalStorage` stores in the async context (Node 24: an `AsyncContextFrame`; Node 20:
 * the current async resource). An `AsyncResource` made at `createTask` captures it, and the task's first
 * step runs inside it (`runInAsyncScope`); every later step resumes through the engine's own promise
 * reactions, which carry the context the task's code was in when it awaited. So a task needs one capture,
 * at its creation.
 *
 * Capturing costs an `AsyncResource` (about 150 ns on Node 24, more on Node 20), as much again as a whole
 * task: it is paid only once some context exists to copy. A one-shot tripwire on
 * `AsyncLocalStorage.prototype.run`/`enterWith` and `AsyncResource.prototype.runInAsyncScope` (set when a
 * loop first runs, removed at its first call) notices the first time any code enters a context; until then
 * every task's creator is in the context where the loop started, which is where tasks start anyway.
 *
 * Rejected: a capture per task always (+45% on the spawn benchmark on Node 24, for programs that never use
 * a context); `AsyncLocalStorage.snapshot()` (a bound function per capture, 6 us on Node 24); running the
 * first step as a reaction of a promise made at creation (the engine captures the context for free, but a
 * promise, a reaction and a microtask hop per task, and the first step would leave the driver's control).
 *
 * `ContextVar`, `copyContext()` and `Context` are CPython's API on the same mechanism: a `ContextVar` is an
 * `AsyncLocalStorage`, a `Context` a captured context that `run` enters.
 *
 * @module
 */
import type * as asyncHooks from "node:async_hooks";
const { AsyncLocalStorage, AsyncResource } = process.getBuiltinModule("node:async_hooks");
type AsyncLocalStorage<T> = asyncHooks.AsyncLocalStorage<T>;
type AsyncResource = asyncHooks.AsyncResource;
import { describe } from "./check.js";
import { RuntimeError } from "./errors.js";

/** The methods the tripwire wraps, as they were (our own code calls these). */
const originalRunInScope = AsyncResource.prototype.runInAsyncScope;
const originalRun = AsyncLocalStorage.prototype.run;
const originalEnterWith = AsyncLocalStorage.prototype.enterWith;

/**
 * Invariant: `inUse` is true once any code entered an async context (a store of an `AsyncLocalStorage`,
 * a resource's scope) since a loop first ran; from then on tasks and callbacks capture their context.
 * `armed`: the tripwire is in place (set by the first loop that runs, gone at its first call).
 * @internal
 */
export const contextState = {
  inUse: false,
  armed: false,
  /**
   * Called once, at the first use of a context, before that use changes anything (set by the loop):
   * what was scheduled before took no copy of the context, since none existed, and would see the change.
   */
  onFirstUse: null as (() => void) | null,
  /**
   * The `Context` that the current task was given (`createTask(fn, { context })`), which its `ContextVar`
   * sets are written back to; null outside such a task (set by the task module, which knows the current task).
   */
  writeTarget: null as (() => Context | null) | null,
  /** Invariant: the number of `Context.run` calls on the stack (a set inside one belongs to that context). */
  runDepth: 0,
};

/** Some code uses a context (enters a store, copies or makes a `ContextVar`): from now on tasks and callbacks capture theirs. */
function noteUse(): void {
  if (!contextState.inUse) {
    contextState.inUse = true;
    contextState.onFirstUse?.();
  }
  disarm();
}

/** The first entry into a context: note it, and put the methods back (nothing is wrapped after). */
function trip(): void {
  noteUse();
}

function disarm(): void {
  if (!contextState.armed) return;
  contextState.armed = false;
  AsyncResource.prototype.runInAsyncScope = originalRunInScope;
  AsyncLocalStorage.prototype.run = originalRun;
  AsyncLocalStorage.prototype.enterWith = originalEnterWith;
}

/** @internal a loop starts running: watch for the first use of a context (see the module comment) */
export function armContextTripwire(): void {
  if (contextState.inUse || contextState.armed) return;
  contextState.armed = true;
  AsyncResource.prototype.runInAsyncScope = function (this: AsyncResource, ...a: Parameters<AsyncResource["runInAsyncScope"]>) {
    trip();
    return originalRunInScope.apply(this, a);
  } as AsyncResource["runInAsyncScope"];
  AsyncLocalStorage.prototype.run = function (this: AsyncLocalStorage<unknown>, ...a: unknown[]) {
    trip();
    return (originalRun as (...x: unknown[]) => unknown).apply(this, a);
  } as AsyncLocalStorage<unknown>["run"];
  AsyncLocalStorage.prototype.enterWith = function (this: AsyncLocalStorage<unknown>, store: unknown) {
    noteEnter(this);
    trip();
    return originalEnterWith.call(this, store);
  };
}

/**
 * Invariant: while an eager task's first step runs in its caller's context (made when no context existed
 * to copy), `recording` is set and `entered` lists the stores it entered with `enterWith` (a first
 * `enterWith`, a `ContextVar`'s `set`), with the store each replaced (see `undoEagerEntries`).
 */
const eagerEntries = { recording: false, entered: [] as Entries };

function noteEnter(als: AsyncLocalStorage<unknown>): void {
  if (eagerEntries.recording) eagerEntries.entered.push([als, als.getStore()]);
}

type Entries = Array<[AsyncLocalStorage<unknown>, unknown]>;

/**
 * @internal an eager task's first step without a context of its own begins: note what it enters; returns
 * what an enclosing such step noted so far (null if none), for `undoEagerEntries`
 */
export function recordEagerEntries(): Entries | null {
  const outer = eagerEntries.recording ? eagerEntries.entered : null;
  eagerEntries.recording = true;
  eagerEntries.entered = [];
  return outer;
}

/**
 * @internal that step ended. If it made the process's first use of a context (a first `enterWith`, a
 * `ContextVar` made and set), its entries changed its caller's context too: put the caller's stores back,
 * latest first. (Its own code goes on in the promises it made, which keep the stores.)
 */
export function undoEagerEntries(outer: Entries | null): void {
  const e = eagerEntries.entered;
  eagerEntries.recording = outer !== null;
  eagerEntries.entered = outer ?? [];
  if (e.length === 0 || !contextState.inUse) return;
  for (let i = e.length - 1; i >= 0; i--) originalEnterWith.call(e[i]![0], e[i]![1]);
}

/**
 * The context to run something scheduled now in later: captured if contexts are in use, else null (it
 * will run where the loop runs its callbacks, which is the same context).
 * @internal
 */
export function captureContext(): AsyncResource | null {
  return contextState.inUse ? new AsyncResource("asyncio-ts.context", { requireManualDestroy: true }) : null;
}

/** Call `fn(arg)` in the captured context `ctx`. @internal */
export function runInContext<A, R>(ctx: AsyncResource, fn: (arg: A) => R, arg: A): R {
  return originalRunInScope.call(ctx, fn as (...a: unknown[]) => R, undefined, arg) as R;
}

/**
 * A copy of an async context: every `ContextVar` and `AsyncLocalStorage` value current when it was made
 * (CPython's `contextvars.Context`, made by `copyContext()`). Hand it to `createTask(fn, { context })` or
 * `loop.callSoon(cb, { context })` to run there, or call `run`.
 *
 * @example
 * ```ts
 * import { ContextVar, copyContext } from "asyncio-ts";
 * const user = new ContextVar<string>("user", { default: "nobody" });
 * const ctx = copyContext();
 * ctx.run(() => user.set("ann"));
 * console.log(user.get(), ctx.run(() => user.get())); // "nobody" "ann"
 * ```
 */
export class Context {
  /** @internal the captured context (replaced after each `run`, which may have changed it) */
  _res: AsyncResource;
  private _entered = false;
  /**
   * Invariant: the `ContextVar` sets made by tasks running in this context (given with `{ context }`) since
   * `_res` was last captured, the last store of each variable (a long-lived task may set one a million
   * times); put into `_res` before it is next entered or copied.
   */
  private _pending: Map<AsyncLocalStorage<unknown>, unknown> | null = null;
  /** @internal Invariant: every store `_record` was given, the last of each variable (what a `Runner` keeps across runs). */
  _written: Map<AsyncLocalStorage<unknown>, unknown> | null = null;

  /** @internal use `copyContext()` */
  constructor(res: AsyncResource) {
    this._res = res;
  }

  /**
   * Call `fn(...args)` in this context and return its result. Values set by `fn`'s synchronous code stay
   * in this context (as CPython's `Context.run`). Entering a context that is already entered is a
   * `RuntimeError`.
   */
  run<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): R {
    if (typeof fn !== "function") throw new TypeError(`Expected fn to be a function, got ${describe(fn)}`);
    if (this._entered) throw new RuntimeError("cannot enter context: <Context> is already entered");
    noteUse();
    this._flush();
    this._entered = true;
    contextState.runDepth++;
    try {
      return originalRunInScope.call(this._res, () => {
        try {
          return fn(...args);
        } finally {
          this._res = new AsyncResource("asyncio-ts.context", { requireManualDestroy: true });
        }
      }) as R;
    } finally {
      this._entered = false;
      contextState.runDepth--;
    }
  }

  /**
   * @internal a task running in this context set a `ContextVar` (`store` is its new store): the context
   * has it too, as CPython's task runs in the very `Context` it was given
   */
  _record(als: AsyncLocalStorage<unknown>, store: unknown): void {
    (this._pending ??= new Map()).set(als, store);
    (this._written ??= new Map()).set(als, store);
  }

  /** Put the sets recorded by `_record` into `_res`. */
  private _flush(): void {
    const p = this._pending;
    if (p === null) return;
    this._pending = null;
    this._res = originalRunInScope.call(this._res, () => {
      for (const [als, store] of p) originalEnterWith.call(als, store);
      return newResource();
    }) as AsyncResource;
  }

  /**
   * @internal a copy of this context, for a task given it (`createTask(fn, { context })`): the task's
   * values stay in the task on every Node (on Node 20 a store entered in a resource's scope is written
   * into the resource itself, so running the task in `_res` would write into this context).
   */
  _copy(): AsyncResource {
    this._flush();
    return originalRunInScope.call(this._res, newResource) as AsyncResource;
  }

  /** The value of `v` in this context (or `dflt`, or `v`'s default); throws `RangeError` if it has none. */
  get<T>(v: ContextVar<T>, ...dflt: [T?]): T {
    return this.run(() => (v.get as (...d: [T?]) => T)(...dflt));
  }
}

/**
 * @internal the current async context as a `Context`, without counting as a use of contexts (a `Runner`'s
 * main task runs in one, so that what it sets can be kept for the next run)
 */
export function captureAsContext(): Context {
  return new Context(newResource());
}

/**
 * A copy of the current context (CPython's `contextvars.copy_context()`).
 *
 * @example
 * ```ts
 * import { copyContext } from "asyncio-ts";
 * console.log(typeof copyContext().run); // "function"
 * ```
 */
export function copyContext(): Context {
  noteUse();
  return new Context(new AsyncResource("asyncio-ts.context", { requireManualDestroy: true }));
}

function newResource(): AsyncResource {
  return new AsyncResource("asyncio-ts.context", { requireManualDestroy: true });
}

const NO_VALUE: unique symbol = Symbol("asyncio-ts.noValue");

/** A `ContextVar`'s new store: into the `Context` the current task was given, if any (not inside a `Context.run`). */
function writeBack(als: AsyncLocalStorage<unknown>, store: unknown): void {
  const target = contextState.runDepth === 0 && contextState.writeTarget !== null ? contextState.writeTarget() : null;
  if (target !== null) target._record(als, store);
}

/**
 * What `ContextVar.set` returns, to undo the change with `reset` (CPython's `contextvars.Token`).
 */
export class Token<T> {
  /** The variable. */
  readonly var: ContextVar<T>;
  /** The value before `set`, or `Token.MISSING`. */
  readonly oldValue: T | typeof Token.MISSING;
  /** @internal */ _used = false;
  /** The `oldValue` of a variable that had no value. */
  static readonly MISSING: unique symbol = Symbol("Token.MISSING");
  /** @internal */
  constructor(v: ContextVar<T>, old: T | typeof Token.MISSING) {
    this.var = v;
    this.oldValue = old;
  }
}

/**
 * A context variable (CPython's `contextvars.ContextVar`): each task sees the value of the context it
 * was created in, and a `set` inside a task stays in that task and the tasks it creates afterwards.
 *
 * @example
 * ```ts
 * import { run, createTask, gather, ContextVar, sleep } from "asyncio-ts";
 * const requestId = new ContextVar<string>("requestId", { default: "-" });
 * await run(async () => {
 *   const handle = async (id: string) => {
 *     requestId.set(id);
 *     await sleep(10);
 *     return requestId.get(); // never another request's id
 *   };
 *   console.log(await gather(createTask(() => handle("a")), createTask(() => handle("b")))); // ["a", "b"]
 *   console.log(requestId.get()); // "-"
 * }, { virtualTime: true });
 * ```
 */
export class ContextVar<T> {
  /** The variable's name. */
  readonly name: string;
  private readonly _als = new AsyncLocalStorage<{ v: T }>();
  private readonly _default: T | typeof NO_VALUE;

  constructor(name: string, options: { default?: T } = {}) {
    if (typeof name !== "string") throw new TypeError(`Expected name to be a string, got ${describe(name)}`);
    if (options === null || typeof options !== "object") throw new TypeError(`Expected options to be an object, got ${describe(options)}`);
    this.name = name;
    this._default = "default" in options ? (options.default as T) : NO_VALUE;
    // A variable exists: its first `set` must find every task with its own context. (Noted now, where
    // nothing has been set yet, rather than at that `set`, which may run in a step shared with others.)
    noteUse();
  }

  /**
   * The value in the current context; else `dflt` if given; else the variable's default; else a
   * `RangeError` (CPython's `LookupError`).
   */
  get(...dflt: [T?]): T {
    const box = this._als.getStore();
    if (box !== undefined) return box.v;
    if (dflt.length > 0) return dflt[0] as T;
    if (this._default !== NO_VALUE) return this._default;
    throw new RangeError(`ContextVar ${JSON.stringify(this.name)} has no value in this context (LookupError)`);
  }

  /** Set the value in the current context (the current task's, from here on); returns a token for `reset`. */
  set(value: T): Token<T> {
    const box = this._als.getStore();
    const token = new Token<T>(this, box === undefined ? Token.MISSING : box.v);
    noteUse();
    noteEnter(this._als as AsyncLocalStorage<unknown>);
    const store = { v: value };
    originalEnterWith.call(this._als, store);
    writeBack(this._als as AsyncLocalStorage<unknown>, store);
    return token;
  }

  /** Put back the value `token`'s `set` replaced. A token is used once (`RuntimeError` after). */
  reset(token: Token<T>): void {
    if (!(token instanceof Token) || token.var !== this) {
      throw new TypeError(`Expected token to be a Token of ContextVar ${JSON.stringify(this.name)}, got ${describe(token)}`);
    }
    if (token._used) throw new RuntimeError("Token has already been used once");
    token._used = true;
    noteEnter(this._als as AsyncLocalStorage<unknown>);
    const store = token.oldValue === Token.MISSING ? undefined : { v: token.oldValue as T };
    originalEnterWith.call(this._als, store as never);
    writeBack(this._als as AsyncLocalStorage<unknown>, store);
  }

  /** @internal */
  toString(): string {
    return `<ContextVar name=${JSON.stringify(this.name)}>`;
  }
}
