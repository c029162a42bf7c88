import { KafkaBus } from "@chainscreen/kafka";
import { createLogger } from "@chainscreen/logger";
import { ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { Queue } from "bullmq";
import type { Command } from "commander";
import { Redis } from "ioredis";

interface StatusOptions {
  brokers: string;
  clickhouse: string;
  clickhouseUser: string;
  clickhousePassword: string;
  clickhouseDatabase: string;
  redis: string;
  queuePrefix: string;
  groups: string;
  metrics: string;
}

function print(title: string, rows: Record<string, string | number>[]): void {
  console.log(`\n${title}`);
  if (rows.length === 0) {
    console.log("  (none)");
    return;
  }
  const cols = Object.keys(rows[0] as object);
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  console.log(`  ${cols.map((c, i) => c.padEnd(w[i] ?? 0)).join("  ")}`);
  for (const r of rows)
    console.log(`  ${cols.map((c, i) => String(r[c]).padEnd(w[i] ?? 0)).join("  ")}`);
}

/** Reads head/tip gauges from the ingesters' /metrics endpoints. */
async function ingestProgress(urls: string[]): Promise<Record<string, string | number>[]> {
  const rows: Record<string, string | number>[] = [];
  for (const url of urls) {
    try {
      const text = await (await fetch(url, { signal: AbortSignal.timeout(2000) })).text();
      const heads = new Map<string, number>();
      const tips = new Map<string, number>();
      for (const line of text.split("\n")) {
        const m = /^chainscreen_ingest_(head|tip)_block\{[^}]*chain="([^"]+)"[^}]*\} (\d+)/.exec(
          line,
        );
        if (!m) continue;
        // head_block = newest block the node reports; tip_block = last block the follower emitted.
        (m[1] === "head" ? tips : heads).set(m[2] as string, Number(m[3]));
      }
      for (const [chain, head] of heads) {
        const tip = tips.get(chain) ?? Number.NaN;
        rows.push({ source: url, chain, "chain head": tip, ingested: head, behind: tip - head });
      }
    } catch {
      rows.push({
        source: url,
        chain: "?",
        "chain head": "unreachable",
        ingested: "-",
        behind: "-",
      });
    }
  }
  return rows;
}

/** `chainscreen status`: ingest progress, consumer lag, list versions and delivery backlog. */
export function register(program: Command): void {
  program
    .command("status")
    .description(
      "show per-source head vs ingested block, consumer lag per service, list versions and webhook backlog",
    )
    .option(
      "--brokers <list>",
      "Kafka bootstrap servers",
      process.env.KAFKA_BROKERS ?? "127.0.0.1:9092",
    )
    .option(
      "--clickhouse <url>",
      "ClickHouse HTTP endpoint",
      process.env.CLICKHOUSE_URL ?? "http://127.0.0.1:8123",
    )
    .option("--clickhouse-user <user>", "ClickHouse user", process.env.CLICKHOUSE_USER ?? "default")
    .option(
      "--clickhouse-password <password>",
      "ClickHouse password",
      process.env.CLICKHOUSE_PASSWORD ?? "",
    )
    .option(
      "--clickhouse-database <db>",
      "ClickHouse database",
      process.env.CLICKHOUSE_DATABASE ?? "chainscreen",
    )
    .option(
      "--redis <url>",
      "Redis URL of the webhook queues",
      process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    )
    .option(
      "--queue-prefix <prefix>",
      "BullMQ prefix of the alerter (QUEUE_PREFIX)",
      process.env.QUEUE_PREFIX ?? "chainscreen",
    )
    .option(
      "--groups <list>",
      "consumer groups and their topic, group:topic",
      // The sink's groups are `<SINK_GROUP_ID>.<topic>`, one per routed topic.
      "tagger:transfer.v1,sink.transfer.v1:transfer.v1,sink.flag.v1:flag.v1,sink.watchlist.v1:watchlist.v1,alerter:flag.v1",
    )
    .option(
      "--metrics <urls>",
      "ingester /metrics URLs, comma-separated",
      process.env.CHAINSCREEN_INGEST_METRICS ??
        "http://127.0.0.1:9461/metrics,http://127.0.0.1:9462/metrics,http://127.0.0.1:9463/metrics",
    )
    .action(async (opts: StatusOptions) => {
      print(
        "ingestion (chain head vs ingested)",
        await ingestProgress(opts.metrics.split(",").filter(Boolean)),
      );

      const bus = new KafkaBus(
        {
          brokers: opts.brokers.split(","),
          clientId: "chainscreen-status",
          connectionTimeoutMs: 3000,
        },
        createLogger({ service: "cli", level: "fatal" }),
      );
      try {
        const lagRows: Record<string, string | number>[] = [];
        for (const spec of opts.groups.split(",")) {
          const [group = "", topic = ""] = spec.split(":");
          try {
            lagRows.push({ group, topic, lag: await bus.lag(group, topic) });
          } catch (err) {
            lagRows.push({ group, topic, lag: `? (${(err as Error).message})` });
          }
        }
        print("consumer lag (messages)", lagRows);
      } finally {
        await bus.close();
      }

      const ch = createClient({
        url: opts.clickhouse,
        username: opts.clickhouseUser,
        password: opts.clickhousePassword,
        database: opts.clickhouseDatabase,
        // Errors are printed in the table below; the client's own error log would repeat them.
        log: { level: ClickHouseLogLevel.OFF },
      });
      try {
        // Rows are written by watchlist-sync when a version is activated (held ones are not).
        // A row recorded twice (retried insert) collapses under FINAL.
        const rs = await ch.query({
          query: `SELECT list_id AS list, max(list_version) AS version,
                         argMax(entries, list_version) AS entries,
                         argMax(added, list_version) AS added,
                         argMax(removed, list_version) AS removed,
                         toString(max(fetched_at)) AS fetched_at,
                         count() AS versions
                  FROM list_versions FINAL GROUP BY list_id ORDER BY list_id`,
          format: "JSONEachRow",
        });
        print(
          "watchlists (latest activated version)",
          (await rs.json()) as Record<string, string | number>[],
        );
      } catch (err) {
        print("watchlists (latest activated version)", [
          { error: (err as Error).message.split("\n")[0] ?? "" },
        ]);
      } finally {
        await ch.close();
      }

      const redis = new Redis(opts.redis, {
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        connectTimeout: 3000,
      });
      try {
        await redis.connect();
        const names = new Set<string>();
        let cursor = "0";
        do {
          const [next, keys] = await redis.scan(
            cursor,
            "MATCH",
            `${opts.queuePrefix}:*:meta`,
            "COUNT",
            1000,
          );
          cursor = next;
          for (const k of keys) names.add(k.slice(opts.queuePrefix.length + 1, -":meta".length));
        } while (cursor !== "0");
        const rows: Record<string, string | number>[] = [];
        for (const name of [...names].sort()) {
          const q = new Queue(name, { connection: redis, prefix: opts.queuePrefix });
          const c = await q.getJobCounts("waiting", "delayed", "active", "failed", "completed");
          rows.push({
            queue: name,
            waiting: c.waiting ?? 0,
            delayed: c.delayed ?? 0,
            active: c.active ?? 0,
            "dead letters": c.failed ?? 0,
            delivered: c.completed ?? 0,
          });
        }
        print("webhook delivery backlog", rows);
      } catch (err) {
        print("webhook delivery backlog", [{ error: (err as Error).message }]);
      } finally {
        redis.disconnect();
      }
    });
}
