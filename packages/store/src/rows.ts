import { type FlagV1, senders, type TransferV1 } from "@chainscreen/schema";

/** DateTime64(3, 'UTC') text form: `YYYY-MM-DD hh:mm:ss.sss` (unambiguous for any input format). */
export function chTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace("T", " ");
}

/** Where a row came from in Kafka (lets the sink resume exactly after a crash). */
export interface KafkaOrigin {
  topic: string;
  partition: number;
  offset: string;
}

/** A `transfers` row as inserted (JSONEachRow). */
export interface TransferRow {
  id: string;
  chain: string;
  kind: string;
  tx_hash: string;
  position: string;
  block_number: number | null;
  block_hash: string | null;
  ts: string;
  senders: string[];
  inputs: string;
  to_address: string | null;
  asset: string;
  asset_contract: string;
  asset_decimals: number | null;
  amount: string;
  fee: string | null;
  status: TransferV1["status"];
  source: string;
  observed_at: string;
  exchange: string;
  exchange_tenant: string;
  exchange_reference: string;
  exchange_customer_ref: string;
  version: number;
  kafka_topic: string;
  kafka_partition: number;
  kafka_offset: string;
}

/** Maps a validated transfer.v1 onto a `transfers` row. */
export function transferRow(t: TransferV1, origin?: KafkaOrigin): TransferRow {
  return {
    id: t.id,
    chain: t.chain,
    kind: t.kind,
    tx_hash: t.txHash,
    position: t.index,
    block_number: t.blockNumber,
    block_hash: t.blockHash,
    ts: chTime(t.timestamp),
    senders: senders(t),
    inputs: Array.isArray(t.from) ? JSON.stringify(t.from) : "",
    to_address: t.to,
    asset: t.asset.symbol ?? "",
    asset_contract: t.asset.contract ?? "",
    asset_decimals: t.asset.decimals,
    amount: t.amount,
    fee: t.fee ?? null,
    status: t.status,
    source: t.source,
    observed_at: chTime(t.observedAt),
    exchange: t.exchange?.name ?? "",
    exchange_tenant: t.exchange?.tenantId ?? "",
    exchange_reference: t.exchange?.reference ?? "",
    exchange_customer_ref: t.exchange?.customerRef ?? "",
    version: t.observedAt,
    kafka_topic: origin?.topic ?? "",
    kafka_partition: origin?.partition ?? 0,
    kafka_offset: origin?.offset ?? "0",
  };
}

/** A `flags` row as inserted (JSONEachRow). */
export interface FlagRow {
  id: string;
  transfer_id: string;
  incident_id: string;
  chain: string;
  kind: string;
  tx_hash: string;
  block_number: number | null;
  ts: string;
  senders: string[];
  to_address: string | null;
  asset: string;
  asset_contract: string;
  amount: string;
  value_usd: string | null;
  rule_id: string;
  rule_kind: string;
  rule_config_version: string;
  severity: FlagV1["severity"];
  sides: string[];
  address: string | null;
  family: string;
  counterparty: string | null;
  exposure: FlagV1["exposure"];
  hops: number | null;
  weight: number | null;
  entity_names: string[];
  programmes: string[];
  list_ids: string[];
  categories: string[];
  entries: string;
  path: string;
  evidence: string[];
  listed_at_transfer_time: boolean;
  retro: boolean;
  listed_at: string | null;
  status: FlagV1["status"];
  exchange: string;
  exchange_tenant: string;
  created_at: string;
  version: number;
  kafka_topic: string;
  kafka_partition: number;
  kafka_offset: string;
}

const uniq = (xs: Array<string | null>) => [
  ...new Set(xs.filter((x): x is string => x !== null && x !== "")),
];

/** Maps a validated flag.v1 onto a `flags` row. */
export function flagRow(f: FlagV1, origin?: KafkaOrigin): FlagRow {
  const t = f.transfer;
  return {
    id: f.id,
    transfer_id: f.transferId,
    incident_id: f.incidentId,
    chain: t.chain,
    kind: t.kind,
    tx_hash: t.txHash,
    block_number: t.blockNumber,
    ts: chTime(t.timestamp),
    senders: t.from,
    to_address: t.to,
    asset: t.asset.symbol ?? "",
    asset_contract: t.asset.contract ?? "",
    amount: t.amount,
    value_usd: f.valueUsd,
    rule_id: f.rule.id,
    rule_kind: f.rule.kind,
    rule_config_version: f.rule.configVersion,
    severity: f.severity,
    sides: f.sides,
    address: f.address,
    family: f.family ?? "",
    counterparty: f.counterparty,
    exposure: f.exposure,
    hops: f.hops,
    weight: f.weight,
    entity_names: uniq(f.entries.map((e) => e.entityName)),
    programmes: uniq(f.entries.flatMap((e) => e.programmes)),
    list_ids: uniq(f.entries.map((e) => e.listId)),
    categories: uniq(f.entries.map((e) => e.category)),
    entries: JSON.stringify(f.entries),
    path: JSON.stringify(f.path),
    evidence: f.evidence,
    listed_at_transfer_time: f.listedAtTransferTime,
    retro: f.retro,
    listed_at: f.listedAt === null ? null : chTime(f.listedAt),
    status: f.status,
    exchange: t.exchange?.name ?? "",
    exchange_tenant: t.exchange?.tenantId ?? "",
    created_at: chTime(f.createdAt),
    // A retraction must win over the active row even when produced in the same millisecond.
    version: f.createdAt * 2 + (f.status === "retracted" ? 1 : 0),
    kafka_topic: origin?.topic ?? "",
    kafka_partition: origin?.partition ?? 0,
    kafka_offset: origin?.offset ?? "0",
  };
}
