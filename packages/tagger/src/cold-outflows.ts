import type { OutflowFact } from "./exposure-record.js";

/**
 * Outflows of addresses that have no exposure (yet): almost every outflow. They are kept only in
 * case an exposure fact for their sender arrives late (out of order), so they live in one
 * bounded ring, newest overwriting oldest, instead of per-address state: adding one is a slot
 * write and one Map update, with no per-address objects, no LRU bookkeeping and no copy of the
 * transfer. The outflows of one address are chained newest → oldest through sequence numbers; a
 * link whose slot was overwritten (its sequence number changed) ends the chain.
 */
export class ColdOutflows {
  private readonly facts: (OutflowFact | null)[];
  /** Sequence number of the outflow in each slot (-1 = never used). */
  private readonly seqOf: Float64Array;
  /** Sequence number of the previous outflow of the same address, or -1. */
  private readonly prevOf: Float64Array;
  /** Family → address → sequence number of its newest outflow (no key strings to build). */
  private readonly heads = new Map<string, Map<string, number>>();
  private headCount = 0;
  private next = 0;
  private liveCount = 0;
  /** Outflows overwritten while still held (the ring was full). */
  dropped = 0;

  constructor(readonly capacity: number) {
    this.facts = new Array(capacity).fill(null);
    this.seqOf = new Float64Array(capacity).fill(-1);
    this.prevOf = new Float64Array(capacity).fill(-1);
  }

  /** Outflows held. */
  get size(): number {
    return this.liveCount;
  }

  private headsOf(family: string): Map<string, number> {
    let m = this.heads.get(family);
    if (!m) {
      m = new Map();
      this.heads.set(family, m);
    }
    return m;
  }

  /** Holds an outflow of (family, address). */
  add(family: string, address: string, fact: OutflowFact): void {
    const head = this.headsOf(family);
    const seq = this.next++;
    const slot = seq % this.capacity;
    if (this.facts[slot] !== null) {
      this.dropped++;
      this.liveCount--;
    }
    this.facts[slot] = fact;
    this.seqOf[slot] = seq;
    const prev = head.get(address);
    if (prev === undefined) this.headCount++;
    this.prevOf[slot] = prev ?? -1;
    head.set(address, seq);
    this.liveCount++;
    // Addresses whose outflows were all overwritten are swept now and then (bounded Maps).
    if (this.headCount > 2 * this.capacity) this.sweep();
  }

  /** Removes and returns the outflows held for (family, address), newest first. */
  take(family: string, address: string): OutflowFact[] {
    const out: OutflowFact[] = [];
    const head = this.heads.get(family);
    const first = head?.get(address);
    if (!head || first === undefined) return out;
    head.delete(address);
    this.headCount--;
    for (let seq = first; this.live(seq); ) {
      const slot = seq % this.capacity;
      const f = this.facts[slot];
      if (f) {
        out.push(f);
        this.facts[slot] = null;
        this.liveCount--;
      }
      seq = this.prevOf[slot] as number;
    }
    return out;
  }

  /** Forgets the held outflow of (family, address) in transfer `transferId`; true if one was held. */
  remove(family: string, address: string, transferId: string): boolean {
    let found = false;
    for (let seq = this.heads.get(family)?.get(address) ?? -1; this.live(seq); ) {
      const slot = seq % this.capacity;
      const f = this.facts[slot];
      if (f && f.transfer.id === transferId) {
        this.facts[slot] = null;
        this.liveCount--;
        found = true;
      }
      seq = this.prevOf[slot] as number;
    }
    return found;
  }

  /** Whether `seq` still names the outflow in its slot. */
  private live(seq: number): boolean {
    return seq >= 0 && seq >= this.next - this.capacity && this.seqOf[seq % this.capacity] === seq;
  }

  private sweep(): void {
    for (const head of this.heads.values())
      for (const [a, seq] of head)
        if (!this.live(seq)) {
          head.delete(a);
          this.headCount--;
        }
  }
}
