import { TransferV1 } from "@chainscreen/schema";
import { type OutflowFact, type OutflowWithBytes, transferBytes } from "./exposure-record.js";
import { flagTransfer } from "./flags.js";

const SENDER_LISTED = 1;
const RECEIVER_SERVICE = 2;
const RECEIVER_LISTED = 4;

/** FNV-1a over a string (transfer ids): a cheap filter before a held outflow is decoded. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/**
 * Outflows of addresses that have no exposure (yet): almost every outflow. They are kept only in
 * case an exposure fact for their sender arrives late (out of order), so they live in one
 * bounded ring, newest overwriting oldest, instead of per-address state: adding one is a slot
 * write and one Map update, with no per-address objects, no LRU bookkeeping and no copy of the
 * transfer. The outflows of one address are chained newest → oldest through sequence numbers; a
 * link whose slot was overwritten (its sequence number changed) ends the chain.
 *
 * An outflow that arrives with its transfer.v1 message bytes ({@link transferBytes}) is held as
 * those bytes plus its numbers and flags in typed arrays: one small object per outflow instead of
 * the graph of the parsed transfer (a dozen objects and strings), which the garbage collector
 * would otherwise copy out of the young generation and trace in the old one for every held
 * outflow. It is decoded again (parsed and validated as on receipt) only when taken or removed.
 */
export class ColdOutflows {
  /** Outflows held as objects (those that came without bytes). */
  private readonly facts: (OutflowFact | null)[];
  /** Outflows held as their transfer's message bytes. */
  private readonly bytes: (Buffer | null)[];
  private readonly usd: Float64Array;
  private readonly bits: Uint8Array;
  private readonly idHash: Int32Array;
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
  /** Bytes of the messages held (what they keep alive is at least this). */
  heldBytes = 0;

  constructor(readonly capacity: number) {
    this.facts = new Array(capacity).fill(null);
    this.bytes = new Array(capacity).fill(null);
    this.usd = new Float64Array(capacity);
    this.bits = new Uint8Array(capacity);
    this.idHash = new Int32Array(capacity);
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

  private held(slot: number): boolean {
    return this.facts[slot] !== null || this.bytes[slot] !== null;
  }

  private clear(slot: number): void {
    const b = this.bytes[slot];
    if (b) this.heldBytes -= b.length;
    this.facts[slot] = null;
    this.bytes[slot] = null;
    this.liveCount--;
  }

  /** Holds an outflow of (family, address). */
  add(family: string, address: string, fact: OutflowWithBytes): void {
    const head = this.headsOf(family);
    const seq = this.next++;
    const slot = seq % this.capacity;
    if (this.held(slot)) {
      this.dropped++;
      this.clear(slot);
    }
    const b = fact[transferBytes];
    if (b) {
      this.bytes[slot] = b;
      this.heldBytes += b.length;
      this.usd[slot] = fact.valueUsd ?? Number.NaN;
      this.bits[slot] =
        (fact.senderListed ? SENDER_LISTED : 0) |
        (fact.receiverIsService ? RECEIVER_SERVICE : 0) |
        (fact.receiverListed ? RECEIVER_LISTED : 0);
      this.idHash[slot] = hash32(fact.transfer.id);
    } else this.facts[slot] = fact;
    this.seqOf[slot] = seq;
    const prev = head.get(address);
    if (prev === undefined) this.headCount++;
    this.prevOf[slot] = prev ?? -1;
    head.set(address, seq);
    this.liveCount++;
    // Addresses whose outflows were all overwritten are swept now and then (bounded Maps).
    if (this.headCount > 2 * this.capacity) this.sweep();
  }

  /** The outflow in a held slot, decoded when it is held as bytes. */
  private factAt(slot: number, family: string, address: string): OutflowFact {
    const f = this.facts[slot];
    if (f) return f;
    const t = TransferV1.parse(JSON.parse((this.bytes[slot] as Buffer).toString("utf8")));
    const usd = this.usd[slot] as number;
    const bits = this.bits[slot] as number;
    return {
      type: "exposure.v1",
      kind: "outflow",
      family,
      address,
      transfer: flagTransfer(t),
      valueUsd: Number.isNaN(usd) ? null : usd,
      senderListed: (bits & SENDER_LISTED) !== 0,
      receiverIsService: (bits & RECEIVER_SERVICE) !== 0,
      receiverListed: (bits & RECEIVER_LISTED) !== 0,
    };
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
      if (this.held(slot)) {
        out.push(this.factAt(slot, family, address));
        this.clear(slot);
      }
      seq = this.prevOf[slot] as number;
    }
    return out;
  }

  /** Forgets the held outflow of (family, address) in transfer `transferId`; true if one was held. */
  remove(family: string, address: string, transferId: string): boolean {
    let found = false;
    const h = hash32(transferId);
    for (let seq = this.heads.get(family)?.get(address) ?? -1; this.live(seq); ) {
      const slot = seq % this.capacity;
      const f = this.facts[slot];
      const match = f
        ? f.transfer.id === transferId
        : this.bytes[slot] !== null &&
          this.idHash[slot] === h &&
          this.factAt(slot, family, address).transfer.id === transferId;
      if (match) {
        this.clear(slot);
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
