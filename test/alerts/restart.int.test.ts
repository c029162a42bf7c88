import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MemoryAlertsStore } from "@chainscreen/alerts";
import { repoRoot, uniqueName, waitFor } from "@chainscreen/testing";
import { verify, WebhookHeaders } from "@chainscreen/webhook-verify";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../infra/local/proc.js";
import { startRedis, stopRedis } from "../../infra/local/redis.js";
import { makeFlag } from "./fixtures.js";
import { startTestAlerter, subscribe, testSettings } from "./harness.js";
import { Receiver } from "./receiver.js";

// Our own Redis (AOF on) so restarting it does not disturb other tests' Redis.
const dataDir = join(repoRoot, ".data", uniqueName("alerts-restart"));
const redisPids: number[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  for (const pid of redisPids) await stopRedis(pid);
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts a delivery-only alerter process and resolves once it is ready. */
function spawnAlerter(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(repoRoot, "test", "alerts", "alerter-child.ts")],
    { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`alerter exited early with ${code}`)));
  });
}

describe("durability across Redis and alerter restarts", () => {
  it("delivers every alert at least once; the receiver de-duplicates by event id", async () => {
    mkdirSync(dataDir, { recursive: true });
    const port = await freePort();
    const redis1 = await startRedis({ port, dataDir, persistence: true });
    redisPids.push(redis1.pid);
    const store = new MemoryAlertsStore();
    const r = await new Receiver().start();
    r.behaviour = () => ({ status: 200, delayMs: 150 });
    const s = await subscribe(store, "bank-a", {
      url: r.url,
      limits: { maxConcurrency: 2, ratePerSecond: 1000 },
    });
    const settings = testSettings({ attempts: 50, baseDelayMs: 100, maxDelayMs: 1_000 });
    const subsFile = join(dataDir, "subscriptions.json");
    writeFileSync(subsFile, JSON.stringify(await store.loadSubscriptions()));
    const childEnv = {
      REDIS_URL: redis1.url,
      SUBSCRIPTIONS_FILE: subsFile,
      SETTINGS: JSON.stringify(settings),
    };

    // Intake in this process (no delivery), delivery in a child process we can SIGKILL.
    const intake = await startTestAlerter(redis1.url, store, settings, { deliver: false });
    const alerts = await intake.alerter.handleFlags(
      Array.from({ length: 40 }, (_, i) => makeFlag({ n: 1_000 + i })),
    );
    await intake.stop();
    expect(alerts).toHaveLength(40);
    const want = new Set(alerts.map((a) => a.id));
    const unique = () => new Set(r.delivered).size;

    const child1 = await spawnAlerter(childEnv);
    // 1. Redis stops (SIGTERM flushes the AOF) and comes back on the same port and data dir
    //    while the alerter runs: its connections reconnect and delivery resumes.
    await waitFor(() => unique() >= 5, { timeoutMs: 60_000 });
    await stopRedis(redis1.pid);
    const atRedisStop = unique();
    const redis2 = await startRedis({ port, dataDir, persistence: true });
    redisPids.push(redis2.pid);
    await waitFor(() => unique() >= atRedisStop + 5, { timeoutMs: 60_000 });

    // 2. The alerter is killed mid-delivery (SIGKILL: no cleanup, requests in flight) and a
    //    new one starts; the stalled jobs are taken up again when their locks expire.
    child1.kill("SIGKILL");
    const atKill = unique();
    expect(atKill).toBeLessThan(40);
    await spawnAlerter(childEnv);
    await waitFor(() => [...want].every((id) => r.delivered.includes(id)), { timeoutMs: 120_000 });
    expect(new Set(r.delivered)).toEqual(want);
    for (const q of r.requests) {
      expect(verify(q.body, q.headers[WebhookHeaders.signature] as string, s.secret).ok).toBe(true);
    }
    console.log(
      `restart test: ${atRedisStop} delivered before the Redis restart, ${atKill} before the kill; ` +
        `${r.delivered.length} deliveries of ${want.size} alerts (${r.delivered.length - want.size} duplicates)`,
    );
    await r.stop();
  });
});
