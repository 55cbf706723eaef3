/**
 * `aio worker`: run a Redis executor's jobs in this process (see `docs/redis-executor.md`).
 *
 *   aio worker --redis <url> --queue <name> --module [name=]<path> [--module ...] [--concurrency n]
 *   aio worker --cluster <url>,<url>,... --prefix '{bull}' --queue <name> --module ...   (a Redis Cluster)
 *
 * The Redis URL may also come from `AIO_REDIS_URL`, the cluster's from `AIO_REDIS_CLUSTER` (keeps a
 * password off the command line). On a cluster the prefix or the queue name must carry a hash tag
 * (checked here, so that the error names the command line's options). SIGTERM
 * or SIGINT stops taking jobs and lets the running ones finish; a second signal abandons them (BullMQ
 * then recovers them on another worker).
 *
 * @module
 */
import type { RedisWorkerOptions, WorkerModule } from "../redis/worker.js";

/** The help text of `aio worker`. */
export const WORKER_HELP = `  aio worker --redis <url> --queue <name> --module [name=]<path> [options]
                                   Run the jobs of a RedisExecutor's queue (BullMQ on Redis): only the
                                   exported functions of the --module files (repeatable) run.
      --redis <url>                redis://[user:password@]host:port[/db] or rediss://... (TLS);
                                   default: the AIO_REDIS_URL environment variable.
      --cluster <url>,<url>,...    A Redis Cluster instead: some of its nodes (redis://[user:password@]host:port,
                                   comma-separated; the others are discovered); default: AIO_REDIS_CLUSTER.
                                   The prefix or the queue name must carry a hash tag: --prefix '{bull}'
                                   (every queue of that prefix on one master) or --queue '{work}'.
      --concurrency <n>            Jobs run at the same time by this worker (default 1, or --threads).
      --threads <n>                Run the jobs on a pool of n threads (CPU-bound or blocking tasks;
                                   keeps lock renewal alive); default: on the main thread.
      --prefix <p>                 BullMQ key prefix (default bull).
      --tls-ca <file>              CA certificate (PEM) for a rediss:// server with a private CA.
      --lock-duration <ms>         Job lock duration; a dead worker's job is recovered after it (30000).
      --stalled-interval <ms>      Interval of the stalled-job check (30000).
      --max-stalled <n>            Recoveries allowed per job before it fails (1).
      --name <name>                Worker name (what currentThread().name returns in tasks).
`;

function fail(msg: string): number {
  process.stderr.write(`aio worker: ${msg}\n\nUsage:\n${WORKER_HELP}`);
  return 2;
}

/** Run `aio worker` with its arguments; resolves with the exit code once the worker has stopped. */
export async function runWorkerCommand(args: string[]): Promise<number> {
  let url: string | undefined;
  let cluster: string | undefined;
  let queue: string | undefined;
  const modules: WorkerModule[] = [];
  let tlsCa: string | undefined;
  const opts: Partial<RedisWorkerOptions> = {};
  const ints: Record<string, "concurrency" | "threads" | "lockDuration" | "stalledInterval" | "maxStalledCount"> = {
    "--concurrency": "concurrency",
    "--threads": "threads",
    "--lock-duration": "lockDuration",
    "--stalled-interval": "stalledInterval",
    "--max-stalled": "maxStalledCount",
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--help" || a === "-h") {
      process.stdout.write(`Usage:\n${WORKER_HELP}`);
      return 0;
    }
    const v = args[i + 1];
    if (!a.startsWith("--")) return fail(`unexpected argument ${a}`);
    if (v === undefined || v.startsWith("--")) return fail(`${a} needs a value`);
    i++;
    if (a === "--redis") url = v;
    else if (a === "--cluster") cluster = v;
    else if (a === "--queue") queue = v;
    else if (a === "--prefix") opts.prefix = v;
    else if (a === "--name") opts.name = v;
    else if (a === "--tls-ca") tlsCa = v;
    else if (a === "--module") {
      const eq = v.indexOf("=");
      // name=path, unless the '=' belongs to the path (no name before it, or a path separator first)
      if (eq > 0 && !v.slice(0, eq).includes("/")) modules.push({ name: v.slice(0, eq), path: v.slice(eq + 1) });
      else modules.push({ path: v });
    } else if (a in ints) {
      if (!/^\d+$/.test(v)) return fail(`${a} needs a non-negative integer, got ${v}`);
      opts[ints[a]!] = Number(v);
    } else return fail(`unknown option ${a}`);
  }
  if (url !== undefined && cluster !== undefined) return fail("give --redis <url> (one server) or --cluster <urls> (a Redis Cluster), not both");
  if (url === undefined && cluster === undefined) {
    url = process.env.AIO_REDIS_URL || undefined;
    cluster = process.env.AIO_REDIS_CLUSTER || undefined;
    if (url !== undefined && cluster !== undefined) {
      return fail("AIO_REDIS_URL and AIO_REDIS_CLUSTER are both set: unset one, or pass --redis or --cluster");
    }
  }
  if (url === undefined && cluster === undefined) {
    return fail("--redis <url> (or AIO_REDIS_URL) is required, or --cluster <url>,<url>,... (or AIO_REDIS_CLUSTER) for a Redis Cluster");
  }
  if (queue === undefined) return fail("--queue <name> is required");
  if (modules.length === 0) return fail("at least one --module <path> is required");
  let nodes: string[] | undefined;
  if (cluster !== undefined) {
    nodes = cluster.split(",").map((s) => s.trim()).filter((s) => s !== "");
    const bad = nodes.find((n) => !/^rediss?:\/\/[^\s/]+(\/0?)?$/.test(n));
    if (nodes.length === 0) return fail("--cluster needs at least one redis:// or rediss:// URL");
    const { checkClusterKeys, redactUrl } = await import("../redis/deps.js");
    if (bad !== undefined) {
      return fail(`--cluster needs redis://[user:password@]host:port URLs separated by commas, got ${JSON.stringify(redactUrl(bad))}`);
    }
    try {
      checkClusterKeys(opts.prefix ?? "bull", queue, { prefix: "--prefix", queue: "--queue" });
    } catch (e) {
      return fail((e as Error).message);
    }
  }
  const { RedisWorker } = await import("../redis/worker.js");
  let worker;
  try {
    const ca = tlsCa !== undefined ? (await import("node:fs")).readFileSync(tlsCa) : undefined;
    let connection: RedisWorkerOptions["connection"];
    if (nodes !== undefined) connection = ca !== undefined ? { cluster: nodes, redisOptions: { tls: { ca } } } : { cluster: nodes };
    else connection = ca !== undefined ? { url: url!, tls: { ca } } : url!;
    worker = await RedisWorker.start({ ...opts, connection, queue, modules });
  } catch (e) {
    process.stderr.write(`aio worker: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  process.stdout.write(`ready\n`);
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (): void => {
      signals++;
      if (signals === 1) {
        process.stderr.write(`aio worker ${worker.name}: stopping after the running jobs (signal again to abandon them)\n`);
        void worker.close().then(() => {
          resolve();
          // BullMQ may keep timers after losing Redis: the command is done, end the process.
          setTimeout(() => process.exit(process.exitCode ?? 0), 100).unref();
        });
      } else {
        process.stderr.write(`aio worker ${worker.name}: abandoning the running jobs (BullMQ recovers them on another worker)\n`);
        process.exit(130);
      }
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  return 0;
}
