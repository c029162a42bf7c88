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
  /** Address key → sequence number of its newest outflow. */
  private readonly head = new Map<string, number>();
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

  /** Holds an outflow of the address `key`. */
  add(key: string, fact: OutflowFact): void {
    const seq = this.next++;
    const slot = seq % this.capacity;
    if (this.facts[slot] !== null) {
      this.dropped++;
      this.liveCount--;
    }
    this.facts[slot] = fact;
    this.seqOf[slot] = seq;
    this.prevOf[slot] = this.head.get(key) ?? -1;
    this.head.set(key, seq);
    this.liveCount++;
    // Keys whose outflows were all overwritten are swept now and then (bounded Map).
    if (this.head.size > 2 * this.capacity) this.sweep();
  }

  /** Removes and returns the outflows held for `key`, newest first. */
  take(key: string): OutflowFact[] {
    const out: OutflowFact[] = [];
    for (let seq = this.head.get(key) ?? -1; this.live(seq); ) {
      const slot = seq % this.capacity;
      const f = this.facts[slot];
      if (f) {
        out.push(f);
        this.facts[slot] = null;
        this.liveCount--;
      }
      seq = this.prevOf[slot] as number;
    }
    this.head.delete(key);
    return out;
  }

  /** Forgets the held outflow of `key` in transfer `transferId`; true if one was held. */
  remove(key: string, transferId: string): boolean {
    let found = false;
    for (let seq = this.head.get(key) ?? -1; this.live(seq); ) {
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
    for (const [k, seq] of this.head) if (!this.live(seq)) this.head.delete(k);
  }
}
