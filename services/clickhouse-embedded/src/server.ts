import { randomUUID } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { createGunzip, createInflate, deflate, gzip } from "node:zlib";
import type { Logger } from "@chainscreen/logger";
import { counter, gauge, histogram } from "@chainscreen/runtime";
import { ClickHouseHttpError, fromEngineError, httpStatusFor } from "./errors.js";
import { type Job, SessionPool } from "./pool.js";
import { defaultSpoolDir, InsertSpool } from "./spool.js";
import { inspect, isDeniedFunction, plainInsert, READ_ONLY_KINDS } from "./sql.js";
import { authenticate, credentialsOf, type UsersConfig } from "./users.js";

const gzipAsync = promisify(gzip);
const deflateAsync = promisify(deflate);

/**
 * URL parameters that belong to the HTTP layer (or that we do not pass to the engine); every
 * other parameter is an engine setting, as on a real server.
 */
const HTTP_PARAMS = new Set([
  "query",
  "query_id",
  "database",
  "default_format",
  "user",
  "password",
  "quota_key",
  "session_id",
  "session_timeout",
  "session_check",
  "enable_http_compression",
  "http_zlib_compression_level",
  "http_native_compression_disable_checksumming_on_decompress",
  "send_progress_in_http_headers",
  "http_headers_progress_interval_ms",
  "wait_end_of_query",
  "http_wait_end_of_query",
  "buffer_size",
  "http_response_buffer_size",
  "cancel_http_readonly_queries_on_client_close",
  "add_http_cors_header",
  "compress",
  "decompress",
  "role",
  "client_protocol_version",
  "http_write_exception_in_output_format",
  "max_query_size",
]);

/** Options for {@link startEmbeddedServer}. */
export interface EmbeddedServerOptions {
  dataDir: string;
  host: string;
  port: number;
  users: UsersConfig;
  log: Logger;
  /** Extra engine arguments for every session (clickhouse-local command-line form). */
  connectionArgs?: string[];
  /** Largest accepted request body (bytes, after decompression). */
  maxBodyBytes?: number;
  /**
   * Directory for raw INSERT payloads the engine reads as files ({@link InsertSpool}); emptied at
   * start and removed at close. Default {@link defaultSpoolDir}; null hands payloads over in memory.
   */
  spoolDir?: string | null;
}

/** A running server. */
export interface EmbeddedServer {
  url: string;
  port: number;
  pools: Map<string, SessionPool>;
  /** Stops accepting, finishes requests in flight, closes the engine sessions. */
  close(graceMs?: number): Promise<void>;
}

const queries = counter(
  "chainscreen_ch_embedded_queries_total",
  "Queries answered, by profile and outcome",
  ["profile", "outcome"],
);
const latency = histogram(
  "chainscreen_ch_embedded_query_seconds",
  "Query latency including queueing",
  ["profile", "kind"],
);
const queued = gauge("chainscreen_ch_embedded_queued", "Requests waiting for an engine session", [
  "profile",
]);

function contentTypeFor(format: string): string {
  const f = format.toLowerCase();
  if (f.startsWith("json")) return "application/json; charset=UTF-8";
  if (f.startsWith("csv")) return "text/csv; charset=UTF-8";
  if (f.startsWith("tabseparated") || f.startsWith("tsv"))
    return "text/tab-separated-values; charset=UTF-8";
  if (f === "xml") return "application/xml; charset=UTF-8";
  if (f.startsWith("pretty") || f === "vertical" || f === "markdown")
    return "text/plain; charset=UTF-8";
  return "application/octet-stream";
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const enc = (req.headers["content-encoding"] ?? "").toLowerCase();
  let source: NodeJS.ReadableStream = req;
  if (enc === "gzip") source = req.pipe(createGunzip());
  else if (enc === "deflate") source = req.pipe(createInflate());
  else if (enc !== "" && enc !== "identity") {
    throw ClickHouseHttpError.of("NOT_IMPLEMENTED", `Unsupported Content-Encoding: ${enc}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of source) {
    const b = typeof c === "string" ? Buffer.from(c) : (c as Buffer);
    size += b.length;
    if (size > max)
      throw ClickHouseHttpError.of("NOT_IMPLEMENTED", `Request body is larger than ${max} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Rows in a line-per-row payload (JSONEachRow & co.): newline count, done natively by indexOf. */
function countLines(buf: Buffer, from: number): number {
  let n = 0;
  let i = from;
  for (;;) {
    const j = buf.indexOf(10, i);
    if (j < 0) break;
    if (j > i) n++;
    i = j + 1;
  }
  return i < buf.length ? n + 1 : n;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Starts the HTTP server on the embedded engine. */
export async function startEmbeddedServer(opts: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const log = opts.log;
  const maxBody = opts.maxBodyBytes ?? 512 * 1024 * 1024;
  const spoolDir = opts.spoolDir === undefined ? defaultSpoolDir(opts.dataDir) : opts.spoolDir;
  const spool = spoolDir
    ? new InsertSpool(spoolDir, (err) =>
        log.warn(
          { spoolDir, err: err instanceof Error ? err.message : String(err) },
          "cannot spool an INSERT payload to a file; sending payloads to the engine in memory",
        ),
      )
    : null;
  const pools = new Map<string, SessionPool>();
  for (const [name, profile] of Object.entries(opts.users.profiles)) {
    pools.set(name, new SessionPool(name, opts.dataDir, profile, opts.connectionArgs ?? []));
  }
  // Open one writer-capable session first: fails fast when the directory is locked by another process.
  const first = [...pools.values()][0];
  if (first) await first.warm();
  // The data directory is ours now (the engine holds its lock), and so is its spool directory:
  // files left by a killed predecessor go.
  if (spoolDir) {
    rmSync(spoolDir, { recursive: true, force: true });
    mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
  }

  let inFlight = 0;
  let closing = false;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const params = url.searchParams;
    const queryId = params.get("query_id") || randomUUID();
    const path = url.pathname;
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        "access-control-allow-origin": "*",
        "access-control-allow-headers": "*",
      });
      res.end();
      return;
    }
    if (
      (path === "/ping" || path === "/replicas_status") &&
      (req.method === "GET" || req.method === "HEAD")
    ) {
      res.writeHead(200, { "content-type": "text/html; charset=UTF-8" });
      res.end("Ok.\n");
      return;
    }
    if (path !== "/") {
      res.writeHead(404, { "content-type": "text/plain; charset=UTF-8" });
      res.end(`There is no handle ${path}\n`);
      return;
    }
    const qParam = params.get("query");
    if (req.method === "GET" && qParam === null) {
      res.writeHead(200, { "content-type": "text/html; charset=UTF-8" });
      res.end("Ok.\n");
      return;
    }
    // Authenticate before reading the body: strangers do not get to upload anything.
    const { user, password } = credentialsOf(req, params);
    const account = authenticate(opts.users, user, password);
    const body = req.method === "POST" ? await readBody(req, maxBody) : Buffer.alloc(0);
    const profileName = account.profile;
    const profile = opts.users.profiles[profileName];
    const pool = pools.get(profileName);
    if (!profile || !pool) throw ClickHouseHttpError.of("ACCESS_DENIED", `${user}: no profile`);

    const database =
      params.get("database") || header(req, "x-clickhouse-database") || account.default_database;
    // `INSERT INTO t (…) FORMAT <text format>` in the URL with the rows in the body (what clients
    // send): the rows stay bytes and go to the engine as they came. Measured on 50k transfers
    // (24 MB): the string path spent ~1 µs per row on this thread decoding the body into a string
    // that chDB encoded back to UTF-8, plus a SET before and after the insert for its settings.
    // (Query parameters are SET on the session: only the general path does that.)
    const raw =
      qParam !== null &&
      body.length > 0 &&
      /^[A-Za-z_][A-Za-z0-9_]*$/.test(database) &&
      ![...params.keys()].some((k) => k.startsWith("param_"))
        ? plainInsert(qParam)
        : null;
    let sql: string;
    if (raw) sql = qParam as string;
    else {
      const bodyText = body.toString("utf8");
      sql = qParam !== null ? (bodyText.length > 0 ? `${qParam}\n${bodyText}` : qParam) : bodyText;
    }
    if (sql.trim() === "") throw ClickHouseHttpError.of("SYNTAX_ERROR", "Empty query");
    const info = inspect(sql);
    if (info.multiStatement)
      throw ClickHouseHttpError.of("SYNTAX_ERROR", "Multi-statements are not allowed");
    if (info.fileClause) {
      throw ClickHouseHttpError.of(
        "ACCESS_DENIED",
        `${user}: INTO OUTFILE and FROM INFILE are not allowed over HTTP`,
      );
    }
    const readOnlyRequest = profile.readonly || req.method === "GET";
    if (readOnlyRequest && !READ_ONLY_KINDS.has(info.kind)) {
      throw ClickHouseHttpError.of("READONLY", `${user}: Cannot execute query in readonly mode`);
    }
    if (profile.denyExternalFunctions ?? profile.readonly) {
      const denied = info.calls.find(isDeniedFunction);
      if (denied) {
        throw ClickHouseHttpError.of(
          "ACCESS_DENIED",
          `${user}: Not enough privileges. Function ${denied}() reads outside the database and is not allowed for this user`,
        );
      }
    }
    const format =
      info.kind === "INSERT"
        ? "TabSeparated"
        : (info.format ??
          params.get("default_format") ??
          header(req, "x-clickhouse-format") ??
          "TabSeparated");
    if (info.kind === "SET") {
      // Without session_id a real server forgets SET after the request; so do we (pooled sessions
      // must not carry one request's settings into another's).
      res.writeHead(200, { "x-clickhouse-query-id": queryId, "x-clickhouse-format": format });
      res.end();
      return;
    }
    const job: Job = {
      sql,
      format,
      database,
      params: {},
      settings: {},
      inlineData: info.kind === "INSERT",
      changesDatabase: info.kind === "USE",
    };
    for (const [k, v] of params) {
      if (k.startsWith("param_")) job.params[k.slice(6)] = v;
      else if (!HTTP_PARAMS.has(k)) job.settings[k] = v;
    }
    // The payload is spooled before the request takes an engine session, which reads the file.
    if (raw) job.rawInsert = { insert: raw, data: body, file: spool && (await spool.write(body)) };
    const t0 = process.hrtime.bigint();
    queued.set({ profile: profileName }, pool.queued + 1);
    let result: Awaited<ReturnType<SessionPool["run"]>>;
    try {
      result = await pool.run(job);
    } finally {
      queued.set({ profile: profileName }, pool.queued);
      latency.observe(
        { profile: profileName, kind: info.kind },
        Number(process.hrtime.bigint() - t0) / 1e9,
      );
      if (job.rawInsert?.file) await unlink(job.rawInsert.file).catch(() => {});
    }
    const written =
      info.kind === "INSERT" && info.format?.toLowerCase().includes("eachrow")
        ? (result.rowsSent ?? countLines(body, qParam !== null ? 0 : body.indexOf(10) + 1))
        : 0;
    const summary = {
      read_rows: String(result.rowsRead),
      read_bytes: String(result.bytesRead),
      written_rows: String(written),
      written_bytes: String(info.kind === "INSERT" ? body.length : 0),
      total_rows_to_read: "0",
      result_rows: "0",
      result_bytes: String(result.bytes.length),
      elapsed_ns: String(Math.round(result.elapsedSec * 1e9)),
    };
    const headers: Record<string, string> = {
      "content-type": contentTypeFor(format),
      "x-clickhouse-query-id": queryId,
      "x-clickhouse-format": format,
      "x-clickhouse-timezone": "UTC",
      "x-clickhouse-summary": JSON.stringify(summary),
    };
    let out: Buffer = Buffer.from(
      result.bytes.buffer,
      result.bytes.byteOffset,
      result.bytes.byteLength,
    );
    const accept = String(req.headers["accept-encoding"] ?? "");
    if (params.get("enable_http_compression") === "1" && out.length > 0) {
      if (/\bgzip\b/.test(accept)) {
        out = await gzipAsync(out);
        headers["content-encoding"] = "gzip";
      } else if (/\bdeflate\b/.test(accept)) {
        out = await deflateAsync(out);
        headers["content-encoding"] = "deflate";
      }
    }
    headers["content-length"] = String(out.length);
    res.writeHead(200, headers);
    res.end(out);
    queries.inc({ profile: profileName, outcome: "ok" });
  };

  const server: Server = createServer((req, res) => {
    inFlight++;
    handle(req, res)
      .catch((err: unknown) => {
        const e = fromEngineError(err);
        if (e.code !== 516) queries.inc({ profile: "any", outcome: "error" });
        if (e.code === 1002) log.error({ err }, "unexpected error");
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const url = new URL(req.url ?? "/", "http://localhost");
        res.writeHead(httpStatusFor(e.code), {
          "content-type": "text/plain; charset=UTF-8",
          "x-clickhouse-exception-code": String(e.code),
          "x-clickhouse-query-id": url.searchParams.get("query_id") || randomUUID(),
        });
        res.end(`${e.body}\n`);
        // Drain what the client still sends so keep-alive connections stay usable.
        req.resume();
      })
      .finally(() => {
        inFlight--;
      });
  });
  server.keepAliveTimeout = 10_000;
  server.requestTimeout = 0; // analyst queries may legitimately take minutes; the engine enforces limits
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info(
    { host: opts.host, port, dataDir: opts.dataDir, profiles: [...pools.keys()] },
    "embedded ClickHouse listening",
  );

  return {
    url: `http://${opts.host}:${port}`,
    port,
    pools,
    async close(graceMs = 20_000) {
      if (closing) return;
      closing = true;
      // Order: stop accepting connections, let requests in flight finish, then close sessions.
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      server.closeAllConnections();
      await closed;
      for (const p of pools.values()) await p.close(Math.max(0, deadline - Date.now()));
      if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}
