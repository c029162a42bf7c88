import { TransientError } from "@chainscreen/errors";
import { type FlagRuleKind, TransferV1 } from "@chainscreen/schema";
import type { ClickHouseClient } from "@clickhouse/client";
import { z } from "zod";
import type { TransferHistory } from "./retro.js";
import type { SuppressionInput } from "./suppressions.js";

const n64 = z.union([z.string(), z.number()]).transform((v) => Number(v));

/** A `transfers` row as read back for retro-screening (see infra/clickhouse/migrations/001). */
const HistoryRow = z.object({
  id: z.string(),
  chain: z.string(),
  kind: z.string(),
  tx_hash: z.string(),
  position: z.string(),
  block_number: n64.nullable(),
  block_hash: z.string().nullable(),
  ts_ms: n64,
  senders: z.array(z.string()),
  inputs: z.string(),
  to_address: z.string().nullable(),
  asset: z.string(),
  asset_contract: z.string(),
  asset_decimals: z.number().nullable(),
  amount: z.string(),
  status: z.string(),
  source: z.string(),
  observed_ms: n64,
  exchange: z.string(),
  exchange_tenant: z.string(),
  exchange_reference: z.string(),
  exchange_customer_ref: z.string(),
});
type HistoryRow = z.infer<typeof HistoryRow>;

/** Rebuilds a transfer.v1 from a stored row (validated, so a bad row is skipped, not flagged). */
function toTransfer(r: HistoryRow): TransferV1 | null {
  const candidate = {
    type: "transfer.v1",
    id: r.id,
    chain: r.chain,
    kind: r.kind,
    txHash: r.tx_hash,
    index: r.position,
    blockNumber: r.block_number,
    blockHash: r.block_hash,
    timestamp: r.ts_ms,
    from: r.inputs ? (JSON.parse(r.inputs) as unknown) : (r.senders[0] ?? null),
    to: r.to_address,
    asset: {
      symbol: r.asset || null,
      contract: r.asset_contract || null,
      decimals: r.asset_decimals,
    },
    amount: r.amount,
    status: r.status,
    source: r.source,
    observedAt: r.observed_ms,
    ...(r.exchange
      ? {
          exchange: {
            name: r.exchange,
            reference: r.exchange_reference || r.id,
            ...(r.exchange_tenant ? { tenantId: r.exchange_tenant } : {}),
            ...(r.exchange_customer_ref ? { customerRef: r.exchange_customer_ref } : {}),
          },
        }
      : {}),
  };
  const p = TransferV1.safeParse(candidate);
  return p.success ? p.data : null;
}

/**
 * Stored transfer history in ClickHouse (the store's `transfers` table, found through the
 * address-ordered `transfers_by_address` so one address is a range read).
 */
export class ClickHouseHistory implements TransferHistory {
  /** Rows that could not be rebuilt as transfer.v1 (reported, never flagged). */
  skippedRows = 0;

  constructor(private readonly client: ClickHouseClient) {}

  async transfersTouching(
    addresses: readonly string[],
    before: number,
    limit: number,
  ): Promise<TransferV1[]> {
    if (addresses.length === 0) return [];
    try {
      const rs = await this.client.query({
        query: `SELECT id, chain, kind, tx_hash, position, block_number, block_hash,
                       toUnixTimestamp64Milli(ts) AS ts_ms, senders, inputs, to_address, asset, asset_contract,
                       asset_decimals, toString(amount) AS amount, toString(status) AS status, source,
                       toUnixTimestamp64Milli(observed_at) AS observed_ms, exchange, exchange_tenant,
                       exchange_reference, exchange_customer_ref
                FROM transfers FINAL
                WHERE id IN (SELECT id FROM transfers_by_address
                             WHERE address IN {addresses:Array(String)}
                               AND ts < fromUnixTimestamp64Milli({before:Int64}, 'UTC'))
                  AND status != 'retracted'
                ORDER BY ts, id
                LIMIT {limit:UInt32}`,
        query_params: { addresses: [...addresses], before, limit },
        format: "JSONEachRow",
      });
      const out: TransferV1[] = [];
      for (const raw of await rs.json()) {
        const row = HistoryRow.safeParse(raw);
        const t = row.success ? toTransfer(row.data) : null;
        if (t) out.push(t);
        else this.skippedRows++;
      }
      return out;
    } catch (err) {
      throw new TransientError("transfer history query failed", {
        cause: err,
        context: { query: "transfersTouching" },
      });
    }
  }
}

const SuppressionRow = z.object({
  family: z.string(),
  a: z.string(),
  b: z.string().nullable(),
  rule: z.string().nullable(),
  until_ms: n64.nullable(),
  reason: z.string(),
});

/** Reads the analysts' false-positive suppressions (`fp_suppressions`, written by the API). */
export async function loadSuppressionsFromStore(
  client: ClickHouseClient,
): Promise<SuppressionInput[]> {
  const rs = await client.query({
    query: `SELECT family, a, b, rule, if(isNull(until), NULL, toUnixTimestamp64Milli(until)) AS until_ms, reason
            FROM fp_suppressions FINAL WHERE deleted = 0`,
    format: "JSONEachRow",
  });
  const rules = new Set<string>(["direct", "indirect", "structuring", "p2p"]);
  const out: SuppressionInput[] = [];
  for (const raw of await rs.json()) {
    const r = SuppressionRow.safeParse(raw);
    if (!r.success) continue;
    out.push({
      family: r.data.family,
      a: r.data.a,
      b: r.data.b,
      rule: r.data.rule && rules.has(r.data.rule) ? (r.data.rule as FlagRuleKind) : null,
      until: r.data.until_ms,
      reason: r.data.reason,
    });
  }
  return out;
}
