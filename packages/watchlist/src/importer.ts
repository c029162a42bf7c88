import { normalize } from "./normalize.js";
import { type ParseOptions, parseList } from "./parse.js";
import { checkListId, type WatchlistStore } from "./store.js";
import { entryKey, type ListEntry, type ListFormat, type ParseResult } from "./types.js";
import {
  applyToHistory,
  contentHash,
  diffEntries,
  type ListState,
  type ListVersion,
  type VersionSummary,
} from "./version.js";

/** Options of {@link importList}. */
export interface ImportOptions extends ParseOptions {
  listId: string;
  format: ListFormat;
  /** File (or directory for ofac-codes-dir) to read. */
  path: string;
  /** Where it came from, for the record (URL or path); defaults to `path`. */
  source?: string;
  /** Import time (ms); defaults to now. */
  now?: number;
  /** When additions/removals take effect (ms); defaults to `now`. */
  effectiveAt?: number;
  /**
   * Largest accepted drop in addresses against the active version, as a fraction (default 0.2:
   * a version with fewer than 80% of the active version's addresses is held).
   */
  maxShrink?: number;
  /** Largest accepted share of invalid addresses among those read (default 0.5). */
  maxInvalid?: number;
  /** Activate even when a check would hold the version. */
  force?: boolean;
}

/** Outcome of an import. */
export interface ImportResult {
  /** `activated`: new active version; `held`: stored, not active; `unchanged`: same content. */
  status: "activated" | "held" | "unchanged";
  version: VersionSummary;
  /** Entries of the new version (for publishing), sorted by key. */
  entries: ListEntry[];
  /** State after the import. */
  state: ListState;
}

/** Parses a list into a version without storing it (used by `lists diff` on files). */
export async function parseToEntries(
  format: ListFormat,
  path: string,
  opts: ParseOptions = {},
): Promise<
  { parsed: ParseResult; entries: Map<string, ListEntry>; hash: string } & ReturnType<
    typeof normalize
  >
> {
  const parsed = await parseList(format, path, opts);
  const n = normalize(parsed.entries, parsed.report);
  return { parsed, ...n, hash: contentHash(n.entries.values()) };
}

/**
 * Imports a list file as a new version of `listId`. Parse errors throw (nothing is stored and the
 * active version stays). A parsed version that fails a check — no addresses, too many invalid, or a
 * drop beyond `maxShrink` — is stored as held and the active version stays.
 */
export async function importList(
  store: WatchlistStore,
  opts: ImportOptions,
): Promise<ImportResult> {
  const listId = checkListId(opts.listId);
  const now = opts.now ?? Date.now();
  const effectiveAt = opts.effectiveAt ?? now;
  const { entries, counts, report, hash } = await parseToEntries(opts.format, opts.path, opts);

  const state: ListState = (await store.getState(listId)) ?? {
    listId,
    activeVersion: null,
    lastVersion: 0,
    versions: [],
    keys: {},
  };
  const active =
    state.activeVersion === null ? null : await store.getVersion(listId, state.activeVersion);
  const activeSummary = state.versions.find((v) => v.version === state.activeVersion) ?? null;
  const sorted = [...entries.values()].sort((a, b) =>
    entryKey(a.family, a.address) < entryKey(b.family, b.address) ? -1 : 1,
  );
  if (active && active.hash === hash && activeSummary) {
    return { status: "unchanged", version: activeSummary, entries: sorted, state };
  }
  // The same content as the last held version is still held: no new version (a scheduled
  // refresh of a bad upstream file must not pile up copies).
  const last = state.versions[state.versions.length - 1];
  if (last && last.status === "held" && last.hash === hash && !opts.force) {
    return { status: "held", version: last, entries: sorted, state };
  }
  const prevMap = active
    ? new Map(active.entries.map((e) => [entryKey(e.family, e.address), e] as const))
    : null;
  const diff = diffEntries(prevMap, entries, active?.version ?? null);

  let heldReason: string | null = null;
  const read = counts.addresses + report.invalid.length;
  const maxShrink = opts.maxShrink ?? 0.2;
  const maxInvalid = opts.maxInvalid ?? 0.5;
  if (counts.addresses === 0) heldReason = "no valid addresses";
  else if (read > 0 && report.invalid.length / read > maxInvalid) {
    heldReason = `${report.invalid.length} of ${read} addresses invalid (limit ${maxInvalid * 100}%)`;
  } else if (active && counts.addresses < active.counts.addresses * (1 - maxShrink)) {
    heldReason = `${counts.addresses} addresses against ${active.counts.addresses} in active version ${active.version} (drop limit ${Math.round(maxShrink * 100)}%)`;
  }
  if (heldReason && opts.force) heldReason = null;

  const version: ListVersion = {
    listId,
    version: state.lastVersion + 1,
    hash,
    format: opts.format,
    source: opts.source ?? opts.path,
    importedAt: now,
    effectiveAt,
    status: heldReason ? "held" : "active",
    heldReason,
    counts,
    diff,
    report,
    entries: sorted,
  };
  const { entries: _omit, ...summary } = version;
  const next: ListState = {
    ...state,
    lastVersion: version.version,
    versions: [...state.versions, summary],
  };
  if (!heldReason) {
    next.versions = next.versions.map((v) =>
      v.version === state.activeVersion ? { ...v, status: "superseded" as const } : v,
    );
    next.activeVersion = version.version;
    next.keys = structuredClone(state.keys);
    applyToHistory(next.keys, entries, diff, effectiveAt, state.activeVersion === null);
  }
  await store.commit(version, next);
  return {
    status: heldReason ? "held" : "activated",
    version: summary,
    entries: sorted,
    state: next,
  };
}
