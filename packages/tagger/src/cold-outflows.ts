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
 * a copy of those bytes in one arena (itself a ring) plus its numbers and flags in typed arrays:
 * no object at all per outflow instead of the graph of the parsed transfer (a dozen objects and
 * strings), which the garbage collector would otherwise copy out of the young generation and
 * trace in the old one for every held outflow; and a fixed amount of memory (holding the
 * received bytes themselves would keep whole fetched responses alive, for as long as the
 * collector takes to notice). It is decoded again (parsed and validated as on receipt) only when
 * taken or removed.
 */
export class ColdOutflows {
  /** Outflows held as objects (those that came without bytes). */
  private readonly facts: (OutflowFact | null)[];
  /**
   * Message bytes of the outflows held as bytes, copied into one arena used as a ring: a fixed
   * allocation, and no object per outflow. `start`/`len` locate each slot's bytes (len 0: none).
   */
  private readonly arena: Buffer;
  private readonly start: Float64Array;
  private readonly len: Uint32Array;
  private writePos = 0;
  /** Oldest sequence number whose bytes may still be in the arena. */
  private tailSeq = 0;
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
  /** Bytes of the messages held in the arena. */
  heldBytes = 0;

  /**
   * `capacity` outflows at most, and `arenaBytes` of message bytes at most (default 1 KiB per
   * outflow; transfer.v1 messages are ~0.6 KB): the older outflows give way to the newer ones
   * when either runs out.
   */
  constructor(
    readonly capacity: number,
    readonly arenaBytes = capacity * 1024,
  ) {
    this.facts = new Array(capacity).fill(null);
    this.arena = Buffer.allocUnsafe(arenaBytes);
    this.start = new Float64Array(capacity);
    this.len = new Uint32Array(capacity);
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
    return this.facts[slot] !== null || this.len[slot] !== 0;
  }

  private clear(slot: number): void {
    this.heldBytes -= this.len[slot] as number;
    this.facts[slot] = null;
    this.len[slot] = 0;
    this.liveCount--;
  }

  /** Gives up the outflow of `seq` if it is still held (the ring ran out of room). */
  private dropSeq(seq: number): void {
    if (!this.live(seq)) return;
    const slot = seq % this.capacity;
    if (!this.held(slot)) return;
    this.dropped++;
    this.clear(slot);
  }

  /**
   * Room for `n` bytes at the arena's write position, wrapping to its start when the end is too
   * close; the oldest outflows whose bytes are in the way are given up. Returns the position.
   *
   * Bytes are written in sequence order, so after the write position lie the oldest bytes still
   * in the arena (from `tailSeq` on); slots without bytes (start −1) are passed over.
   */
  private reserve(n: number, seq: number): number {
    // Bytes of outflows whose slots are being reused are no longer reachable.
    if (this.tailSeq < seq - this.capacity + 1) this.tailSeq = seq - this.capacity + 1;
    if (this.writePos + n > this.arenaBytes) {
      // Wrap: what lies between here and the end is older than anything at the start.
      for (; this.tailSeq < seq; this.tailSeq++) {
        const at = this.start[this.tailSeq % this.capacity] as number;
        if (at < 0) continue;
        if (at < this.writePos) break;
        this.dropSeq(this.tailSeq);
      }
      this.writePos = 0;
    }
    const end = this.writePos + n;
    for (; this.tailSeq < seq; this.tailSeq++) {
      const at = this.start[this.tailSeq % this.capacity] as number;
      if (at < 0) continue;
      if (at >= end || at < this.writePos) break;
      this.dropSeq(this.tailSeq);
    }
    const at = this.writePos;
    this.writePos = end;
    return at;
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
    if (b && b.length > 0 && b.length <= this.arenaBytes) {
      const at = this.reserve(b.length, seq);
      b.copy(this.arena, at);
      this.start[slot] = at;
      this.len[slot] = b.length;
      this.facts[slot] = null;
      this.heldBytes += b.length;
      this.usd[slot] = fact.valueUsd ?? Number.NaN;
      this.bits[slot] =
        (fact.senderListed ? SENDER_LISTED : 0) |
        (fact.receiverIsService ? RECEIVER_SERVICE : 0) |
        (fact.receiverListed ? RECEIVER_LISTED : 0);
      this.idHash[slot] = hash32(fact.transfer.id);
    } else {
      this.facts[slot] = fact;
      this.start[slot] = -1;
    }
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
    const at = this.start[slot] as number;
    const text = this.arena.toString("utf8", at, at + (this.len[slot] as number));
    const t = TransferV1.parse(JSON.parse(text));
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
        : this.len[slot] !== 0 &&
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
