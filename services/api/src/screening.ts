import {
  chainFamily,
  type Family,
  familyByShape,
  isValidAddress,
  tryCanonicalize,
} from "@chainscreen/addresses";

/** One list entry that matched an address. */
export interface ScreenMatch {
  list: string;
  listVersion: string | null;
  entity: string | null;
  programmes: string[];
  category: string | null;
  /** Unix ms the address was listed from (null when unknown). */
  listedFrom: number | null;
  /** Unix ms it stopped being listed (null while listed). */
  listedUntil: number | null;
  /** Source page of the designation, when the list has one. */
  url: string | null;
}

/**
 * Narrow view of the in-memory watchlist matcher the API needs: lookup by family and canonical
 * address, at a point in time (entries whose validity interval contains `at`).
 */
export interface WatchlistLookup {
  lookup(family: Family, canonicalAddress: string, at: number): ScreenMatch[];
  /** Every entry ever recorded for the address, with its validity interval (history). */
  history(family: Family, canonicalAddress: string): ScreenMatch[];
}

const EVM_SHAPE = /^0x[0-9a-fA-F]{40}$/;

/** A normalised address, or why it is not one. */
export type Normalized =
  | { ok: true; family: Family; address: string; chain: string | null }
  | { ok: false; error: string };

/**
 * Normalises user input: with a chain, the chain's family decides; without one, the address
 * shape must be unambiguous (0x…, T…, bc1…); legacy base58 (1…/3…) is taken as Bitcoin when it
 * is a valid Bitcoin address, which is what a screener without a chain expects.
 */
export function normalizeAddress(chain: string | undefined | null, address: string): Normalized {
  const a = address.trim();
  if (a.length === 0 || a.length > 128)
    return { ok: false, error: "address must be 1–128 characters" };
  let family: Family | null;
  if (chain) {
    family = chainFamily(chain);
    if (!family) return { ok: false, error: `unknown chain "${chain}"` };
  } else if (EVM_SHAPE.test(a)) {
    // 0x + 40 hex is EVM whatever its checksum: canonicalising once below reports a bad EIP-55
    // checksum as such (familyByShape would verify it a first time, a keccak per mixed-case
    // address, for the same answer).
    family = "evm";
  } else {
    // Shape first (so a bad checksum is reported as such, not as "unknown chain").
    family =
      familyByShape(a) ??
      (/^T[1-9A-HJ-NP-Za-km-z]{33}$/.test(a)
        ? "tron"
        : /^bc1/i.test(a) || isValidAddress("bitcoin", a)
          ? "bitcoin"
          : null);
    if (!family) {
      return { ok: false, error: "cannot tell the chain from the address; pass chain" };
    }
  }
  const c = tryCanonicalize(family, a);
  if (!c.ok) return { ok: false, error: c.error };
  return { ok: true, family, address: c.address, chain: chain ?? null };
}

/** Matcher over entries held in memory, keyed by family and canonical address. */
export class MemoryWatchlist implements WatchlistLookup {
  readonly #byKey = new Map<string, ScreenMatch[]>();

  /** Adds (or replaces, with `replace`) the entries of the given addresses. */
  add(family: Family, canonicalAddress: string, entry: ScreenMatch): void {
    const k = `${family}:${canonicalAddress}`;
    const list = this.#byKey.get(k);
    if (list) list.push(entry);
    else this.#byKey.set(k, [entry]);
  }

  /** Removes everything. */
  clear(): void {
    this.#byKey.clear();
  }

  /** Number of distinct addresses held. */
  get size(): number {
    return this.#byKey.size;
  }

  lookup(family: Family, canonicalAddress: string, at: number): ScreenMatch[] {
    const all = this.#byKey.get(`${family}:${canonicalAddress}`);
    if (!all) return [];
    return all.filter(
      (e) =>
        (e.listedFrom === null || e.listedFrom <= at) &&
        (e.listedUntil === null || at < e.listedUntil),
    );
  }

  history(family: Family, canonicalAddress: string): ScreenMatch[] {
    return this.#byKey.get(`${family}:${canonicalAddress}`) ?? [];
  }
}

/** What {@link MatcherLookup} needs from `@chainscreen/watchlist`'s Matcher. */
export interface MatcherLike {
  lookupAt(family: Family, address: string, t: number): MatcherMatch[];
  history(family: Family, address: string): MatcherMatch[];
}
/** Shape of a `@chainscreen/watchlist` Match. */
export interface MatcherMatch {
  listId: string;
  listVersion: number;
  records: {
    entityName: string | null;
    programmes: string[];
    category: string;
    label: string | null;
    designatedAt: number | null;
  }[];
  listedFrom: number | null;
  listedUntil: number | null;
}

/** OFAC's page for a list id, when known (used as `url` in Chainalysis-shaped answers). */
const LIST_URLS: Record<string, string> = {
  "ofac-sdn": "https://sanctionssearch.ofac.treas.gov/",
};

function fromMatcher(m: MatcherMatch): ScreenMatch[] {
  const recs =
    m.records.length > 0
      ? m.records
      : [
          {
            entityName: null,
            programmes: [],
            category: "sanctioned",
            label: null,
            designatedAt: null,
          },
        ];
  return recs.map((r) => ({
    list: m.listId,
    listVersion: String(m.listVersion),
    entity: r.entityName ?? r.label,
    programmes: r.programmes,
    category: r.category,
    listedFrom: m.listedFrom ?? r.designatedAt,
    listedUntil: m.listedUntil,
    url: LIST_URLS[m.listId] ?? null,
  }));
}

/**
 * Adapts the in-memory matcher of `@chainscreen/watchlist` to the API. `current()` is read on
 * every call, so the owner can swap in a rebuilt matcher after a list update.
 */
export class MatcherLookup implements WatchlistLookup {
  constructor(private readonly current: () => MatcherLike) {}
  lookup(family: Family, canonicalAddress: string, at: number): ScreenMatch[] {
    return this.current().lookupAt(family, canonicalAddress, at).flatMap(fromMatcher);
  }
  history(family: Family, canonicalAddress: string): ScreenMatch[] {
    return this.current().history(family, canonicalAddress).flatMap(fromMatcher);
  }
}
