/**
 * Test harness of the Redis executor on a Redis Cluster: `n` masters (`redis-server --cluster-enabled
 * yes`, no replicas) on free loopback ports, in one temporary directory, without persistence, joined
 * with `redis-cli --cluster create`. Uses `test/redis/harness.ts` for the ports, the output waits and
 * the clean-up of child processes.
 *
 * @module
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, redisServerPath, redisUnavailable, until, waitExit, waitForOutput } from "./harness.js";

/** Why the cluster tests cannot run here (no redis-server or redis-cli), or null. Throws in CI. */
export function clusterUnavailable(): string | null {
  const why = redisUnavailable();
  if (why !== null) return why;
  try {
    execFileSync("sh", ["-c", "command -v redis-cli"], { encoding: "utf8" });
    return null;
  } catch {
    const msg = "redis-cli is not installed (apt-get install -y redis-tools); the Redis Cluster tests cannot run";
    if (process.env.CI === "true" || process.env.CI === "1") throw new Error(`${msg}: in CI this is a failure`);
    console.warn(`SKIPPED: ${msg}`);
    return msg;
  }
}

/** Every server started here: killed when the test process exits, even after a failed test. */
const servers = new Set<ChildProcess>();
process.on("exit", () => {
  for (const s of servers) if (s.exitCode === null && s.signalCode === null) s.kill("SIGKILL");
});

/** `redis-cli` with arguments; resolves with its standard output. */
export function redisCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("redis-cli", args, { encoding: "utf8", timeout: 30_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`redis-cli ${args.join(" ")} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

/** A private Redis Cluster of `masters` masters and no replicas. */
export class RedisCluster {
  readonly dir = mkdtempSync(join(tmpdir(), "aio-redis-cluster-"));
  readonly ports: number[] = [];
  private readonly procs: ChildProcess[] = [];
  /**
   * @param masters how many masters
   * @param nodeTimeoutMs `cluster-node-timeout`: how long a master may be unreachable before the others
   * mark it failed (Redis's default is 15 000)
   */
  constructor(
    readonly masters = 3,
    readonly nodeTimeoutMs = 15_000,
  ) {}

  /** `redis://127.0.0.1:port` of every master. */
  get urls(): string[] {
    return this.ports.map((p) => `redis://127.0.0.1:${p}`);
  }

  /** `{ host, port }` of every master. */
  get nodes(): Array<{ host: string; port: number }> {
    return this.ports.map((port) => ({ host: "127.0.0.1", port }));
  }

  async start(): Promise<void> {
    const bin = redisServerPath()!;
    for (let i = 0; i < this.masters; i++) this.ports.push(await freePort());
    await Promise.all(
      this.ports.map(async (port) => {
        const args = [
          "--port", String(port), "--bind", "127.0.0.1", "--dir", this.dir, "--daemonize", "no", "--protected-mode", "no",
          "--cluster-enabled", "yes", "--cluster-config-file", join(this.dir, `nodes-${port}.conf`),
          "--cluster-node-timeout", String(this.nodeTimeoutMs),
          "--save", "", "--appendonly", "no",
        ];
        const p = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
        servers.add(p);
        p.once("exit", () => servers.delete(p));
        this.procs.push(p);
        await waitForOutput(p, /Ready to accept connections/, 10_000, `redis-server (cluster node ${port})`);
      }),
    );
    const hosts = this.ports.map((p) => `127.0.0.1:${p}`);
    await redisCli(["--cluster", "create", ...hosts, "--cluster-replicas", "0", "--cluster-yes"]);
    // Every node must see every slot served: cluster_state:ok everywhere.
    await until(
      async () => (await Promise.all(this.ports.map((p) => this.cli(p, "CLUSTER", "INFO")))).every((s) => /cluster_state:ok/.test(s)),
      20_000,
      "cluster_state:ok on every node",
    );
  }

  /** A redis-cli command against one node (no redirections followed). */
  cli(port: number, ...args: string[]): Promise<string> {
    return redisCli(["-h", "127.0.0.1", "-p", String(port), ...args]);
  }

  /** The port of the master that serves `key`'s slot. */
  async masterOf(key: string): Promise<number> {
    const slot = Number(await this.cli(this.ports[0]!, "CLUSTER", "KEYSLOT", key));
    const out = execFileSync("redis-cli", ["-h", "127.0.0.1", "-p", String(this.ports[0]), "--json", "CLUSTER", "SLOTS"], { encoding: "utf8" });
    const ranges = JSON.parse(out) as Array<[number, number, [string, number, ...unknown[]], ...unknown[]]>;
    const r = ranges.find(([lo, hi]) => slot >= lo && slot <= hi);
    if (r === undefined) throw new Error(`no master serves slot ${slot}`);
    return r[2][1];
  }

  /** Kill the node on `port` with SIGKILL (a lost master). */
  async kill(port: number): Promise<void> {
    const p = this.procs[this.ports.indexOf(port)];
    if (p === undefined) throw new Error(`no node on port ${port}`);
    p.kill("SIGKILL");
    await waitExit(p);
  }

  /** Kill every node and remove the directory. */
  async dispose(): Promise<void> {
    await Promise.all(
      this.procs.splice(0).map(async (p) => {
        if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
        await waitExit(p);
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
