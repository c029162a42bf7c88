import { chainFamily } from "@chainscreen/addresses";
import type { FlagEntry, WatchlistRecord } from "@chainscreen/schema";

/** A list entry as the tagger sees it (one address of one list, with its validity interval). */
export type ListEntry = Omit<FlagEntry, "listedAtTransferTime">;

/** Categories that mark an address as a service: exposure does not propagate through it. */
export const DEFAULT_SERVICE_CATEGORIES = [
  "exchange",
  "custodian",
  "service",
  "vasp",
  "bridge",
] as const;

/** Key of an address in one address space: `family:address`. */
export function addressKey(family: string, address: string): string {
  return `${family}:${address}`;
}

/** Key of an entry: list + family + address (the watchlist topic's key granularity). */
export function entryKey(e: Pick<ListEntry, "listId" | "family" | "address">): string {
  return `${e.listId}|${e.family}|${e.address}`;
}

/**
 * Canonical lookup form of an address already canonicalised by an ingester. EVM addresses are
 * lower-cased defensively (one address space for every EVM chain); other families are taken as is.
 */
export function lookupAddress(family: string, address: string): string {
  return family === "evm" ? address.toLowerCase() : address;
}

/** Family of a transfer's chain; unknown chains screen in their own namespace (`chain:<name>`). */
export function familyOf(chain: string): string {
  return chainFamily(chain) ?? `chain:${chain}`;
}

/** Whether an entry was valid at time `t` (ms): listedFrom ≤ t < listedUntil, nulls unbounded. */
export function activeAt(e: Pick<ListEntry, "listedFrom" | "listedUntil">, t: number): boolean {
  return (
    (e.listedFrom === null || e.listedFrom <= t) && (e.listedUntil === null || t < e.listedUntil)
  );
}

/** Read side of the watchlist state used by screening. */
export interface EntryIndex {
  /** Every entry (any list, any validity) for an address in canonical lookup form. */
  lookup(family: string, address: string): readonly ListEntry[];
  /** Number of entries held. */
  readonly size: number;
}

/** An index that follows `watchlist.v1` (upserts and removals). */
export interface MutableEntryIndex extends EntryIndex {
  /** Adds or replaces the entry of (list, family, address); true when the address is new. */
  upsert(e: ListEntry, records?: WatchlistRecord[]): boolean;
  /** Ends one list's entry for an address; returns it when there was one. */
  remove(listId: string, family: string, address: string): ListEntry | undefined;
}

/**
 * Watchlist state built from `watchlist.v1`: upsert and remove entries by key. A plain map of
 * arrays; at millions of entries a compact matcher (packages/watchlist) can stand in through
 * {@link EntryIndex}.
 */
export class MemoryEntryIndex implements MutableEntryIndex {
  private readonly byAddress = new Map<string, ListEntry[]>();
  private count = 0;

  /** Adds or replaces the entry with the same list/family/address. Returns true if it is new. */
  upsert(e: ListEntry): boolean {
    const k = addressKey(e.family, lookupAddress(e.family, e.address));
    const list = this.byAddress.get(k);
    if (!list) {
      this.byAddress.set(k, [e]);
      this.count++;
      return true;
    }
    const i = list.findIndex((x) => x.listId === e.listId);
    if (i >= 0) {
      list[i] = e;
      return false;
    }
    list.push(e);
    this.count++;
    return true;
  }

  /** Removes one list's entry for an address; returns the removed entry. */
  remove(listId: string, family: string, address: string): ListEntry | undefined {
    const k = addressKey(family, lookupAddress(family, address));
    const list = this.byAddress.get(k);
    if (!list) return undefined;
    const i = list.findIndex((x) => x.listId === listId);
    if (i < 0) return undefined;
    const [removed] = list.splice(i, 1);
    this.count--;
    if (list.length === 0) this.byAddress.delete(k);
    return removed;
  }

  lookup(family: string, address: string): readonly ListEntry[] {
    return this.byAddress.get(addressKey(family, lookupAddress(family, address))) ?? [];
  }

  get size(): number {
    return this.count;
  }
}
