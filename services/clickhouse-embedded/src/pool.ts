import { drainPending, Session } from "chdb";
import { ClickHouseHttpError } from "./errors.js";
import { type PlainInsert, quoteIdent, quoteString } from "./sql.js";
import type { Profile } from "./users.js";

/** Result bytes and engine counters of one statement. */
export interface EngineResult {
  bytes: Uint8Array;
  elapsedSec: number;
  rowsRead: number;
  bytesRead: number;
  /** Rows (non-empty lines) of a raw insert's payload, when the engine counted them. */
  rowsSent?: number;
}

/** What a request asks one session to do. */
export interface Job {
  sql: string;
  /** Output format passed to the engine (a FORMAT clause in `sql` wins). */
  format: string;
  database: string;
  /** `param_<name>` URL parameters without the prefix: raw text, exactly as ClickHouse receives them. */
  params: Record<string, string>;
  /** Engine settings from URL parameters. */
  settings: Record<string, string>;
  /** True for INSERT with its rows inline (after FORMAT/VALUES): nothing may be prepended. */
  inlineData: boolean;
  /** True when the statement is USE: the session's current database becomes unknown. */
  changesDatabase: boolean;
  /**
   * A plain INSERT (`sql` is only its statement) with its rows as bytes: handed to the engine as
   * they came, settings in the statement's SETTINGS clause (nothing to set and undo).
   */
  rawInsert?: {
    insert: PlainInsert;
    data: Buffer;
    /** The same payload spooled to a file (spool.ts), which the engine reads; null: in memory. */
    file: string | null;
  };
}

/**
 * One engine connection on the shared data directory, with the state a pooled connection needs:
 * the database it is in, and the baseline value of every setting so that per-request settings can
 * be undone before the next request (real ClickHouse HTTP requests without `session_id` never
 * leak settings into each other; neither may pooled connections).
 */
class EngineSession {
  private currentDb: string | null = null;
  /** Set when settings could not be restored: the pool replaces the session. */
  broken = false;
  private constructor(
    readonly session: Session,
    private readonly baseline: Map<string, string>,
    private readonly readonly: boolean,
  ) {}

  static async open(
    dataDir: string,
    profile: Profile,
    connectionArgs: string[],
  ): Promise<EngineSession> {
    const session = new Session(dataDir, { connectionArgs });
    try {
      // Server defaults first (chDB's local defaults differ from a server's), then the profile.
      const settings = { ...SERVER_DEFAULTS, ...profile.settings };
      const sets = Object.entries(settings).map(([k, v]) => `SET ${k} = ${literal(v)}`);
      if (sets.length > 0) await session.queryAsync(sets.join(";\n"));
      const r = await session.queryAsync("SELECT name, value FROM system.settings", {
        format: "JSONCompactEachRow",
      });
      const baseline = new Map<string, string>();
      for (const line of r.text().split("\n")) {
        if (!line) continue;
        const [name, value] = JSON.parse(line) as [string, string];
        baseline.set(name, value);
      }
      // Last: from here on the engine refuses SET, SETTINGS and every write on this connection.
      if (profile.readonly) {
        await session.queryAsync("SET readonly = 1");
        baseline.set("readonly", "1");
      }
      return new EngineSession(session, baseline, profile.readonly);
    } catch (err) {
      session.close();
      throw err;
    }
  }

  /**
   * A plain INSERT with its payload as bytes (chDB's raw insert): no UTF-8 decoding into a string
   * of the whole body and encoding back, no SET before and after for per-request settings.
   */
  private async runRawInsert(job: Job, raw: NonNullable<Job["rawInsert"]>): Promise<EngineResult> {
    const settings: Record<string, string> = {};
    for (const [k, v] of Object.entries(job.settings)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || !this.baseline.has(k))
        throw ClickHouseHttpError.of("UNKNOWN_SETTING", `Unknown setting ${k}`);
      if (this.baseline.get(k) !== v) settings[k] = v;
    }
    const { insert, data, file } = raw;
    if (file) return this.runFileInsert(job, insert, settings, file);
    try {
      const r = await this.session.insert({
        table: `${insert.database ?? job.database}.${insert.table}`,
        columns: insert.columns ?? undefined,
        format: insert.format,
        values: data,
        settings,
      });
      return {
        bytes: new Uint8Array(0),
        elapsedSec: r.elapsed,
        rowsRead: 0,
        bytesRead: 0,
        rowsSent: r.rowsSent,
      };
    } catch (err) {
      this.broken = true; // as in run(): a failed connection is never reused
      throw err;
    }
  }

  /**
   * The spooled form of a raw insert: the payload is in a file and the engine reads it with
   * `FROM INFILE`. Same statement, settings and errors as the payload handed over in memory; the
   * server counts the rows for the summary.
   */
  private async runFileInsert(
    job: Job,
    insert: PlainInsert,
    settings: Record<string, string>,
    file: string,
  ): Promise<EngineResult> {
    const table = `${quoteIdent(insert.database ?? job.database)}.${quoteIdent(insert.table)}`;
    const columns = insert.columns ? ` (${insert.columns.map(quoteIdent).join(", ")})` : "";
    const set = Object.entries(settings).map(([k, v]) => `${k} = ${quoteString(v)}`);
    const sql =
      `INSERT INTO ${table}${columns} FROM INFILE ${quoteString(file)} COMPRESSION 'none'` +
      `${set.length > 0 ? ` SETTINGS ${set.join(", ")}` : ""} FORMAT ${insert.format}`;
    try {
      const r = await this.session.queryAsync(sql);
      return { bytes: new Uint8Array(0), elapsedSec: r.elapsed, rowsRead: 0, bytesRead: 0 };
    } catch (err) {
      this.broken = true; // as in run(): a failed connection is never reused
      throw err;
    }
  }

  /** Runs one request; afterwards the connection is back to its baseline (or throws "broken"). */
  async run(job: Job): Promise<EngineResult> {
    if (job.rawInsert) return this.runRawInsert(job, job.rawInsert);
    const prelude: string[] = [];
    if (job.database !== this.currentDb) prelude.push(`USE ${quoteIdent(job.database)}`);
    for (const [k, v] of Object.entries(job.params)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
        throw ClickHouseHttpError.of("SYNTAX_ERROR", `Invalid query parameter name: ${k}`);
      }
      prelude.push(`SET param_${k} = ${quoteString(v)}`);
    }
    const restore: string[] = [];
    for (const [k, v] of Object.entries(job.settings)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
        throw ClickHouseHttpError.of("UNKNOWN_SETTING", `Unknown setting ${k}`);
      }
      const base = this.baseline.get(k);
      if (base === undefined)
        throw ClickHouseHttpError.of("UNKNOWN_SETTING", `Unknown setting ${k}`);
      if (base === v) continue;
      // On a read-only connection the engine answers READONLY (164), as a real server does.
      prelude.push(`SET ${k} = ${quoteString(v)}`);
      if (!this.readonly) restore.push(`SET ${k} = ${quoteString(base)}`);
    }
    try {
      let sql = job.sql;
      if (prelude.length > 0) {
        this.currentDb = null;
        if (job.inlineData) {
          // INSERT with its rows inline: the data must start right after the statement, so the
          // prelude runs as a call of its own.
          await this.session.queryAsync(prelude.join(";\n"));
        } else {
          // One engine call instead of two (saves a round trip per parameterised query). The
          // request's SQL was checked to be a single statement, so nothing can follow it.
          sql = `${prelude.join(";\n")};\n${job.sql}`;
        }
      }
      const r = await this.session.queryAsync(sql, { format: job.format });
      this.currentDb = job.database;
      return {
        bytes: r.bytes(),
        elapsedSec: r.elapsed,
        rowsRead: r.rowsRead,
        bytesRead: r.bytesRead,
      };
    } catch (err) {
      // chDB 3.4: after a query fails part-way through its output (e.g. max_result_rows), the
      // connection hands the unsent rest of that output to the NEXT query. A failed connection is
      // therefore never reused.
      this.broken = true;
      throw err;
    } finally {
      if (job.changesDatabase) this.currentDb = null;
      if (restore.length > 0) {
        try {
          await this.session.queryAsync(restore.join(";\n"));
        } catch {
          this.broken = true;
        }
      }
    }
  }

  close(): void {
    this.session.close();
  }
}

/**
 * Settings where clickhouse-local (what chDB embeds) defaults differently from clickhouse-server,
 * set so that clients see what a server would answer: 64-bit and wider integers quoted in JSON
 * (what @clickhouse/client and its users expect).
 */
const SERVER_DEFAULTS: Record<string, string | number | boolean> = {
  output_format_json_quote_64bit_integers: 1,
};

function literal(v: string | number | boolean): string {
  if (typeof v === "number") return String(v);
  if (typeof v === "boolean") return v ? "1" : "0";
  return quoteString(v);
}

/**
 * A fixed-size pool of engine sessions for one profile. Sessions on the same directory run in
 * parallel (each native call runs on a libuv worker thread, off the event loop), while queries
 * on one session run one after another — hence one pool per profile: a slow analyst query
 * holds an analyst session, never a writer's.
 */
export class SessionPool {
  private readonly idle: EngineSession[] = [];
  private readonly waiting: Array<{
    resolve: (s: EngineSession) => void;
    reject: (e: unknown) => void;
  }> = [];
  private created = 0;
  private opening = 0;
  private busy = 0;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly dataDir: string,
    private readonly profile: Profile,
    private readonly connectionArgs: string[],
  ) {}

  /** Requests waiting for a session. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Sessions running a request. */
  get active(): number {
    return this.busy;
  }

  /** Opens one session now (fails fast when the data directory cannot be opened). */
  async warm(): Promise<void> {
    const s = await this.openOne();
    this.idle.push(s);
  }

  private async openOne(): Promise<EngineSession> {
    this.opening++;
    try {
      const s = await EngineSession.open(this.dataDir, this.profile, this.connectionArgs);
      this.created++;
      return s;
    } finally {
      this.opening--;
    }
  }

  private acquire(): Promise<EngineSession> {
    if (this.closed)
      return Promise.reject(ClickHouseHttpError.of("ABORTED", "Server is shutting down"));
    const s = this.idle.pop();
    if (s) return Promise.resolve(s);
    if (this.created + this.opening < this.profile.pool) return this.openOne();
    if (this.waiting.length >= this.profile.maxQueue) {
      return Promise.reject(
        ClickHouseHttpError.of(
          "TIMEOUT_EXCEEDED",
          `Too many queued queries for profile ${this.name}`,
        ),
      );
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(s: EngineSession, broken: boolean): void {
    if (broken || this.closed) {
      s.close();
      this.created--;
      const w = this.waiting.shift();
      if (w && !this.closed) this.openOne().then(w.resolve, w.reject);
      return;
    }
    const w = this.waiting.shift();
    if (w) w.resolve(s);
    else this.idle.push(s);
  }

  /** Runs a job on a free session of this pool. */
  async run(job: Job): Promise<EngineResult> {
    const s = await this.acquire();
    this.busy++;
    try {
      return await s.run(job);
    } finally {
      this.busy--;
      this.release(s, s.broken);
    }
  }

  /** Refuses new work, waits for running requests (up to `graceMs`), closes every session. */
  async close(graceMs = 20_000): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0))
      w.reject(ClickHouseHttpError.of("ABORTED", "Server is shutting down"));
    const deadline = Date.now() + graceMs;
    while (this.busy > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const s of this.idle.splice(0)) s.close();
    await drainPending();
  }
}
