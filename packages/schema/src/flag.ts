import { createHash } from "node:crypto";
import { z } from "zod";
import { Amount, ChainName, NonEmpty, TimestampMs } from "./common.js";
import { Asset, ExchangeInfo, TransferKind, TransferStatus, UtxoInput } from "./transfer.js";

/**
 * `flag.v1` — one finding of the tagger about one transfer.
 *
 * A flag says: "transfer T matched rule R on side S (because of entry E / exposure source X)".
 * The same finding always has the same `id` (see {@link flagId}), so a restart, a redelivery or a
 * replay re-emits the same id and every consumer (sink, alerter, API) can de-duplicate on it. A
 * later message with the same id may only change `status` (active → retracted, when the transfer's
 * block was orphaned or the finding was withdrawn) and `createdAt`.
 *
 * Rules (`rule.kind`):
 * - `direct`: a sender or the receiver is on an active list entry at the transfer's time
 *   (`exposure: "direct"`, `hops: 0`).
 * - `indirect`: the sender received funds, within `hops` transfers, from a listed address
 *   (`exposure: "indirect"`, `hops` ≥ 1, `path` leads back to the listed source).
 * - `structuring`: repeated transfers just under a reporting threshold from one address in a window
 *   (`exposure: null`; `evidence` lists the transfers of the window).
 * - `p2p`: a transfer above a threshold between two addresses that are not known services
 *   (`exposure: null`).
 * A `retro` flag comes from re-screening stored history when a list version added an address:
 * the transfer happened before the tagger knew the address was listed.
 */

/** How serious a finding is, in the order Chainalysis KYT and most banks use. */
export const FlagSeverity = z.enum(["severe", "high", "medium", "low"]);
export type FlagSeverity = z.infer<typeof FlagSeverity>;

/** Numeric rank of a severity (severe = 4 … low = 1), for filters like "at least high". */
export const flagSeverityRank: Record<FlagSeverity, number> = {
  severe: 4,
  high: 3,
  medium: 2,
  low: 1,
};

/** Which side of a transfer matched: a sender (any UTXO input address) or the receiver. */
export const FlagSide = z.enum(["from", "to"]);
export type FlagSide = z.infer<typeof FlagSide>;

/** Direct (the address itself is listed) or indirect (funds came from a listed address). */
export const FlagExposure = z.enum(["direct", "indirect"]);
export type FlagExposure = z.infer<typeof FlagExposure>;

/** Kinds of rule that produce flags. */
export const FlagRuleKind = z.enum(["direct", "indirect", "structuring", "p2p"]);
export type FlagRuleKind = z.infer<typeof FlagRuleKind>;

/** `active`: the finding stands; `retracted`: withdrawn (the transfer was retracted by a reorg). */
export const FlagStatus = z.enum(["active", "retracted"]);
export type FlagStatus = z.infer<typeof FlagStatus>;

/**
 * One watchlist entry that matched, as it was known to the tagger when it decided.
 * `listedFrom`/`listedUntil` is the entry's validity interval (listing → delisting, as the
 * watchlist publishes it); `listedAt` is when the list version carrying it was published (null
 * when the index does not keep it). Retro-screening covers transfers before `listedAt`.
 */
export const FlagEntry = z.object({
  /** List the entry belongs to, e.g. `ofac-sdn` or a custom list id. */
  listId: NonEmpty,
  /** List version (content hash or sequence) the entry came from. */
  listVersion: z.string().max(128),
  /** Address family of the entry (`evm`, `bitcoin`, `tron`, …). */
  family: z.string().max(32),
  /** Listed address in canonical form. */
  address: z.string().max(128),
  /** Listed entity (party name), e.g. "GARANTEX EUROPE OU"; null when the list does not name one. */
  entityName: z.string().max(512).nullable(),
  /** Sanctions programmes, e.g. ["CYBER2", "RUSSIA-EO14024"]; empty for custom lists. */
  programmes: z.array(z.string().max(128)).max(64),
  /** Category: sanctioned, mixer, darknet, ransomware, exchange, custodian, … */
  category: z.string().max(64),
  /** Start of validity (designation date), ms; null when unknown (treated as "always"). */
  listedFrom: TimestampMs.nullable(),
  /** End of validity (delisting), ms; null while still listed. */
  listedUntil: TimestampMs.nullable(),
  /** When the list version carrying this entry was published, ms; null when not known. */
  listedAt: TimestampMs.nullable(),
  /** Whether the entry was valid at the transfer's timestamp. */
  listedAtTransferTime: z.boolean(),
});
export type FlagEntry = z.infer<typeof FlagEntry>;

/** The screened transfer's key fields (senders flattened to addresses; UTXO values kept). */
export const FlagTransfer = z.object({
  id: NonEmpty,
  chain: ChainName,
  kind: TransferKind,
  txHash: NonEmpty,
  index: z.string().max(128),
  blockNumber: z.number().int().nonnegative().nullable(),
  blockHash: z.string().max(128).nullable(),
  timestamp: TimestampMs,
  /** Distinct sender addresses (account chains: one; UTXO: every input address). */
  from: z.array(z.string().max(128)).max(100_000),
  /** UTXO inputs with values, when the transfer is a UTXO one (null otherwise). */
  inputs: z.array(UtxoInput).max(100_000).nullable(),
  to: z.string().max(128).nullable(),
  asset: Asset,
  amount: Amount,
  status: TransferStatus,
  source: z.string().max(256),
  exchange: ExchangeInfo.optional(),
});
export type FlagTransfer = z.infer<typeof FlagTransfer>;

/**
 * One step of the path from a listed source to the flagged transfer's sender, in flow order:
 * `path[0]` is the listed source address, each later step is an address that received the funds
 * through `viaTransferId` (the transfer that moved them one hop further).
 */
export const FlagPathStep = z.object({
  address: z.string().max(128),
  /** Hop distance from the listed source (0 for the source itself). */
  hop: z.number().int().nonnegative(),
  /** Transfer that brought the funds to `address` (null for the source). */
  viaTransferId: z.string().max(512).nullable(),
  /** Amount of that transfer in base units (null for the source). */
  amount: Amount.nullable(),
  /** Timestamp of that transfer (null for the source). */
  timestamp: TimestampMs.nullable(),
});
export type FlagPathStep = z.infer<typeof FlagPathStep>;

/** `flag.v1` message (see the module comment above for the meaning of each rule). */
export const FlagV1 = z.object({
  type: z.literal("flag.v1"),
  /** Deterministic id, see {@link flagId}. */
  id: z.string().regex(/^[0-9a-f]{32}$/, "flag id is 32 lowercase hex characters"),
  /** `transfer.id` repeated at top level for keys and joins. */
  transferId: NonEmpty,
  transfer: FlagTransfer,
  rule: z.object({
    /** Rule id from the rules config, e.g. `direct-sanctioned` (stable across reloads). */
    id: NonEmpty,
    kind: FlagRuleKind,
    /** Rules config version (hash) that decided the severity. */
    configVersion: z.string().max(128),
  }),
  severity: FlagSeverity,
  /** Side(s) of the transfer that matched. */
  sides: z.array(FlagSide).min(1).max(2),
  /** Address that matched: the listed one (direct), the exposed sender (indirect), the structurer… */
  address: z.string().max(128).nullable(),
  /** Address family of `address`. */
  family: z.string().max(32).nullable(),
  /** The other party of the transfer, seen from `address`. */
  counterparty: z.string().max(128).nullable(),
  /**
   * Every matching list entry. Direct: the entries of `address`. Indirect: the entries of the
   * listed source at the start of `path`. Empty for structuring / p2p.
   */
  entries: z.array(FlagEntry).max(256),
  /** True when at least one entry was valid at the transfer's time (false for retro-only hits). */
  listedAtTransferTime: z.boolean(),
  /** direct | indirect; null for behavioural rules (structuring, p2p). */
  exposure: FlagExposure.nullable(),
  /** 0 for direct, ≥ 1 for indirect, null for behavioural rules. */
  hops: z.number().int().nonnegative().nullable(),
  /** Exposure weight after per-hop decay (1 for direct), null for behavioural rules. */
  weight: z.number().min(0).max(1).nullable(),
  /** Path from the listed source to `address` (indirect); `[source]` for direct; empty otherwise. */
  path: z.array(FlagPathStep).max(64),
  /** Transfer value in USD as a decimal string (stablecoins 1:1, else price table); null if unpriced. */
  valueUsd: z
    .string()
    .regex(/^\d+(\.\d+)?$/)
    .nullable(),
  /** Other transfers that make up the finding (structuring window), by id. */
  evidence: z.array(z.string().max(512)).max(1_000),
  /** Deterministic id grouping repeated flags of one incident (rule + parties + cooldown window). */
  incidentId: z.string().regex(/^[0-9a-f]{32}$/),
  /** True when the flag comes from re-screening history after a list update. */
  retro: z.boolean(),
  /** Retro flags: the listing date (the entry's `listedFrom`, ms); null for live flags. */
  listedAt: TimestampMs.nullable(),
  status: FlagStatus,
  /** When the tagger produced this message (ms). */
  createdAt: TimestampMs,
});
export type FlagV1 = z.infer<typeof FlagV1>;

/**
 * Deterministic flag id: the first 128 bits of SHA-256 over the transfer id, the rule id, the
 * matched side(s) and the matched subject (entry key, exposure source, …), joined with NUL. The
 * same finding always gets the same id, whichever instance finds it and however often.
 */
export function flagId(
  transferId: string,
  ruleId: string,
  sides: readonly string[],
  subject: string,
): string {
  return createHash("sha256")
    .update(`${transferId}\0${ruleId}\0${[...sides].sort().join(",")}\0${subject}`)
    .digest("hex")
    .slice(0, 32);
}

/** Deterministic 128-bit hex id of any tuple of strings (incident ids, exposure keys). */
export function flagHash(...parts: string[]): string {
  return createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, 32);
}
