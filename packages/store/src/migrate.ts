import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ValidationError } from "@chainscreen/errors";
import { createStoreClient, type StoreConfig } from "./client.js";

/** infra/clickhouse/migrations of this repository. */
export const defaultMigrationsDir = resolve(
  import.meta.dirname,
  "..",
  "..",
  "..",
  "infra",
  "clickhouse",
  "migrations",
);

/** One numbered migration file. */
export interface Migration {
  version: number;
  name: string;
  /** sha256 of the file: a released migration must never change. */
  checksum: string;
  statements: string[];
}

/**
 * Splits a migration file into statements at `;` outside string literals, quoted identifiers and
 * comments (the HTTP interface takes one statement per request).
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let cur = "";
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (c === "-" && sql[i + 1] === "-") {
      const e = sql.indexOf("\n", i);
      const end = e < 0 ? sql.length : e;
      i = end; // comments are dropped
    } else if (c === "/" && sql[i + 1] === "*") {
      const e = sql.indexOf("*/", i + 2);
      i = e < 0 ? sql.length : e + 2;
    } else if (c === "'" || c === '"' || c === "`") {
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === "\\") j += 2;
        else if (sql[j] === c) {
          if (sql[j + 1] === c) j += 2;
          else break;
        } else j++;
      }
      cur += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === ";") {
      if (cur.trim()) out.push(cur.trim());
      cur = "";
      i++;
    } else {
      cur += c;
      i++;
    }
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Reads `NNN_name.sql` files in version order. */
export function loadMigrations(dir = defaultMigrationsDir): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => /^\d{3,}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  const seen = new Set<number>();
  return files.map((f) => {
    const version = Number(f.slice(0, f.indexOf("_")));
    if (seen.has(version))
      throw new ValidationError("duplicate migration version", { context: { file: f } });
    seen.add(version);
    const text = readFileSync(join(dir, f), "utf8");
    return {
      version,
      name: f.replace(/\.sql$/, ""),
      checksum: createHash("sha256").update(text).digest("hex"),
      statements: splitStatements(text),
    };
  });
}

/** Options for {@link migrate}. */
export interface MigrateOptions {
  dir?: string;
  /** Apply migrations up to this version only (default: all). */
  maxVersion?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  database: string;
  applied: string[];
  alreadyApplied: string[];
}

/**
 * Applies every migration not yet recorded in `<database>.schema_migrations`, in order, against
 * any ClickHouse HTTP endpoint (embedded or server). The database is created when missing.
 * Idempotent: recorded versions are skipped, and the statements use IF NOT EXISTS so a run
 * interrupted half-way can simply be repeated. A recorded migration whose file changed is an
 * error (released migrations are never edited; add a new one).
 *
 * Statements in the files are unqualified: they run with the target database as the request's
 * database, exactly as a service's queries do.
 */
export async function migrate(
  config: StoreConfig,
  opts: MigrateOptions = {},
): Promise<MigrateResult> {
  const db = config.database;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(db)) {
    throw new ValidationError("invalid database name", { context: { database: db } });
  }
  const log = opts.log ?? (() => {});
  // The target database may not exist yet, and a request naming a missing database fails on a
  // real server: create it through a client on `default`.
  const bootstrap = createStoreClient({ ...config, database: "default" });
  try {
    await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  } finally {
    await bootstrap.close();
  }
  const client = createStoreClient(config);
  try {
    await client.command({
      query: `CREATE TABLE IF NOT EXISTS schema_migrations
        (version UInt32, name String, checksum FixedString(64), applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
        ENGINE = ReplacingMergeTree ORDER BY version`,
    });
    const rs = await client.query({
      query: "SELECT version, name, checksum FROM schema_migrations FINAL ORDER BY version",
      format: "JSONEachRow",
    });
    const done = new Map<number, { name: string; checksum: string }>();
    for (const r of await rs.json<{ version: number; name: string; checksum: string }>()) {
      done.set(Number(r.version), r);
    }
    const result: MigrateResult = { database: db, applied: [], alreadyApplied: [] };
    for (const m of loadMigrations(opts.dir)) {
      if (opts.maxVersion !== undefined && m.version > opts.maxVersion) break;
      const prev = done.get(m.version);
      if (prev) {
        if (prev.checksum !== m.checksum) {
          throw new ValidationError("migration changed after it was applied", {
            context: { migration: m.name, recorded: prev.checksum, file: m.checksum },
          });
        }
        result.alreadyApplied.push(m.name);
        continue;
      }
      for (const statement of m.statements) await client.command({ query: statement });
      await client.insert({
        table: "schema_migrations",
        values: [{ version: m.version, name: m.name, checksum: m.checksum }],
        format: "JSONEachRow",
      });
      log("migration applied", { migration: m.name, statements: m.statements.length });
      result.applied.push(m.name);
    }
    return result;
  } finally {
    await client.close();
  }
}
