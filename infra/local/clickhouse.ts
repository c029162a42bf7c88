import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { pidAlive, spawnDaemon, stopPid, tail, waitForPort } from "./proc.js";

const repoRoot = resolve(fileURLToPath(new URL("../../", import.meta.url)));
const serverMain = join(repoRoot, "services", "clickhouse-embedded", "src", "main.ts");

/** Where the embedded ClickHouse (chDB behind ClickHouse's HTTP interface) lives and listens. */
export interface ClickHouseOptions {
  port: number;
  /** Holds `data/` (the engine's directory), `users.json` and the log. */
  dataDir: string;
  /** Engine sessions per profile (default 2 writer, 2 analyst). */
  writerPool?: number;
  analystPool?: number;
  /** Analyst max_execution_time in seconds (default 60). */
  analystMaxExecutionTime?: number;
}

/** Credentials of the users the local helper creates. */
export interface ClickHouseUsers {
  /** Services and migrations: read/write. */
  writer: { user: string; password: string };
  /** Analysts: read-only, limited. */
  analyst: { user: string; password: string };
}

/** A started embedded ClickHouse. */
export interface RunningClickHouse {
  url: string;
  pid: number;
  logFile: string;
  users: ClickHouseUsers;
}

/**
 * Writes (once) the users file with random passwords; later starts on the same directory reuse it
 * so a restarted server keeps its credentials.
 */
export function ensureClickHouseUsers(opts: ClickHouseOptions): {
  file: string;
  users: ClickHouseUsers;
} {
  const file = join(opts.dataDir, "users.json");
  const credsFile = join(opts.dataDir, "credentials.json");
  if (existsSync(file) && existsSync(credsFile)) {
    return { file, users: JSON.parse(readFileSync(credsFile, "utf8")) as ClickHouseUsers };
  }
  mkdirSync(opts.dataDir, { recursive: true });
  const users: ClickHouseUsers = {
    writer: { user: "chainscreen", password: randomBytes(12).toString("hex") },
    analyst: { user: "analyst", password: randomBytes(12).toString("hex") },
  };
  const config = {
    profiles: {
      writer: { readonly: false, pool: opts.writerPool ?? 2 },
      analyst: {
        readonly: true,
        pool: opts.analystPool ?? 2,
        settings: {
          max_execution_time: opts.analystMaxExecutionTime ?? 60,
          max_result_rows: 1_000_000,
          max_result_bytes: 512 * 1024 * 1024,
          result_overflow_mode: "throw",
          max_threads: 1,
        },
      },
    },
    users: {
      [users.writer.user]: { password: users.writer.password, profile: "writer" },
      [users.analyst.user]: { password: users.analyst.password, profile: "analyst" },
    },
  };
  writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
  writeFileSync(credsFile, JSON.stringify(users, null, 2), { mode: 0o600 });
  return { file, users };
}

/** Starts the embedded ClickHouse server process; resolves once it answers /ping. */
export async function startClickHouse(
  opts: ClickHouseOptions,
  log: (m: string) => void = () => {},
): Promise<RunningClickHouse> {
  const { file, users } = ensureClickHouseUsers(opts);
  const logFile = join(opts.dataDir, "clickhouse.log");
  const tsx = join(repoRoot, "node_modules", "tsx", "dist", "loader.mjs");
  const child = spawnDaemon(process.execPath, ["--import", tsx, serverMain], logFile, {
    ...process.env,
    // Engine calls run on libuv workers; must be set before the process first uses the pool.
    UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? "16",
    CLICKHOUSE_EMBEDDED_DATA_DIR: join(opts.dataDir, "data"),
    CLICKHOUSE_EMBEDDED_HOST: "127.0.0.1",
    CLICKHOUSE_EMBEDDED_PORT: String(opts.port),
    CLICKHOUSE_EMBEDDED_USERS_FILE: file,
    LOG_LEVEL: process.env.CLICKHOUSE_EMBEDDED_LOG_LEVEL ?? "warn",
  });
  const pid = child.pid ?? 0;
  writeFileSync(join(opts.dataDir, "clickhouse.pid"), String(pid));
  log(`starting embedded ClickHouse on 127.0.0.1:${opts.port} (pid ${pid})`);
  try {
    await waitForPort(opts.port, 120_000, () => pidAlive(pid));
  } catch (err) {
    await stopPid(pid, 2000);
    throw new Error(
      `embedded ClickHouse failed to start: ${(err as Error).message}\n${tail(logFile)}`,
    );
  }
  return { url: `http://127.0.0.1:${opts.port}`, pid, logFile, users };
}

/** Pid of the server last started on this directory, when it still runs. */
export function currentClickHousePid(dataDir: string): number | null {
  const f = join(dataDir, "clickhouse.pid");
  if (!existsSync(f)) return null;
  const pid = Number(readFileSync(f, "utf8"));
  return pid > 0 && pidAlive(pid) ? pid : null;
}

/** Stops the server: SIGTERM lets queries in flight finish, SIGKILL after the grace period. */
export async function stopClickHouse(pid: number, graceMs = 30_000): Promise<void> {
  await stopPid(pid, graceMs);
}
