import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { migrate } from "@chainscreen/store";
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { inject } from "vitest";
import { freePort, waitForPort } from "../../infra/local/proc.js";

/** ClickHouse for the API tests: a writer and a read-only analyst client on one fresh database. */
export interface ApiStack {
  url: string;
  database: string;
  writer: ClickHouseClient;
  analyst: ClickHouseClient;
  close(): Promise<void>;
}

const root = resolve(import.meta.dirname, "..", "..");

/** The store started by test/global-setup.ts, when running under vitest with it. */
function providedClickHouse(): {
  url: string;
  writerUser: string;
  writerPw: string;
  analystUser: string;
  analystPw: string;
} | null {
  try {
    const url = inject("clickhouseUrl");
    if (!url) return null;
    return {
      url,
      writerUser: inject("clickhouseUser"),
      writerPw: inject("clickhousePassword"),
      analystUser: inject("clickhouseAnalystUser"),
      analystPw: inject("clickhouseAnalystPassword"),
    };
  } catch {
    return null;
  }
}

// Same limits as the embedded server's default analyst profile (services/clickhouse-embedded).
const PROFILES = {
  writer: { readonly: false, pool: 2 },
  analyst: {
    readonly: true,
    pool: 2,
    settings: {
      max_execution_time: 60,
      max_result_rows: 2_000_000,
      max_result_bytes: 512 * 1024 * 1024,
      result_overflow_mode: "throw",
      max_threads: 1,
    },
  },
};

/**
 * Starts the embedded ClickHouse (services/clickhouse-embedded: chDB behind ClickHouse's HTTP
 * interface) as a child process on a free port with a writer and an analyst user — a separate
 * process, as in production, so the API's memory is measured apart from the engine's — or uses
 * CHAINSCREEN_TEST_CLICKHOUSE_URL (users writer/analyst, passwords from
 * CHAINSCREEN_TEST_CLICKHOUSE_WRITER_PASSWORD / _ANALYST_PASSWORD) when set. Creates a unique
 * database and applies every migration to it.
 */
export async function startApiStack(name: string): Promise<ApiStack> {
  const database = `api_${name}_${process.pid}_${Date.now().toString(36)}`.replace(
    /[^A-Za-z0-9_]/g,
    "_",
  );
  let url = process.env.CHAINSCREEN_TEST_CLICKHOUSE_URL;
  let writerPw = process.env.CHAINSCREEN_TEST_CLICKHOUSE_WRITER_PASSWORD ?? "";
  let analystPw = process.env.CHAINSCREEN_TEST_CLICKHOUSE_ANALYST_PASSWORD ?? "";
  let writerUser = "writer";
  let analystUser = "analyst";
  let stop = async () => {};
  // Inside vitest, test/global-setup.ts provides the shared embedded store: use it.
  const provided = providedClickHouse();
  if (!url && provided) {
    ({ url, writerUser, writerPw, analystUser, analystPw } = provided);
  }
  if (!url) {
    writerPw = "writer-test-pw";
    analystPw = "analyst-test-pw";
    const dir = join(root, ".data", `api-ch-${process.pid}-${name}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const usersFile = join(dir, "users.json");
    writeFileSync(
      usersFile,
      JSON.stringify({
        profiles: PROFILES,
        users: {
          writer: { password: writerPw, profile: "writer" },
          analyst: { password: analystPw, profile: "analyst" },
        },
      }),
    );
    const port = await freePort();
    const child: ChildProcess = spawn(
      process.execPath,
      ["--import", "tsx", join(root, "services", "clickhouse-embedded", "src", "main.ts")],
      {
        cwd: root,
        env: {
          ...process.env,
          UV_THREADPOOL_SIZE: "16",
          CLICKHOUSE_EMBEDDED_DATA_DIR: join(dir, "data"),
          CLICKHOUSE_EMBEDDED_PORT: String(port),
          CLICKHOUSE_EMBEDDED_USERS_FILE: usersFile,
          LOG_LEVEL: "warn",
        },
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    let exited = false;
    child.on("exit", () => {
      exited = true;
    });
    await waitForPort(port, 120_000, () => !exited);
    url = `http://127.0.0.1:${port}`;
    stop = async () => {
      if (!exited) {
        child.kill("SIGTERM");
        await new Promise<void>((r) => {
          const t = setTimeout(() => {
            child.kill("SIGKILL");
            r();
          }, 15_000);
          child.once("exit", () => {
            clearTimeout(t);
            r();
          });
        });
      }
      rmSync(dir, { recursive: true, force: true });
    };
  }
  await migrate({
    url,
    username: writerUser,
    password: writerPw,
    database,
    requestTimeoutMs: 300_000,
  });
  const writer = createClient({
    url,
    username: writerUser,
    password: writerPw,
    database,
    request_timeout: 600_000,
    log: { level: ClickHouseLogLevel.OFF },
  });
  const analyst = createClient({
    url,
    username: analystUser,
    password: analystPw,
    database,
    request_timeout: 600_000,
    log: { level: ClickHouseLogLevel.OFF },
  });
  return {
    url,
    database,
    writer,
    analyst,
    async close() {
      await writer.close();
      await analyst.close();
      await stop();
    },
  };
}
