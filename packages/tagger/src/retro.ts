import type { FlagV1, TransferV1 } from "@chainscreen/schema";
import { senders } from "@chainscreen/schema";
import { familyOf, type ListEntry, lookupAddress } from "./entries.js";
import { buildFlag, flagTransfer, toFlagEntry } from "./flags.js";
import type { LoadedRules } from "./rules.js";
import type { Suppressions } from "./suppressions.js";
import { valueUsd } from "./value.js";

/** Stored transfer history, searched when a list version adds an address. */
export interface TransferHistory {
  /**
   * Stored, non-retracted transfers where any of `addresses` (canonical) is a sender or the
   * receiver, with timestamp < `before` (ms), oldest first, at most `limit`. Callers filter by
   * family (the store keys addresses without it).
   */
  transfersTouching(
    addresses: readonly string[],
    before: number,
    limit: number,
  ): Promise<TransferV1[]>;
}

/** Dependencies of retro-screening. */
export interface RetroContext {
  rules: LoadedRules;
  suppressions: Suppressions;
  now: () => number;
}

/**
 * Retro flags for one newly listed entry over stored transfers that touch its address: one flag
 * per (transfer, side), rule `direct`, `retro: true`, `listedAt` = the entry's listing date
 * (`listedFrom`), and `listedAtTransferTime` telling whether the listing already applied when the
 * transfer happened. Service-category entries (exchange tags) and retracted transfers give none.
 */
export function retroFlags(
  entry: ListEntry,
  transfers: readonly TransferV1[],
  ctx: RetroContext,
): FlagV1[] {
  const cfg = ctx.rules.config;
  if (!cfg.direct.enabled || cfg.indirect.serviceCategories.includes(entry.category)) return [];
  const address = lookupAddress(entry.family, entry.address);
  const out: FlagV1[] = [];
  const now = ctx.now();
  const before = entry.listedAt ?? Number.POSITIVE_INFINITY;
  for (const t of transfers) {
    // Transfers after the list version are screened live; retro covers what came before it.
    if (t.status === "retracted" || t.timestamp >= before) continue;
    const family = familyOf(t.chain);
    if (family !== entry.family) continue;
    const from = senders(t).map((a) => lookupAddress(family, a));
    const to = t.to === null ? null : lookupAddress(family, t.to);
    const ft = flagTransfer(t);
    const usd = valueUsd(cfg.prices, t.chain, family, t.asset, t.amount);
    const sides: ("from" | "to")[] = [];
    if (from.includes(address)) sides.push("from");
    if (to === address) sides.push("to");
    for (const side of sides) {
      const counterparty = side === "from" ? to : from.length === 1 ? (from[0] ?? null) : null;
      if (
        ctx.suppressions.isSuppressed(
          family,
          "direct",
          address,
          side === "from" ? [to] : from,
          t.timestamp,
        )
      )
        continue;
      out.push(
        buildFlag(ctx.rules, {
          transfer: ft,
          rule: "direct",
          sides: [side],
          subject: `${entry.listId}|${family}:${address}`,
          address,
          family,
          counterparty,
          entries: [toFlagEntry(entry, t.timestamp)],
          exposure: "direct",
          hops: 0,
          weight: 1,
          path: [{ address, hop: 0, viaTransferId: null, amount: null, timestamp: null }],
          valueUsd: usd,
          retro: true,
          listedAt: entry.listedFrom,
          incidentParties: [address, counterparty ?? ""],
          now,
        }),
      );
    }
  }
  return out;
}
