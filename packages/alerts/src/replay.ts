import { ValidationError } from "@chainscreen/errors";
import type { DeliveryQueues } from "./queues.js";
import type { AlertsStore } from "./store.js";
import { type DeliveryAttempt, DeliveryStatus } from "./types.js";

/** What replay needs. */
export interface ReplayDeps {
  store: AlertsStore;
  queues: DeliveryQueues;
}

/** Who asks: a tenant sees only its own alerts; an operator (tenantId null) sees all. */
export type Scope = { tenantId: string } | { tenantId: null };

/**
 * Re-delivers one alert to its subscription under a new delivery id (the event id stays the
 * alert id, so receivers that already processed it can ignore it). Returns the delivery id.
 */
export async function replayAlert(
  deps: ReplayDeps,
  scope: Scope,
  alertId: string,
): Promise<string> {
  const alert = await deps.store.getAlert(alertId);
  if (!alert || (scope.tenantId !== null && alert.tenantId !== scope.tenantId)) {
    throw new ValidationError("alert not found", { context: { alertId } });
  }
  const sub = await deps.store.getSubscription(alert.subscriptionId);
  if (!sub || sub.deleted) {
    throw new ValidationError("subscription of the alert no longer exists", {
      context: { alertId },
    });
  }
  return deps.queues.enqueueReplay(alert);
}

/** Range of a bulk replay: alerts created in [from, to), optionally of one subscription. */
export interface ReplayRange {
  from: number;
  to: number;
  subscriptionId?: string;
  /** Only alerts whose latest delivery failed for good (dead letters). */
  deadOnly?: boolean;
}

/** Re-delivers every alert of a time range (paged); returns how many were enqueued. */
export async function replayAlerts(
  deps: ReplayDeps,
  scope: Scope,
  range: ReplayRange,
  pageSize = 1_000,
): Promise<{ enqueued: number; skipped: number }> {
  if (!(range.from < range.to)) throw new ValidationError("replay range is empty");
  let after: { createdAt: number; id: string } | undefined;
  let enqueued = 0;
  let skipped = 0;
  const liveSubs = new Map<string, boolean>();
  for (;;) {
    const page = await deps.store.findAlerts({
      from: range.from,
      to: range.to,
      limit: pageSize,
      ...(after ? { after } : {}),
      ...(scope.tenantId !== null ? { tenantId: scope.tenantId } : {}),
      ...(range.subscriptionId ? { subscriptionId: range.subscriptionId } : {}),
    });
    for (const a of page) {
      let live = liveSubs.get(a.subscriptionId);
      if (live === undefined) {
        const s = await deps.store.getSubscription(a.subscriptionId);
        live = !!s && !s.deleted;
        liveSubs.set(a.subscriptionId, live);
      }
      if (!live || (range.deadOnly && !(await isDead(deps.store, a.id)))) {
        skipped++;
        continue;
      }
      await deps.queues.enqueueReplay(a);
      enqueued++;
    }
    const last = page[page.length - 1];
    if (!last || page.length < pageSize) break;
    after = { createdAt: last.createdAt, id: last.id };
  }
  return { enqueued, skipped };
}

async function isDead(store: AlertsStore, alertId: string): Promise<boolean> {
  const [latest] = await store.listDeliveries({ alertId, limit: 1 });
  return latest?.status === DeliveryStatus.dead;
}

/** Dead letters of a tenant (or all, for operators): the final failed attempt of each alert. */
export async function listDeadLetters(
  store: AlertsStore,
  scope: Scope,
  limit = 100,
): Promise<DeliveryAttempt[]> {
  return store.listDeliveries({
    status: DeliveryStatus.dead,
    limit,
    ...(scope.tenantId !== null ? { tenantId: scope.tenantId } : {}),
  });
}

/** Delivery attempts of a tenant's alert (or any alert, for operators), newest first. */
export async function listDeliveries(
  store: AlertsStore,
  scope: Scope,
  q: { alertId?: string; subscriptionId?: string; limit?: number } = {},
): Promise<DeliveryAttempt[]> {
  return store.listDeliveries({
    ...q,
    ...(scope.tenantId !== null ? { tenantId: scope.tenantId } : {}),
  });
}
