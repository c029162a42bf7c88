import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { onPath, pidAlive, run, spawnDaemon, stopPid, tail, waitForPort } from "./proc.js";

/** Options for a project-owned Redis instance. */
export interface RedisOptions {
  port: number;
  dataDir: string;
  /** Append-only file with fsync every second: survives a restart (delivery durability tests). */
  persistence?: boolean;
}

/** Installs Debian's redis-server when it is missing. */
export function ensureRedisServer(log: (m: string) => void = () => {}): void {
  if (onPath("redis-server")) return;
  if (!onPath("apt-get")) throw new Error("redis-server is missing and apt-get is not available");
  log("installing redis-server from Debian (first run only)");
  run("apt-get", ["update", "-qq"]);
  run("apt-get", ["install", "-y", "-qq", "redis-server"]);
}

/** A started Redis. */
export interface RunningRedis {
  url: string;
  pid: number;
  logFile: string;
}

/** Starts redis-server on loopback; resolves when it accepts connections. */
export async function startRedis(
  opts: RedisOptions,
  log: (m: string) => void = () => {},
): Promise<RunningRedis> {
  ensureRedisServer(log);
  mkdirSync(opts.dataDir, { recursive: true });
  const logFile = join(opts.dataDir, "redis.log");
  const args = [
    "--port",
    String(opts.port),
    "--bind",
    "127.0.0.1",
    "--dir",
    opts.dataDir,
    "--save",
    "",
    "--appendonly",
    opts.persistence ? "yes" : "no",
    "--appendfsync",
    "everysec",
    "--daemonize",
    "no",
    // BullMQ requires that keys are never evicted.
    "--maxmemory-policy",
    "noeviction",
  ];
  const child = spawnDaemon("redis-server", args, logFile);
  const pid = child.pid ?? 0;
  log(`starting Redis on 127.0.0.1:${opts.port} (pid ${pid})`);
  try {
    await waitForPort(opts.port, 30_000, () => pidAlive(pid));
  } catch (err) {
    await stopPid(pid, 1000);
    throw new Error(`Redis failed to start: ${(err as Error).message}\n${tail(logFile)}`);
  }
  return { url: `redis://127.0.0.1:${opts.port}`, pid, logFile };
}

/** Stops Redis (SIGTERM flushes the AOF). */
export async function stopRedis(pid: number, graceMs = 10_000): Promise<void> {
  await stopPid(pid, graceMs);
}
