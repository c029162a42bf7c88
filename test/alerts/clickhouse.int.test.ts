import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  ClickHouseAlertsStore,
  createSubscription,
  deleteSubscription,
  listDeadLetters,
  listSubscriptions,
  replayAlerts,
  rotateSecret,
  SecretBox,
  updateSubscription,
} from "@chainscreen/alerts";
import {
  createStoreClient,
  defaultMigrationsDir,
  migrate,
  type StoreConfig,
} from "@chainscreen/store";
import { repoRoot, uniqueName, waitFor } from "@chainscreen/testing";
import { parseSignatureHeader, verify, WebhookHeaders } from "@chainscreen/webhook-verify";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { AlerterApp } from "../../services/alerter/src/app.js";
import { makeFlag } from "./fixtures.js";
import { startTestAlerter, testSettings } from "./harness.js";
import { Receiver } from "./receiver.js";

const execFileAsync = promisify(execFile);
const WATCHED = "0x00000000000000000000000000000000000000c1";
let config: StoreConfig;
let store: ClickHouseAlertsStore;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  config = {
    url: inject("clickhouseUrl"),
    username: inject("clickhouseUser"),
    password: inject("clickhousePassword"),
    database: uniqueName("alerts"),
  };
  // Only the migrations alerting needs (001–005 are the lead's, 2xx ours): others' files are
  // being written concurrently and may not apply yet.
  const dir = join(repoRoot, ".data", uniqueName("alerts-migrations"));
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(defaultMigrationsDir)) {
    if (/^(00\d|2\d\d)_/.test(f)) copyFileSync(join(defaultMigrationsDir, f), join(dir, f));
  }
  closers.push(async () => rmSync(dir, { recursive: true, force: true }));
  await migrate(config, { dir });
  const client = createStoreClient(config);
  closers.push(() => client.close());
  store = new ClickHouseAlertsStore(client);
});
afterAll(async () => {
  while (closers.length) await closers.pop()?.();
});

describe("alerting on the embedded ClickHouse store", () => {
  it("stores subscriptions with filters, limits and secrets; rotation and deletion round-trip", async () => {
    const { subscription, secret } = await createSubscription({ store }, "bank-a", {
      url: "https://a.example/hook",
      name: "deposits",
      filters: {
        addresses: ["0x00000000000000000000000000000000000000AA"],
        chains: ["ethereum"],
        minSeverity: "high",
        programmes: ["CYBER2"],
        includeRetro: false,
        exposure: ["direct"],
      },
      limits: { maxConcurrency: 2, ratePerSecond: 50 },
    });
    await createSubscription({ store }, "bank-b", { url: "https://b.example/hook" });
    const v1 = await store.subscriptionsVersion();
    const got = await store.getSubscription(subscription.id);
    expect(got).toMatchObject({
      tenantId: "bank-a",
      name: "deposits",
      url: "https://a.example/hook",
      active: true,
      filters: {
        addresses: ["0x00000000000000000000000000000000000000aa"],
        chains: ["ethereum"],
        minSeverity: "high",
        programmes: ["CYBER2"],
        lists: [],
        includeRetro: false,
        exposure: ["direct"],
      },
      limits: { maxConcurrency: 2, ratePerSecond: 50 },
      deleted: false,
    });
    expect(got?.secrets.map((s) => s.secret)).toEqual([secret]);
    expect((await listSubscriptions({ store }, "bank-a")).map((s) => s.id)).toEqual([
      subscription.id,
    ]);

    const { secret: fresh } = await rotateSecret({ store }, "bank-a", subscription.id, {
      overlapSec: 60,
    });
    expect(await store.subscriptionsVersion()).not.toBe(v1);
    const rotated = await store.getSubscription(subscription.id);
    expect(rotated?.secrets.map((s) => s.secret).sort()).toEqual([secret, fresh].sort());
    expect(rotated?.secrets.find((s) => s.secret === secret)?.expiresAt).toBeGreaterThan(
      Date.now(),
    );

    await updateSubscription({ store }, "bank-a", subscription.id, { active: false });
    expect((await store.getSubscription(subscription.id))?.active).toBe(false);
    expect(await deleteSubscription({ store }, "bank-a", subscription.id)).toBe(true);
    expect(await store.getSubscription(subscription.id)).toBeUndefined();
    expect(await listSubscriptions({ store }, "bank-a")).toEqual([]);
  });

  it("encrypts signing secrets at rest when given a key", async () => {
    const boxed = new ClickHouseAlertsStore(store.client, new SecretBox(randomBytes(32)));
    const { subscription, secret } = await createSubscription({ store: boxed }, "bank-enc", {
      url: "https://enc.example/hook",
      active: false,
    });
    const rs = await store.client.query({
      query: "SELECT secret FROM webhook_secrets WHERE subscription_id = {id:String}",
      query_params: { id: subscription.id },
      format: "JSONEachRow",
    });
    const [row] = await rs.json<{ secret: string }>();
    expect(row?.secret).toMatch(/^enc:v1:/);
    expect(row?.secret).not.toContain(secret);
    expect((await boxed.getSubscription(subscription.id))?.secrets[0]?.secret).toBe(secret);
  });

  it("delivers through the ClickHouse-backed alerter; attempts land in webhook_deliveries", async () => {
    const ok = await new Receiver().start();
    const flaky = await new Receiver().start();
    const rejecting = await new Receiver().start();
    closers.push(
      () => ok.stop(),
      () => flaky.stop(),
      () => rejecting.stop(),
    );
    flaky.behaviour = (_r, n) => (n <= 2 ? { status: 502 } : { status: 200 });
    rejecting.behaviour = () => ({ status: 410 });
    const watched = { filters: { addresses: [WATCHED] } };
    const a = await createSubscription({ store }, "ch-a", { url: ok.url, ...watched });
    await createSubscription({ store }, "ch-flaky", { url: flaky.url, ...watched });
    await createSubscription({ store }, "ch-rejecting", { url: rejecting.url, ...watched });
    const app: AlerterApp = await startTestAlerter(inject("redisUrl"), store, testSettings());
    closers.push(() => app.stop());

    const t0 = Date.now();
    const all = await app.alerter.handleFlags([makeFlag({ n: 500, createdAt: t0, to: WATCHED })]);
    // The first test's deleted subscription is gone; bank-b (all flows) matches too.
    const alerts = all.filter((x) => x.tenantId.startsWith("ch-"));
    expect(alerts.map((x) => x.tenantId).sort()).toEqual(["ch-a", "ch-flaky", "ch-rejecting"]);
    expect(all.map((x) => x.tenantId)).not.toContain("bank-a");
    await waitFor(
      () =>
        ok.delivered.length === 1 &&
        flaky.delivered.length === 1 &&
        rejecting.requests.length === 1,
      {
        timeoutMs: 30_000,
      },
    );
    await waitFor(
      async () => (await listDeadLetters(store, { tenantId: "ch-rejecting" })).length === 1,
      { timeoutMs: 10_000 },
    );
    await waitFor(async () => (await store.listDeliveries({ tenantId: "ch-flaky" })).length === 3, {
      timeoutMs: 10_000,
    });
    const flakyRows = (await store.listDeliveries({ tenantId: "ch-flaky" })).reverse();
    expect(flakyRows.map((d) => [d.attempt, d.status, d.responseCode])).toEqual([
      [1, "retrying", 502],
      [2, "retrying", 502],
      [3, "delivered", 200],
    ]);
    const [dead] = await listDeadLetters(store, { tenantId: "ch-rejecting" });
    expect(dead).toMatchObject({
      status: "dead",
      responseCode: 410,
      attempt: 1,
      error: "http 410",
    });
    expect(await listDeadLetters(store, { tenantId: "ch-a" })).toEqual([]);

    const req = ok.requests[0];
    const header = String(req?.headers[WebhookHeaders.signature]);
    expect(verify(req?.body ?? "", header, a.secret).ok).toBe(true);
    expect(parseSignatureHeader(header)?.signatures).toHaveLength(1);

    // Stored alert round-trips and is replayable by time range (tenant scoped).
    const mine = alerts.find((x) => x.tenantId === "ch-a");
    expect(await store.getAlert(mine?.id ?? "")).toEqual(mine);
    const r = await replayAlerts(
      { store, queues: app.queues },
      { tenantId: "ch-a" },
      { from: t0, to: t0 + 1 },
    );
    expect(r).toEqual({ enqueued: 1, skipped: 0 });
    await waitFor(() => ok.delivered.length === 2, { timeoutMs: 20_000 });
    expect(ok.delivered[1]).toBe(ok.delivered[0]);

    // The operator CLI: dead letters of a tenant, then a replay of that alert.
    const cli = (...args: string[]) =>
      execFileAsync(
        process.execPath,
        [join(repoRoot, "packages/cli/bin/chainscreen.mjs"), "alerts", ...args],
        {
          cwd: repoRoot,
          env: {
            ...process.env,
            CLICKHOUSE_URL: config.url,
            CLICKHOUSE_USER: config.username,
            CLICKHOUSE_PASSWORD: config.password,
            CLICKHOUSE_DATABASE: config.database,
            REDIS_URL: inject("redisUrl"),
            QUEUE_PREFIX: app.queues.settings.prefix,
          },
        },
      );
    const listed = await cli("dead-letters", "--tenant", "ch-rejecting");
    const deadRows = listed.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { alertId: string; status: string });
    expect(deadRows).toHaveLength(1);
    expect(deadRows[0]?.status).toBe("dead");
    rejecting.behaviour = () => ({ status: 200 });
    const out = await cli(
      "replay",
      "--tenant",
      "ch-rejecting",
      "--alert",
      deadRows[0]?.alertId ?? "",
    );
    expect(out.stdout).toMatch(/^enqueued delivery /);
    await waitFor(() => rejecting.delivered.length === 1, { timeoutMs: 20_000 });
    // Tenant scope: another tenant cannot replay it.
    await expect(
      cli("replay", "--tenant", "ch-a", "--alert", deadRows[0]?.alertId ?? ""),
    ).rejects.toThrow(/alert not found/);
  });
});
