import { createHash } from "node:crypto";
import {
  type AlertV1,
  type FlagSeverity,
  type FlagV1,
  flagSeverityRank,
} from "@chainscreen/schema";
import { addressKey } from "./flag.js";
import type { ExposureFilter, Subscription } from "./types.js";

/** True when `s` is at least `min`. */
export function severityAtLeast(s: FlagSeverity, min: FlagSeverity): boolean {
  return flagSeverityRank[s] >= flagSeverityRank[min];
}

/**
 * Deterministic alert id for (subscription, flag, status): the same flag redelivered gives the
 * same id; its retraction gives another one, so the retraction is delivered too.
 */
export function alertId(subscriptionId: string, flagId: string, status: FlagV1["status"]): string {
  const h = createHash("sha256")
    .update(`${subscriptionId}\n${flagId}\n${status === "active" ? "" : status}`)
    .digest("hex");
  return `alt_${h.slice(0, 32)}`;
}

/** Every address the flag involves: transfer parties, flagged address and listed entries. */
function involvedAddresses(flag: FlagV1): Set<string> {
  const out = new Set<string>(flag.transfer.from);
  if (flag.transfer.to) out.add(flag.transfer.to);
  if (flag.address) out.add(flag.address);
  for (const e of flag.entries) out.add(e.address);
  return out;
}

function exposureOf(flag: FlagV1): ExposureFilter {
  return flag.exposure ?? "behavioural";
}

/** Filters other than the watched addresses (those are resolved through the index). */
function passesFilters(sub: Subscription, flag: FlagV1): boolean {
  const f = sub.filters;
  if (!sub.active || sub.deleted) return false;
  if (f.chains.length > 0 && !f.chains.includes(flag.transfer.chain)) return false;
  if (!severityAtLeast(flag.severity, f.minSeverity)) return false;
  if (f.exposure.length > 0 && !f.exposure.includes(exposureOf(flag))) return false;
  if (flag.retro && !f.includeRetro) return false;
  if (f.lists.length > 0 && !flag.entries.some((e) => f.lists.includes(e.listId))) return false;
  if (
    f.programmes.length > 0 &&
    !flag.entries.some((e) => e.programmes.some((p) => f.programmes.includes(p)))
  ) {
    return false;
  }
  return true;
}

/** One subscription that a flag matched, with the watched addresses that made it match. */
export interface SubscriptionMatch {
  subscription: Subscription;
  matchedAddresses: string[];
}

/**
 * Immutable lookup structure over all subscriptions: watched address → subscriptions, plus the
 * subscriptions without an address filter. Matching a flag costs one map lookup per involved
 * address instead of a scan of every subscription's address list.
 */
export class SubscriptionIndex {
  readonly #byAddress = new Map<string, Subscription[]>();
  readonly #unfiltered: Subscription[] = [];
  readonly #byId = new Map<string, Subscription>();

  constructor(subscriptions: readonly Subscription[]) {
    for (const s of subscriptions) {
      if (s.deleted) continue;
      this.#byId.set(s.id, s);
      if (!s.active) continue;
      if (s.filters.addresses.length === 0) {
        this.#unfiltered.push(s);
        continue;
      }
      for (const a of new Set(s.filters.addresses.map(addressKey))) {
        const list = this.#byAddress.get(a);
        if (list) list.push(s);
        else this.#byAddress.set(a, [s]);
      }
    }
  }

  /** Number of live (not deleted) subscriptions. */
  get size(): number {
    return this.#byId.size;
  }

  /** A live subscription by id (any tenant: callers enforce tenancy). */
  get(id: string): Subscription | undefined {
    return this.#byId.get(id);
  }

  /** Every live subscription. */
  all(): Subscription[] {
    return [...this.#byId.values()];
  }

  /** The subscriptions a flag matches, each once. */
  match(flag: FlagV1): SubscriptionMatch[] {
    const hits = new Map<string, SubscriptionMatch>();
    for (const a of involvedAddresses(flag)) {
      for (const s of this.#byAddress.get(a) ?? []) {
        const m = hits.get(s.id);
        if (m) m.matchedAddresses.push(a);
        else hits.set(s.id, { subscription: s, matchedAddresses: [a] });
      }
    }
    for (const s of this.#unfiltered) hits.set(s.id, { subscription: s, matchedAddresses: [] });
    return [...hits.values()].filter((m) => passesFilters(m.subscription, flag));
  }
}

/** Builds the alert (the webhook body) for one flag matched to one subscription; deterministic. */
export function buildAlert(flag: FlagV1, m: SubscriptionMatch): AlertV1 {
  const t = flag.transfer;
  return {
    type: "alert.v1",
    id: alertId(m.subscription.id, flag.id, flag.status),
    tenantId: m.subscription.tenantId,
    subscriptionId: m.subscription.id,
    flagId: flag.id,
    incidentId: flag.incidentId,
    status: flag.status,
    rule: { id: flag.rule.id, kind: flag.rule.kind },
    severity: flag.severity,
    exposure: flag.exposure,
    hops: flag.hops,
    retro: flag.retro,
    transfer: {
      id: t.id,
      chain: t.chain,
      txHash: t.txHash,
      blockNumber: t.blockNumber,
      timestamp: t.timestamp,
      from: t.from,
      to: t.to,
      asset: t.asset,
      amount: t.amount,
      valueUsd: flag.valueUsd,
    },
    address: flag.address,
    counterparty: flag.counterparty,
    entries: flag.entries.map((e) => ({
      listId: e.listId,
      address: e.address,
      entityName: e.entityName,
      programmes: e.programmes,
      category: e.category,
    })),
    matchedAddresses: [...m.matchedAddresses].sort(),
    // The flag's time, not the wall clock: a redelivered flag yields the identical alert row.
    createdAt: flag.createdAt,
  };
}
