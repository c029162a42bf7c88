import type { AlertV1 } from "@chainscreen/schema";
import { alertRow, chTime, classifyStoreError, Store, Tables } from "@chainscreen/store";
import type { ClickHouseClient } from "@clickhouse/client";
import type { SecretBox } from "./secret-box.js";
import type { AlertQuery, AlertsStore, DeliveryQuery } from "./store.js";
import type { DeliveryAttempt, DeliveryStatus, ExposureFilter, Subscription } from "./types.js";

const SECRETS_TABLE = "webhook_secrets";

interface SubRow {
  id: string;
  tenant_id: string;
  name: string;
  addresses: string[];
  chains: string[];
  lists: string[];
  programmes: string[];
  exposure: string[];
  include_retro: boolean | number;
  min_severity: Subscription["filters"]["minSeverity"];
  webhook_url: string;
  active: boolean | number;
  max_concurrency: number;
  rate_per_second: number;
  created: string;
  updated: string;
  version: string;
  deleted: number;
}

interface SecretRow {
  id: string;
  subscription_id: string;
  secret: string;
  created: string;
  expires: string | null;
}

interface DeliveryRow {
  delivery_id: string;
  alert_id: string;
  tenant_id: string;
  subscription_id: string;
  url: string;
  attempt: number;
  status_code: number | null;
  outcome: "delivered" | "retrying" | "failed" | "dead";
  error: string;
  duration_ms: number;
  at_ms: string;
}

// `webhook_deliveries.outcome` has no "skipped": a skipped delivery is stored as `failed` with
// this error text and read back as skipped.
const SKIPPED_ERROR = "subscription inactive";

/**
 * {@link AlertsStore} on the ClickHouse tables of infra/clickhouse/migrations (`subscriptions`
 * + `webhook_secrets` from 200_alert_subscriptions, `alerts`, `webhook_deliveries`). Mutable
 * rows are ReplacingMergeTree versions read with FINAL.
 */
export class ClickHouseAlertsStore implements AlertsStore {
  readonly #store: Store;
  /** With a {@link SecretBox}, signing secrets are stored encrypted (every writer and reader
   * of the table must then be given the same key). */
  constructor(
    readonly client: ClickHouseClient,
    private readonly box: SecretBox | null = null,
  ) {
    this.#store = new Store(client);
  }

  async #rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
    try {
      const rs = await this.client.query({ query, query_params: params, format: "JSONEachRow" });
      return await rs.json<T>();
    } catch (err) {
      throw classifyStoreError(err, { op: "alerts query" });
    }
  }

  async subscriptionsVersion(): Promise<string> {
    // Every change inserts a row, so count and sum(version) change with it (merges change them
    // too, which only costs a spurious reload).
    const [r] = await this.#rows<{ v: string }>(
      `SELECT concat(toString(count()), ':', toString(sum(version)), ':', toString(max(updated_at)),
         ':', (SELECT concat(toString(count()), ':', toString(sum(version))) FROM ${SECRETS_TABLE})) AS v
       FROM ${Tables.subscriptions}`,
    );
    return r?.v ?? "";
  }

  async #load(where: string, params: Record<string, unknown>): Promise<Subscription[]> {
    // FINAL drops deleted rows (ReplacingMergeTree(version, deleted)), so a subscription that was
    // deleted simply disappears; that is all the alerter needs.
    const subs = await this.#rows<SubRow>(
      `SELECT id, tenant_id, name, addresses, chains, lists, programmes, exposure, include_retro,
         toString(min_severity) AS min_severity, webhook_url, active, max_concurrency, rate_per_second,
         toString(toUnixTimestamp64Milli(created_at)) AS created,
         toString(toUnixTimestamp64Milli(updated_at)) AS updated, toString(version) AS version, deleted
       FROM ${Tables.subscriptions} FINAL ${where}`,
      params,
    );
    if (subs.length === 0) return [];
    const secrets = await this.#rows<SecretRow>(
      `SELECT id, subscription_id, secret, toString(toUnixTimestamp64Milli(created_at)) AS created,
         if(isNull(expires_at), NULL, toString(toUnixTimestamp64Milli(assumeNotNull(expires_at)))) AS expires
       FROM ${SECRETS_TABLE} FINAL WHERE subscription_id IN {ids:Array(String)}`,
      { ids: subs.map((s) => s.id) },
    );
    const bySub = new Map<string, Subscription["secrets"]>();
    for (const s of secrets) {
      const list = bySub.get(s.subscription_id) ?? [];
      list.push({
        id: s.id,
        secret: this.box ? this.box.open(s.secret) : s.secret,
        createdAt: Number(s.created),
        expiresAt: s.expires === null ? null : Number(s.expires),
      });
      bySub.set(s.subscription_id, list);
    }
    return subs.map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      name: r.name,
      url: r.webhook_url,
      active: Boolean(r.active),
      filters: {
        addresses: r.addresses,
        chains: r.chains,
        lists: r.lists,
        programmes: r.programmes,
        minSeverity: r.min_severity,
        exposure: r.exposure as ExposureFilter[],
        includeRetro: Boolean(r.include_retro),
      },
      secrets: bySub.get(r.id) ?? [],
      limits: { maxConcurrency: r.max_concurrency, ratePerSecond: r.rate_per_second },
      version: Number(r.version),
      createdAt: Number(r.created),
      updatedAt: Number(r.updated),
      deleted: r.deleted === 1,
    }));
  }

  loadSubscriptions(): Promise<Subscription[]> {
    return this.#load("", {});
  }

  async getSubscription(id: string): Promise<Subscription | undefined> {
    const [s] = await this.#load("WHERE id = {id:String}", { id });
    return s;
  }

  async putSubscription(sub: Subscription): Promise<void> {
    const prev = await this.getSubscription(sub.id);
    const keep = new Set(sub.secrets.map((s) => s.id));
    const secretRows = [
      ...sub.secrets.map((s) => ({
        id: s.id,
        subscription_id: sub.id,
        tenant_id: sub.tenantId,
        secret: this.box ? this.box.seal(s.secret) : s.secret,
        created_at: chTime(s.createdAt),
        expires_at: s.expiresAt === null ? null : chTime(s.expiresAt),
        version: sub.version,
        deleted: sub.deleted ? 1 : 0,
      })),
      // Secrets no longer listed (rotated out and expired) are deleted.
      ...(prev?.secrets ?? [])
        .filter((s) => !keep.has(s.id))
        .map((s) => ({
          id: s.id,
          subscription_id: sub.id,
          tenant_id: sub.tenantId,
          secret: "",
          created_at: chTime(s.createdAt),
          expires_at: null,
          version: sub.version,
          deleted: 1,
        })),
    ];
    // Secrets first: a reader that sees the new subscription row also sees its secrets.
    await this.#store.insertRows(SECRETS_TABLE, secretRows);
    await this.#store.insertRows(Tables.subscriptions, [
      {
        id: sub.id,
        tenant_id: sub.tenantId,
        kind: sub.filters.addresses.length > 0 ? "addresses" : "all-flows",
        addresses: sub.filters.addresses,
        entities: [],
        min_severity: sub.filters.minSeverity,
        webhook_url: sub.url,
        secret_ids: sub.secrets.map((s) => s.id),
        active: sub.active,
        created_at: chTime(sub.createdAt),
        version: sub.version,
        deleted: sub.deleted ? 1 : 0,
        name: sub.name,
        chains: sub.filters.chains,
        lists: sub.filters.lists,
        programmes: sub.filters.programmes,
        exposure: sub.filters.exposure,
        include_retro: sub.filters.includeRetro,
        max_concurrency: sub.limits.maxConcurrency,
        rate_per_second: sub.limits.ratePerSecond,
        updated_at: chTime(sub.updatedAt),
      },
    ]);
  }

  async insertAlerts(alerts: AlertV1[]): Promise<void> {
    await this.#store.insertRows(
      Tables.alerts,
      alerts.map((a) => alertRow(a)),
    );
  }

  async getAlert(id: string): Promise<AlertV1 | undefined> {
    const [r] = await this.#rows<{ payload: string }>(
      `SELECT payload FROM ${Tables.alerts} FINAL WHERE id = {id:String} LIMIT 1`,
      { id },
    );
    return r ? (JSON.parse(r.payload) as AlertV1) : undefined;
  }

  async findAlerts(q: AlertQuery): Promise<AlertV1[]> {
    const where = [
      "created_at >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')",
      "created_at < fromUnixTimestamp64Milli({to:Int64}, 'UTC')",
    ];
    const params: Record<string, unknown> = { from: q.from, to: q.to };
    if (q.tenantId) {
      where.push("tenant_id = {tenant:String}");
      params.tenant = q.tenantId;
    }
    if (q.subscriptionId) {
      where.push("subscription_id = {sub:String}");
      params.sub = q.subscriptionId;
    }
    if (q.after) {
      where.push(
        "(created_at, id) > (fromUnixTimestamp64Milli({afterAt:Int64}, 'UTC'), {afterId:String})",
      );
      params.afterAt = q.after.createdAt;
      params.afterId = q.after.id;
    }
    // One row per alert id: a flag emitted again (tagger redelivery, a resubmitted exchange
    // report) yields the same alert id with a later createdAt, hence another row; the first wins.
    const rows = await this.#rows<{ payload: string }>(
      `SELECT payload FROM ${Tables.alerts} FINAL WHERE ${where.join(" AND ")}
       ORDER BY created_at, id LIMIT 1 BY id ${q.limit ? "LIMIT {limit:UInt32}" : ""}`,
      { ...params, ...(q.limit ? { limit: q.limit } : {}) },
    );
    return rows.map((r) => JSON.parse(r.payload) as AlertV1);
  }

  async insertDeliveries(rows: DeliveryAttempt[]): Promise<void> {
    await this.#store.insertRows(
      Tables.webhookDeliveries,
      rows.map((d) => ({
        delivery_id: d.deliveryId,
        alert_id: d.alertId,
        tenant_id: d.tenantId,
        subscription_id: d.subscriptionId,
        url: d.url,
        attempt: d.attempt,
        status_code: d.responseCode,
        outcome: d.status === "skipped" ? "failed" : d.status,
        error: d.status === "skipped" ? SKIPPED_ERROR : (d.error ?? ""),
        duration_ms: Math.max(0, Math.round(d.latencyMs)),
        at: chTime(d.at),
      })),
    );
  }

  async listDeliveries(q: DeliveryQuery): Promise<DeliveryAttempt[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (q.tenantId) {
      where.push("tenant_id = {tenant:String}");
      params.tenant = q.tenantId;
    }
    if (q.subscriptionId) {
      where.push("subscription_id = {sub:String}");
      params.sub = q.subscriptionId;
    }
    if (q.alertId) {
      where.push("alert_id = {alert:String}");
      params.alert = q.alertId;
    }
    if (q.status) {
      if (q.status === "skipped") {
        where.push("outcome = 'failed' AND error = {skipped:String}");
        params.skipped = SKIPPED_ERROR;
      } else {
        where.push("outcome = {outcome:String}");
        params.outcome = q.status;
      }
    }
    const rows = await this.#rows<DeliveryRow>(
      `SELECT delivery_id, alert_id, tenant_id, subscription_id, url, attempt, status_code,
         toString(outcome) AS outcome, error, duration_ms, toString(toUnixTimestamp64Milli(at)) AS at_ms
       FROM ${Tables.webhookDeliveries} ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY at DESC, attempt DESC ${q.limit ? "LIMIT {limit:UInt32}" : ""}`,
      { ...params, ...(q.limit ? { limit: q.limit } : {}) },
    );
    return rows.map((r) => ({
      deliveryId: r.delivery_id,
      alertId: r.alert_id,
      tenantId: r.tenant_id,
      subscriptionId: r.subscription_id,
      url: r.url,
      attempt: Number(r.attempt),
      status: (r.outcome === "failed" && r.error === SKIPPED_ERROR
        ? "skipped"
        : r.outcome) as DeliveryStatus,
      responseCode: r.status_code === null ? null : Number(r.status_code),
      latencyMs: Number(r.duration_ms),
      error: r.error === "" ? null : r.error,
      at: Number(r.at_ms),
    }));
  }
}
