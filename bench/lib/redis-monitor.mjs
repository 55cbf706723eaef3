/**
 * Counting the Redis commands a batch of jobs costs, for the Redis suite (bench/suites/redis.mjs).
 *
 * `MONITOR` streams every command the server executes, with its source: a client's address for
 * commands sent over the network, `lua` for the commands a script runs inside Redis. Commands that
 * touch another queue are left out (each peer has its own queue; every BullMQ command names its
 * queue's keys, `bull:<queue>:...`), so idle workers of other queues do not count. `EVALSHA` (and
 * `EVAL`, which ioredis sends for a script's first call when Redis does not have it yet) is named after
 * the BullMQ script it runs (the SHA-1 of each script's source in bullmq's `dist/esm/scripts`).
 *
 * A client command is at most one network round trip; pipelined commands (`addBulk` sends all its
 * `addStandardJob` scripts in one pipeline) share one. MONITOR cannot tell them apart: see the suite's
 * notes for which ones are pipelined.
 */
import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const ioredis = await import("ioredis");
const Redis = ioredis.default ?? ioredis.Redis;

let scriptNames = null;
/** A script's source as a key that survives MONITOR's quoting of it (escaped newlines and quotes). */
const sourceKey = (src) => src.replace(/\\[nrt"\\]|\s/g, "").slice(0, 400);
/** SHA-1 (as `EVALSHA` sends it) and source key (as `EVAL` sends it) -> BullMQ script name. */
async function bullmqScripts() {
  if (scriptNames !== null) return scriptNames;
  scriptNames = new Map();
  const main = createRequire(import.meta.url).resolve("bullmq"); // .../bullmq/dist/cjs/index.js
  const dir = join(dirname(dirname(main)), "esm", "scripts");
  for (const f of readdirSync(dir).filter((n) => /^[A-Za-z]+-\d+\.js$/.test(n))) {
    const mod = await import(pathToFileURL(join(dir, f)).href);
    for (const s of Object.values(mod)) {
      if (s && typeof s.content === "string") {
        scriptNames.set(createHash("sha1").update(s.content).digest("hex"), s.name);
        scriptNames.set(sourceKey(s.content), s.name);
      }
    }
  }
  return scriptNames;
}

/**
 * Run `fn()` with MONITOR on; returns the commands about `queue`: `{ client, lua }`, each a Map of
 * command name -> count (`client`: sent by clients; `lua`: run by scripts).
 */
export async function monitorQueue(url, queue, fn, { prefix = "bull" } = {}) {
  const names = await bullmqScripts();
  const c = new Redis(url);
  const mon = await c.monitor();
  const mark = `${prefix}:${queue}:`;
  const client = new Map();
  const lua = new Map();
  const add = (m, k) => m.set(k, (m.get(k) ?? 0) + 1);
  mon.on("monitor", (_time, args, source) => {
    if (!args.some((a) => typeof a === "string" && a.startsWith(mark))) return;
    let cmd = String(args[0]).toUpperCase();
    // (a client's first call of a script may go as EVAL with the source: named the same)
    if (cmd === "EVAL") cmd = `EVALSHA ${names.get(sourceKey(String(args[1]))) ?? "(script)"}`;
    else if (cmd === "EVALSHA") cmd = `EVALSHA ${names.get(String(args[1])) ?? String(args[1]).slice(0, 8)}`;
    add(source === "lua" ? lua : client, cmd);
  });
  try {
    await fn();
    // Let the last commands (the workers' trailing fetch and block) reach the monitor.
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    mon.disconnect();
    c.disconnect();
  }
  return { client, lua };
}
