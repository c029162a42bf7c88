import { FAMILIES, type Family } from "@chainscreen/addresses";
import type { WatchlistRecord } from "@chainscreen/schema";
import type { KeyHistory } from "./version.js";

// Layout (everything in typed arrays, no per-entry JS objects), chosen so a lookup touches about
// two cache lines at 10M entries (random access, so each array read is a likely cache miss):
// - slots: open addressing with linear probing, power of two, load factor ≤ 0.75; each slot is two
//   Uint32 — the 32-bit hash of the key and (arena offset + 1), 0 = empty. A probe compares the
//   hash in the slot itself and only then reads the arena.
// - arena: one record per distinct (family, address) key, contiguous:
//     [key length u8][flags u8][key index u32 LE][key bytes…]
//   key bytes = [family id] + payload: the 20 raw bytes for EVM (so any hex case matches) or the
//   ASCII of the canonical address for other families. flags bit 0 = has an open interval (so
//   `isListed` needs no further read).
// - intervals: one per listing interval of a key on a list: meta index (list, version, records,
//   interned and shared by many keys), from/until as Float64 ms (±Infinity for open ends), and
//   `next` chaining the intervals of one key from `head[key index]`.

const FAMILY_ID = new Map<string, number>(FAMILIES.map((f, i) => [f, i + 1]));
const EVM_ID = FAMILY_ID.get("evm") as number;
const MAX_KEY = 130;
const EMPTY = -1;
/** Arena record header: key length, flags, key index (u32 LE). */
const HEADER = 6;
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[97 + i] = 10 + i;
  HEX[65 + i] = 10 + i;
}

/** List-level facts shared by every interval of one list version. */
export interface MatchMeta {
  listId: string;
  listVersion: number;
  records: WatchlistRecord[];
}

/** One match: the list, its records and the listing interval. */
export interface Match extends MatchMeta {
  family: Family;
  address: string;
  /** ms; null = listed since before anything known. */
  listedFrom: number | null;
  /** ms; null while listed. */
  listedUntil: number | null;
}

/** A list as the matcher loads it: its key histories (active and delisted keys). */
export interface MatcherListInput {
  listId: string;
  listVersion: number;
  keys: Record<string, KeyHistory>;
}

/** In-memory index (family, canonical address) → listings, for screening at high rates. */
export class Matcher {
  private arena = new Uint8Array(1 << 16);
  private arenaUsed = 0;
  private head = new Int32Array(1024);
  private nKeys = 0;
  private slots = new Uint32Array(2 * 2048);
  private mask = 2047;
  private ivMeta = new Uint32Array(1024);
  private ivFrom = new Float64Array(1024);
  private ivUntil = new Float64Array(1024);
  private ivNext = new Int32Array(1024);
  private nIv = 0;
  private readonly metas: MatchMeta[] = [];
  private readonly metaIndex = new Map<string, number>();
  private readonly metaById = new WeakMap<MatchMeta, number>();
  private readonly scratch = new Uint8Array(MAX_KEY + 1);
  /** Hash of the key last written to `scratch` by `encode`. */
  private hash = 0;

  /** Builds a matcher from list histories (see `ListState.keys`). */
  static fromLists(lists: MatcherListInput[]): Matcher {
    const m = new Matcher();
    for (const l of lists) {
      for (const [key, h] of Object.entries(l.keys)) {
        const i = key.indexOf(":");
        const family = key.slice(0, i) as Family;
        const address = key.slice(i + 1);
        const meta = { listId: l.listId, listVersion: l.listVersion, records: h.records };
        for (const iv of h.intervals) m.add(family, address, meta, iv.from, iv.until);
      }
    }
    return m.compact();
  }

  /**
   * Trims every array to what is used (growth doubles capacity, so up to half can be slack).
   * Call after a bulk load; later additions grow the arrays again.
   */
  compact(): this {
    this.arena = this.arena.slice(0, Math.max(1, this.arenaUsed));
    this.head = this.head.slice(0, Math.max(1, this.nKeys));
    const n = Math.max(1, this.nIv);
    this.ivMeta = this.ivMeta.slice(0, n);
    this.ivFrom = this.ivFrom.slice(0, n);
    this.ivUntil = this.ivUntil.slice(0, n);
    this.ivNext = this.ivNext.slice(0, n);
    return this;
  }

  /** Distinct (family, address) keys. */
  get keyCount(): number {
    return this.nKeys;
  }

  /** Listing intervals held. */
  get intervalCount(): number {
    return this.nIv;
  }

  /** Bytes held by the typed arrays (capacity, not just what is used). */
  byteSize(): number {
    return (
      this.arena.byteLength +
      this.head.byteLength +
      this.slots.byteLength +
      this.ivMeta.byteLength +
      this.ivFrom.byteLength +
      this.ivUntil.byteLength +
      this.ivNext.byteLength
    );
  }

  /**
   * Adds a listing interval. `meta` objects are interned by (list, version, records); passing the
   * same object for the addresses of one entity is cheapest.
   */
  add(
    family: Family,
    address: string,
    meta: MatchMeta,
    from: number | null,
    until: number | null,
  ): void {
    const len = this.encode(family, address);
    if (len < 0) throw new Error(`cannot index ${family} address of ${address.length} characters`);
    const h = this.hash;
    let off = this.find(h, len);
    if (off < 0) off = this.insertKey(h, len);
    const k = this.keyAt(off);
    const mi = this.internMeta(meta);
    if (this.nIv === this.ivMeta.length) this.growIntervals();
    const iv = this.nIv++;
    this.ivMeta[iv] = mi;
    this.ivFrom[iv] = from ?? Number.NEGATIVE_INFINITY;
    this.ivUntil[iv] = until ?? Number.POSITIVE_INFINITY;
    this.ivNext[iv] = this.head[k] as number;
    this.head[k] = iv;
    if (until === null) this.arena[off + 1] = (this.arena[off + 1] as number) | 1;
  }

  /**
   * Sets the listing of (list, family, address): replaces that list's interval starting at the
   * same `from` (or its open one), else adds one. For consumers of `watchlist.v1`, where a key
   * is re-sent when its records change or it is delisted.
   */
  set(
    listId: string,
    family: Family,
    address: string,
    meta: MatchMeta,
    from: number | null,
    until: number | null,
  ): void {
    const off = this.offsetOf(family, address);
    if (off >= 0) {
      const f = from ?? Number.NEGATIVE_INFINITY;
      let target = EMPTY;
      for (
        let iv = this.head[this.keyAt(off)] as number;
        iv !== EMPTY;
        iv = this.ivNext[iv] as number
      ) {
        if (this.metas[this.ivMeta[iv] as number]?.listId !== listId) continue;
        if (
          this.ivFrom[iv] === f ||
          (target === EMPTY && this.ivUntil[iv] === Number.POSITIVE_INFINITY)
        ) {
          target = iv;
        }
      }
      if (target !== EMPTY) {
        this.ivMeta[target] = this.internMeta(meta);
        this.ivFrom[target] = f;
        this.ivUntil[target] = until ?? Number.POSITIVE_INFINITY;
        this.refreshOpenFlag(off);
        return;
      }
    }
    this.add(family, address, meta, from, until);
  }

  private refreshOpenFlag(off: number): void {
    let open = false;
    for (
      let iv = this.head[this.keyAt(off)] as number;
      iv !== EMPTY;
      iv = this.ivNext[iv] as number
    ) {
      if (this.ivUntil[iv] === Number.POSITIVE_INFINITY) open = true;
    }
    this.arena[off + 1] = open
      ? (this.arena[off + 1] as number) | 1
      : (this.arena[off + 1] as number) & ~1;
  }

  /**
   * Ends the open interval of (list, family, address) at `until` — a delisting that arrived as a
   * `watchlist.v1` tombstone. Returns false when nothing was open.
   */
  close(listId: string, family: Family, address: string, until: number): boolean {
    const off = this.offsetOf(family, address);
    if (off < 0) return false;
    let done = false;
    let open = false;
    for (
      let iv = this.head[this.keyAt(off)] as number;
      iv !== EMPTY;
      iv = this.ivNext[iv] as number
    ) {
      if (this.ivUntil[iv] !== Number.POSITIVE_INFINITY) continue;
      if (this.metas[this.ivMeta[iv] as number]?.listId === listId) {
        this.ivUntil[iv] = until;
        done = true;
      } else open = true;
    }
    if (!open) this.arena[off + 1] = (this.arena[off + 1] as number) & ~1;
    return done;
  }

  /** Arena offset of a (family, address) key, or -1. The hot path: no allocation. */
  private offsetOf(family: Family, address: string): number {
    const len = this.encode(family, address);
    if (len < 0) return -1;
    return this.find(this.hash, len);
  }

  /** True when the address is in the matcher at all (listed now or in the past). */
  has(family: Family, address: string): boolean {
    return this.offsetOf(family, address) >= 0;
  }

  /** True when the address is listed now (an open interval). */
  isListed(family: Family, address: string): boolean {
    const off = this.offsetOf(family, address);
    return off >= 0 && ((this.arena[off + 1] as number) & 1) === 1;
  }

  /** True when the address was listed at time `t` (ms): from ≤ t < until. */
  isListedAt(family: Family, address: string, t: number): boolean {
    const off = this.offsetOf(family, address);
    if (off < 0) return false;
    for (
      let iv = this.head[this.keyAt(off)] as number;
      iv !== EMPTY;
      iv = this.ivNext[iv] as number
    ) {
      if ((this.ivFrom[iv] as number) <= t && t < (this.ivUntil[iv] as number)) return true;
    }
    return false;
  }

  /** Current listings of the address. */
  lookup(family: Family, address: string): Match[] {
    return this.collect(family, address, (_f, u) => u === Number.POSITIVE_INFINITY);
  }

  /** Listings valid at `t` (ms). */
  lookupAt(family: Family, address: string, t: number): Match[] {
    return this.collect(family, address, (f, u) => f <= t && t < u);
  }

  /** Every listing interval of the address, current and past. */
  history(family: Family, address: string): Match[] {
    return this.collect(family, address, () => true);
  }

  private collect(
    family: Family,
    address: string,
    keep: (from: number, until: number) => boolean,
  ): Match[] {
    const off = this.offsetOf(family, address);
    if (off < 0) return [];
    const out: Match[] = [];
    let canonical: string | null = null;
    for (
      let iv = this.head[this.keyAt(off)] as number;
      iv !== EMPTY;
      iv = this.ivNext[iv] as number
    ) {
      const from = this.ivFrom[iv] as number;
      const until = this.ivUntil[iv] as number;
      if (!keep(from, until)) continue;
      canonical ??= this.keyAddress(off, family);
      const meta = this.metas[this.ivMeta[iv] as number] as MatchMeta;
      out.push({
        ...meta,
        family,
        address: canonical,
        listedFrom: Number.isFinite(from) ? from : null,
        listedUntil: Number.isFinite(until) ? until : null,
      });
    }
    return out;
  }

  private keyAt(off: number): number {
    const a = this.arena;
    return (
      ((a[off + 2] as number) |
        ((a[off + 3] as number) << 8) |
        ((a[off + 4] as number) << 16) |
        ((a[off + 5] as number) << 24)) >>>
      0
    );
  }

  private keyAddress(off: number, family: Family): string {
    const len = (this.arena[off] as number) - 1;
    const bytes = this.arena.subarray(off + HEADER + 1, off + HEADER + 1 + len);
    return family === "evm"
      ? `0x${Buffer.from(bytes).toString("hex")}`
      : Buffer.from(bytes).toString("latin1");
  }

  /**
   * Writes the key bytes of (family, address) to `scratch` and their hash to `hash` in one pass
   * (32-bit FNV-1a, then an avalanche so the low bits index slots well); returns the length or -1.
   */
  private encode(family: Family, address: string): number {
    const fid = FAMILY_ID.get(family);
    if (fid === undefined) return -1;
    const s = this.scratch;
    s[0] = fid;
    let h = Math.imul(0x811c9dc5 ^ fid, 0x01000193);
    let len: number;
    if (fid === EVM_ID) {
      if (address.length !== 42 || address.charCodeAt(0) !== 48) return -1;
      for (let i = 0; i < 20; i++) {
        const a = address.charCodeAt(2 + 2 * i);
        const b = address.charCodeAt(3 + 2 * i);
        const hi = HEX[a & 127] as number;
        const lo = HEX[b & 127] as number;
        if ((hi | lo) < 0 || (a | b) > 127) return -1;
        const byte = (hi << 4) | lo;
        s[1 + i] = byte;
        h = Math.imul(h ^ byte, 0x01000193);
      }
      len = 21;
    } else {
      const n = address.length;
      if (n === 0 || n > MAX_KEY - 1) return -1;
      for (let i = 0; i < n; i++) {
        const c = address.charCodeAt(i);
        if (c > 127) return -1;
        s[1 + i] = c;
        h = Math.imul(h ^ c, 0x01000193);
      }
      len = n + 1;
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    this.hash = h >>> 0;
    return len;
  }

  /** Arena offset of the key in `scratch[0..len)` with hash `h`, or -1. */
  private find(h: number, len: number): number {
    const s = this.scratch;
    const slots = this.slots;
    const arena = this.arena;
    let i = h & this.mask;
    for (;;) {
      const ref = slots[2 * i + 1] as number;
      if (ref === 0) return -1;
      if (slots[2 * i] === h) {
        const off = ref - 1;
        if (arena[off] === len) {
          const base = off + HEADER;
          let j = 0;
          while (j < len && arena[base + j] === s[j]) j++;
          if (j === len) return off;
        }
      }
      i = (i + 1) & this.mask;
    }
  }

  private insertKey(h: number, len: number): number {
    if ((this.nKeys + 1) * 4 > (this.slots.length / 2) * 3) this.rehash(this.slots.length);
    if (this.nKeys === this.head.length)
      this.head = grow(this.head, new Int32Array(this.head.length * 2));
    const need = HEADER + len;
    if (this.arenaUsed + need > this.arena.length) {
      const a = new Uint8Array(Math.max(this.arena.length * 2, this.arenaUsed + need));
      a.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = a;
    }
    const k = this.nKeys++;
    const off = this.arenaUsed;
    const a = this.arena;
    a[off] = len;
    a[off + 1] = 0;
    a[off + 2] = k & 0xff;
    a[off + 3] = (k >>> 8) & 0xff;
    a[off + 4] = (k >>> 16) & 0xff;
    a[off + 5] = (k >>> 24) & 0xff;
    a.set(this.scratch.subarray(0, len), off + HEADER);
    this.arenaUsed += need;
    this.head[k] = EMPTY;
    this.place(this.slots, this.mask, h, off);
    return off;
  }

  private place(slots: Uint32Array, mask: number, h: number, off: number): void {
    let i = h & mask;
    while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
    slots[2 * i] = h;
    slots[2 * i + 1] = off + 1;
  }

  /** Doubles the slot table (`size` = current Uint32 length = 2 × slots). */
  private rehash(size: number): void {
    const slots = new Uint32Array(size * 2);
    const mask = size - 1;
    const old = this.slots;
    for (let i = 0; i < old.length; i += 2) {
      const ref = old[i + 1] as number;
      if (ref !== 0) this.place(slots, mask, old[i] as number, ref - 1);
    }
    this.slots = slots;
    this.mask = mask;
  }

  private growIntervals(): void {
    const n = this.ivMeta.length * 2;
    this.ivMeta = grow(this.ivMeta, new Uint32Array(n));
    this.ivFrom = grow(this.ivFrom, new Float64Array(n));
    this.ivUntil = grow(this.ivUntil, new Float64Array(n));
    this.ivNext = grow(this.ivNext, new Int32Array(n));
  }

  private internMeta(meta: MatchMeta): number {
    const byId = this.metaById.get(meta);
    if (byId !== undefined) return byId;
    const sig = `${meta.listId}\u0000${meta.listVersion}\u0000${JSON.stringify(meta.records)}`;
    let i = this.metaIndex.get(sig);
    if (i === undefined) {
      i = this.metas.length;
      this.metas.push(meta);
      this.metaIndex.set(sig, i);
    }
    this.metaById.set(meta, i);
    return i;
  }
}

function grow<T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from as never);
  return to;
}
