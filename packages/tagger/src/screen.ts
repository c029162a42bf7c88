import type { FlagEntry, FlagV1, TransferV1 } from "@chainscreen/schema";
import { senders } from "@chainscreen/schema";
import { activeAt, type EntryIndex, familyOf, type ListEntry, lookupAddress } from "./entries.js";
import type { ExposureFact, ExposureRecord, OutflowFact } from "./exposure-record.js";
import { exposureRecordKey, partitionOf } from "./exposure-record.js";
import { buildFlag, flagTransfer, toFlagEntry } from "./flags.js";
import type { LoadedRules, RulesConfig } from "./rules.js";
import type { Suppressions } from "./suppressions.js";
import { valueUsd } from "./value.js";

/** A record for the internal exposure topic, with the partition of the address it concerns. */
export interface RoutedRecord {
  partition: number;
  key: string;
  value: ExposureRecord;
}

/** What screening needs; `rules` and `suppressions` may be swapped between calls (reload). */
export interface ScreenContext {
  index: EntryIndex;
  rules: LoadedRules;
  suppressions: Suppressions;
  /** Partitions of the exposure topic (records are routed by address). */
  exposurePartitions: number;
  now: () => number;
}

/** Flags found on the transfer itself, and records for the per-address stage. */
export interface ScreenResult {
  flags: FlagV1[];
  records: RoutedRecord[];
}

/** Active entries of an address at `t`, split into risk entries and service tags. */
export interface AddressStatus {
  risk: ListEntry[];
  service: boolean;
}

/** Classifies an address at time `t` against the index. */
export function addressStatus(
  index: EntryIndex,
  cfg: RulesConfig,
  family: string,
  address: string,
  t: number,
): AddressStatus {
  const all = index.lookup(family, address);
  if (all.length === 0) return NONE;
  const risk: ListEntry[] = [];
  let service = false;
  for (const e of all) {
    if (!activeAt(e, t)) continue;
    if (cfg.indirect.serviceCategories.includes(e.category)) service = true;
    else risk.push(e);
  }
  return { risk, service };
}
const NONE: AddressStatus = { risk: [], service: false };

/**
 * The risk entries of a status as flag entries at time `t`. (A module function, not a closure in
 * screenTransfer: a closure would be created for every transfer screened.)
 */
function entriesOf(s: AddressStatus, t: number): FlagEntry[] {
  return s.risk.map((e) => toFlagEntry(e, t));
}

/**
 * The exchange's own wallet named by an exchange report (`exchange.exchangeAddress` of an
 * exchange_deposit / exchange_withdrawal), in lookup form, or null. It is a service for the
 * report's own transfer even before its service tag (published to watchlist.v1 from the same
 * report) has reached this instance, so the report itself never seeds exposure into it.
 */
export function reportedServiceAddress(t: TransferV1, family: string): string | null {
  if (t.kind !== "exchange_deposit" && t.kind !== "exchange_withdrawal") return null;
  const a = t.exchange?.exchangeAddress;
  return a ? lookupAddress(family, a) : null;
}

/** `s`, marked as a service when `address` is the report's exchange wallet `service`. */
function asService(
  s: AddressStatus,
  address: string | null,
  service: string | null,
): AddressStatus {
  return service !== null && address === service && !s.service ? { ...s, service: true } : s;
}

/** Whether a transfer is big enough to carry exposure (minimum amount, unpriced policy). */
export function carriesExposure(cfg: RulesConfig, usd: number | null): boolean {
  if (usd === null) return cfg.indirect.unpricedPropagates;
  return usd >= cfg.indirect.minValueUsd;
}

/**
 * Stage 1: screens one transfer on its own — direct exposure of each sender and of the receiver,
 * peer-to-peer — and produces the records the per-address stage needs: one `outflow` per sender
 * (indirect exposure and structuring are decided by the owner of the sender's partition) and a
 * hop-1 `exposure` for the receiver of funds sent by a listed address. A retracted transfer gives
 * the same flags and records with status retracted, so everything derived from it is withdrawn.
 */
export function screenTransfer(t: TransferV1, ctx: ScreenContext): ScreenResult {
  const { config: cfg } = ctx.rules;
  const family = familyOf(t.chain);
  const ts = t.timestamp;
  const now = ctx.now();
  const ft = flagTransfer(t);
  const usd = valueUsd(cfg.prices, t.chain, family, t.asset, t.amount);
  const from = senders(t);
  for (let i = 0; i < from.length; i++) from[i] = lookupAddress(family, from[i] as string);
  const to = t.to === null ? null : lookupAddress(family, t.to);
  const flags: FlagV1[] = [];
  const records: RoutedRecord[] = [];

  const reported = reportedServiceAddress(t, family);
  const toStatus = asService(
    to === null ? NONE : addressStatus(ctx.index, cfg, family, to, ts),
    to,
    reported,
  );
  const fromStatus: AddressStatus[] = [];
  for (const a of from)
    fromStatus.push(asService(addressStatus(ctx.index, cfg, family, a, ts), a, reported));

  // Plain loops, not forEach closures: this runs for every transfer.
  if (cfg.direct.enabled) {
    for (let i = 0; i < from.length; i++) {
      const addr = from[i] as string;
      const st = fromStatus[i] ?? NONE;
      if (st.risk.length === 0) continue;
      if (ctx.suppressions.isSuppressed(family, "direct", addr, [to], ts)) continue;
      flags.push(directFlag(ctx, ft, "from", family, addr, to, entriesOf(st, ts), usd, now));
    }
    if (
      to !== null &&
      toStatus.risk.length > 0 &&
      !ctx.suppressions.isSuppressed(family, "direct", to, from, ts)
    ) {
      flags.push(
        directFlag(
          ctx,
          ft,
          "to",
          family,
          to,
          from.length === 1 ? (from[0] ?? null) : null,
          entriesOf(toStatus, ts),
          usd,
          now,
        ),
      );
    }
  }

  const p2p = cfg.p2p;
  if (
    p2p.enabled &&
    (p2p.chains.length === 0 || p2p.chains.includes(t.chain)) &&
    t.kind !== "exchange_deposit" &&
    t.kind !== "exchange_withdrawal" &&
    to !== null &&
    from.length > 0 &&
    usd !== null &&
    usd >= p2p.minValueUsd &&
    !toStatus.service &&
    !fromStatus.some((s) => s.service) &&
    !from.some((a) => ctx.suppressions.isSuppressed(family, "p2p", a, [to], ts))
  ) {
    const first = from[0] ?? null;
    flags.push(
      buildFlag(ctx.rules, {
        transfer: ft,
        rule: "p2p",
        sides: ["from", "to"],
        subject: "p2p",
        address: from.length === 1 ? first : null,
        family,
        counterparty: to,
        entries: [],
        exposure: null,
        hops: null,
        weight: null,
        path: [],
        valueUsd: usd,
        incidentParties: [...from, to],
        now,
      }),
    );
  }

  const routeOutflows = cfg.indirect.enabled || cfg.structuring.enabled;
  if (routeOutflows && to !== null) {
    for (let i = 0; i < from.length; i++) {
      const addr = from[i] as string;
      const st = fromStatus[i] ?? NONE;
      if (st.service || addr === to) continue; // services hold no exposure; change to self is no flow
      const out: OutflowFact = {
        type: "exposure.v1",
        kind: "outflow",
        family,
        address: addr,
        transfer: ft,
        valueUsd: usd,
        senderListed: st.risk.length > 0,
        receiverIsService: toStatus.service,
        receiverListed: toStatus.risk.length > 0,
      };
      records.push(route(out, ctx.exposurePartitions));
    }
  }

  // Hop-1 seeds: funds leaving a listed address make a non-service, non-listed receiver exposed.
  const ind = cfg.indirect;
  if (
    ind.enabled &&
    to !== null &&
    !toStatus.service &&
    toStatus.risk.length === 0 &&
    carriesExposure(cfg, usd)
  ) {
    const weight = ind.decay;
    if (weight >= ind.minWeight) {
      for (let i = 0; i < from.length; i++) {
        const addr = from[i] as string;
        const st = fromStatus[i] ?? NONE;
        if (st.risk.length === 0 || addr === to) continue;
        const fact: ExposureFact = {
          type: "exposure.v1",
          kind: "exposure",
          family,
          address: to,
          hop: 1,
          weight,
          source: { family, address: addr, entries: entriesOf(st, ts) },
          path: [
            { address: addr, hop: 0, viaTransferId: null, amount: null, timestamp: null },
            { address: to, hop: 1, viaTransferId: t.id, amount: t.amount, timestamp: ts },
          ],
          viaTransferId: t.id,
          since: ts,
          status: t.status === "retracted" ? "retracted" : "active",
        };
        records.push(route(fact, ctx.exposurePartitions));
      }
    }
  }
  return { flags, records };
}

function directFlag(
  ctx: ScreenContext,
  ft: ReturnType<typeof flagTransfer>,
  side: "from" | "to",
  family: string,
  address: string,
  counterparty: string | null,
  entries: FlagEntry[],
  usd: number | null,
  now: number,
): FlagV1 {
  return buildFlag(ctx.rules, {
    transfer: ft,
    rule: "direct",
    sides: [side],
    subject: `${family}:${address}`,
    address,
    family,
    counterparty,
    entries,
    exposure: "direct",
    hops: 0,
    weight: 1,
    path: [{ address, hop: 0, viaTransferId: null, amount: null, timestamp: null }],
    valueUsd: usd,
    incidentParties: [address, counterparty ?? ""],
    now,
  });
}

/**
 * Wraps a record with its key and the partition of its address, both computed on first use:
 * most outflow records are applied in the screening process and never sent.
 */
export function route(r: ExposureRecord, partitions: number): RoutedRecord {
  return new Routed(r, partitions);
}

class Routed implements RoutedRecord {
  private p = -1;
  private k: string | null = null;
  constructor(
    readonly value: ExposureRecord,
    private readonly partitions: number,
  ) {}
  get partition(): number {
    if (this.p < 0) this.p = partitionOf(this.value.family, this.value.address, this.partitions);
    return this.p;
  }
  get key(): string {
    this.k ??= exposureRecordKey(this.value);
    return this.k;
  }
}
