import {
  type AlertsStore,
  createSubscription,
  DEFAULT_QUEUE_SETTINGS,
  type QueueSettings,
  type SubscriptionInput,
} from "@chainscreen/alerts";
import { silentLogger } from "@chainscreen/logger";
import { uniqueName } from "@chainscreen/testing";
import {
  type AlerterApp,
  type AlerterOptions,
  startAlerter,
} from "../../services/alerter/src/app.js";

/** Fast retry settings for tests: 5 attempts, 200 ms doubling, isolated key prefix. */
export function testSettings(over: Partial<QueueSettings["retry"]> = {}): QueueSettings {
  return {
    ...DEFAULT_QUEUE_SETTINGS,
    prefix: uniqueName("cs_alerts"),
    retry: { attempts: 5, baseDelayMs: 200, maxDelayMs: 1_000, jitter: 0.5, ...over },
  };
}

/** Starts an in-process alerter for tests (loopback targets allowed, short locks). */
export function startTestAlerter(
  redisUrl: string,
  store: AlertsStore,
  settings: QueueSettings,
  over: Partial<AlerterOptions> = {},
): Promise<AlerterApp> {
  return startAlerter({
    redisUrl,
    store,
    log: silentLogger(),
    settings,
    ssrf: { allow: ["loopback"] },
    subscriptionPollMs: 200,
    worker: { timeoutMs: 1_000, lockDurationMs: 3_000, stalledIntervalMs: 1_000 },
    ...over,
  });
}

/** Creates a subscription and returns its id and secret. */
export async function subscribe(
  store: AlertsStore,
  tenantId: string,
  input: SubscriptionInput,
): Promise<{ id: string; secret: string }> {
  const r = await createSubscription({ store }, tenantId, input);
  return { id: r.subscription.id, secret: r.secret };
}
