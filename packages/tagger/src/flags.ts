import {
  type FlagEntry,
  type FlagExposure,
  type FlagPathStep,
  type FlagRuleKind,
  type FlagSide,
  type FlagTransfer,
  type FlagV1,
  flagHash,
  flagId,
  senders,
  type TransferV1,
} from "@chainscreen/schema";
import { activeAt, type ListEntry } from "./entries.js";
import { decideSeverity, type LoadedRules } from "./rules.js";
import { formatUsd } from "./value.js";

/** The transfer's key fields as carried by a flag. */
export function flagTransfer(t: TransferV1): FlagTransfer {
  const ft: FlagTransfer = {
    id: t.id,
    chain: t.chain,
    kind: t.kind,
    txHash: t.txHash,
    index: t.index,
    blockNumber: t.blockNumber,
    blockHash: t.blockHash,
    timestamp: t.timestamp,
    from: senders(t),
    inputs: Array.isArray(t.from) ? t.from : null,
    to: t.to,
    asset: t.asset,
    amount: t.amount,
    status: t.status,
    source: t.source,
  };
  // Set afterwards rather than spread in: a spread in the literal is the slow path of object
  // creation, and this runs for every transfer.
  if (t.exchange) ft.exchange = t.exchange;
  return ft;
}

/** An entry as reported in a flag, with its validity at time `t`. */
export function toFlagEntry(e: ListEntry, t: number): FlagEntry {
  return { ...e, listedAtTransferTime: activeAt(e, t) };
}

/** Everything needed to build one flag. */
export interface FlagInput {
  transfer: FlagTransfer;
  rule: FlagRuleKind;
  sides: FlagSide[];
  /** What makes the finding unique besides transfer/rule/sides (entry address, exposure source…). */
  subject: string;
  address: string | null;
  family: string | null;
  counterparty: string | null;
  entries: FlagEntry[];
  exposure: FlagExposure | null;
  hops: number | null;
  weight: number | null;
  path: FlagPathStep[];
  valueUsd: number | null;
  evidence?: string[];
  retro?: boolean;
  listedAt?: number | null;
  /** Parties that define an incident for cooldown grouping. */
  incidentParties: string[];
  /** Forces `retracted` (a finding withdrawn because what it derived from was retracted). */
  retracted?: boolean;
  now: number;
}

/**
 * Builds a `flag.v1`. The id depends only on the transfer, the rule kind, the sides and the
 * subject — never on the severity config — so a rules reload never duplicates a finding; the
 * status follows the transfer's (a retracted transfer yields retracted flags with the same ids).
 */
export function buildFlag(rules: LoadedRules, f: FlagInput): FlagV1 {
  const retro = f.retro ?? false;
  const categories = [...new Set(f.entries.map((e) => e.category))];
  const sev = decideSeverity(rules.config, {
    rule: f.rule,
    exposure: f.exposure,
    hops: f.hops,
    categories,
    valueUsd: f.valueUsd,
    retro,
  });
  const bucket = Math.floor(f.transfer.timestamp / rules.config.cooldown.windowMs);
  const idRule = retro ? `retro-${f.rule}` : f.rule;
  return {
    type: "flag.v1",
    id: flagId(f.transfer.id, idRule, f.sides, f.subject),
    transferId: f.transfer.id,
    transfer: f.transfer,
    rule: { id: sev.id, kind: f.rule, configVersion: rules.version },
    severity: sev.severity,
    sides: [...f.sides].sort(),
    address: f.address,
    family: f.family,
    counterparty: f.counterparty,
    entries: f.entries,
    listedAtTransferTime: f.entries.some((e) => e.listedAtTransferTime),
    exposure: f.exposure,
    hops: f.hops,
    weight: f.weight,
    path: f.path,
    valueUsd: formatUsd(f.valueUsd),
    evidence: f.evidence ?? [],
    incidentId: flagHash(f.rule, ...f.incidentParties, String(bucket)),
    retro,
    listedAt: f.listedAt ?? null,
    status: f.retracted || f.transfer.status === "retracted" ? "retracted" : "active",
    createdAt: f.now,
  };
}
