import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ClickHouseAlertsStore, createSubscription, updateSubscription } from "@chainscreen/alerts";
import { Topics } from "@chainscreen/schema";
import {
  createStoreClient,
  defaultMigrationsDir,
  migrate,
  type StoreConfig,
} from "@chainscreen/store";
import { repoRoot, testBus, uniqueName, waitFor } from "@chainscreen/testing";
import { verify, WebhookHeaders } from "@chainscreen/webhook-verify";
import { afterAll, describe, expect, inject, it } from "vitest";
import { makeFlag } from "./fixtures.js";
import { Receiver } from "./receiver.js";

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  while (closers.length) await closers.pop()?.();
});

/** Runs services/alerter/src/main.ts as a real process; collects its JSON log lines. */
function startService(env: Record<string, string>) {
  const lines: Record<string, unknown>[] = [];
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", join(repoRoot, "services", "alerter", "src", "main.ts")],
    { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let buf = "";
  child.stdout?.on("data", (d: Buffer) => {
    buf += d.toString("utf8");
    let i = buf.indexOf("\n");
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not JSON: ignore
      }
      i = buf.indexOf("\n");
    }
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, lines, exited };
}

describe("services/alerter as a process", () => {
  it("picks up new subscriptions without restart, delivers, and shuts down cleanly on SIGTERM", async () => {
    const config: StoreConfig = {
      url: inject("clickhouseUrl"),
      username: inject("clickhouseUser"),
      password: inject("clickhousePassword"),
      database: uniqueName("alerter_svc"),
    };
    const dir = join(repoRoot, ".data", uniqueName("alerts-migrations"));
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(defaultMigrationsDir)) {
      if (/^(00\d|2\d\d)_/.test(f)) copyFileSync(join(defaultMigrationsDir, f), join(dir, f));
    }
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    await migrate(config, { dir });
    const client = createStoreClient(config);
    closers.push(() => client.close());
    const store = new ClickHouseAlertsStore(client);

    const bus = testBus(inject("kafkaBrokers"));
    closers.push(() => bus.close());
    const prefix = uniqueName("svc");
    await bus.ensureTopics([
      { topic: `${prefix}.${Topics.flags}`, partitions: 2 },
      { topic: `${prefix}.${Topics.alerts}`, partitions: 2 },
      { topic: `${prefix}.${Topics.deadLetter}`, partitions: 1 },
    ]);
    const svc = startService({
      KAFKA_BROKERS: inject("kafkaBrokers"),
      KAFKA_TOPIC_PREFIX: prefix,
      ALERTER_GROUP_ID: `${prefix}.alerter`,
      // No sink runs here to store alert.v1: the alerter inserts the alerts itself.
      ALERTER_STORE_ALERTS: "true",
      REDIS_URL: inject("redisUrl"),
      QUEUE_PREFIX: prefix,
      CLICKHOUSE_URL: config.url,
      CLICKHOUSE_USER: config.username,
      CLICKHOUSE_PASSWORD: config.password,
      CLICKHOUSE_DATABASE: config.database,
      SUBSCRIPTION_POLL_MS: "200",
      WEBHOOK_ALLOW_RANGES: "loopback",
      WEBHOOK_ALLOW_HTTP: "true",
      WEBHOOK_ATTEMPTS: "5",
      WEBHOOK_BACKOFF_BASE_MS: "200",
      OPS_PORT: "0",
      LOG_LEVEL: "info",
    });
    closers.push(async () => {
      if (svc.child.exitCode === null) svc.child.kill("SIGKILL");
    });
    await waitFor(() => svc.lines.some((l) => l.msg === "alerter started"), { timeoutMs: 60_000 });

    // Created while the service runs: the poll picks it up.
    const r = await new Receiver().start();
    closers.push(() => r.stop());
    const { subscription, secret } = await createSubscription({ store }, "bank-svc", {
      url: "http://127.0.0.1:9/unused",
    });
    await updateSubscription({ store }, "bank-svc", subscription.id, { url: r.url });
    // A reload that read the store after the update carries the new URL. The store's version
    // marker, read now, reflects the update (a merge may change it later, which the alerter
    // reloads too), so wait until the alerter has logged the version the store has now. (A
    // timestamp check raced: a reload that read the store before the update and logged after
    // the test's clock read passed it with the old URL loaded.)
    await waitFor(
      async () => {
        const current = await store.subscriptionsVersion();
        return svc.lines.some(
          (l) =>
            l.msg === "subscriptions reloaded" && l.subscriptions === 1 && l.version === current,
        );
      },
      { timeoutMs: 30_000 },
    );

    const producer = await bus.producer();
    closers.push(() => producer.disconnect());
    const flag = makeFlag({ n: 4242 });
    await producer.send(`${prefix}.${Topics.flags}`, [{ key: flag.transferId, value: flag }]);
    await waitFor(() => r.delivered.length === 1, { timeoutMs: 60_000 });
    const req = r.requests[0];
    expect(
      verify(req?.body ?? "", req?.headers[WebhookHeaders.signature] as string, secret).ok,
    ).toBe(true);
    // The attempt log is flushed in batches; once the delivered row is stored, it is the only one
    // (the flag went to the updated URL on its first attempt).
    const deliveries = await waitFor(
      async () => {
        const rows = await store.listDeliveries({ tenantId: "bank-svc" });
        return rows.some((d) => d.status === "delivered") ? rows : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(deliveries.map((d) => [d.attempt, d.status, d.url])).toEqual([[1, "delivered", r.url]]);
    const alerts = await store.findAlerts({
      tenantId: "bank-svc",
      from: 0,
      to: Date.now() + 60_000,
    });
    expect(alerts.map((a) => a.flagId)).toEqual([flag.id]);

    svc.child.kill("SIGTERM");
    expect(await svc.exited).toBe(0);
    expect(svc.lines.some((l) => l.msg === "shutdown step done" && l.step === "alerter")).toBe(
      true,
    );
  });
});
