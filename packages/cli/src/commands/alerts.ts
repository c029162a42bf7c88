import {
  ClickHouseAlertsStore,
  DEFAULT_QUEUE_SETTINGS,
  DeliveryQueues,
  listDeadLetters,
  listDeliveries,
  replayAlert,
  replayAlerts,
  type Scope,
} from "@chainscreen/alerts";
import { silentLogger } from "@chainscreen/logger";
import { createStoreClient } from "@chainscreen/store";
import type { Command } from "commander";
import { Redis } from "ioredis";
import { errorText, fail } from "../util.js";

/** ISO date/time or unix milliseconds → ms. */
function time(name: string) {
  return (v: string): number => {
    const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(ms)) fail(`${name} must be an ISO date/time or unix milliseconds`);
    return ms;
  };
}

interface Common {
  tenant?: string;
  clickhouse?: string;
  database?: string;
  redis?: string;
  prefix?: string;
}

function withCommon(cmd: Command): Command {
  return cmd
    .option("--tenant <id>", "act as this tenant (default: operator, all tenants)")
    .option("--clickhouse <url>", "ClickHouse HTTP URL (env CLICKHOUSE_URL)")
    .option("--database <name>", "ClickHouse database (env CLICKHOUSE_DATABASE)")
    .option("--redis <url>", "Redis URL of the delivery queues (env REDIS_URL)")
    .option("--prefix <p>", "BullMQ key prefix (env QUEUE_PREFIX)");
}

/** Opens the store (and, for replay, the queues); `fn` runs with them and everything is closed. */
async function withDeps<T>(
  o: Common,
  needQueues: boolean,
  fn: (d: {
    store: ClickHouseAlertsStore;
    queues: DeliveryQueues | null;
    scope: Scope;
  }) => Promise<T>,
): Promise<T> {
  const url = o.clickhouse ?? process.env.CLICKHOUSE_URL;
  if (!url) fail("no ClickHouse: pass --clickhouse or set CLICKHOUSE_URL");
  const client = createStoreClient({
    url,
    username: process.env.CLICKHOUSE_USER ?? "default",
    password: process.env.CLICKHOUSE_PASSWORD ?? "",
    database: o.database ?? process.env.CLICKHOUSE_DATABASE ?? "chainscreen",
  });
  let redis: Redis | null = null;
  let queues: DeliveryQueues | null = null;
  if (needQueues) {
    const redisUrl = o.redis ?? process.env.REDIS_URL;
    if (!redisUrl) fail("no Redis: pass --redis or set REDIS_URL");
    // Fail fast: a CLI should error out, not wait for Redis forever.
    redis = new Redis(redisUrl, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      connectTimeout: 5_000,
    });
    redis.on("error", () => {});
    queues = new DeliveryQueues(
      redis,
      {
        ...DEFAULT_QUEUE_SETTINGS,
        prefix: o.prefix ?? process.env.QUEUE_PREFIX ?? DEFAULT_QUEUE_SETTINGS.prefix,
      },
      silentLogger(),
    );
  }
  try {
    return await fn({
      store: new ClickHouseAlertsStore(client),
      queues,
      scope: { tenantId: o.tenant ?? null },
    });
  } finally {
    await queues?.close();
    redis?.disconnect();
    await client.close();
  }
}

/** `chainscreen alerts replay|dead-letters|deliveries`: operate webhook deliveries. */
export function register(program: Command): void {
  const alerts = program
    .command("alerts")
    .description("Webhook alerts: replay, dead letters, delivery log");

  withCommon(
    alerts
      .command("replay")
      .description("Re-deliver one alert (--alert) or every alert created in [--from, --to)")
      .option("--alert <id>", "alert id to re-deliver")
      .option("--from <time>", "start (ISO or unix ms, inclusive)", time("--from"))
      .option("--to <time>", "end (ISO or unix ms, exclusive)", time("--to"))
      .option("--subscription <id>", "only alerts of this subscription")
      .option("--dead-only", "only alerts whose last attempt is a dead letter"),
  ).action(
    async (
      o: Common & {
        alert?: string;
        from?: number;
        to?: number;
        subscription?: string;
        deadOnly?: boolean;
      },
    ) => {
      if (!o.alert && (o.from === undefined || o.to === undefined))
        fail("pass --alert, or --from and --to");
      try {
        await withDeps(o, true, async ({ store, queues, scope }) => {
          if (!queues) return;
          if (o.alert) {
            const id = await replayAlert({ store, queues }, scope, o.alert);
            process.stdout.write(`enqueued delivery ${id}\n`);
          } else {
            const r = await replayAlerts({ store, queues }, scope, {
              from: o.from ?? 0,
              to: o.to ?? 0,
              ...(o.subscription ? { subscriptionId: o.subscription } : {}),
              ...(o.deadOnly ? { deadOnly: true } : {}),
            });
            process.stdout.write(`enqueued ${r.enqueued} deliveries (${r.skipped} skipped)\n`);
          }
        });
      } catch (err) {
        fail(errorText(err));
      }
    },
  );

  withCommon(
    alerts
      .command("dead-letters")
      .description("List deliveries that failed for good (newest first)")
      .option("--limit <n>", "rows", (v) => Number(v), 100),
  ).action(async (o: Common & { limit: number }) => {
    try {
      await withDeps(o, false, async ({ store, scope }) => {
        for (const d of await listDeadLetters(store, scope, o.limit))
          process.stdout.write(`${JSON.stringify(d)}\n`);
      });
    } catch (err) {
      fail(errorText(err));
    }
  });

  withCommon(
    alerts
      .command("deliveries")
      .description("Delivery attempts of an alert or subscription (newest first)")
      .option("--alert <id>", "alert id")
      .option("--subscription <id>", "subscription id")
      .option("--limit <n>", "rows", (v) => Number(v), 100),
  ).action(async (o: Common & { alert?: string; subscription?: string; limit: number }) => {
    try {
      await withDeps(o, false, async ({ store, scope }) => {
        const rows = await listDeliveries(store, scope, {
          ...(o.alert ? { alertId: o.alert } : {}),
          ...(o.subscription ? { subscriptionId: o.subscription } : {}),
          limit: o.limit,
        });
        for (const d of rows) process.stdout.write(`${JSON.stringify(d)}\n`);
      });
    } catch (err) {
      fail(errorText(err));
    }
  });
}
