import { z } from "zod";
import { NonEmpty, TimestampMs } from "./common.js";

/** What kind of actor a watchlist entry names. */
export const WatchlistCategory = z.enum([
  "sanctioned",
  "mixer",
  "exchange",
  "service",
  "darknet",
  "scam",
  "ransomware",
  "stolen-funds",
  "terrorist-financing",
  "gambling",
  "high-risk",
  "other",
]);
export type WatchlistCategory = z.infer<typeof WatchlistCategory>;

/** Severity of a listing, Chainalysis-style (same values as FlagSeverity). */
export const WatchlistSeverity = z.enum(["severe", "high", "medium", "low"]);
export type WatchlistSeverity = z.infer<typeof WatchlistSeverity>;

/** One listed record behind an address: the entity, the currency code it was listed under, … */
export const WatchlistRecord = z.object({
  /** Source currency code (OFAC `XBT`, `ETH`, `USDT`, …) or null for custom lists. */
  code: z.string().max(32).nullable(),
  /** Listed entity name (OFAC party, holder), null when the source gives none. */
  entityName: z.string().max(512).nullable(),
  /** Source id of the entity (OFAC ent_num / FixedRef, FtM id). */
  entityId: z.string().max(256).nullable(),
  /** Sanctions programmes, e.g. CYBER2, RUSSIA-EO14024, DPRK3. */
  programmes: z.array(z.string().max(128)).max(64),
  category: WatchlistCategory,
  severity: WatchlistSeverity,
  label: z.string().max(512).nullable(),
  /** Designation date given by the source (ms), when it gives one. */
  designatedAt: TimestampMs.nullable(),
});
export type WatchlistRecord = z.infer<typeof WatchlistRecord>;

/**
 * `watchlist.v1`: the current state of one address on one list, on a compacted topic keyed by
 * {@link watchlistKey} (list + family + canonical address). A removal is a tombstone (null value)
 * after a last message carrying `listedUntil`, so consumers that follow live learn the delisting
 * time and consumers that rebuild from the start simply do not see the address.
 */
export const WatchlistEntryV1 = z.object({
  type: z.literal("watchlist.v1"),
  listId: NonEmpty,
  /** Version number of the list that produced this state. */
  listVersion: z.number().int().positive(),
  /** Content hash (sha256 hex) of that version. */
  listHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** Chain family (`evm`, `bitcoin`, `tron`, …) from `@chainscreen/addresses`. */
  family: z.string().min(2).max(32),
  /** Canonical address in the family (see `@chainscreen/addresses`). */
  address: z.string().min(1).max(128),
  /** First record's code, entity name and programmes, for consumers that need one line. */
  code: z.string().max(32).nullable(),
  entityName: z.string().max(512).nullable(),
  programmes: z.array(z.string().max(128)).max(256),
  category: WatchlistCategory,
  severity: WatchlistSeverity,
  /** Every record behind the address (an address can be listed for several entities or codes). */
  records: z.array(WatchlistRecord).min(1).max(1000),
  /** Start of the current listing interval (ms); null = listed since before anything known. */
  listedFrom: TimestampMs.nullable(),
  /** End of the listing (ms), null while listed. */
  listedUntil: TimestampMs.nullable(),
  publishedAt: TimestampMs,
});
export type WatchlistEntryV1 = z.infer<typeof WatchlistEntryV1>;

/** Kafka key of a `watchlist.v1` message: list, family and canonical address. */
export function watchlistKey(listId: string, family: string, address: string): string {
  return `${listId}|${family}|${address}`;
}

/**
 * `ops.v1` event of the watchlist sync: a refresh that failed (fetch, parse) or a version that was
 * held (too small, invalid). The active version stays in force in every case.
 */
export const WatchlistOpsEventV1 = z.object({
  type: z.literal("ops.v1"),
  source: z.literal("watchlist-sync"),
  event: z.enum([
    "fetch_failed",
    "parse_failed",
    "version_held",
    "version_activated",
    "unknown_codes",
  ]),
  level: z.enum(["info", "warning", "error"]),
  listId: NonEmpty,
  /** One line for a human. */
  message: z.string().max(2000),
  /** Structured, non-secret facts (url host, status, counts, version). */
  context: z.record(z.string(), z.unknown()),
  at: TimestampMs,
});
export type WatchlistOpsEventV1 = z.infer<typeof WatchlistOpsEventV1>;
