import { z } from "zod";
import { Amount, ChainName, NonEmpty, TimestampMs } from "./common.js";
import { FlagExposure, FlagRuleKind, FlagSeverity, FlagStatus } from "./flag.js";
import { Asset } from "./transfer.js";

/** A list entry behind an alert, as the tenant sees it. */
export const AlertEntry = z.object({
  listId: NonEmpty,
  address: z.string().max(128),
  entityName: z.string().max(512).nullable(),
  programmes: z.array(z.string().max(128)).max(64),
  category: z.string().max(64),
});
export type AlertEntry = z.infer<typeof AlertEntry>;

/**
 * `alert.v1`: one `flag.v1` matched to one tenant subscription; this object is the webhook body.
 * `id` is deterministic in (subscription, flag, status) so a redelivered flag never creates a
 * second alert and receivers can de-duplicate on it; a retraction of the flag is a new alert
 * with `status: "retracted"`.
 */
export const AlertV1 = z.object({
  type: z.literal("alert.v1"),
  id: NonEmpty,
  tenantId: NonEmpty,
  subscriptionId: NonEmpty,
  flagId: NonEmpty,
  incidentId: z.string().max(64),
  status: FlagStatus,
  rule: z.object({ id: NonEmpty, kind: FlagRuleKind }),
  severity: FlagSeverity,
  /** direct | indirect; null for behavioural rules (structuring, p2p). */
  exposure: FlagExposure.nullable(),
  hops: z.number().int().nonnegative().nullable(),
  /** True when found by re-screening history after a list update. */
  retro: z.boolean(),
  transfer: z.object({
    id: NonEmpty,
    chain: ChainName,
    txHash: NonEmpty,
    blockNumber: z.number().int().nonnegative().nullable(),
    /** Time of the transfer (ms). */
    timestamp: TimestampMs,
    from: z.array(z.string().max(128)).max(100_000),
    to: z.string().max(128).nullable(),
    asset: Asset,
    amount: Amount,
    valueUsd: z.string().max(64).nullable(),
  }),
  /** The flagged address (listed or exposed) and the other party. */
  address: z.string().max(128).nullable(),
  counterparty: z.string().max(128).nullable(),
  entries: z.array(AlertEntry).max(256),
  /** The subscription's watched addresses this transfer involves (empty: no address filter). */
  matchedAddresses: z.array(z.string().max(128)).max(100_000),
  /** When the alert was created (ms). */
  createdAt: TimestampMs,
});
export type AlertV1 = z.infer<typeof AlertV1>;
