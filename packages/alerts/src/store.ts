import type { AlertV1 } from "@chainscreen/schema";
import type { DeliveryAttempt, DeliveryStatus, Subscription } from "./types.js";

/** Query over stored alerts; `from`/`to` bound `createdAt` (ms, inclusive/exclusive). */
export interface AlertQuery {
  tenantId?: string;
  subscriptionId?: string;
  from: number;
  to: number;
  /** Keyset paging: only alerts after this (createdAt, id) in that order. */
  after?: { createdAt: number; id: string };
  limit?: number;
}

/** Query over delivery attempts. */
export interface DeliveryQuery {
  tenantId?: string;
  subscriptionId?: string;
  alertId?: string;
  status?: DeliveryStatus;
  limit?: number;
}

/**
 * Persistence the alerting code needs: ClickHouse tables `subscriptions`, `alerts`,
 * `webhook_deliveries` in the product (see @chainscreen/store), memory in unit tests.
 */
export interface AlertsStore {
  /** Cheap change marker over all subscriptions: differs whenever any subscription changed. */
  subscriptionsVersion(): Promise<string>;
  /** Latest version of every subscription, deleted ones included (flagged). */
  loadSubscriptions(): Promise<Subscription[]>;
  getSubscription(id: string): Promise<Subscription | undefined>;
  /** Stores a new version of a subscription (higher `version` wins). */
  putSubscription(sub: Subscription): Promise<void>;
  /** Idempotent on alert id. */
  insertAlerts(alerts: AlertV1[]): Promise<void>;
  getAlert(id: string): Promise<AlertV1 | undefined>;
  findAlerts(q: AlertQuery): Promise<AlertV1[]>;
  insertDeliveries(rows: DeliveryAttempt[]): Promise<void>;
  /** Newest first. */
  listDeliveries(q: DeliveryQuery): Promise<DeliveryAttempt[]>;
}

/** In-process store: unit tests and single-process tools. Not shared between processes. */
export class MemoryAlertsStore implements AlertsStore {
  readonly #subs = new Map<string, Subscription>();
  readonly #alerts = new Map<string, AlertV1>();
  readonly #deliveries: DeliveryAttempt[] = [];
  #changes = 0;

  async subscriptionsVersion(): Promise<string> {
    return String(this.#changes);
  }
  async loadSubscriptions(): Promise<Subscription[]> {
    return [...this.#subs.values()].map((s) => structuredClone(s));
  }
  async getSubscription(id: string): Promise<Subscription | undefined> {
    const s = this.#subs.get(id);
    return s ? structuredClone(s) : undefined;
  }
  async putSubscription(sub: Subscription): Promise<void> {
    const prev = this.#subs.get(sub.id);
    if (prev && prev.version >= sub.version) return;
    this.#subs.set(sub.id, structuredClone(sub));
    this.#changes++;
  }
  async insertAlerts(alerts: AlertV1[]): Promise<void> {
    for (const a of alerts) if (!this.#alerts.has(a.id)) this.#alerts.set(a.id, structuredClone(a));
  }
  async getAlert(id: string): Promise<AlertV1 | undefined> {
    const a = this.#alerts.get(id);
    return a ? structuredClone(a) : undefined;
  }
  async findAlerts(q: AlertQuery): Promise<AlertV1[]> {
    const out = [...this.#alerts.values()].filter(
      (a) =>
        a.createdAt >= q.from &&
        a.createdAt < q.to &&
        (!q.tenantId || a.tenantId === q.tenantId) &&
        (!q.subscriptionId || a.subscriptionId === q.subscriptionId) &&
        (!q.after ||
          a.createdAt > q.after.createdAt ||
          (a.createdAt === q.after.createdAt && a.id > q.after.id)),
    );
    out.sort((x, y) => x.createdAt - y.createdAt || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    return out.slice(0, q.limit ?? out.length).map((a) => structuredClone(a));
  }
  async insertDeliveries(rows: DeliveryAttempt[]): Promise<void> {
    for (const r of rows) this.#deliveries.push({ ...r });
  }
  async listDeliveries(q: DeliveryQuery): Promise<DeliveryAttempt[]> {
    const out = this.#deliveries.filter(
      (d) =>
        (!q.tenantId || d.tenantId === q.tenantId) &&
        (!q.subscriptionId || d.subscriptionId === q.subscriptionId) &&
        (!q.alertId || d.alertId === q.alertId) &&
        (!q.status || d.status === q.status),
    );
    out.sort((x, y) => y.at - x.at);
    return out.slice(0, q.limit ?? out.length).map((d) => ({ ...d }));
  }
}
