import { FlagEntry, FlagPathStep, FlagTransfer } from "@chainscreen/schema";
import { z } from "zod";

/**
 * Records on the tagger's internal `exposure.v1` topic. Every record concerns ONE address and is
 * written to the partition of that address ({@link partitionOf}), so the instance that owns the
 * partition holds all of that address's exposure state. The Kafka key is unique per fact (see
 * {@link exposureRecordKey}) so log compaction keeps the latest state of each fact, and a
 * retraction replaces the fact it retracts.
 *
 * - `exposure`: `address` received funds that trace back to a listed `source` in `hop` hops,
 *   through `viaTransferId` at `since` (transfer time).
 * - `outflow`: `address` sent funds in `transfer` (one record per distinct sender of a transfer);
 *   the owner joins outflows with exposures (in either arrival order) and runs per-sender rules.
 */
export const ExposureSource = z.object({
  family: z.string().max(64),
  address: z.string().max(128),
  /** Entries of the listed source that were active when the funds left it. */
  entries: z.array(FlagEntry).max(256),
});
export type ExposureSource = z.infer<typeof ExposureSource>;

/** An exposure fact (see module comment). */
export const ExposureFact = z.object({
  type: z.literal("exposure.v1"),
  kind: z.literal("exposure"),
  family: z.string().max(64),
  address: z.string().max(128),
  hop: z.number().int().min(1),
  weight: z.number().min(0).max(1),
  source: ExposureSource,
  /** Path from the source to `address` (source first, `address` last). */
  path: z.array(FlagPathStep).max(64),
  viaTransferId: z.string().max(512),
  /** Time of the transfer that brought the funds (ms). */
  since: z.number().int().nonnegative(),
  status: z.enum(["active", "retracted"]),
});
export type ExposureFact = z.infer<typeof ExposureFact>;

/** An outflow fact (see module comment). */
export const OutflowFact = z.object({
  type: z.literal("exposure.v1"),
  kind: z.literal("outflow"),
  family: z.string().max(64),
  address: z.string().max(128),
  transfer: FlagTransfer,
  /** USD value, null when unpriced. */
  valueUsd: z.number().nonnegative().nullable(),
  /** The sender itself is directly listed at the transfer's time (its flags are direct ones). */
  senderListed: z.boolean(),
  /** The receiver is a service (exchange, custodian…): exposure stops there. */
  receiverIsService: z.boolean(),
  /** The receiver is listed (then it is flagged directly; exposure is not propagated). */
  receiverListed: z.boolean(),
});
export type OutflowFact = z.infer<typeof OutflowFact>;

/**
 * Where the screening process attaches the transfer.v1 message bytes to an outflow it applies
 * locally (a symbol: never serialized with the record). Lets the engine hold the outflow as those
 * bytes instead of its parsed objects ({@link ColdOutflows}).
 */
export const transferBytes: unique symbol = Symbol("transferBytes");
export type OutflowWithBytes = OutflowFact & { [transferBytes]?: Buffer };

/** Any record of the internal exposure topic. */
export const ExposureRecord = z.discriminatedUnion("kind", [ExposureFact, OutflowFact]);
export type ExposureRecord = z.infer<typeof ExposureRecord>;

/** Unique key of a fact: address first (readable), then what makes the fact unique. */
export function exposureRecordKey(r: ExposureRecord): string {
  if (r.kind === "exposure")
    return `x|${r.family}:${r.address}|${r.source.family}:${r.source.address}|${r.viaTransferId}`;
  return `o|${r.family}:${r.address}|${r.transfer.id}`;
}

/**
 * Partition of an address: FNV-1a 32-bit over `family:address`, modulo the partition count.
 * Every writer uses this (never the key hash), so all facts of one address meet in one partition.
 */
export function partitionOf(family: string, address: string, partitions: number): number {
  let h = 0x811c9dc5;
  const s = `${family}:${address}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

/**
 * Cheap structural check for the internal topic (written only by the tagger, each record built
 * from a validated transfer): the kind, the address and the fields the engine reads. Full zod
 * validation of every nested transfer would cost more than the screening itself.
 */
export const ExposureRecordLite = z.custom<ExposureRecord>((v) => {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  if (r.type !== "exposure.v1" || typeof r.family !== "string" || typeof r.address !== "string")
    return false;
  if (r.kind === "exposure")
    return (
      typeof r.hop === "number" &&
      typeof r.weight === "number" &&
      typeof r.since === "number" &&
      typeof r.viaTransferId === "string" &&
      typeof r.source === "object" &&
      r.source !== null &&
      Array.isArray(r.path)
    );
  if (r.kind === "outflow") {
    const t = r.transfer as Record<string, unknown> | null;
    return (
      typeof t === "object" &&
      t !== null &&
      typeof t.id === "string" &&
      typeof t.timestamp === "number"
    );
  }
  return false;
}, "not an exposure.v1 record");
