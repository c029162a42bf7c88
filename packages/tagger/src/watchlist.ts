import type { WatchlistEntryV1 } from "@chainscreen/schema";
import { type ListEntry, lookupAddress, type MutableEntryIndex } from "./entries.js";

/** Maps a `watchlist.v1` state message to the tagger's entry shape. */
export function entryFromWatchlist(m: WatchlistEntryV1): ListEntry {
  const programmes = new Set(m.programmes);
  for (const r of m.records) for (const p of r.programmes) programmes.add(p);
  return {
    listId: m.listId,
    listVersion: String(m.listVersion),
    family: m.family,
    address: lookupAddress(m.family, m.address),
    entityName: m.entityName,
    programmes: [...programmes].slice(0, 64),
    category: m.category,
    listedFrom: m.listedFrom,
    listedUntil: m.listedUntil,
    listedAt: m.publishedAt,
  };
}

/** What a watchlist message changed, for retro-screening and metrics. */
export type WatchlistChange =
  | { kind: "added"; entry: ListEntry }
  | { kind: "updated"; entry: ListEntry }
  | { kind: "removed"; listId: string; family: string; address: string };

/**
 * Applies one `watchlist.v1` message (key `list|family|address`, value or tombstone) to the index.
 * Returns what changed; a malformed tombstone key changes nothing.
 */
export function applyWatchlistMessage(
  index: MutableEntryIndex,
  key: string | null,
  value: WatchlistEntryV1 | null,
): WatchlistChange | null {
  if (value === null) {
    if (key === null) return null;
    const parts = key.split("|");
    if (parts.length < 3) return null;
    const [listId = "", family = ""] = parts;
    const address = parts.slice(2).join("|");
    const removed = index.remove(listId, family, address);
    return removed ? { kind: "removed", listId, family, address: removed.address } : null;
  }
  const entry = entryFromWatchlist(value);
  const isNew = index.upsert(entry, value.records);
  return { kind: isNew ? "added" : "updated", entry };
}
