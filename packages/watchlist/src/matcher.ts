import { FAMILIES, type Family } from "@chainscreen/addresses";
import type { WatchlistRecord } from "@chainscreen/schema";
import type { KeyHistory } from "./version.js";

// Layout (everything in typed arrays, no per-entry JS objects). A lookup that misses reads one
// byte of a control array (1 byte per slot, small enough to stay mostly in cache) and parses only
// the last characters of the address; a hit reads one more random cache line, the slot holding the
// whole key, and nothing else:
// - Three open-addressing tables, linear probing, power of two. The evm and short tables (load
//   factor ≤ 7/8) keep a control byte per slot — 0 = empty, else 8 bits of the key's hash (never 0)
//   — so a probe compares bytes and reads a slot only when they match; the slot holds the key
//   itself, so that read also verifies it:
//   - evm: 6 Int32 per slot — value word, k4, k0, k1, k2, k3: the 20 raw bytes of the address as
//     big-endian words (so any hex case matches). Slot index and tag come from k4 (the last 8 hex
//     digits, uniform for real addresses) alone; the other 32 digits are parsed only when a slot
//     matches k4.
//   - short (non-EVM addresses of ≤ 45 characters whose last ≤ 10 are in [0-9A-Za-z]): 12 Int32
//     per slot — value word; s0, s1: the last 10 characters, 6 bits each, last character in the
//     low bits of s0 (code 0 = none), with the family id in the two spare top bits of each; p0…p8:
//     bytes [length, ASCII of the characters before the last 10…]. Index and tag come from s0, s1;
//     p is built only when a slot matches them.
//   - long (every other non-EVM address; load factor ≤ 3/4, no control bytes): 3 Int32 per slot —
//     value word, 32-bit hash, arena offset of [key length u8][family id u8][ASCII…].
// - The value word of a slot: 0 = empty slot, else (index of the key's newest interval + 1), with
//   bit 31 set while the key has an open interval (so `isListed` reads nothing else).
// - intervals: one per listing interval of a key on a list: meta index (list, version, records,
//   interned and shared by many keys), from/until as Float64 ms (±Infinity for open ends), and
//   `next` chaining the older intervals of the same key.
// - metas: list id, version and the records as one JSON string, in parallel arrays. A match parses
//   its records again (matches are rare). Held as objects (a record object, its programmes array
//   and strings per entity, a signature string and a WeakMap entry for interning), a list of 1M
//   distinct entities kept ~680 MB of heap that every full GC marked: 440–460 ms per full GC,
//   against ~300 ms without the WeakMap alone, measured here.

const FAMILY_ID = new Map<string, number>(FAMILIES.map((f, i) => [f, i + 1]));
const MAX_KEY = 130;
const EMPTY = -1;
/** Bit 31 of a value word: the key has an open interval. */
const OPEN = -2147483648;
const HEAD = 0x7fffffff;
/** Int32 per slot of the evm, short and long tables. */
const EW = 6;
const SW = 12;
const LW = 3;
/** Longest address in the short table; characters in its s0, s1 words. */
const SHORT_MAX = 45;
const TAIL = 10;
/** Largest load factor of the evm and short tables: LOAD_NUM / LOAD_DEN. */
const LOAD_NUM = 7;
const LOAD_DEN = 8;
/** Slots of a new table. */
const INITIAL = 64;

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[97 + i] = 10 + i;
  HEX[65 + i] = 10 + i;
}
/** Byte value of two hex characters `a`, `b` (both < 128) at `(a << 7) | b`, else -1. */
const HEX2 = new Int16Array(1 << 14).fill(-1);
for (let a = 0; a < 128; a++) {
  for (let b = 0; b < 128; b++) {
    const hi = HEX[a] as number;
    const lo = HEX[b] as number;
    if (hi >= 0 && lo >= 0) HEX2[(a << 7) | b] = (hi << 4) | lo;
  }
}
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** 6-bit code of an ASCII character in the short table (1…62), 0 = not in the alphabet. */
const CODE = new Int8Array(128);
for (let i = 0; i < ALPHABET.length; i++) CODE[ALPHABET.charCodeAt(i)] = i + 1;
/** Key words of the last encoded EVM or short key. */
const K = new Int32Array(16);
/** Bytes of the last encoded long key. */
const BYTES = new Uint8Array(MAX_KEY + 1);

/** 32-bit finaliser: every output bit depends on every input bit. */
function fmix(h: number): number {
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  return h ^ (h >>> 15);
}

/** Slot hash of an EVM key: its last word k4 (the last 4 bytes of the address). */
function evmHash(k4: number): number {
  return fmix(Math.imul(k4, 0x9e3779b1));
}

/** Slot hash of a short key: its first two words (the last 10 characters and the family). */
function shortHash(k0: number, k1: number): number {
  return fmix(Math.imul(k0, 0xc2b2ae3d) ^ Math.imul(k1, 0x27d4eb2f));
}

/**
 * Parses the 8 hex digits `a[o…o+8)` into `K[w]` (big-endian); returns a negative number when one
 * of them is not a hex digit (HEX2 is indexed by 7-bit codes, so non-ASCII is checked apart).
 */
function hexWord(a: string, o: number, w: number): number {
  const c0 = a.charCodeAt(o);
  const c1 = a.charCodeAt(o + 1);
  const c2 = a.charCodeAt(o + 2);
  const c3 = a.charCodeAt(o + 3);
  const c4 = a.charCodeAt(o + 4);
  const c5 = a.charCodeAt(o + 5);
  const c6 = a.charCodeAt(o + 6);
  const c7 = a.charCodeAt(o + 7);
  const b0 = HEX2[((c0 << 7) | c1) & 0x3fff] as number;
  const b1 = HEX2[((c2 << 7) | c3) & 0x3fff] as number;
  const b2 = HEX2[((c4 << 7) | c5) & 0x3fff] as number;
  const b3 = HEX2[((c6 << 7) | c7) & 0x3fff] as number;
  K[w] = (b0 << 24) | (b1 << 16) | (b2 << 8) | b3;
  return b0 | b1 | b2 | b3 | (127 - (c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7));
}

/**
 * Packs the last ≤ 10 characters of `a` (length `n`) into `K[0]`, `K[1]` as 6-bit codes, last
 * character first. Returns 0, or bit 0 when one is not in the alphabet, bit 1 when one is not
 * ASCII.
 */
function packTail(a: string, n: number): number {
  if (n < TAIL) {
    let acc = 0;
    let bad = 0;
    let x0 = 0;
    let x1 = 0;
    for (let r = 0; r < n; r++) {
      const c = a.charCodeAt(n - 1 - r);
      acc |= c;
      const code = CODE[c & 127] as number;
      bad |= code - 1;
      if (r < 5) x0 |= code << (6 * r);
      else x1 |= code << (6 * (r - 5));
    }
    K[0] = x0;
    K[1] = x1;
    return (bad < 0 ? 1 : 0) | (acc > 127 ? 2 : 0);
  }
  const f0 = pack5(a, n - 5);
  const f1 = pack5(a, n - 10);
  K[0] = f0;
  K[1] = f1;
  return ((f0 | f1) >>> 30) & 3;
}

/**
 * 6-bit codes of `a[o…o+5)`, last character in the low bits; bit 30 set when one is not in the
 * alphabet, bit 31 when one is not ASCII.
 */
function pack5(a: string, o: number): number {
  const c0 = a.charCodeAt(o);
  const c1 = a.charCodeAt(o + 1);
  const c2 = a.charCodeAt(o + 2);
  const c3 = a.charCodeAt(o + 3);
  const c4 = a.charCodeAt(o + 4);
  const d0 = CODE[c0 & 127] as number;
  const d1 = CODE[c1 & 127] as number;
  const d2 = CODE[c2 & 127] as number;
  const d3 = CODE[c3 & 127] as number;
  const d4 = CODE[c4 & 127] as number;
  const bad = ((d0 - 1) | (d1 - 1) | (d2 - 1) | (d3 - 1) | (d4 - 1)) & (1 << 30);
  const wide = (127 - (c0 | c1 | c2 | c3 | c4)) & OPEN;
  return d4 | (d3 << 6) | (d2 << 12) | (d1 << 18) | (d0 << 24) | bad | wide;
}

/**
 * Packs the bytes [n, ASCII of the characters before the last 10…] of `a` (length `n` ≤ 45) into
 * `K[2…11)`, 4 per word, low byte first. False when one of those characters is not ASCII.
 */
function packHead(a: string, n: number): boolean {
  let acc = 0;
  let x = n;
  let w = 2;
  const m = n > TAIL ? n - TAIL : 0;
  for (let i = 0, q = 1; i < m; i++, q++) {
    const c = a.charCodeAt(i);
    acc |= c;
    x |= c << ((q & 3) * 8);
    if ((q & 3) === 3) {
      K[w++] = x;
      x = 0;
    }
  }
  K[w] = x;
  for (w++; w < SW - 1; w++) K[w] = 0;
  return acc <= 127;
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

/** Which table the last `locate` used (its key is in `K` or `BYTES`). */
const MALFORMED = 0;
const EVM = 1;
const SHORT = 2;
const LONG = 3;

/** In-memory index (family, canonical address) → listings, for screening at high rates. */
export class Matcher {
  private evm = new Int32Array(EW * INITIAL);
  private evmCtrl = new Uint8Array(INITIAL);
  private evmMask = INITIAL - 1;
  private nEvm = 0;
  private short = new Int32Array(SW * INITIAL);
  private shortCtrl = new Uint8Array(INITIAL);
  private shortMask = INITIAL - 1;
  private nShort = 0;
  private long = new Int32Array(LW * INITIAL);
  private longMask = INITIAL - 1;
  private nLong = 0;
  private arena = new Uint8Array(1 << 10);
  private arenaUsed = 0;
  private ivMeta = new Uint32Array(1024);
  private ivFrom = new Float64Array(1024);
  private ivUntil = new Float64Array(1024);
  private ivNext = new Int32Array(1024);
  private nIv = 0;
  private readonly metaListId: string[] = [];
  private readonly metaVersion: number[] = [];
  /** The records of each meta as JSON; also the key of `metaByRecords` (one string for both). */
  private readonly metaRecords: string[] = [];
  /** Records JSON → the newest meta with those records; older ones with other list/version follow `metaNext`. */
  private readonly metaByRecords = new Map<string, number>();
  private readonly metaNext: number[] = [];
  /** The meta object interned last and its index: callers pass one object for many keys. */
  private lastMeta: MatchMeta | null = null;
  private lastMetaIndex = 0;
  /** Set by `locate`: the table holding the value word it returned the index of. */
  private vt: Int32Array = this.evm;
  /**
   * Set by `locate`: the table of the key, its hash, (long keys) its byte length, and whether all
   * of it is in `K` — a miss can be decided from k4 (evm) or s0, s1 (short) alone.
   */
  private kind = MALFORMED;
  private hash = 0;
  private len = 0;
  private whole = false;

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
   * Trims the arena and the interval arrays to what is used (growth doubles capacity, so up to
   * half can be slack); the hash tables keep their size. Call after a bulk load; later additions
   * grow the arrays again.
   */
  compact(): this {
    this.arena = this.arena.slice(0, Math.max(1, this.arenaUsed));
    const n = Math.max(1, this.nIv);
    this.ivMeta = this.ivMeta.slice(0, n);
    this.ivFrom = this.ivFrom.slice(0, n);
    this.ivUntil = this.ivUntil.slice(0, n);
    this.ivNext = this.ivNext.slice(0, n);
    return this;
  }

  /** Distinct (family, address) keys. */
  get keyCount(): number {
    return this.nEvm + this.nShort + this.nLong;
  }

  /** Listing intervals held. */
  get intervalCount(): number {
    return this.nIv;
  }

  /** Bytes held by the typed arrays (capacity, not just what is used). */
  byteSize(): number {
    return (
      this.evm.byteLength +
      this.evmCtrl.byteLength +
      this.short.byteLength +
      this.shortCtrl.byteLength +
      this.long.byteLength +
      this.arena.byteLength +
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
    const at = this.locate(family, address);
    if (at < 0 && !this.completeKey(address)) {
      throw new Error(`cannot index ${family} address of ${address.length} characters`);
    }
    const mi = this.internMeta(meta);
    if (this.nIv === this.ivMeta.length) this.growIntervals();
    const iv = this.nIv++;
    this.ivMeta[iv] = mi;
    this.ivFrom[iv] = from ?? Number.NEGATIVE_INFINITY;
    this.ivUntil[iv] = until ?? Number.POSITIVE_INFINITY;
    const open = until === null ? OPEN : 0;
    if (at < 0) {
      this.ivNext[iv] = EMPTY;
      this.insert((iv + 1) | open);
    } else {
      const t = this.vt;
      const v = t[at] as number;
      this.ivNext[iv] = (v & HEAD) - 1;
      t[at] = (iv + 1) | (v & OPEN) | open;
    }
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
    const at = this.locate(family, address);
    if (at >= 0) {
      const t = this.vt;
      const f = from ?? Number.NEGATIVE_INFINITY;
      let target = EMPTY;
      for (let iv = ((t[at] as number) & HEAD) - 1; iv !== EMPTY; iv = this.ivNext[iv] as number) {
        if (this.metaListId[this.ivMeta[iv] as number] !== listId) continue;
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
        this.refreshOpenFlag(t, at);
        return;
      }
    }
    this.add(family, address, meta, from, until);
  }

  private refreshOpenFlag(t: Int32Array, at: number): void {
    const v = t[at] as number;
    let open = false;
    for (let iv = (v & HEAD) - 1; iv !== EMPTY; iv = this.ivNext[iv] as number) {
      if (this.ivUntil[iv] === Number.POSITIVE_INFINITY) open = true;
    }
    t[at] = open ? v | OPEN : v & HEAD;
  }

  /**
   * Ends the open interval of (list, family, address) at `until` — a delisting that arrived as a
   * `watchlist.v1` tombstone. Returns false when nothing was open.
   */
  close(listId: string, family: Family, address: string, until: number): boolean {
    const at = this.locate(family, address);
    if (at < 0) return false;
    const t = this.vt;
    let done = false;
    let open = false;
    for (let iv = ((t[at] as number) & HEAD) - 1; iv !== EMPTY; iv = this.ivNext[iv] as number) {
      if (this.ivUntil[iv] !== Number.POSITIVE_INFINITY) continue;
      if (this.metaListId[this.ivMeta[iv] as number] === listId) {
        this.ivUntil[iv] = until;
        done = true;
      } else open = true;
    }
    if (!open) t[at] = (t[at] as number) & HEAD;
    return done;
  }

  /** True when the address is in the matcher at all (listed now or in the past). */
  has(family: Family, address: string): boolean {
    return this.locate(family, address) >= 0;
  }

  /** True when the address is listed now (an open interval). */
  isListed(family: Family, address: string): boolean {
    const at = this.locate(family, address);
    return at >= 0 && (this.vt[at] as number) < 0;
  }

  /** True when the address was listed at time `t` (ms): from ≤ t < until. */
  isListedAt(family: Family, address: string, t: number): boolean {
    const at = this.locate(family, address);
    if (at < 0) return false;
    for (
      let iv = ((this.vt[at] as number) & HEAD) - 1;
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
    const at = this.locate(family, address);
    if (at < 0) return [];
    const t = this.vt;
    const kind = this.kind;
    const out: Match[] = [];
    let canonical: string | null = null;
    for (let iv = ((t[at] as number) & HEAD) - 1; iv !== EMPTY; iv = this.ivNext[iv] as number) {
      const from = this.ivFrom[iv] as number;
      const until = this.ivUntil[iv] as number;
      if (!keep(from, until)) continue;
      canonical ??= this.keyAddress(kind, t, at);
      const mi = this.ivMeta[iv] as number;
      out.push({
        listId: this.metaListId[mi] as string,
        listVersion: this.metaVersion[mi] as number,
        records: JSON.parse(this.metaRecords[mi] as string) as WatchlistRecord[],
        family,
        address: canonical,
        listedFrom: Number.isFinite(from) ? from : null,
        listedUntil: Number.isFinite(until) ? until : null,
      });
    }
    return out;
  }

  /** The canonical address stored in the slot whose value word is `t[at]`. */
  private keyAddress(kind: number, t: Int32Array, at: number): string {
    if (kind === EVM) {
      let s = "0x";
      for (let j = 2; j <= 6; j++) {
        s += ((t[at + (j === 6 ? 1 : j)] as number) >>> 0).toString(16).padStart(8, "0");
      }
      return s;
    }
    if (kind === SHORT) {
      const n = (t[at + 3] as number) & 0xff;
      let head = "";
      for (let q = 1; q <= n - TAIL; q++) {
        head += String.fromCharCode(((t[at + 3 + (q >> 2)] as number) >>> ((q & 3) * 8)) & 0xff);
      }
      let tail = "";
      for (let r = 0; r < n && r < TAIL; r++) {
        const c = ((t[at + 1 + (r < 5 ? 0 : 1)] as number) >>> ((r % 5) * 6)) & 63;
        tail = ALPHABET[c - 1] + tail;
      }
      return head + tail;
    }
    const off = t[at + 2] as number;
    const len = this.arena[off] as number;
    return Buffer.from(this.arena.subarray(off + 2, off + 1 + len)).toString("latin1");
  }

  /**
   * Index of the value word of (family, address) in `vt`, or -1; leaves the encoded key in `K`
   * or `BYTES` and its table in `kind` (MALFORMED when the address cannot be a key: then -1).
   * The hot path: no allocation.
   */
  private locate(family: Family, address: string): number {
    if (family === "evm") return this.findEvm(address);
    const fid = FAMILY_ID.get(family);
    if (fid === undefined) {
      this.kind = MALFORMED;
      return -1;
    }
    return this.findOther(fid, address);
  }

  /**
   * EVM: 42 characters, `0` + one character (not checked) + 40 hex digits in any case, two at a
   * time through HEX2. Only the last 8 digits (k4) are parsed up front: they give the slot index
   * and tag and decide a miss; the rest is parsed (and checked) when a slot matches k4.
   */
  private findEvm(a: string): number {
    this.kind = MALFORMED;
    if (a.length !== 42 || hexWord(a, 34, 4) < 0) return -1;
    const k4 = K[4] as number;
    const h = evmHash(k4);
    this.kind = EVM;
    this.hash = h;
    this.whole = false;
    const ctrl = this.evmCtrl;
    const mask = this.evmMask;
    const tg = tag(h);
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const c = ctrl[i] as number;
      if (c === 0) return -1;
      if (c !== tg) continue;
      const t = this.evm;
      const b = i * EW;
      if (t[b + 1] === k4) {
        if (!this.whole && !this.completeKey(a)) return -1;
        if (t[b + 2] === K[0] && t[b + 3] === K[1] && t[b + 4] === K[2] && t[b + 5] === K[3]) {
          this.vt = t;
          return b;
        }
      }
    }
  }

  /**
   * Non-EVM: the short table when the address has ≤ 45 characters and its last ≤ 10 are in the
   * alphabet (they give the slot index and decide a miss), else the long table (also for family ids
   * above 15, which do not fit the two spare bits of s0, s1).
   */
  private findOther(fid: number, a: string): number {
    this.kind = MALFORMED;
    const n = a.length;
    if (n === 0 || n > MAX_KEY - 1) return -1;
    if (n <= SHORT_MAX && fid < 16) {
      const f = packTail(a, n);
      if (f & 2) return -1;
      if (f === 0) {
        const s0 = (K[0] as number) | ((fid & 3) << 30);
        const s1 = (K[1] as number) | ((fid >>> 2) << 30);
        K[0] = s0;
        K[1] = s1;
        const h = shortHash(s0, s1);
        this.kind = SHORT;
        this.hash = h;
        this.whole = false;
        const ctrl = this.shortCtrl;
        const mask = this.shortMask;
        const tg = tag(h);
        for (let i = h & mask; ; i = (i + 1) & mask) {
          const c = ctrl[i] as number;
          if (c === 0) return -1;
          if (c !== tg) continue;
          const t = this.short;
          const b = i * SW;
          if (t[b + 1] === s0 && t[b + 2] === s1) {
            if (!this.whole && !this.completeKey(a)) return -1;
            let j = 3;
            while (j < SW && t[b + j] === K[j - 1]) j++;
            if (j === SW) {
              this.vt = t;
              return b;
            }
          }
        }
      }
    }
    return this.findLong(fid, a, n);
  }

  /**
   * Completes the key in `K` of the last `locate` (a miss, or a slot matching k4 / s0, s1) with
   * the rest of `a`; false when that is not well formed (then `kind` is MALFORMED).
   */
  private completeKey(a: string): boolean {
    if (this.kind === MALFORMED) return false;
    if (!this.whole) {
      const ok =
        this.kind === EVM
          ? a.charCodeAt(0) === 48 &&
            (hexWord(a, 2, 0) | hexWord(a, 10, 1) | hexWord(a, 18, 2) | hexWord(a, 26, 3)) >= 0
          : packHead(a, a.length);
      this.whole = true;
      if (!ok) this.kind = MALFORMED;
    }
    return this.kind !== MALFORMED;
  }

  /** Long keys: [family id] + ASCII in `BYTES`, FNV-1a hash, verified against the arena. */
  private findLong(fid: number, a: string, n: number): number {
    const s = BYTES;
    s[0] = fid;
    let h = Math.imul(0x811c9dc5 ^ fid, 0x01000193);
    for (let i = 0; i < n; i++) {
      const c = a.charCodeAt(i);
      if (c > 127) return -1;
      s[1 + i] = c;
      h = Math.imul(h ^ c, 0x01000193);
    }
    h = fmix(h);
    const len = n + 1;
    this.kind = LONG;
    this.hash = h;
    this.len = len;
    this.whole = true;
    const t = this.long;
    const mask = this.longMask;
    const arena = this.arena;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const b = i * LW;
      if (t[b] === 0) return -1;
      if (t[b + 1] === h) {
        const off = t[b + 2] as number;
        if (arena[off] === len) {
          let j = 0;
          while (j < len && arena[off + 1 + j] === s[j]) j++;
          if (j === len) {
            this.vt = t;
            return b;
          }
        }
      }
    }
  }

  /** Inserts the key of the last (missed) `locate` with value word `value`. */
  private insert(value: number): void {
    const h = this.hash;
    if (this.kind === EVM) {
      if ((this.nEvm + 1) * LOAD_DEN > (this.evmMask + 1) * LOAD_NUM) this.growEvm();
      const t = this.evm;
      const b = placeTag(this.evmCtrl, this.evmMask, h) * EW;
      t[b] = value;
      t[b + 1] = K[4] as number;
      for (let j = 0; j < 4; j++) t[b + 2 + j] = K[j] as number;
      this.nEvm++;
    } else if (this.kind === SHORT) {
      if ((this.nShort + 1) * LOAD_DEN > (this.shortMask + 1) * LOAD_NUM) this.growShort();
      const t = this.short;
      const b = placeTag(this.shortCtrl, this.shortMask, h) * SW;
      t[b] = value;
      for (let j = 1; j < SW; j++) t[b + j] = K[j - 1] as number;
      this.nShort++;
    } else {
      if ((this.nLong + 1) * 4 > (this.longMask + 1) * 3) this.growLong();
      const len = this.len;
      const need = 1 + len;
      if (this.arenaUsed + need > this.arena.length) {
        const a = new Uint8Array(Math.max(this.arena.length * 2, this.arenaUsed + need));
        a.set(this.arena.subarray(0, this.arenaUsed));
        this.arena = a;
      }
      const off = this.arenaUsed;
      this.arena[off] = len;
      this.arena.set(BYTES.subarray(0, len), off + 1);
      this.arenaUsed += need;
      const t = this.long;
      const b = probeFree(t, this.longMask, LW, h);
      t[b] = value;
      t[b + 1] = h;
      t[b + 2] = off;
      this.nLong++;
    }
  }

  private growEvm(): void {
    const old = this.evm;
    const oldCtrl = this.evmCtrl;
    const mask = (this.evmMask + 1) * 2 - 1;
    const t = new Int32Array((mask + 1) * EW);
    const ctrl = new Uint8Array(mask + 1);
    for (let i = 0; i < oldCtrl.length; i++) {
      if (oldCtrl[i] === 0) continue;
      const o = i * EW;
      const b = placeTag(ctrl, mask, evmHash(old[o + 1] as number)) * EW;
      for (let j = 0; j < EW; j++) t[b + j] = old[o + j] as number;
    }
    this.evm = t;
    this.vt = t; // so that `vt` does not keep the old table alive
    this.evmCtrl = ctrl;
    this.evmMask = mask;
  }

  private growShort(): void {
    const old = this.short;
    const oldCtrl = this.shortCtrl;
    const mask = (this.shortMask + 1) * 2 - 1;
    const t = new Int32Array((mask + 1) * SW);
    const ctrl = new Uint8Array(mask + 1);
    for (let i = 0; i < oldCtrl.length; i++) {
      if (oldCtrl[i] === 0) continue;
      const o = i * SW;
      const h = shortHash(old[o + 1] as number, old[o + 2] as number);
      const b = placeTag(ctrl, mask, h) * SW;
      for (let j = 0; j < SW; j++) t[b + j] = old[o + j] as number;
    }
    this.short = t;
    this.vt = t; // so that `vt` does not keep the old table alive
    this.shortCtrl = ctrl;
    this.shortMask = mask;
  }

  private growLong(): void {
    const old = this.long;
    const mask = (this.longMask + 1) * 2 - 1;
    const t = new Int32Array((mask + 1) * LW);
    for (let o = 0; o < old.length; o += LW) {
      if (old[o] === 0) continue;
      const b = probeFree(t, mask, LW, old[o + 1] as number);
      for (let j = 0; j < LW; j++) t[b + j] = old[o + j] as number;
    }
    this.long = t;
    this.vt = t; // so that `vt` does not keep the old table alive
    this.longMask = mask;
  }

  private growIntervals(): void {
    const n = this.ivMeta.length * 2;
    this.ivMeta = grow(this.ivMeta, new Uint32Array(n));
    this.ivFrom = grow(this.ivFrom, new Float64Array(n));
    this.ivUntil = grow(this.ivUntil, new Float64Array(n));
    this.ivNext = grow(this.ivNext, new Int32Array(n));
  }

  private internMeta(meta: MatchMeta): number {
    if (meta === this.lastMeta) return this.lastMetaIndex;
    const json = JSON.stringify(meta.records);
    const head = this.metaByRecords.get(json);
    let i = head ?? EMPTY;
    while (i !== EMPTY) {
      if (this.metaListId[i] === meta.listId && this.metaVersion[i] === meta.listVersion) break;
      i = this.metaNext[i] as number;
    }
    if (i === EMPTY) {
      i = this.metaListId.length;
      this.metaListId.push(meta.listId);
      this.metaVersion.push(meta.listVersion);
      // The stored string is the map's key when it is new, so the JSON is held once.
      this.metaRecords.push(head === undefined ? json : (this.metaRecords[head] as string));
      this.metaNext.push(head ?? EMPTY);
      this.metaByRecords.set(this.metaRecords[i] as string, i);
    }
    this.lastMeta = meta;
    this.lastMetaIndex = i;
    return i;
  }
}

/** Tag of hash `h` in a control byte: its top 8 bits, 0 (empty) mapped to 1. */
function tag(h: number): number {
  const f = h >>> 24;
  return f | ((f - 1) >>> 31);
}

/** Claims the first empty control byte from the home slot of `h` for its tag; returns the slot. */
function placeTag(ctrl: Uint8Array, mask: number, h: number): number {
  let i = h & mask;
  while (ctrl[i] !== 0) i = (i + 1) & mask;
  ctrl[i] = tag(h);
  return i;
}

/** First free slot (value word 0) from the home slot of `h`; returns its first Int32 index. */
function probeFree(t: Int32Array, mask: number, width: number, h: number): number {
  let i = h & mask;
  while (t[i * width] !== 0) i = (i + 1) & mask;
  return i * width;
}

function grow<T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from as never);
  return to;
}
