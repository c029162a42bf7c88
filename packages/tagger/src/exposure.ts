import type { FlagTransfer, FlagV1 } from "@chainscreen/schema";
import { ColdOutflows } from "./cold-outflows.js";
import { addressKey } from "./entries.js";
import type { ExposureFact, ExposureRecord, OutflowFact } from "./exposure-record.js";
import { exposureRecordKey } from "./exposure-record.js";
import { buildFlag } from "./flags.js";
import type { LoadedRules, RulesConfig } from "./rules.js";
import { carriesExposure, type RoutedRecord, route } from "./screen.js";
import type { Suppressions } from "./suppressions.js";

/**
 * An outflow as held in memory: the fields joins read, and the transfer as JSON text (one string
 * instead of a graph of small objects: held outflows dominate the heap, and the GC's work grows
 * with the number of objects, not bytes). The full transfer is parsed only when a flag is built.
 */
type SlimOutflow = Omit<OutflowFact, "transfer"> & {
  transfer: Pick<FlagTransfer, "id" | "timestamp" | "to" | "amount" | "status">;
  json: string;
};

/**
 * Field by field, not by spread: a spread would also copy the message bytes attached to an
 * outflow (`transferBytes`, a view into a whole fetched response) and keep them alive.
 */
export function slim(o: OutflowFact): SlimOutflow {
  const t = o.transfer;
  return {
    type: o.type,
    kind: o.kind,
    family: o.family,
    address: o.address,
    valueUsd: o.valueUsd,
    senderListed: o.senderListed,
    receiverIsService: o.receiverIsService,
    receiverListed: o.receiverListed,
    transfer: { id: t.id, timestamp: t.timestamp, to: t.to, amount: t.amount, status: t.status },
    json: JSON.stringify(t),
  };
}

/**
 * Whether an outflow worth `usd` is "just under" the structuring threshold: only those outflows
 * can make a structuring flag, so only they need to meet all other outflows of their sender.
 */
export function inStructuringBand(cfg: RulesConfig, usd: number | null): boolean {
  const st = cfg.structuring;
  if (!st.enabled || usd === null) return false;
  return usd >= st.thresholdUsd * (1 - st.marginPct / 100) && usd < st.thresholdUsd;
}

/** Order of structuring band entries: transfer time, then transfer id. */
function byTimeThenId(a: [number, string], b: [number, string]): number {
  return a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);
}

/** Sets `k` in a lazily created map and returns the map. */
function put<K, V>(m: Map<K, V> | undefined, k: K, v: V): Map<K, V> {
  const out = m ?? new Map<K, V>();
  out.set(k, v);
  return out;
}

function fullTransfer(o: SlimOutflow): FlagTransfer {
  return JSON.parse(o.json) as FlagTransfer;
}

/** An outflow held for joining, with what was derived from it (to retract it exactly). */
interface HeldOutflow {
  fact: SlimOutflow;
  // The maps below are created on first use: most held outflows never match anything, and three
  // empty Maps per outflow would triple the objects the GC has to trace.
  /** Flags emitted for this outflow, by subject. */
  flags?: Map<string, FlagV1>;
  /** Exposure facts propagated to the receiver because of this outflow, by source key. */
  propagated?: Map<string, ExposureFact>;
  /** The best exposure fact (lowest hop, then smallest via id) that flagged this outflow, by source key. */
  best?: Map<string, ExposureFact>;
}

/**
 * Total order on exposure facts of one source: fewer hops first, then the smaller via-transfer id.
 * Keeping the best fact per (outflow, source) makes the final flags independent of arrival order.
 */
function better(a: ExposureFact, b: ExposureFact): boolean {
  if (a.hop !== b.hop) return a.hop < b.hop;
  return a.viaTransferId < b.viaTransferId;
}

/** Everything the owner of an address knows about it. */
interface AddressState {
  partition: number;
  /** Active exposure facts, by record key. */
  exposures: Map<string, ExposureFact>;
  /** Recent outflows, oldest first (by transfer time), at most `maxOutflowsPerAddress`. */
  outflows: HeldOutflow[];
  /** Outflows valued just under the structuring threshold: [timestamp, transfer id]. */
  band: [number, string][];
}

/** Memory and activity figures of the exposure state (exported as metrics). */
export interface ExposureStats {
  addresses: number;
  exposures: number;
  outflows: number;
  evictedAddresses: number;
  /** Exposure facts dropped or replaced because an address held `maxSourcesPerAddress` already. */
  cappedExposures: number;
  /** Outflows dropped from an address's buffer because it held `maxOutflowsPerAddress` already. */
  droppedOutflows: number;
  /** Rough estimate of heap bytes held (see README for the per-item constants). */
  approxBytes: number;
}

/** Output of applying one record: flags to publish and records to route to other owners. */
export interface EngineOutput {
  flags: FlagV1[];
  records: RoutedRecord[];
}

/** Dependencies of the engine; getters so reloads take effect on the next record. */
export interface ExposureEngineOptions {
  rules: () => LoadedRules;
  suppressions: () => Suppressions;
  exposurePartitions: number;
  now: () => number;
  /**
   * Allocate the ring of held outflows as soon as indirect exposure is on and write all of its
   * memory once (see {@link ColdOutflows}); default false: its pages are faulted in as it fills.
   */
  reserveMemory?: boolean;
}

// Per-item heap estimates (measured orders of magnitude for V8 objects of these shapes).
const BYTES_PER_ADDRESS = 350;
const BYTES_PER_EXPOSURE = 900;
const BYTES_PER_OUTFLOW = 1_200;
/** A ring slot (typed arrays) and its address index entry, beside the bytes arena (counted apart). */
const BYTES_PER_COLD_OUTFLOW = 130;

/**
 * Stage 2: the per-address state of indirect exposure and structuring. It receives the records
 * of the partitions this instance owns, in partition order, and joins exposures with outflows
 * in whichever order they arrive: an outflow at time t_o of an address exposed since t_e is
 * flagged when t_e ≤ t_o ≤ t_e + window, whether the exposure or the outflow came first. So the
 * flag set does not depend on how records interleave across partitions or instances. Memory is
 * bounded: at most `maxAddresses` addresses (least recently used evicted), and per address at
 * most `maxSourcesPerAddress` exposures and `maxOutflowsPerAddress` outflows.
 *
 * Only addresses with exposure (or in-band outflows for structuring) get per-address state. The
 * outflows of every other address wait in a {@link ColdOutflows} ring (`maxHeldOutflows`) and
 * move into the address's state when a fact for it arrives.
 */
export class ExposureEngine {
  private readonly state = new Map<string, AddressState>();
  private cold: ColdOutflows | null = null;
  private exposureCount = 0;
  private outflowCount = 0;
  private evicted = 0;
  private capped = 0;
  private dropped = 0;

  private partitions: number;

  constructor(private readonly opts: ExposureEngineOptions) {
    this.partitions = opts.exposurePartitions;
  }

  /** Sets the exposure topic's partition count used to route propagated records. */
  setPartitions(n: number): void {
    this.partitions = n;
  }

  /** Applies one record of partition `partition`; returns what to publish. */
  apply(rec: ExposureRecord, partition: number): EngineOutput {
    const out: EngineOutput = { flags: [], records: [] };
    this.applyTo(rec, partition, out);
    return out;
  }

  /** {@link apply}, appending what to publish to `out` (no allocation for a record with none). */
  applyTo(rec: ExposureRecord, partition: number, out: EngineOutput): void {
    if (rec.kind === "exposure") this.onExposure(rec, partition, out);
    else this.onOutflow(rec, partition, out);
  }

  /** Forgets every address of a partition (it moved to another instance). */
  dropPartition(partition: number): void {
    for (const [k, s] of this.state) if (s.partition === partition) this.forget(k, s);
  }

  /** Current size figures. */
  stats(): ExposureStats {
    return {
      addresses: this.state.size,
      exposures: this.exposureCount,
      outflows: this.outflowCount + (this.cold?.size ?? 0),
      evictedAddresses: this.evicted,
      cappedExposures: this.capped,
      droppedOutflows: this.dropped + (this.cold?.dropped ?? 0),
      approxBytes:
        this.state.size * BYTES_PER_ADDRESS +
        this.exposureCount * BYTES_PER_EXPOSURE +
        this.outflowCount * BYTES_PER_OUTFLOW +
        (this.cold ? this.cold.arenaBytes + this.cold.capacity * BYTES_PER_COLD_OUTFLOW : 0),
    };
  }

  private get cfg() {
    return this.opts.rules().config;
  }

  private forget(k: string, s: AddressState): void {
    this.exposureCount -= s.exposures.size;
    this.outflowCount -= s.outflows.length;
    this.state.delete(k);
  }

  /** Returns the state of an address, creating it (and evicting the LRU one) when asked. */
  private touch(
    family: string,
    address: string,
    partition: number,
    create: boolean,
  ): AddressState | undefined {
    const k = addressKey(family, address);
    const s = this.state.get(k);
    if (s) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.state.delete(k);
      this.state.set(k, s);
      return s;
    }
    if (!create) return undefined;
    while (this.state.size >= this.cfg.indirect.maxAddresses) {
      const oldest = this.state.entries().next().value;
      if (!oldest) break;
      this.forget(oldest[0], oldest[1]);
      this.evicted++;
    }
    const fresh: AddressState = { partition, exposures: new Map(), outflows: [], band: [] };
    this.state.set(k, fresh);
    // Outflows held while the address had no state become its held outflows.
    const waiting = this.cold?.take(family, address) ?? [];
    if (waiting.length > 0) {
      const byId = new Map(waiting.map((o) => [o.transfer.id, o]));
      const newest = [...byId.values()]
        .sort((a, b) => a.transfer.timestamp - b.transfer.timestamp)
        .slice(-this.cfg.indirect.maxOutflowsPerAddress);
      this.dropped += waiting.length - newest.length;
      fresh.outflows = newest.map((o) => ({ fact: slim(o) }));
      this.outflowCount += fresh.outflows.length;
      if (this.outflowCount > this.cfg.indirect.maxHeldOutflows) this.trimOutflows();
    }
    return fresh;
  }

  /** With `reserveMemory`: allocates the ring of held outflows now if indirect exposure is on. */
  reserve(): void {
    if (this.opts.reserveMemory && this.cfg.indirect.enabled) this.coldRing();
  }

  /** The ring of outflows of addresses without state (recreated when its bound is changed). */
  private coldRing(): ColdOutflows {
    const cap = this.cfg.indirect.maxHeldOutflows;
    if (this.cold?.capacity !== cap)
      this.cold = new ColdOutflows(cap, undefined, this.opts.reserveMemory ?? false);
    return this.cold;
  }

  private onExposure(e: ExposureFact, partition: number, out: EngineOutput): void {
    const key = exposureRecordKey(e);
    if (e.status === "retracted") {
      const s = this.touch(e.family, e.address, partition, false);
      if (!s?.exposures.delete(key)) return;
      this.exposureCount--;
      for (const o of s.outflows) this.unjoinIfOrphaned(s, e, o, out);
      return;
    }
    const ind = this.cfg.indirect;
    if (!ind.enabled || e.hop > ind.maxHops || e.weight < ind.minWeight) return;
    const s = this.touch(e.family, e.address, partition, true);
    if (!s) return;
    const existing = s.exposures.get(key);
    if (existing) {
      // Redelivered, or the same path improved upstream: keep the better one.
      if (!better(e, existing)) return;
      s.exposures.set(key, e);
      for (const o of s.outflows) this.join(e, o, out);
      return;
    }
    if (s.exposures.size >= ind.maxSourcesPerAddress) {
      this.capped++;
      // Keep the strongest: replace the weakest if the new one is stronger, else drop it.
      let weakestKey: string | null = null;
      let weakest: ExposureFact | null = null;
      for (const [k, x] of s.exposures) {
        if (!weakest || better(weakest, x)) {
          weakest = x;
          weakestKey = k;
        }
      }
      if (!weakest || weakestKey === null || !better(e, weakest)) return;
      s.exposures.delete(weakestKey);
      this.exposureCount--;
    }
    s.exposures.set(key, e);
    this.exposureCount++;
    for (const o of s.outflows) this.join(e, o, out);
  }

  private onOutflow(o: OutflowFact, partition: number, out: EngineOutput): void {
    if (o.transfer.status === "retracted") {
      const s = this.touch(o.family, o.address, partition, false);
      if (!s) {
        this.cold?.remove(o.family, o.address, o.transfer.id);
        return;
      }
      const i = s.outflows.findIndex((h) => h.fact.transfer.id === o.transfer.id);
      if (i < 0) return;
      const [held] = s.outflows.splice(i, 1);
      this.outflowCount--;
      s.band = s.band.filter(([, id]) => id !== o.transfer.id);
      if (!held) return;
      const now = this.opts.now();
      for (const f of held.flags?.values() ?? [])
        out.flags.push({ ...f, status: "retracted", createdAt: now });
      for (const p of held.propagated?.values() ?? [])
        out.records.push(route({ ...p, status: "retracted" }, this.partitions));
      return;
    }
    // No state and nothing to decide now: wait (cheaply) for a fact that may come late.
    if (
      (this.state.size === 0 || !this.state.has(addressKey(o.family, o.address))) &&
      !inStructuringBand(this.cfg, o.valueUsd)
    ) {
      if (this.cfg.indirect.enabled) this.coldRing().add(o.family, o.address, o);
      return;
    }
    const s = this.touch(o.family, o.address, partition, true);
    if (!s) return;
    if (s.outflows.some((h) => h.fact.transfer.id === o.transfer.id)) return; // redelivered
    const held: HeldOutflow = { fact: slim(o) };
    // Insert by transfer time; drop the oldest beyond the cap.
    let i = s.outflows.length;
    while (i > 0 && (s.outflows[i - 1]?.fact.transfer.timestamp ?? 0) > o.transfer.timestamp) i--;
    s.outflows.splice(i, 0, held);
    this.outflowCount++;
    if (s.outflows.length > this.cfg.indirect.maxOutflowsPerAddress) {
      s.outflows.shift();
      this.outflowCount--;
      this.dropped++;
    }
    if (this.outflowCount > this.cfg.indirect.maxHeldOutflows) this.trimOutflows();
    for (const e of s.exposures.values()) this.join(e, held, out);
    this.structuring(s, held, out);
  }

  /**
   * Global bound on held outflows: drops the outflows (not the exposure facts) of the least
   * recently used addresses until 10% below the bound, so trimming is amortised.
   */
  private trimOutflows(): void {
    const target = Math.floor(this.cfg.indirect.maxHeldOutflows * 0.9);
    for (const s of this.state.values()) {
      if (this.outflowCount <= target) break;
      if (s.outflows.length === 0) continue;
      this.outflowCount -= s.outflows.length;
      this.dropped += s.outflows.length;
      s.outflows = [];
    }
  }

  /** Whether exposure `e` applies to outflow `o` (time window, amount, weight, not listed). */
  private applies(e: ExposureFact, o: SlimOutflow): boolean {
    const ind = this.cfg.indirect;
    const t = o.transfer.timestamp;
    return (
      !o.senderListed &&
      o.transfer.to !== null &&
      o.transfer.id !== e.viaTransferId &&
      t >= e.since &&
      t - e.since <= ind.windowMs &&
      e.hop <= ind.maxHops &&
      e.weight >= ind.minWeight &&
      carriesExposure(this.cfg, o.valueUsd)
    );
  }

  private join(e: ExposureFact, held: HeldOutflow, out: EngineOutput): void {
    const o = held.fact;
    if (!this.applies(e, o)) return;
    const sourceKey = addressKey(e.source.family, e.source.address);
    const subject = `indirect:${sourceKey}`;
    // One flag per (outflow, source); a better path re-issues it (same id) and re-propagates.
    const prev = held.best?.get(sourceKey);
    if (prev && !better(e, prev)) return;
    const to = o.transfer.to;
    if (to === null) return;
    if (
      this.opts
        .suppressions()
        .isSuppressed(o.family, "indirect", o.address, [to], o.transfer.timestamp)
    )
      return;
    const now = this.opts.now();
    const flag = buildFlag(this.opts.rules(), {
      transfer: fullTransfer(o),
      rule: "indirect",
      sides: ["from"],
      subject,
      address: o.address,
      family: o.family,
      counterparty: to,
      entries: e.source.entries,
      exposure: "indirect",
      hops: e.hop,
      weight: e.weight,
      path: e.path,
      valueUsd: o.valueUsd,
      incidentParties: [sourceKey, o.address],
      now,
    });
    held.best = put(held.best, sourceKey, e);
    held.flags = put(held.flags, subject, flag);
    out.flags.push(flag);
    const ind = this.cfg.indirect;
    const nextWeight = e.weight * ind.decay;
    if (
      e.hop + 1 > ind.maxHops ||
      o.receiverIsService ||
      o.receiverListed ||
      nextWeight < ind.minWeight
    )
      return;
    if (to === o.address) return;
    const next: ExposureFact = {
      type: "exposure.v1",
      kind: "exposure",
      family: o.family,
      address: to,
      hop: e.hop + 1,
      weight: nextWeight,
      source: e.source,
      path: [
        ...e.path,
        {
          address: to,
          hop: e.hop + 1,
          viaTransferId: o.transfer.id,
          amount: o.transfer.amount,
          timestamp: o.transfer.timestamp,
        },
      ],
      viaTransferId: o.transfer.id,
      since: o.transfer.timestamp,
      status: "active",
    };
    held.propagated = put(held.propagated, sourceKey, next);
    out.records.push(route(next, this.partitions));
  }

  /**
   * After exposure `gone` was retracted: if it was what flagged `held`, withdraw the flag and what
   * it propagated, then re-derive from the best remaining fact of the same source (if any).
   */
  private unjoinIfOrphaned(
    s: AddressState,
    gone: ExposureFact,
    held: HeldOutflow,
    out: EngineOutput,
  ): void {
    const sourceKey = addressKey(gone.source.family, gone.source.address);
    const best = held.best?.get(sourceKey);
    if (!best || exposureRecordKey(best) !== exposureRecordKey(gone)) return;
    const subject = `indirect:${sourceKey}`;
    held.best?.delete(sourceKey);
    const flag = held.flags?.get(subject);
    if (flag) {
      held.flags?.delete(subject);
      out.flags.push({ ...flag, status: "retracted", createdAt: this.opts.now() });
    }
    const p = held.propagated?.get(sourceKey);
    if (p) {
      held.propagated?.delete(sourceKey);
      out.records.push(route({ ...p, status: "retracted" }, this.partitions));
    }
    for (const e of s.exposures.values()) {
      if (addressKey(e.source.family, e.source.address) === sourceKey) this.join(e, held, out);
    }
  }

  /**
   * Structuring: repeated just-under-threshold outflows of one address within the window. An
   * in-band outflow is flagged when at least `minCount` in-band outflows of its sender (itself
   * included) lie in the window ending at it, ordered by (time, transfer id). Outflows may arrive
   * in any order, so a new one is checked for itself and for the held ones after it in the window.
   */
  private structuring(s: AddressState, held: HeldOutflow, out: EngineOutput): void {
    const st = this.cfg.structuring;
    const o = held.fact;
    if (!inStructuringBand(this.cfg, o.valueUsd)) return;
    const t = o.transfer.timestamp;
    s.band.push([t, o.transfer.id]);
    s.band.sort(byTimeThenId);
    // Forget band entries that can no longer fall in the window of a held outflow (late
    // arrivals included: a window ends at most one window after the newest transfer's start).
    const newest = s.band[s.band.length - 1]?.[0] ?? t;
    s.band = s.band.filter(([bt]) => bt >= newest - 2 * st.windowMs).slice(-1_000);
    for (const h of s.outflows) {
      const f = h.fact;
      const ht = f.transfer.timestamp;
      if (ht < t || ht > t + st.windowMs || h.flags?.has("structuring")) continue;
      if (!inStructuringBand(this.cfg, f.valueUsd)) continue;
      const end: [number, string] = [ht, f.transfer.id];
      const inWindow = s.band.filter((b) => b[0] >= ht - st.windowMs && byTimeThenId(b, end) <= 0);
      if (inWindow.length < st.minCount) continue;
      this.structuringFlag(h, inWindow, out);
    }
  }

  private structuringFlag(held: HeldOutflow, inWindow: [number, string][], out: EngineOutput) {
    const o = held.fact;
    const to = o.transfer.to;
    const t = o.transfer.timestamp;
    if (this.opts.suppressions().isSuppressed(o.family, "structuring", o.address, [to], t)) return;
    const flag = buildFlag(this.opts.rules(), {
      transfer: fullTransfer(o),
      rule: "structuring",
      sides: ["from"],
      subject: `structuring:${o.family}:${o.address}`,
      address: o.address,
      family: o.family,
      counterparty: to,
      entries: [],
      exposure: null,
      hops: null,
      weight: null,
      path: [],
      valueUsd: o.valueUsd,
      evidence: inWindow.map(([, id]) => id),
      incidentParties: [o.address],
      now: this.opts.now(),
    });
    held.flags = put(held.flags, "structuring", flag);
    out.flags.push(flag);
  }
}
