import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { createLogger } from "@chainscreen/logger";
import { Shutdown, startOpsServer } from "@chainscreen/runtime";
import { env } from "./env.js";
import { startEmbeddedServer } from "./server.js";
import { loadUsersFile } from "./users.js";

const log = createLogger({ service: "clickhouse-embedded", level: env.LOG_LEVEL });
const graceMs = env.CLICKHOUSE_EMBEDDED_SHUTDOWN_GRACE_S * 1000;
const shutdown = new Shutdown(log, graceMs + 5_000).install();

// Every engine call runs on a libuv worker; with the default 4 threads, 4 slow analyst queries
// would also stall gzip and file I/O. The launcher sets the size (it must be set before start).
const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
if (threads < 8)
  log.warn(
    { UV_THREADPOOL_SIZE: threads },
    "UV_THREADPOOL_SIZE below 8: start with UV_THREADPOOL_SIZE=16",
  );

const dataDir = resolve(env.CLICKHOUSE_EMBEDDED_DATA_DIR);
mkdirSync(dataDir, { recursive: true });
const users = loadUsersFile(env.CLICKHOUSE_EMBEDDED_USERS_FILE);
const server = await startEmbeddedServer({
  dataDir,
  host: env.CLICKHOUSE_EMBEDDED_HOST,
  port: env.CLICKHOUSE_EMBEDDED_PORT,
  users,
  log,
  maxBodyBytes: env.CLICKHOUSE_EMBEDDED_MAX_BODY_MB * 1024 * 1024,
  spoolDir:
    env.CLICKHOUSE_EMBEDDED_SPOOL_DIR === "off"
      ? null
      : env.CLICKHOUSE_EMBEDDED_SPOOL_DIR && resolve(env.CLICKHOUSE_EMBEDDED_SPOOL_DIR),
});
const ops = env.CLICKHOUSE_EMBEDDED_OPS_PORT
  ? await startOpsServer({ port: env.CLICKHOUSE_EMBEDDED_OPS_PORT, isReady: () => true })
  : null;
// Order: stop accepting and finish requests in flight, close the engine sessions (flushes
// nothing extra: every INSERT is durable once answered), then the ops server.
shutdown.add("http server and engine sessions", () => server.close(graceMs));
if (ops) shutdown.add("ops server", () => ops.close());
