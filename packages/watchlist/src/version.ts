import { createHash } from "node:crypto";
import type { WatchlistRecord } from "@chainscreen/schema";
import type { ListCounts } from "./normalize.js";
import type { ListEntry, ListFormat, ParseReport } from "./types.js";
import { entryKey } from "./types.js";

/** Validity interval of a listing, ms. `from` null = listed since before anything we know. */
export interface Interval {
  from: number | null;
  /** Delisting time; null while listed. */
  until: number | null;
}

/** Added, removed and changed keys (`family:address`) of a version against the one before. */
export interface ListDiff {
  previousVersion: number | null;
  added: string[];
  removed: string[];
  /** Still listed but with different records (entity, programmes, codes…). */
  changed: string[];
}

/** Lifecycle of a version: active, superseded by a later one, or held (never activated). */
export type VersionStatus = "active" | "superseded" | "held";

/** Everything about one import but its entries (what `lists show` prints). */
export interface VersionSummary {
  listId: string;
  version: number;
  /** sha256 hex over the sorted canonical entries: same content ⇒ same hash. */
  hash: string;
  format: ListFormat;
  source: string;
  importedAt: number;
  /** When its additions and removals take effect (ms); defaults to the import time. */
  effectiveAt: number;
  status: VersionStatus;
  heldReason: string | null;
  counts: ListCounts;
  diff: ListDiff;
  report: ParseReport;
}

/** A version with its entries, sorted by key. */
export interface ListVersion extends VersionSummary {
  entries: ListEntry[];
}

/** What a list remembers about one key across versions: listing intervals and last records. */
export interface KeyHistory {
  intervals: Interval[];
  records: WatchlistRecord[];
}

/** State of a list: its versions, which is active, and the history of every key ever listed. */
export interface ListState {
  listId: string;
  activeVersion: number | null;
  lastVersion: number;
  versions: VersionSummary[];
  keys: Record<string, KeyHistory>;
}

/** Content hash of entries: independent of input order, spelling and import time. */
export function contentHash(entries: Iterable<ListEntry>): string {
  const lines: string[] = [];
  for (const e of entries) {
    const recs = e.records.map((r) => JSON.stringify(r)).sort();
    lines.push(`${entryKey(e.family, e.address)}\t${recs.join("\t")}`);
  }
  lines.sort();
  const h = createHash("sha256");
  for (const l of lines) h.update(`${l}\n`);
  return h.digest("hex");
}

const recordsSig = (recs: WatchlistRecord[]) =>
  recs
    .map((r) => JSON.stringify(r))
    .sort()
    .join("\n");

/** Diff of two entry maps keyed by `family:address`. */
export function diffEntries(
  prev: Map<string, ListEntry> | null,
  next: Map<string, ListEntry>,
  previousVersion: number | null,
): ListDiff {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [k, e] of next) {
    const p = prev?.get(k);
    if (!p) added.push(k);
    else if (recordsSig(p.records) !== recordsSig(e.records)) changed.push(k);
  }
  if (prev) for (const k of prev.keys()) if (!next.has(k)) removed.push(k);
  return { previousVersion, added: added.sort(), removed: removed.sort(), changed: changed.sort() };
}

/** True when some interval contains `t` (from ≤ t < until). */
export function listedAt(intervals: readonly Interval[], t: number): boolean {
  return intervals.some(
    (i) => (i.from === null || i.from <= t) && (i.until === null || t < i.until),
  );
}

/**
 * Applies an activated version to the key histories: added keys open an interval (from the
 * earliest designation date on a first listing, else from `effectiveAt`), removed keys close theirs
 * at `effectiveAt`, listed keys get their latest records.
 */
export function applyToHistory(
  keys: Record<string, KeyHistory>,
  entries: Map<string, ListEntry>,
  diff: ListDiff,
  effectiveAt: number,
  firstVersion: boolean,
): void {
  for (const k of diff.added) {
    const e = entries.get(k) as ListEntry;
    const h = keys[k] ?? { intervals: [], records: [] };
    const designated = e.records
      .map((r) => r.designatedAt)
      .filter((d): d is number => d !== null && d <= effectiveAt);
    let from: number | null;
    if (h.intervals.length > 0) from = effectiveAt;
    else if (designated.length > 0) from = Math.min(...designated);
    else from = firstVersion ? null : effectiveAt;
    h.intervals.push({ from, until: null });
    keys[k] = h;
  }
  for (const k of diff.removed) {
    const h = keys[k];
    const open = h?.intervals.find((i) => i.until === null);
    if (open) open.until = effectiveAt;
  }
  for (const [k, e] of entries) {
    const h = keys[k];
    if (h) h.records = e.records;
  }
}
