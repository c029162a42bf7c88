import { z } from "zod";
import { ChainName } from "./common.js";
import { TransferV1 } from "./transfer.js";

/** A block as the ingesters identify it: number, hash, parent hash, time (ms). */
export const BlockRefV1 = z.object({
  number: z.number().int().nonnegative(),
  hash: z.string().min(1).max(128),
  parentHash: z.string().max(128),
  timestamp: z.number().int().nonnegative(),
});
export type BlockRefV1 = z.infer<typeof BlockRefV1>;

/**
 * `ingest.block.v1`: one ingested block, written to the compacted checkpoint topic (key
 * `<chain>:<number>`) in the same Kafka transaction as the block's transfer.v1 events. It holds
 * every transfer as emitted so a reorg can retract them after the node has forgotten the block.
 */
export const IngestBlockV1 = z.object({
  type: z.literal("ingest.block.v1"),
  chain: ChainName,
  ref: BlockRefV1,
  /** pending: emitted before the configured confirmations; confirmed: final unless reorged. */
  status: z.enum(["pending", "confirmed"]),
  transfers: z.array(TransferV1),
  committedAt: z.number().int().nonnegative(),
});
export type IngestBlockV1 = z.infer<typeof IngestBlockV1>;

/** `ingest.backfill.v1`: progress of one backfill job (key `<chain>:<from>-<to>`), committed with its events. */
export const BackfillProgressV1 = z.object({
  type: z.literal("ingest.backfill.v1"),
  chain: ChainName,
  from: z.number().int().nonnegative(),
  to: z.number().int().nonnegative(),
  /** Next block to ingest; `to + 1` when the job is complete. */
  next: z.number().int().nonnegative(),
  updatedAt: z.number().int().nonnegative(),
});
export type BackfillProgressV1 = z.infer<typeof BackfillProgressV1>;
