import type { ClickHouseClient } from "@clickhouse/client";
import type { ApiKeyRecord } from "./keys.js";
import { isRole } from "./roles.js";
import type { ApiKeyStore } from "./store.js";

interface Row {
  id: string;
  tenant_id: string;
  role: string;
  name: string;
  hash: string;
  created_at: string;
  revoked_at: string | null;
  rate_limit_per_minute: number | null;
}

const COLS = `id, tenant_id, role, name, hash, toUnixTimestamp64Milli(created_at) AS created_at,
  if(isNull(revoked_at), NULL, toUnixTimestamp64Milli(assumeNotNull(revoked_at))) AS revoked_at, rate_limit_per_minute`;

/** DateTime64(3, 'UTC') text form. */
function chTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace("T", " ");
}

function fromRow(r: Row): ApiKeyRecord | undefined {
  if (!isRole(r.role)) return undefined;
  return {
    id: r.id,
    tenantId: r.tenant_id,
    role: r.role,
    name: r.name,
    hash: r.hash,
    createdAt: Number(r.created_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    rateLimitPerMinute: r.rate_limit_per_minute === null ? null : Number(r.rate_limit_per_minute),
  };
}

/**
 * Keys in ClickHouse `api_keys` (ReplacingMergeTree(version, deleted)): every change inserts the
 * whole row with a higher version; reads use FINAL so the latest version wins.
 */
export class ClickHouseKeyStore implements ApiKeyStore {
  constructor(
    private readonly ch: ClickHouseClient,
    private readonly table = "api_keys",
  ) {}

  async get(id: string): Promise<ApiKeyRecord | undefined> {
    const rs = await this.ch.query({
      query: `SELECT ${COLS} FROM ${this.table} FINAL WHERE id = {id:String} LIMIT 1`,
      query_params: { id },
      format: "JSONEachRow",
    });
    const r = (await rs.json<Row>())[0];
    return r ? fromRow(r) : undefined;
  }

  async put(record: ApiKeyRecord): Promise<void> {
    await this.ch.insert({
      table: this.table,
      format: "JSONEachRow",
      values: [
        {
          id: record.id,
          tenant_id: record.tenantId,
          role: record.role,
          name: record.name,
          hash: record.hash,
          created_at: chTime(record.createdAt),
          revoked_at: record.revokedAt === null ? null : chTime(record.revokedAt),
          rate_limit_per_minute: record.rateLimitPerMinute,
          // Versions must grow with every change of one key, also within one millisecond.
          version: Date.now() * 1000 + (record.revokedAt === null ? 0 : 1),
          deleted: 0,
        },
      ],
    });
  }

  async list(filter?: { tenantId?: string }): Promise<ApiKeyRecord[]> {
    const rs = await this.ch.query({
      query: `SELECT ${COLS} FROM ${this.table} FINAL WHERE {t:String} = '' OR tenant_id = {t:String} ORDER BY created_at, id`,
      query_params: { t: filter?.tenantId ?? "" },
      format: "JSONEachRow",
    });
    return (await rs.json<Row>()).map(fromRow).filter((r): r is ApiKeyRecord => r !== undefined);
  }
}
