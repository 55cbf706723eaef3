/**
 * Context per task, as CPython's `contextvars`: a task runs in a copy of the context current where it was
 * created (the values of every `ContextVar`, and every `AsyncLocalStorage` store), so values set in one
 * task stay in it and in the tasks it creates later, and siblings never see each other's. Callbacks
 * (`callSoon`, `callLater`, `callAt`) run in a copy of the context current when they were scheduled.
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
 * `ContextVar`, `copyContext()` and `Context` are CPython's API. A `ContextVar`'s values are not kept in the
 * async context but in a `ContextData` per task (CPython's `Context._data`: a map that a `set` replaces):
 * the current task's (`callerTask()`), shared by every function it awaits and chain it runs, as CPython's
 * task runs all its coroutines in one context; outside task code, the one captured with the callback
 * (`captureContext` puts a copy in `dataStore`), or the process's. A task copies its creator's at creation
 * (`copyData`, a new object sharing the map), or shares the `Context` it was given; `Context.run` makes
 * its own current for its synchronous part (`contextState.override`).
 *
 * Rejected: a `ContextVar` as an `AsyncLocalStorage` (its `set` an `enterWith`): Node's async context
 * follows continuations, so a `set` after an `await` inside an awaited function stayed in that function
 * (`await login()` did not see what `login` set; 15 of the 22 CPython twins in
 * test/core/context-tasks.test.ts failed so); writing a task's sets back into the `Context` it was given
 * on top of that left the task's own reads on Node's rule while its context had CPython's.
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
   * The `ContextVar` values of the task whose code runs (`forWrite`: made if the task has none yet), or
   * undefined outside task code (set by the task module, which knows the current task).
   */
  taskData: null as ((forWrite: boolean) => ContextData | undefined) | null,
  /**
   * Invariant: the values of the `Context` whose `run` is on the stack (its synchronous part), else null;
   * a task step started inside one (an eager task) clears it for the step.
   */
  override: null as ContextData | null,
};

/**
 * The values of every `ContextVar` in one context (CPython's `Context._data`): a map that a `set`
 * replaces, never changes, so a copy of the context is a new `ContextData` sharing the map.
 * @internal
 */
export class ContextData {
  /** Invariant: while `shared`, never mutated (a `set` stores a new map); else this object's alone. */
  vars: Map<ContextVar<unknown>, unknown>;
  /** Invariant: true when another `ContextData` may hold `vars` (a copy was made of this one, or this is a copy). */
  shared: boolean;
  constructor(vars: Map<ContextVar<unknown>, unknown>, shared: boolean) {
    this.vars = vars;
    this.shared = shared;
  }

  /** `vars`, this object's alone from now on (copied first if shared), for a `set` or `reset` to change. */
  own(): Map<ContextVar<unknown>, unknown> {
    if (this.shared) {
      this.vars = new Map(this.vars);
      this.shared = false;
    }
    return this.vars;
  }
}

/** The values of code outside tasks and outside any captured context: the process's own context. */
const rootData = new ContextData(new Map(), false);
/** The values of a task made before any `ContextVar` existed, until it sets one (none to copy then; never changed). */
const EMPTY = new ContextData(new Map(), true);
/**
 * The values of code outside tasks (callbacks, plain code): the store of each captured context is the
 * copy made when it was captured (`captureContext`), so a callback runs in a copy of its scheduler's.
 */
const dataStore = new AsyncLocalStorage<ContextData>();
const originalAlsRun = AsyncLocalStorage.prototype.run;

/**
 * @internal the `ContextVar` values of the code running now: a `Context.run`'s, else the current task's
 * (one context per task, shared by every function it awaits and chain it runs, as CPython's), else the
 * captured context's (callbacks), else the process's
 */
export function currentData(forWrite: boolean): ContextData {
  const o = contextState.override;
  if (o !== null) return o;
  const f = contextState.taskData;
  if (f !== null) {
    const d = f(forWrite);
    if (d !== undefined) return d;
  }
  return dataStore.getStore() ?? rootData;
}

/** A copy of the current values, for a task or a callback made now. @internal */
export function copyData(): ContextData {
  const d = currentData(false);
  d.shared = true;
  return new ContextData(d.vars, true);
}

/** @internal the empty values of a task made before any `ContextVar` existed */
export function emptyData(): ContextData {
  return EMPTY;
}

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
  return contextState.inUse ? resourceWith(copyData()) : null;
}

/**
 * The context for a task made now: a plain capture of the async context (its `AsyncLocalStorage` stores)
 * if contexts are in use, else null. (A task's `ContextVar` values are its own `ContextData`, so unlike a
 * callback's capture this one carries no copy of them.)
 * @internal
 */
export function captureTaskContext(): AsyncResource | null {
  return contextState.inUse ? newResource() : null;
}

/**
 * A capture of the current async context in which `dataStore` holds `data`; a plain capture until contexts
 * are in use (code outside tasks then has no values to find, and on Node 20 a first `run` of a store turns
 * on Node's async hooks for every promise of the process).
 */
function resourceWith(data: ContextData): AsyncResource {
  return contextState.inUse ? (originalAlsRun.call(dataStore, data, newResource) as AsyncResource) : newResource();
}

/** Call `fn(arg)` in the captured context `ctx`. @internal */
export function runInContext<A, R>(ctx: AsyncResource, fn: (arg: A) => R, arg: A): R {
  return originalRunInScope.call(ctx, fn as (...a: unknown[]) => R, undefined, arg) as R;
}

/**
 * A context (CPython's `contextvars.Context`): the values of every `ContextVar`, and a capture of the async
 * context for `AsyncLocalStorage` stores, as they were when it was made by `copyContext()`. Hand it to
 * `createTask(fn, { context })` (the task runs in it: its `set`s are in it afterwards), or
 * `loop.callSoon(cb, { context })`, or call `run`.
 *
 * @example
 * ```ts
 * import { ContextVar, copyContext } from "asyncio-ts";
 * const user = new ContextVar<string>("user", { default: "nobody" });
 * const ctx = copyContext();
 * ctx.run(() => user.set("ann"));
 * console.log(user.get(), ctx.get(user)); // "nobody" "ann"
 * ```
 */
export class Context {
  /** @internal the captured async context (replaced after each `run`, which may have entered stores) */
  _res: AsyncResource;
  /** @internal the `ContextVar` values; shared with a task given this context, which runs in it */
  readonly _data: ContextData;
  private _entered = false;

  /** @internal use `copyContext()` */
  constructor(res: AsyncResource, data: ContextData) {
    this._res = res;
    this._data = data;
  }

  /**
   * Call `fn(...args)` in this context and return its result. What `fn`'s synchronous code sets stays in
   * this context (as CPython's `Context.run`). Entering a context that is already entered is a
   * `RuntimeError`.
   */
  run<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): R {
    if (typeof fn !== "function") throw new TypeError(`Expected fn to be a function, got ${describe(fn)}`);
    if (this._entered) throw new RuntimeError("cannot enter context: <Context> is already entered");
    noteUse();
    this._entered = true;
    const saved = contextState.override;
    contextState.override = this._data;
    try {
      return originalRunInScope.call(this._res, () => {
        try {
          return fn(...args);
        } finally {
          this._res = resourceWith(this._data);
        }
      }) as R;
    } finally {
      contextState.override = saved;
      this._entered = false;
    }
  }

  /**
   * @internal a capture of this context's async context, for a task given it (`createTask(fn, { context })`):
   * its `AsyncLocalStorage` stores stay in the task on every Node (on Node 20 a store entered in a
   * resource's scope is written into the resource itself). Its `ContextVar` values are `_data` itself.
   */
  _copy(): AsyncResource {
    return originalRunInScope.call(this._res, resourceWith, undefined, this._data) as AsyncResource;
  }

  /** The value of `v` in this context (or `dflt`, or `v`'s default); throws `RangeError` if it has none. */
  get<T>(v: ContextVar<T>, ...dflt: [T?]): T {
    return v._getIn(this._data, dflt);
  }
}

/**
 * @internal a `Context` of the values `data`, in the async context `res` (a capture of the current one if
 * null): what `Task.getContext()` returns for a task given none
 */
export function contextOf(data: ContextData, res: AsyncResource | null): Context {
  return new Context(res ?? resourceWith(data), data);
}

/**
 * @internal the current async context as a `Context` with the values `data`, without counting as a use of
 * contexts (a `Runner`'s main task runs in one: its caller's stores, the runner's values)
 */
export function captureAsContext(data: ContextData): Context {
  return new Context(resourceWith(data), data);
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
  const data = copyData();
  return new Context(resourceWith(data), data);
}

function newResource(): AsyncResource {
  return new AsyncResource("asyncio-ts.context", { requireManualDestroy: true });
}

const NO_VALUE: unique symbol = Symbol("asyncio-ts.noValue");

/**
 * What `ContextVar.set` returns, to undo the change with `reset` (CPython's `contextvars.Token`).
 */
export class Token<T> {
  /** The variable. */
  readonly var: ContextVar<T>;
  /** The value before `set`, or `Token.MISSING`. */
  readonly oldValue: T | typeof Token.MISSING;
  /** @internal */ _used = false;
  /** @internal the context the `set` was made in: `reset` only there */
  readonly _data: ContextData;
  /** The `oldValue` of a variable that had no value. */
  static readonly MISSING: unique symbol = Symbol("Token.MISSING");
  /** @internal */
  constructor(v: ContextVar<T>, old: T | typeof Token.MISSING, data: ContextData) {
    this.var = v;
    this.oldValue = old;
    this._data = data;
  }

  /** @internal */
  toString(): string {
    return `<Token var=${String(this.var)}${this._used ? " used" : ""}>`;
  }
}

/**
 * A context variable (CPython's `contextvars.ContextVar`). Each task has one context, a copy of its
 * creator's made when it was created: what a task sets, every function it awaits (at any depth, before or
 * after an `await`) and every chain it runs sees, and so do the tasks it creates afterwards; never its
 * creator, its siblings, or the callbacks it scheduled before.
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
  private readonly _default: T | typeof NO_VALUE;

  constructor(name: string, options: { default?: T } = {}) {
    if (typeof name !== "string") throw new TypeError(`Expected name to be a string, got ${describe(name)}`);
    if (options === null || typeof options !== "object") throw new TypeError(`Expected options to be an object, got ${describe(options)}`);
    this.name = name;
    this._default = "default" in options ? (options.default as T) : NO_VALUE;
    // A variable exists: from now on tasks and callbacks copy the context they are made in. (Noted now,
    // where nothing has been set yet, rather than at the first `set`.)
    noteUse();
  }

  /**
   * The value in the current context; else `dflt` if given; else the variable's default; else a
   * `RangeError` (CPython's `LookupError`).
   */
  get(...dflt: [T?]): T {
    return this._getIn(currentData(false), dflt);
  }

  /** @internal */
  _getIn(data: ContextData, dflt: [T?]): T {
    const vars = data.vars as ReadonlyMap<ContextVar<T>, T>;
    if (vars.has(this)) return vars.get(this) as T;
    if (dflt.length > 0) return dflt[0] as T;
    if (this._default !== NO_VALUE) return this._default;
    throw new RangeError(`ContextVar ${JSON.stringify(this.name)} has no value in this context (LookupError)`);
  }

  /** Set the value in the current context (the current task's); returns a token for `reset`. */
  set(value: T): Token<T> {
    const data = currentData(true);
    const vars = data.own();
    const token = new Token<T>(this, vars.has(this) ? (vars.get(this) as T) : Token.MISSING, data);
    vars.set(this, value);
    return token;
  }

  /**
   * Put back the value `token`'s `set` replaced, in the context it was made in (a `RangeError` elsewhere,
   * CPython's `ValueError`). A token is used once (`RuntimeError` after).
   */
  reset(token: Token<T>): void {
    if (!(token instanceof Token) || token.var !== this) {
      throw new TypeError(`Expected token to be a Token of ContextVar ${JSON.stringify(this.name)}, got ${describe(token)}`);
    }
    if (token._used) throw new RuntimeError("Token has already been used once");
    const data = currentData(true);
    if (token._data !== data) {
      throw new RangeError(`${String(token)} was created in a different Context: reset it where its set() was made (the same task or Context.run)`);
    }
    token._used = true;
    const vars = data.own();
    if (token.oldValue === Token.MISSING) vars.delete(this);
    else vars.set(this, token.oldValue);
  }

  /** @internal */
  toString(): string {
    return `<ContextVar name=${JSON.stringify(this.name)}>`;
  }
}
