// Alerts stored by the sink: the alerter publishes alert.v1 and delivers without inserting into
// ClickHouse itself (ALERTER_STORE_ALERTS off, the service default); the sink stores the topic
// into `alerts`, which the API reads (findAlerts / getAlert).
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { ClickHouseAlertsStore } from "@chainscreen/alerts";
import { Topics } from "@chainscreen/schema";
import { createStoreClient, migrate, type StoreConfig } from "@chainscreen/store";
import { collectTopic, repoRoot, testBus, uniqueName, waitFor } from "@chainscreen/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import { makeFlag } from "./fixtures.js";
import { startTestAlerter, subscribe, testSettings } from "./harness.js";
import { Receiver } from "./receiver.js";

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  while (closers.length) await closers.pop()?.();
});

function startSink(config: StoreConfig, prefix: string): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      "--import",
      join(repoRoot, "node_modules", "tsx", "dist", "loader.mjs"),
      join(repoRoot, "services", "sink", "src", "main.ts"),
    ],
    {
      cwd: repoRoot,
      stdio: ["ignore", "ignore", "inherit"],
      env: {
        ...process.env,
        KAFKA_BROKERS: inject("kafkaBrokers"),
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKAJS_NO_PARTITIONER_WARNING: "1",
        SINK_GROUP_ID: `${prefix}.sink`,
        SINK_TOPICS: Topics.alerts,
        SINK_MIGRATE: "false",
        SINK_MAX_RETRY_DELAY_MS: "1000",
        SINK_OPS_PORT: "0",
        CLICKHOUSE_URL: config.url,
        CLICKHOUSE_USER: config.username,
        CLICKHOUSE_PASSWORD: config.password,
        CLICKHOUSE_DATABASE: config.database,
        LOG_LEVEL: "warn",
      },
    },
  );
  closers.push(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  return child;
}

describe("alert.v1 → alerts through the sink", () => {
  it("stores every published alert once, and only the sink writes them", async () => {
    const config: StoreConfig = {
      url: inject("clickhouseUrl"),
      username: inject("clickhouseUser"),
      password: inject("clickhousePassword"),
      database: uniqueName("alerts_sink"),
    };
    await migrate(config);
    const client = createStoreClient(config);
    closers.push(() => client.close());
    const store = new ClickHouseAlertsStore(client);

    const bus = testBus(inject("kafkaBrokers"));
    closers.push(() => bus.close());
    const prefix = uniqueName("alsink");
    const flagsTopic = `${prefix}.${Topics.flags}`;
    const alertsTopic = `${prefix}.${Topics.alerts}`;
    await bus.ensureTopics([
      { topic: flagsTopic, partitions: 2 },
      { topic: alertsTopic, partitions: 2 },
    ]);
    const r = await new Receiver().start();
    closers.push(() => r.stop());
    await subscribe(store, "bank-s", { url: r.url, filters: { programmes: ["CYBER2"] } });

    startSink(config, prefix);
    const app = await startTestAlerter(inject("redisUrl"), store, testSettings(), {
      kafka: { bus, flagsTopic, alertsTopic, groupId: `${prefix}.alerter`, storeAlerts: false },
    });
    closers.push(() => app.stop());

    const producer = await bus.producer();
    closers.push(() => producer.disconnect());
    const flags = Array.from({ length: 40 }, (_, i) => makeFlag({ n: 9_000 + i }));
    const send = () =>
      producer.send(
        flagsTopic,
        flags.map((f) => ({ key: f.transferId, value: f })),
      );
    await send();
    await waitFor(() => r.delivered.length >= flags.length, { timeoutMs: 60_000 });

    const published = await collectTopic(bus, alertsTopic, {
      until: (m) => m.length >= flags.length,
      timeoutMs: 30_000,
    });
    const byId = new Map(published.map((m) => [(m.value as { id: string }).id, m.value]));
    expect(byId.size).toBe(flags.length);
    const stored = async () => store.findAlerts({ tenantId: "bank-s", from: 0, to: 2 ** 42 });
    await waitFor(async () => (await stored()).length === flags.length, { timeoutMs: 60_000 });
    // The stored alerts are the published ones, field for field.
    for (const a of await stored()) expect(a).toEqual(byId.get(a.id));

    // The same flags again (a redelivery): no second alert row, no second delivery of an id.
    await send();
    await waitFor(
      async () =>
        (await collectTopic(bus, alertsTopic, { until: () => false, timeoutMs: 2_000 })).length >=
        2 * flags.length,
      { timeoutMs: 60_000 },
    );
    const rows = async () =>
      (
        await (
          await client.query({
            query: `SELECT count() AS n, uniqExact(id) AS ids, countIf(kafka_topic != {t:String}) AS other
                    FROM alerts FINAL`,
            query_params: { t: alertsTopic },
            format: "JSONEachRow",
          })
        ).json<{ n: string; ids: string; other: string }>()
      )[0];
    // Both copies reach the store (the sink stores what the topic holds) and collapse under
    // FINAL: same id, tenant and creation time. None was inserted by the alerter itself.
    await waitFor(
      async () => {
        const c = await rows();
        return Number(c?.n) === flags.length && Number(c?.ids) === flags.length;
      },
      { timeoutMs: 60_000 },
    );
    expect(Number((await rows())?.other)).toBe(0);
    expect(r.delivered).toHaveLength(flags.length);
    expect(new Set(r.delivered).size).toBe(flags.length);
    const [firstId, first] = [...byId][0] ?? ["", null];
    expect(await store.getAlert(firstId)).toEqual(first);
  });
});
