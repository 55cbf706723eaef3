/**
 * The tables a `TraceRecorder` records into while the program runs: one row per task, per step and per
 * wait. A row is a few numbers (times, row numbers, a state, a task's number, its function's name as an
 * index) in a typed array; what cannot be a number (a wait's label, a name given to a task) is kept
 * beside it by reference.
 *
 * ## Approach
 * A hook writes a few numbers into a preallocated chunk and allocates nothing else: no object per task,
 * step or wait, no string (a task's name is its number until exported, its function's name an index
 * into the names seen; a wait's label is kept as what it is made of, `LabelRef`, and made a string by
 * `TraceRecorder.trace()`). A table is a list of chunks of 1024 rows; a full table gets one more chunk,
 * so nothing recorded is ever moved, lost or overwritten, and rows are never removed. Rows are small
 * (a task 40 bytes, a step 24, a wait 40): fresh memory is a large part of what a row costs (called
 * directly on 100,000 tasks, the hooks ran 55 ns per task faster when their chunks were reused from a
 * pool than when allocated, with 72-byte task rows; a pool would only help a benchmark that makes a
 * recorder per round, so the rows were made smaller instead). A task row's
 * fields that start as "none" are 0 in a new (zeroed) chunk, so adding a row writes four numbers; a
 * wait's missing time (not over, not woken) is `NaN`, never a real loop time.
 *
 * Rejected alternatives (measured in `recorder.ts`'s header):
 * - one object per task with arrays of steps and waits (the first recorder): an object, two arrays and
 *   a name string per task, a `[start, end]` array per step and an object per wait, all kept alive
 *   while the program runs, which the young-generation collector copies again and again;
 * - one typed array per column, doubled when full: every doubling allocates fresh memory and copies
 *   what the table holds; the system time (page faults) was 114 ns per task against 40 for an
 *   instrument writing into one preallocated buffer, and 40 to 80 with chunks, which are below
 *   malloc's mmap threshold (40 KiB of tasks) and copy nothing;
 * - float64 for every field (a task row of 72 bytes): the int32 fields make it 40 (17 ns per task
 *   less, hooks called directly);
 * - one flat event log (kind, task, time) turned into steps and waits at export: a step's end and a
 *   wait's label are updated after the row is written (the wait's end when the next step starts, a
 *   `Promise.all` adding labels), so the hooks need the task's last step and wait anyway, and a table
 *   per kind keeps those updates in place.
 *
 * @module
 */

/** Rows per chunk (a power of two: row k is in chunk k >>> SHIFT, at k & MASK). */
const SHIFT = 10;
const ROWS = 1 << SHIFT;
const MASK = ROWS - 1;

/** A task's state (index into `STATE_NAMES`). @internal */
export const PENDING = 0;
export const FINISHED = 1;
export const CANCELLED = 2;
export const FAILED = 3;
/** The state names of the exported trace, by state number. @internal */
export const STATE_NAMES = ["pending", "finished", "cancelled", "failed"] as const;

/**
 * What a wait awaited, as recorded: the words a future gave for itself when the wait began (a string),
 * a recorded task (its row: the label `fetchData (Task-2)` is made at export from the row's name and
 * function), or several of these, joined with " and " at export (a `Promise.all`). @internal
 */
export type LabelRef = string | number | Array<string | number>;

/**
 * A task row is 40 bytes: two times as float64 (CREATED, DONE: read once the state is not PENDING) and
 * six int32 fields. NUMBER: the task's number when it was created without a name (its name is then
 * `Task-<n>`), else 0 (its name is in `names`); FN: its function's name, as an index into `fnNames` (0:
 * ""); PARENT, LAST_STEP, LAST_WAIT: the row of the task that created it, of its last step and of its
 * last wait, stored plus one so that 0 (a new row) reads as none (-1); FLAGS: its state (PENDING is 0)
 * and KEYED, set once the task entered the `TaskIndex`'s hash table (task-index.ts).
 */
const TASK_BYTES = 40;
const F_STRIDE = TASK_BYTES / 8;
const I_STRIDE = TASK_BYTES / 4;
const CREATED = 0;
const DONE = 1;
/** (int32 slots after the two float64s) */
const NUMBER = 4;
const FN = 5;
const PARENT = 6;
const LAST_STEP = 7;
const LAST_WAIT = 8;
const FLAGS = 9;
const STATE_MASK = 7;
const KEYED = 8;

/** The recorded tasks: row k is the task with trace id k + 1, in creation order. @internal */
export class TaskColumns {
  /** Invariant: rows 0..n-1 are written; `f` and `i` hold ceil(n / ROWS) chunks, two views of each buffer. */
  n = 0;
  private readonly f: Float64Array[] = [];
  private readonly i: Int32Array[] = [];
  /** The name of each row whose NUMBER is 0: a name given to the task (or a number past int32). */
  private readonly names = new Map<number, string>();
  /** Invariant: `fnIds` maps each of `fnNames` to its index; `lastFn` is `fnNames[lastFnId]`. */
  private readonly fnNames: string[] = [""];
  private readonly fnIds = new Map<string, number>([["", 0]]);
  private lastFn = "";
  private lastFnId = 0;

  /** Add a pending task (`name`: its `_name`, a name or its number); returns its row. */
  add(name: string | number, fn: string, created: number, parentRow: number): number {
    const k = this.n++;
    if ((k & MASK) === 0) {
      const buf = new ArrayBuffer(ROWS * TASK_BYTES);
      this.f.push(new Float64Array(buf));
      this.i.push(new Int32Array(buf));
    }
    const c = k >>> SHIFT;
    const i = this.i[c]!;
    const o = (k & MASK) * I_STRIDE;
    if (typeof name === "number" && name > 0 && name <= 0x7fffffff) i[o + NUMBER] = name;
    else this.names.set(k, typeof name === "number" ? `Task-${name}` : name);
    i[o + FN] = fn === this.lastFn ? this.lastFnId : this.fnId(fn);
    i[o + PARENT] = parentRow + 1;
    this.f[c]![(k & MASK) * F_STRIDE + CREATED] = created;
    return k;
  }

  private int(k: number, field: number): number {
    return this.i[k >>> SHIFT]![(k & MASK) * I_STRIDE + field]!;
  }

  private setInt(k: number, field: number, v: number): void {
    this.i[k >>> SHIFT]![(k & MASK) * I_STRIDE + field] = v;
  }

  created(k: number): number {
    return this.f[k >>> SHIFT]![(k & MASK) * F_STRIDE + CREATED]!;
  }
  /** When the task was done, or null while it is pending. */
  done(k: number): number | null {
    return this.state(k) === PENDING ? null : this.f[k >>> SHIFT]![(k & MASK) * F_STRIDE + DONE]!;
  }
  state(k: number): number {
    return this.int(k, FLAGS) & STATE_MASK;
  }
  setDone(k: number, t: number, state: number): void {
    this.f[k >>> SHIFT]![(k & MASK) * F_STRIDE + DONE] = t;
    this.setInt(k, FLAGS, (this.int(k, FLAGS) & ~STATE_MASK) | state);
  }
  /** The row of the task that created it, or -1. */
  parent(k: number): number {
    return this.int(k, PARENT) - 1;
  }
  /** The row of its last step, or -1. */
  lastStep(k: number): number {
    return this.int(k, LAST_STEP) - 1;
  }
  setLastStep(k: number, step: number): void {
    this.setInt(k, LAST_STEP, step + 1);
  }
  /** The row of its last wait, or -1. */
  lastWait(k: number): number {
    return this.int(k, LAST_WAIT) - 1;
  }
  setLastWait(k: number, wait: number): void {
    this.setInt(k, LAST_WAIT, wait + 1);
  }
  keyed(k: number): boolean {
    return (this.int(k, FLAGS) & KEYED) !== 0;
  }
  setKeyed(k: number): void {
    this.setInt(k, FLAGS, this.int(k, FLAGS) | KEYED);
  }

  /** The index of a function name in `fnNames`, added if new. */
  private fnId(fn: string): number {
    let id = this.fnIds.get(fn);
    if (id === undefined) {
      id = this.fnNames.length;
      this.fnNames.push(fn);
      this.fnIds.set(fn, id);
    }
    this.lastFn = fn;
    this.lastFnId = id;
    return id;
  }

  /** The task's name in the trace (as `Task.getName()` said when it was created). */
  nameOf(k: number): string {
    const n = this.int(k, NUMBER);
    return n === 0 ? this.names.get(k)! : `Task-${n}`;
  }

  /** Its function's name ("" when anonymous). */
  fnOf(k: number): string {
    return this.fnNames[this.int(k, FN)]!;
  }

  /** What a wait on the task reads, and its lane's title: `fetchData (Task-2)`, or the name alone. */
  titleOf(k: number): string {
    const name = this.nameOf(k);
    const fn = this.fnOf(k);
    return fn && fn !== name ? `${fn} (${name})` : name;
  }
}

/** Fields of a step row: the task's row, when it began, when it ended (its start until it ends). */
const S_TASK = 0;
const S_START = 1;
const S_END = 2;
const STEP_FIELDS = 3;

/** The recorded steps, in the order they began. @internal */
export class StepColumns {
  /** Invariant: rows 0..n-1 are written; `chunks` hold exactly ceil(n / ROWS) chunks. */
  n = 0;
  private readonly chunks: Float64Array[] = [];

  /** Add a step of task row `task` beginning (and, until it ends, ending) at `t`; returns its row. */
  add(task: number, t: number): number {
    const i = this.n++;
    if ((i & MASK) === 0) this.chunks.push(new Float64Array(ROWS * STEP_FIELDS));
    const c = this.chunks[i >>> SHIFT]!;
    const o = (i & MASK) * STEP_FIELDS;
    c[o + S_TASK] = task;
    c[o + S_START] = t;
    c[o + S_END] = t;
    return i;
  }

  private get(i: number, field: number): number {
    return this.chunks[i >>> SHIFT]![(i & MASK) * STEP_FIELDS + field]!;
  }

  task(i: number): number {
    return this.get(i, S_TASK);
  }
  start(i: number): number {
    return this.get(i, S_START);
  }
  end(i: number): number {
    return this.get(i, S_END);
  }
  setEnd(i: number, t: number): void {
    this.chunks[i >>> SHIFT]![(i & MASK) * STEP_FIELDS + S_END] = t;
  }
}

/**
 * Fields of a wait row: the task's row; when it began; when the next step began or the task was done
 * (NaN while it lasts); when what it awaited completed, the task being scheduled (NaN until then); a
 * sleep's deadline on the trace's time line (NaN for every other wait).
 */
const W_TASK = 0;
const W_START = 1;
const W_END = 2;
const W_WOKEN = 3;
const W_UNTIL = 4;
const WAIT_FIELDS = 5;

/** The recorded waits, in the order they began. @internal */
export class WaitColumns {
  /** Invariant: rows 0..n-1 are written; `chunks` hold exactly ceil(n / ROWS) chunks; `labels` n labels. */
  n = 0;
  private readonly chunks: Float64Array[] = [];
  private readonly labels: LabelRef[] = [];

  /** Add a wait of task row `task` from `start`; returns its row. */
  add(task: number, start: number, label: LabelRef, until: number): number {
    const i = this.n++;
    if ((i & MASK) === 0) this.chunks.push(new Float64Array(ROWS * WAIT_FIELDS));
    const c = this.chunks[i >>> SHIFT]!;
    const o = (i & MASK) * WAIT_FIELDS;
    c[o + W_TASK] = task;
    c[o + W_START] = start;
    c[o + W_END] = NaN;
    c[o + W_WOKEN] = NaN;
    c[o + W_UNTIL] = until;
    this.labels.push(label);
    return i;
  }

  private get(i: number, field: number): number {
    return this.chunks[i >>> SHIFT]![(i & MASK) * WAIT_FIELDS + field]!;
  }

  private set(i: number, field: number, v: number): void {
    this.chunks[i >>> SHIFT]![(i & MASK) * WAIT_FIELDS + field] = v;
  }

  task(i: number): number {
    return this.get(i, W_TASK);
  }
  start(i: number): number {
    return this.get(i, W_START);
  }
  /** True while the wait lasts (no step began since, the task is not done). */
  open(i: number): boolean {
    return Number.isNaN(this.get(i, W_END));
  }
  /** When it ended, or null while it lasts. */
  end(i: number): number | null {
    const t = this.get(i, W_END);
    return Number.isNaN(t) ? null : t;
  }
  setEnd(i: number, t: number): void {
    this.set(i, W_END, t);
  }
  /** When what it awaited completed, or null. */
  woken(i: number): number | null {
    const t = this.get(i, W_WOKEN);
    return Number.isNaN(t) ? null : t;
  }
  setWoken(i: number, t: number): void {
    this.set(i, W_WOKEN, t);
  }
  /** A sleep's deadline on the trace's time line, or null for every other wait. */
  until(i: number): number | null {
    const t = this.get(i, W_UNTIL);
    return Number.isNaN(t) ? null : t;
  }
  label(i: number): LabelRef {
    return this.labels[i]!;
  }

  /** `Promise.all` over several futures: the wait gets one more label. */
  addLabel(i: number, more: string | number): void {
    const l = this.labels[i]!;
    if (Array.isArray(l)) l.push(more);
    else this.labels[i] = [l, more];
  }
}
