/**
 * Short builders for writing program descriptions by hand (`handwritten.ts`) and in the generator.
 *
 * @module
 */
import type { Block, Catch, CatchCls, ErrName, ReturnWhen, Stmt } from "./program.js";

export const print = (s: string): Stmt => ["print", s];
export const sleep = (ms: number): Stmt => ["sleep", ms];
export const spawn = (name: string, body: Block, tg: number | null = null): Stmt => ["spawn", name, body, tg];
export const awaitT = (name: string): Stmt => ["await", name];
export const cancel = (name: string, msg: string | null = null): Stmt => ["cancel", name, msg];
export const gather = (names: string[], returnExceptions = false): Stmt => ["gather", names, returnExceptions];
export const wait = (names: string[], timeout: number | null = null, when: ReturnWhen = "ALL_COMPLETED"): Stmt => [
  "wait",
  names,
  timeout,
  when,
];
export const waitFor = (target: string | Block, ms: number | null): Stmt => ["waitFor", target, ms];
export const timeout = (ms: number | null, body: Block): Stmt => ["timeout", ms, body];
export const shield = (name: string): Stmt => ["shield", name];
export const tg = (id: number, body: Block): Stmt => ["tg", id, body];
export const raise = (err: ErrName): Stmt => ["raise", err];
export const tryCatch = (body: Block, catches: Catch[], fin: Block | null = null): Stmt => ["try", body, catches, fin];
export const except = (cls: CatchCls, body: Block = [], reraise = false): Catch => [cls, body, reraise];
export const cancelling = (): Stmt => ["cancelling"];
export const cancelSelf = (msg: string | null = null): Stmt => ["cancelSelf", msg];
export const uncancel = (): Stmt => ["uncancel"];

// ---- primitives and queues
export const withRes = (name: string, body: Block): Stmt => ["with", name, body];
export const release = (name: string): Stmt => ["release", name];
export const evWait = (name: string): Stmt => ["evWait", name];
export const evSet = (name: string): Stmt => ["evSet", name];
export const evClear = (name: string): Stmt => ["evClear", name];
export const condWait = (name: string): Stmt => ["condWait", name];
export const condNotify = (name: string, n: number | null = 1): Stmt => ["condNotify", name, n];
export const barWait = (name: string): Stmt => ["barWait", name];
export const barAbort = (name: string): Stmt => ["barAbort", name];
export const barReset = (name: string): Stmt => ["barReset", name];
export const put = (name: string, v: string): Stmt => ["put", name, v];
export const get = (name: string): Stmt => ["get", name];
export const putNowait = (name: string, v: string): Stmt => ["putNowait", name, v];
export const getNowait = (name: string): Stmt => ["getNowait", name];
export const taskDone = (name: string): Stmt => ["taskDone", name];
export const join = (name: string): Stmt => ["join", name];
export const shutdown = (name: string, immediate = false): Stmt => ["shutdown", name, immediate];
export const state = (name: string): Stmt => ["state", name];
