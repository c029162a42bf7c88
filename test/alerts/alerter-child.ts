/**
 * A delivery-only alerter in its own process, so tests can SIGKILL it mid-delivery.
 * Input (env): REDIS_URL, SUBSCRIPTIONS_FILE (JSON array of subscriptions), SETTINGS (JSON
 * QueueSettings). Prints "ready" once its workers run.
 */
import { readFileSync } from "node:fs";
import { MemoryAlertsStore, type QueueSettings, type Subscription } from "@chainscreen/alerts";
import { startTestAlerter } from "./harness.js";

const store = new MemoryAlertsStore();
const subs = JSON.parse(
  readFileSync(process.env.SUBSCRIPTIONS_FILE ?? "", "utf8"),
) as Subscription[];
for (const s of subs) await store.putSubscription(s);
const settings = JSON.parse(process.env.SETTINGS ?? "{}") as QueueSettings;
const app = await startTestAlerter(process.env.REDIS_URL ?? "", store, settings);
process.stdout.write("ready\n");
process.on("SIGTERM", () => {
  void app.stop().then(() => process.exit(0));
});
