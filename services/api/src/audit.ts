import type { Logger } from "@chainscreen/logger";
import type { ClickHouseClient } from "@clickhouse/client";
import { BatchInserter } from "./batch-insert.js";
import { chTime } from "./ch.js";

/** One audited request: who, what, with which parameters, and how many rows it returned. */
export interface AuditRecord {
  /** Unix ms the request started. */
  at: number;
  requestId: string;
  keyId: string;
  tenantId: string;
  role: string;
  method: string;
  /** Route pattern, e.g. /v1/flows/:id. */
  route: string;
  /** Query, path params and (summarised) body, as JSON. */
  params: string;
  status: number;
  /** Rows returned or affected; null when not applicable. */
  rowCount: number | null;
  durationMs: number;
  /** Action for state changes (case.status, key.revoke, …); empty for reads. */
  action: string;
  ip: string;
}

/** Where audit records go. */
export interface AuditSink {
  write(r: AuditRecord): void;
  /** Writes everything buffered; resolves when stored. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Audit records kept in memory (unit tests). */
export class MemoryAuditSink implements AuditSink {
  readonly records: AuditRecord[] = [];
  write(r: AuditRecord): void {
    this.records.push(r);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

/**
 * Batches audit records into ClickHouse `audit_log` (one INSERT per batch rather than per
 * request, which ClickHouse handles poorly; see {@link BatchInserter}). Flushes every
 * `intervalMs` (default 500) or at `maxBatch` rows; a failed insert is retried on the next flush
 * with the rows kept (bounded by `maxBuffered`, beyond which the oldest are dropped and counted —
 * the API must keep answering when the store is down).
 */
export class ClickHouseAuditSink implements AuditSink {
  readonly #rows: BatchInserter<ReturnType<typeof toRow>>;

  constructor(
    ch: ClickHouseClient,
    log: Logger,
    opts: {
      table?: string;
      intervalMs?: number;
      maxBatch?: number;
      maxBuffered?: number;
    } = {},
  ) {
    this.#rows = new BatchInserter(ch, log, {
      ...opts,
      table: opts.table ?? "audit_log",
      intervalMs: opts.intervalMs ?? 500,
    });
  }

  /** Records dropped because the buffer was full while the store was unreachable. */
  get dropped(): number {
    return this.#rows.dropped;
  }

  write(r: AuditRecord): void {
    this.#rows.write(toRow(r));
  }

  flush(): Promise<void> {
    return this.#rows.flush();
  }

  close(): Promise<void> {
    return this.#rows.close();
  }
}

/** Column mapping of the store's `audit_log` (infra/clickhouse/migrations/004). */
function toRow(r: AuditRecord) {
  return {
    at: chTime(r.at),
    request_id: r.requestId,
    actor: r.keyId,
    tenant_id: r.tenantId,
    role: r.role,
    // Reads are named by method and route pattern; state changes by their action name.
    action: r.action || `${r.method} ${r.route}`,
    resource: r.route,
    params: r.params,
    outcome:
      r.status < 400
        ? "ok"
        : r.status === 401 || r.status === 403 || r.status === 404
          ? "denied"
          : "error",
    status_code: r.status,
    ip: r.ip,
    rows: r.rowCount ?? 0,
    duration_ms: r.durationMs,
  };
}
