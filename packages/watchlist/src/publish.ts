import type { Family } from "@chainscreen/addresses";
import type { OutMessage, Producer } from "@chainscreen/kafka";
import { WatchlistEntryV1, type WatchlistRecord, watchlistKey } from "@chainscreen/schema";
import type { Matcher } from "./matcher.js";
import { splitKey } from "./types.js";
import type { Interval, KeyHistory, ListState, VersionSummary } from "./version.js";

/** What to publish for a version: only what changed, or every listed key (a full snapshot). */
export type PublishMode = "diff" | "full";

function entryMessage(
  state: ListState,
  version: VersionSummary,
  key: string,
  h: KeyHistory,
  iv: Interval,
  now: number,
): OutMessage {
  const { family, address } = splitKey(key);
  const first = h.records[0] as WatchlistRecord;
  const programmes = [...new Set(h.records.flatMap((r) => r.programmes))].sort();
  const value: WatchlistEntryV1 = WatchlistEntryV1.parse({
    type: "watchlist.v1",
    listId: state.listId,
    listVersion: version.version,
    listHash: version.hash,
    family,
    address,
    code: first.code,
    entityName: first.entityName,
    programmes,
    category: first.category,
    severity: first.severity,
    records: h.records,
    listedFrom: iv.from,
    listedUntil: iv.until,
    publishedAt: now,
  });
  return { key: watchlistKey(state.listId, family, address), value };
}

/**
 * Messages for `watchlist.v1` (compacted, keyed by list+family+address) after `version` became
 * active: each added or changed key with its open interval; each removed key as a last message
 * with `listedUntil` followed by a tombstone. `full` also re-sends every listed key.
 */
export function versionMessages(
  state: ListState,
  version: VersionSummary,
  mode: PublishMode = "diff",
  now = Date.now(),
): OutMessage[] {
  const out: OutMessage[] = [];
  const send =
    mode === "full"
      ? Object.keys(state.keys).filter((k) =>
          state.keys[k]?.intervals.some((i) => i.until === null),
        )
      : [...version.diff.added, ...version.diff.changed];
  for (const k of send) {
    const h = state.keys[k];
    const open = h?.intervals.find((i) => i.until === null);
    if (h && open) out.push(entryMessage(state, version, k, h, open, now));
  }
  for (const k of version.diff.removed) {
    const h = state.keys[k];
    const closed = h?.intervals[h.intervals.length - 1];
    const { family, address } = splitKey(k);
    if (h && closed && h.records.length) out.push(entryMessage(state, version, k, h, closed, now));
    out.push({ key: watchlistKey(state.listId, family, address), value: null });
  }
  return out;
}

/** Publishes a version to the compacted watchlist topic; returns how many messages were sent. */
export async function publishVersion(
  producer: Pick<Producer, "send">,
  topic: string,
  state: ListState,
  version: VersionSummary,
  mode: PublishMode = "diff",
): Promise<number> {
  const msgs = versionMessages(state, version, mode);
  if (msgs.length) await producer.send(topic, msgs);
  return msgs.length;
}

/**
 * Applies one `watchlist.v1` message to a matcher, as a consumer following the topic does:
 * a value sets the (list, address) listing; a tombstone ends it at the message timestamp.
 */
export function applyWatchlistMessage(
  matcher: Matcher,
  key: string,
  value: WatchlistEntryV1 | null,
  timestampMs: number,
): void {
  if (value) {
    matcher.set(
      value.listId,
      value.family as Family,
      value.address,
      { listId: value.listId, listVersion: value.listVersion, records: value.records },
      value.listedFrom,
      value.listedUntil,
    );
    return;
  }
  const [listId, family, address] = key.split("|");
  if (listId && family && address) matcher.close(listId, family as Family, address, timestampMs);
}
