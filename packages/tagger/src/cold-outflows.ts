import { senders, TransferV1 } from "@chainscreen/schema";
import { familyOf, lookupAddress } from "./entries.js";
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

/** 32-bit finaliser of MurmurHash3: spreads every input bit over the output. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * Address → sequence number of its newest held outflow, for up to millions of addresses without
 * an object per address: an open-addressing table of typed arrays keyed by a 64-bit hash of
 * (family, address). A Map with the address strings as keys held one string and one entry per
 * address in the old generation, which every full collection traced: with a million active
 * addresses the tagger bench ran 10–15 % slower than with no index at all. Two different
 * addresses with the same 64-bit hash (odds ~10⁻⁸ for a million addresses) share a chain;
 * {@link ColdOutflows.take} and {@link ColdOutflows.remove} check each outflow's address.
 */
class AddressHeads {
  private hi: Int32Array;
  private lo: Int32Array;
  /** Sequence number, EMPTY or DELETED. */
  private seq: Float64Array;
  private mask: number;
  /** Live entries. */
  count = 0;
  /** Live entries and tombstones (what probing walks through). */
  private used = 0;
  /** Hash of the last key given to {@link hash}. */
  h1 = 0;
  h2 = 0;

  private static readonly EMPTY = -1;
  private static readonly DELETED = -2;

  constructor(expected: number) {
    const size = AddressHeads.sizeFor(expected);
    this.hi = new Int32Array(size);
    this.lo = new Int32Array(size);
    this.seq = new Float64Array(size).fill(AddressHeads.EMPTY);
    this.mask = size - 1;
  }

  private static sizeFor(n: number): number {
    let size = 16;
    while (size < n * 2) size *= 2;
    return size;
  }

  /** Hashes (family, address) into h1/h2 (two independent 32-bit hashes; no string built). */
  hash(family: string, address: string): void {
    let a = 0x811c9dc5;
    let b = 0x9747b28c;
    for (let i = 0; i < family.length; i++) {
      const c = family.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
    }
    a = Math.imul(a ^ 0x3a, 0x01000193); // a separator: ("ab","c") ≠ ("a","bc")
    b = Math.imul(b ^ 0x3a, 0x5bd1e995);
    for (let i = 0; i < address.length; i++) {
      const c = address.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    this.h1 = fmix32(a ^ address.length);
    this.h2 = fmix32(b);
  }

  /** Slot of the hashed key, or -1. */
  private find(): number {
    const { h1, h2, mask } = this;
    for (let i = h1 & mask; ; i = (i + 1) & mask) {
      const v = this.seq[i] as number;
      if (v === AddressHeads.EMPTY) return -1;
      if (v !== AddressHeads.DELETED && this.hi[i] === h1 && this.lo[i] === h2) return i;
    }
  }

  /** Newest sequence number of the hashed key, or -1. */
  get(): number {
    const i = this.find();
    return i < 0 ? -1 : (this.seq[i] as number);
  }

  /** Sets the hashed key's newest sequence number; returns the previous one, or -1. */
  set(seq: number): number {
    const found = this.find();
    if (found >= 0) {
      const prev = this.seq[found] as number;
      this.seq[found] = seq;
      return prev;
    }
    if ((this.used + 1) * 2 > this.seq.length) this.rebuild(this.count + 1);
    const { h1, h2, mask } = this;
    let i = h1 & mask;
    while ((this.seq[i] as number) >= 0) i = (i + 1) & mask;
    if (this.seq[i] === AddressHeads.EMPTY) this.used++;
    this.hi[i] = h1;
    this.lo[i] = h2;
    this.seq[i] = seq;
    this.count++;
    return -1;
  }

  /** Removes the hashed key. */
  delete(): void {
    const i = this.find();
    if (i < 0) return;
    this.seq[i] = AddressHeads.DELETED;
    this.count--;
  }

  /** Removes every entry whose sequence number fails `keep`, then drops the tombstones. */
  retain(keep: (seq: number) => boolean): void {
    for (let i = 0; i < this.seq.length; i++) {
      const v = this.seq[i] as number;
      if (v >= 0 && !keep(v)) {
        this.seq[i] = AddressHeads.DELETED;
        this.count--;
      }
    }
    this.rebuild(this.count);
  }

  /** Re-inserts the live entries into a table sized for `n` (no tombstones left). */
  private rebuild(n: number): void {
    const { hi, lo, seq } = this;
    const size = Math.max(AddressHeads.sizeFor(n), seq.length);
    this.hi = new Int32Array(size);
    this.lo = new Int32Array(size);
    this.seq = new Float64Array(size).fill(AddressHeads.EMPTY);
    this.mask = size - 1;
    this.used = 0;
    for (let j = 0; j < seq.length; j++) {
      const v = seq[j] as number;
      if (v < 0) continue;
      let i = (hi[j] as number) & this.mask;
      while ((this.seq[i] as number) !== AddressHeads.EMPTY) i = (i + 1) & this.mask;
      this.hi[i] = hi[j] as number;
      this.lo[i] = lo[j] as number;
      this.seq[i] = v;
      this.used++;
    }
  }
}

/**
 * Outflows of addresses that have no exposure (yet): almost every outflow. They are kept only in
 * case an exposure fact for their sender arrives late (out of order), so they live in one
 * bounded ring, newest overwriting oldest, instead of per-address state: adding one is a slot
 * write and one update of a typed-array index ({@link AddressHeads}), with no per-address
 * objects and no LRU bookkeeping. The outflows of one address are chained newest → oldest
 * through sequence numbers; a link whose slot was overwritten (its sequence number changed) ends
 * the chain.
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
  /** Outflows held as objects (those that came without bytes), and the address each is held for. */
  private readonly facts: (OutflowFact | null)[];
  private readonly factAddress: (string | null)[];
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
  /** (family, address) → sequence number of its newest outflow. */
  private readonly heads: AddressHeads;
  private next = 0;
  private liveCount = 0;
  /** Outflows overwritten while still held (the ring was full). */
  dropped = 0;
  /** Bytes of the messages held in the arena. */
  heldBytes = 0;

  /**
   * `capacity` outflows at most, and `arenaBytes` of message bytes at most (default 1 KiB per
   * outflow; transfer.v1 messages are ~0.6 KB): the older outflows give way to the newer ones
   * when either runs out. `resident`: every page of the ring is written once here, so the first
   * pass through it does not take a page fault every few outflows.
   */
  constructor(
    readonly capacity: number,
    readonly arenaBytes = capacity * 1024,
    resident = false,
  ) {
    this.facts = new Array(capacity).fill(null);
    this.factAddress = new Array(capacity).fill(null);
    this.heads = new AddressHeads(Math.min(capacity, 1 << 20));
    this.arena = Buffer.allocUnsafe(arenaBytes);
    this.start = new Float64Array(capacity);
    this.len = new Uint32Array(capacity);
    this.usd = new Float64Array(capacity);
    this.bits = new Uint8Array(capacity);
    this.idHash = new Int32Array(capacity);
    this.seqOf = new Float64Array(capacity).fill(-1);
    this.prevOf = new Float64Array(capacity).fill(-1);
    if (resident) {
      // Zeroed typed arrays are mapped lazily: writing them is what makes them resident.
      for (const a of [this.arena, this.start, this.len, this.usd, this.bits, this.idHash])
        a.fill(0);
    }
  }

  /** Outflows held. */
  get size(): number {
    return this.liveCount;
  }

  /** Addresses with outflows in the index (some may have been overwritten since). */
  get headCount(): number {
    return this.heads.count;
  }

  private held(slot: number): boolean {
    return this.facts[slot] !== null || this.len[slot] !== 0;
  }

  private clear(slot: number): void {
    this.heldBytes -= this.len[slot] as number;
    this.facts[slot] = null;
    this.factAddress[slot] = null;
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
      this.factAddress[slot] = null;
      this.heldBytes += b.length;
      this.usd[slot] = fact.valueUsd ?? Number.NaN;
      this.bits[slot] =
        (fact.senderListed ? SENDER_LISTED : 0) |
        (fact.receiverIsService ? RECEIVER_SERVICE : 0) |
        (fact.receiverListed ? RECEIVER_LISTED : 0);
      this.idHash[slot] = hash32(fact.transfer.id);
    } else {
      this.facts[slot] = fact;
      this.factAddress[slot] = address;
      this.start[slot] = -1;
    }
    this.seqOf[slot] = seq;
    this.heads.hash(family, address);
    this.prevOf[slot] = this.heads.set(seq);
    this.liveCount++;
    // Addresses whose outflows were all overwritten are swept now and then (bounded index).
    if (this.heads.count > 2 * this.capacity) this.sweep();
  }

  /** Decodes the transfer held as bytes in `slot`. */
  private transferAt(slot: number): TransferV1 {
    const at = this.start[slot] as number;
    const text = this.arena.toString("utf8", at, at + (this.len[slot] as number));
    return TransferV1.parse(JSON.parse(text));
  }

  /**
   * Whether the outflow in a held slot is one of (family, address)'s: addresses whose hashes
   * collide share a chain, so every outflow found through the index is checked. `t` is the
   * slot's decoded transfer, null when the slot holds an object.
   */
  private heldFor(slot: number, family: string, address: string, t: TransferV1 | null): boolean {
    const f = this.facts[slot];
    if (f) return f.family === family && this.factAddress[slot] === address;
    if (!t || familyOf(t.chain) !== family) return false;
    for (const a of senders(t)) if (lookupAddress(family, a) === address) return true;
    return false;
  }

  /** The outflow in a held slot; `t` is its decoded transfer, null when it holds an object. */
  private factAt(slot: number, family: string, address: string, t: TransferV1 | null): OutflowFact {
    const f = this.facts[slot];
    if (f) return f;
    if (!t) throw new Error(`held outflow ${slot} has neither an object nor decoded bytes`);
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
    this.heads.hash(family, address);
    const first = this.heads.get();
    if (first < 0) return out;
    this.heads.delete();
    /** Outflows of another address with the same hash, met on the way: they stay held. */
    let others: number[] | null = null;
    for (let seq = first; this.live(seq); ) {
      const slot = seq % this.capacity;
      if (this.held(slot)) {
        const t = this.facts[slot] ? null : this.transferAt(slot);
        if (this.heldFor(slot, family, address, t)) {
          out.push(this.factAt(slot, family, address, t));
          this.clear(slot);
        } else {
          others ??= [];
          others.push(seq);
        }
      }
      seq = this.prevOf[slot] as number;
    }
    if (others) {
      // Chain them again (newest first) under the shared hash (still the one hashed above).
      for (let i = 0; i < others.length; i++)
        this.prevOf[(others[i] as number) % this.capacity] = others[i + 1] ?? -1;
      this.heads.set(others[0] as number);
    }
    return out;
  }

  /** Forgets the held outflow of (family, address) in transfer `transferId`; true if one was held. */
  remove(family: string, address: string, transferId: string): boolean {
    let found = false;
    const h = hash32(transferId);
    this.heads.hash(family, address);
    for (let seq = this.heads.get(); this.live(seq); ) {
      const slot = seq % this.capacity;
      const f = this.facts[slot];
      let match = false;
      if (f) match = f.transfer.id === transferId && this.factAddress[slot] === address;
      else if (this.len[slot] !== 0 && this.idHash[slot] === h) {
        const t = this.transferAt(slot);
        match = t.id === transferId && this.heldFor(slot, family, address, t);
      }
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
    this.heads.retain((seq) => this.live(seq));
  }
}
