/**
 * Checking arguments, in one wording. Every public function checks what it is given where it is given,
 * and says which argument is wrong, what was expected and what came: `Expected maxsize to be a
 * non-negative integer, got -1 (number)`. A value of the wrong type is a `TypeError`; a number of the
 * right type outside its range is a `RangeError`. Where the error surfaces (thrown, or a rejection of the
 * returned promise) is the caller's rule, `docs/design.md` ("Where bad input is reported").
 *
 * A leaf of the kernel (it imports only the error classes): worker-side code imports it directly.
 *
 * @module
 */
const { types } = process.getBuiltinModule("node:util");

/**
 * Describe a value for an error message: `-1 (number)`, `"x" (string)`, `null`, `[object Promise]`.
 * @internal
 */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  const t = typeof value;
  if (t === "string") return `${JSON.stringify(value)} (string)`;
  if (t === "function") {
    try {
      return `a function (${(value as { name?: string }).name || "anonymous"})`;
    } catch {
      return "a function (whose properties cannot be read)";
    }
  }
  if (t === "object") {
    // (a Proxy may throw from any trap: describing the value must not throw the value's own error)
    try {
      if (value instanceof Promise) return "a Promise";
      const ctor = (value as object).constructor?.name;
      if (Array.isArray(value)) return `an array (length ${(value as unknown[]).length})`;
      return typeof ctor === "string" && ctor !== "" ? `an object (${ctor})` : "an object";
    } catch {
      return "an object (whose properties cannot be read)";
    }
  }
  if (t === "symbol") return `${(value as symbol).toString()} (symbol)`;
  return `${String(value)} (${t})`;
}

/** `TypeError` unless `value` is undefined or a boolean: `name` is the option. @internal */
export function checkBoolean(value: unknown, name: string): boolean | undefined {
  if (value !== undefined && typeof value !== "boolean") {
    throw new TypeError(`Expected ${name} to be a boolean, got ${describe(value)}`);
  }
  return value;
}

/** `TypeError` for a key of `options` that is not in `known` (`what` names the call). @internal */
export function checkKnownOptions(options: object, known: readonly string[], what: string): void {
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) {
      throw new TypeError(`Unknown option ${JSON.stringify(k)} of ${what} (known: ${known.join(", ")})${camelCaseHint(k, known)}`);
    }
  }
}

/**
 * For an unknown option spelled as in Python (`return_when`) whose camelCase is known (`returnWhen`):
 * `: asyncio-ts spells options in camelCase: write returnWhen`; else `""`.
 * @internal
 */
export function camelCaseHint(key: string, known: readonly string[]): string {
  if (!key.includes("_")) return "";
  const camel = key.replace(/_+([a-z0-9])/gi, (_m, c: string) => c.toUpperCase());
  return known.includes(camel) ? `: asyncio-ts spells options in camelCase, write ${camel}` : "";
}

/**
 * `TypeError` unless `options` is undefined or an object; with `known`, also for a key that is not
 * one of them (`what` names the call: `newEventLoop()`). Returns the options, `{}` when undefined.
 * @internal
 */
export function checkOptions<O extends object>(options: O | undefined, known?: readonly string[], what?: string): O {
  if (options === undefined) return EMPTY as O;
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Expected options to be an object, got ${describe(options)}`);
  }
  if (types.isProxy(options)) {
    // (read once, here: a Proxy whose traps throw must not throw its own error from deep inside a call)
    try {
      options = { ...options };
    } catch {
      throw new TypeError(`Expected options to be an object whose properties can be read, got ${describe(options)}`);
    }
  }
  if (known !== undefined) checkKnownOptions(options, known, what ?? "this call");
  return options;
}

const EMPTY: object = Object.freeze({});

/** The words for a duration's range, as in `Expected ms to be a non-negative number of milliseconds`. */
function msWords(positive: boolean, nullable: boolean): string {
  return `${positive ? "a positive" : "a non-negative"} number of milliseconds${nullable ? " or null" : ""}`;
}

/**
 * A duration in milliseconds: a number, not NaN, at least 0 (`positive`: above 0); `Infinity` allowed
 * unless `finite`. A non-number is a `TypeError`, a number out of range a `RangeError`.
 * @internal
 */
export function checkMs(value: unknown, name: string, { positive = false, finite = false } = {}): number {
  if (typeof value !== "number") throw new TypeError(`Expected ${name} to be ${msWords(positive, false)}, got ${describe(value)}`);
  if (Number.isNaN(value) || value < 0 || (positive && value === 0) || (finite && value === Infinity)) {
    throw new RangeError(`Expected ${name} to be ${finite ? `a finite ${msWords(positive, false).slice(2)}` : msWords(positive, false)}, got ${describe(value)}`);
  }
  return value;
}

/** `checkMs`, with null allowed (no deadline). @internal */
export function checkMsOrNull(value: unknown, name: string): number | null {
  if (value === null) return null;
  if (typeof value !== "number") throw new TypeError(`Expected ${name} to be ${msWords(false, true)}, got ${describe(value)}`);
  if (Number.isNaN(value) || value < 0) throw new RangeError(`Expected ${name} to be ${msWords(false, true)}, got ${describe(value)}`);
  return value;
}

/** A loop time (an absolute deadline in ms): any number but NaN (`Infinity`: never). @internal */
export function checkTime(value: unknown, name: string): number {
  if (typeof value !== "number" || Number.isNaN(value)) throw new TypeError(`Expected ${name} to be a number, got ${describe(value)}`);
  return value;
}

/**
 * A count: an integer at least `min` (`infinity`: or `Infinity`). A non-number is a `TypeError`, a number
 * out of range a `RangeError`.
 * @internal
 */
export function checkCount(value: unknown, name: string, { min = 0, infinity = false } = {}): number {
  if (typeof value !== "number") {
    throw new TypeError(`Expected ${name} to be ${countWords(min, infinity)}, got ${describe(value)}`);
  }
  if (!(Number.isInteger(value) || (infinity && value === Infinity)) || value < min) {
    throw new RangeError(`Expected ${name} to be ${countWords(min, infinity)}, got ${describe(value)}`);
  }
  return value;
}

function countWords(min: number, infinity: boolean): string {
  const base = min === 0 ? "a non-negative integer" : min === 1 ? "a positive integer" : `an integer >= ${min}`;
  return infinity ? `${base} or Infinity` : base;
}

/** A callback argument. @internal */
export function checkFn(value: unknown, name: string): asserts value is (...args: any[]) => unknown {
  if (typeof value !== "function") throw new TypeError(`Expected ${name} to be a function, got ${describe(value)}`);
}

/** A string argument (undefined allowed: returns it). @internal */
export function checkString(value: unknown, name: string): string | undefined {
  if (value !== undefined && typeof value !== "string") throw new TypeError(`Expected ${name} to be a string, got ${describe(value)}`);
  return value;
}

/**
 * How a value given where an awaitable, a function or options are expected reads: `"future"` (one of
 * `futureClass`), `"function"`, `"thenable"` (an object with a `then` method), `"other"`, or
 * `"unreadable"` (an object whose prototype or `then` throws when read: a Proxy with throwing traps, a
 * revoked Proxy). Never throws: the argument's own error must not escape from a check (it would not say
 * which argument was wrong).
 * @internal
 */
export function kindOf(value: unknown, futureClass?: abstract new (...a: any[]) => unknown): "future" | "function" | "thenable" | "other" | "unreadable" {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return "other";
  try {
    if (futureClass !== undefined && value instanceof futureClass) return "future";
    if (typeof value === "function") return "function";
    return typeof (value as { then?: unknown }).then === "function" ? "thenable" : "other";
  } catch {
    return "unreadable";
  }
}
