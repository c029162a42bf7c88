import { createStoreClient, loadMigrations, migrate, type StoreConfig } from "@chainscreen/store";
import type { Command } from "commander";
import { errorText, fail } from "../util.js";

interface DbOptions {
  url?: string;
  user?: string;
  database?: string;
}

// The password comes from the environment only: command lines end up in shell history and `ps`.
function storeConfig(o: DbOptions): StoreConfig {
  return {
    url: o.url ?? process.env.CLICKHOUSE_URL ?? "http://127.0.0.1:8123",
    username: o.user ?? process.env.CLICKHOUSE_USER ?? "default",
    password: process.env.CLICKHOUSE_PASSWORD ?? "",
    database: o.database ?? process.env.CLICKHOUSE_DATABASE ?? "chainscreen",
  };
}

function withConnection(cmd: Command): Command {
  return cmd
    .option(
      "--url <url>",
      "ClickHouse HTTP endpoint, embedded or server (env CLICKHOUSE_URL, default http://127.0.0.1:8123)",
    )
    .option(
      "--user <name>",
      "ClickHouse user (env CLICKHOUSE_USER); password from env CLICKHOUSE_PASSWORD",
    )
    .option("--database <name>", "target database (env CLICKHOUSE_DATABASE, default chainscreen)");
}

/** `chainscreen db migrate|status`: ClickHouse schema migrations (infra/clickhouse/migrations). */
export function register(program: Command): void {
  const db = program.command("db").description("ClickHouse store: schema migrations");

  withConnection(db.command("migrate"))
    .description("apply pending migrations (idempotent; creates the database when missing)")
    .option("--to <version>", "stop after this migration version")
    .action(async (o: DbOptions & { to?: string }) => {
      const cfg = storeConfig(o);
      try {
        const r = await migrate(cfg, {
          maxVersion: o.to === undefined ? undefined : Number(o.to),
          log: (msg, f) => console.error(`${msg}: ${String(f?.migration ?? "")}`),
        });
        console.log(
          `${cfg.url} database ${r.database}: ${r.applied.length} applied, ${r.alreadyApplied.length} already applied`,
        );
      } catch (err) {
        fail(`migration failed: ${errorText(err)}`);
      }
    });

  withConnection(db.command("status"))
    .description("list migrations and whether each is applied")
    .action(async (o: DbOptions) => {
      const cfg = storeConfig(o);
      const client = createStoreClient(cfg);
      try {
        let applied = new Map<number, string>();
        try {
          const rs = await client.query({
            query: "SELECT version, toString(applied_at) AS at FROM schema_migrations FINAL",
            format: "JSONEachRow",
          });
          applied = new Map(
            (await rs.json<{ version: number; at: string }>()).map((r) => [
              Number(r.version),
              r.at,
            ]),
          );
        } catch {
          // No database or table yet: everything is pending.
        }
        for (const m of loadMigrations()) {
          const at = applied.get(m.version);
          console.log(`${at ? "applied" : "pending"}  ${m.name}${at ? `  ${at}` : ""}`);
        }
      } catch (err) {
        fail(errorText(err));
      } finally {
        await client.close();
      }
    });
}
