import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { errorMessage, isRetryable } from "@chainscreen/errors";
import type { OutMessage, Producer } from "@chainscreen/kafka";
import type { Logger } from "@chainscreen/logger";
import { counter, gauge } from "@chainscreen/runtime";
import { WatchlistOpsEventV1 } from "@chainscreen/schema";
import { listVersionRow, type Store, Tables } from "@chainscreen/store";
import {
  fetchList,
  type ImportResult,
  importList,
  isUrl,
  publishVersion,
  type WatchlistStore,
} from "@chainscreen/watchlist";
import type { SourceConfig } from "./sources.js";

const refreshes = counter(
  "chainscreen_watchlist_refresh_total",
  "Watchlist refreshes by list and outcome (activated, unchanged, not_modified, held, failed)",
  ["list", "outcome"],
);
const failures = counter(
  "chainscreen_watchlist_refresh_failures_total",
  "Failed watchlist refreshes by list and stage (fetch, parse, publish); the active version stays",
  ["list", "stage"],
);
const activeVersion = gauge("chainscreen_watchlist_active_version", "Active version per list", [
  "list",
]);
const activeAddresses = gauge(
  "chainscreen_watchlist_active_addresses",
  "Addresses in the active version per list",
  ["list"],
);
const lastSuccess = gauge(
  "chainscreen_watchlist_last_success_timestamp_seconds",
  "Last refresh that ended without error (activated, unchanged, not modified), unix seconds",
  ["list"],
);

const unrecordedVersions = gauge(
  "chainscreen_watchlist_versions_unrecorded",
  "Activated versions per list not yet recorded in list_versions (store unreachable: retried each cycle)",
  ["list"],
);

/**
 * What the sync remembers per list between runs (conditional-request validators, publishing,
 * recording in `list_versions`).
 */
interface SourceState {
  etag: string | null;
  lastModified: string | null;
  /** Last version whose messages reached the topic. */
  publishedVersion: number | null;
  /**
   * Every activated version up to this one has its `list_versions` row. Absent in state files
   * written before recording existed (or with recording off): the first recording then writes
   * the list's whole history.
   */
  recordedVersion?: number;
  /** When versions not yet recorded reached the topic (ms), by version; dropped once recorded. */
  publishTimes?: Record<string, number>;
}

/** Outcome of one refresh of one source. */
export type RefreshOutcome =
  | { listId: string; outcome: "not_modified" | "unchanged" }
  | { listId: string; outcome: "activated" | "held"; version: number; published: number }
  | { listId: string; outcome: "failed"; stage: "fetch" | "parse" | "publish"; error: string };

/** Dependencies and settings of {@link WatchlistSync}. */
export interface WatchlistSyncOptions {
  sources: SourceConfig[];
  store: WatchlistStore;
  producer: Pick<Producer, "send">;
  topics: { watchlist: string; ops: string };
  /** JSON file for validators and publishing progress. */
  statePath: string;
  log: Logger;
  /**
   * Where activated versions are recorded, one `list_versions` row each (held versions are not:
   * the table has no status). Absent: not recorded. Recording runs after the cycle's publishing
   * and its failures only delay it: unrecorded versions are retried on the next cycle.
   */
  listVersions?: Pick<Store, "insertRows">;
  maxShrink?: number;
  fetchTimeoutMs?: number;
  now?: () => number;
}

/**
 * Refreshes each configured list: conditional download (ETag / Last-Modified), import as a new
 * version, publish the diff to the compacted watchlist topic. A fetch or parse failure, or a
 * held version, leaves the active version in force and emits an `ops.v1` event and a metric.
 */
export class WatchlistSync {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<RefreshOutcome[]> | null = null;
  private stopped = false;

  constructor(private readonly o: WatchlistSyncOptions) {}

  /** Refreshes every source once, one after another; never throws for a source's failure. */
  async runOnce(): Promise<RefreshOutcome[]> {
    if (this.running) return this.running;
    this.running = (async () => {
      const out: RefreshOutcome[] = [];
      for (const s of this.o.sources) {
        if (this.stopped) break;
        out.push(await this.refresh(s));
      }
      // After publishing, never before it: the store being down must not delay the topic.
      try {
        await this.recordVersions();
      } catch (err) {
        this.o.log.warn({ err: errorMessage(err) }, "list versions not recorded");
      }
      return out;
    })();
    try {
      return await this.running;
    } finally {
      this.running = null;
    }
  }

  /**
   * Publishes every listed key of each source's active version (mode `full`) when it was never
   * published or a publish failed; with `force`, always. Compaction makes repeats harmless.
   */
  async publishActive(force = false): Promise<number> {
    const states = await this.loadState();
    let sent = 0;
    for (const s of this.o.sources) {
      const st = await this.o.store.getState(s.listId);
      if (!st || st.activeVersion === null) continue;
      const mine = states[s.listId];
      if (!force && mine?.publishedVersion === st.activeVersion) continue;
      const v = st.versions.find((x) => x.version === st.activeVersion);
      if (!v) continue;
      sent += await publishVersion(this.o.producer, this.o.topics.watchlist, st, v, "full");
      states[s.listId] = {
        etag: null,
        lastModified: null,
        ...mine,
        publishedVersion: st.activeVersion,
      };
      activeVersion.set({ list: s.listId }, st.activeVersion);
      activeAddresses.set({ list: s.listId }, v.counts.addresses);
    }
    await this.saveState(states);
    return sent;
  }

  /**
   * Inserts one `list_versions` row for each activated version of every source that has none yet
   * (versions activated by `chainscreen lists import` into the same store included). A store
   * failure is logged and leaves those versions pending for the next call; rows written twice
   * (a failure after the insert landed) collapse in the table's ReplacingMergeTree. Returns the
   * rows written.
   */
  async recordVersions(): Promise<number> {
    const target = this.o.listVersions;
    if (!target) return 0;
    const states = await this.loadState();
    let written = 0;
    let changed = false;
    for (const s of this.o.sources) {
      const st = await this.o.store.getState(s.listId);
      if (!st) continue;
      const mine: SourceState = states[s.listId] ?? {
        etag: null,
        lastModified: null,
        publishedVersion: null,
      };
      // A mark beyond the store's last version means the version store was reset: start over.
      const mark = mine.recordedVersion ?? 0;
      const since = mark > st.lastVersion ? 0 : mark;
      // Held versions are never activated later (a forced import makes a new version): skip them.
      const todo = st.versions.filter((v) => v.version > since && v.status !== "held");
      if (todo.length > 0) {
        const times = mine.publishTimes ?? {};
        const rows = todo.map((v) => listVersionRow(v, times[String(v.version)] ?? null));
        try {
          await target.insertRows(Tables.listVersions, rows);
        } catch (err) {
          unrecordedVersions.set({ list: s.listId }, todo.length);
          this.o.log.warn(
            {
              list: s.listId,
              versions: todo.map((v) => v.version),
              err: errorMessage(err),
            },
            "list versions not recorded; retrying next cycle",
          );
          continue;
        }
        written += rows.length;
        this.o.log.info(
          { list: s.listId, versions: todo.map((v) => v.version) },
          "list versions recorded",
        );
      }
      unrecordedVersions.set({ list: s.listId }, 0);
      if (st.lastVersion === mark) continue;
      const publishTimes = Object.fromEntries(
        Object.entries(mine.publishTimes ?? {}).filter(([v]) => Number(v) > st.lastVersion),
      );
      states[s.listId] = { ...mine, recordedVersion: st.lastVersion, publishTimes };
      changed = true;
    }
    if (changed) await this.saveState(states);
    return written;
  }

  /** Runs {@link runOnce} now and then every `intervalMs` until {@link stop}. */
  start(intervalMs: number): void {
    const tick = async () => {
      if (this.stopped) return;
      try {
        await this.runOnce();
      } catch (err) {
        this.o.log.error({ err: errorMessage(err) }, "watchlist refresh cycle failed");
      }
      if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
    };
    void tick();
  }

  /** Stops scheduling and waits for a refresh in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private async refresh(s: SourceConfig): Promise<RefreshOutcome> {
    const log = this.o.log.child({ list: s.listId });
    const states = await this.loadState();
    const prev: SourceState = states[s.listId] ?? {
      etag: null,
      lastModified: null,
      publishedVersion: null,
    };
    const cleanups: Array<() => Promise<void>> = [];
    let path = s.location;
    let commentsPath = s.comments;
    let validators: Pick<SourceState, "etag" | "lastModified"> = prev;
    try {
      // 1. Fetch (conditional for URLs).
      try {
        if (isUrl(s.location)) {
          const r = await fetchList(s.location, { ...prev, timeoutMs: this.o.fetchTimeoutMs });
          if (r.status === "not-modified") {
            refreshes.inc({ list: s.listId, outcome: "not_modified" });
            lastSuccess.set({ list: s.listId }, Math.floor(this.now() / 1000));
            log.debug("watchlist not modified");
            return { listId: s.listId, outcome: "not_modified" };
          }
          cleanups.push(r.cleanup);
          path = r.path;
          validators = { etag: r.etag, lastModified: r.lastModified };
        }
        if (s.comments && isUrl(s.comments)) {
          const c = await fetchList(s.comments, { timeoutMs: this.o.fetchTimeoutMs });
          if (c.status === "downloaded") {
            cleanups.push(c.cleanup);
            commentsPath = c.path;
          }
        }
      } catch (err) {
        return await this.failed(s, "fetch", err, log);
      }

      // 2. Import as a version (parse errors throw; checks may hold it).
      let result: ImportResult;
      try {
        result = await importList(this.o.store, {
          listId: s.listId,
          format: s.format,
          path,
          source: s.location,
          commentsPath,
          now: this.now(),
          maxShrink: this.o.maxShrink,
        });
      } catch (err) {
        return await this.failed(s, "parse", err, log);
      }
      const unknown = Object.keys(result.version.report.unknownCodes);
      if (unknown.length && result.status !== "unchanged") {
        await this.opsEvent(
          s.listId,
          "unknown_codes",
          "warning",
          `unknown currency codes kept: ${unknown.join(", ")}`,
          {
            unknownCodes: result.version.report.unknownCodes,
          },
        );
      }
      if (result.status === "unchanged") {
        states[s.listId] = { ...prev, ...validators };
        await this.saveState(states);
        refreshes.inc({ list: s.listId, outcome: "unchanged" });
        lastSuccess.set({ list: s.listId }, Math.floor(this.now() / 1000));
        return { listId: s.listId, outcome: "unchanged" };
      }
      if (result.status === "held") {
        // Keep the old validators so the same content is fetched and checked again next time.
        refreshes.inc({ list: s.listId, outcome: "held" });
        log.warn(
          { version: result.version.version, reason: result.version.heldReason },
          "watchlist version held; active version stays",
        );
        await this.opsEvent(
          s.listId,
          "version_held",
          "warning",
          `version ${result.version.version} held: ${result.version.heldReason}`,
          {
            version: result.version.version,
            activeVersion: result.state.activeVersion,
            addresses: result.version.counts.addresses,
          },
        );
        return { listId: s.listId, outcome: "held", version: result.version.version, published: 0 };
      }

      // 3. Publish the diff (a full snapshot when an earlier publish is missing).
      states[s.listId] = { ...prev, ...validators };
      await this.saveState(states);
      const behind = prev.publishedVersion !== result.version.diff.previousVersion;
      let published: number;
      try {
        published = await publishVersion(
          this.o.producer,
          this.o.topics.watchlist,
          result.state,
          result.version,
          behind ? "full" : "diff",
        );
      } catch (err) {
        return await this.failed(s, "publish", err, log);
      }
      states[s.listId] = {
        ...prev,
        ...validators,
        publishedVersion: result.version.version,
        // Kept for the version's list_versions row only when rows are recorded at all.
        ...(this.o.listVersions
          ? {
              publishTimes: {
                ...prev.publishTimes,
                [String(result.version.version)]: this.now(),
              },
            }
          : {}),
      };
      await this.saveState(states);
      refreshes.inc({ list: s.listId, outcome: "activated" });
      activeVersion.set({ list: s.listId }, result.version.version);
      activeAddresses.set({ list: s.listId }, result.version.counts.addresses);
      lastSuccess.set({ list: s.listId }, Math.floor(this.now() / 1000));
      const d = result.version.diff;
      log.info(
        {
          version: result.version.version,
          added: d.added.length,
          removed: d.removed.length,
          changed: d.changed.length,
          published,
        },
        "watchlist version activated",
      );
      await this.opsEvent(
        s.listId,
        "version_activated",
        "info",
        `version ${result.version.version} active`,
        {
          version: result.version.version,
          added: d.added.length,
          removed: d.removed.length,
          changed: d.changed.length,
          fragments: result.version.report.fragments.length,
          invalid: result.version.report.invalid.length,
        },
      );
      return { listId: s.listId, outcome: "activated", version: result.version.version, published };
    } finally {
      for (const c of cleanups) await c().catch(() => undefined);
    }
  }

  private async failed(
    s: SourceConfig,
    stage: "fetch" | "parse" | "publish",
    err: unknown,
    log: Logger,
  ): Promise<RefreshOutcome> {
    const error = errorMessage(err);
    failures.inc({ list: s.listId, stage });
    refreshes.inc({ list: s.listId, outcome: "failed" });
    log.error(
      { stage, err: error, retryable: isRetryable(err) },
      "watchlist refresh failed; active version stays",
    );
    await this.opsEvent(
      s.listId,
      stage === "fetch" ? "fetch_failed" : "parse_failed",
      "error",
      error,
      {
        stage,
        retryable: isRetryable(err),
      },
    );
    return { listId: s.listId, outcome: "failed", stage, error };
  }

  private async opsEvent(
    listId: string,
    event: WatchlistOpsEventV1["event"],
    level: WatchlistOpsEventV1["level"],
    message: string,
    context: Record<string, unknown>,
  ): Promise<void> {
    const value = WatchlistOpsEventV1.parse({
      type: "ops.v1",
      source: "watchlist-sync",
      event,
      level,
      listId,
      message: message.slice(0, 2000),
      context,
      at: this.now(),
    });
    const msg: OutMessage = { key: listId, value };
    try {
      await this.o.producer.send(this.o.topics.ops, [msg]);
    } catch (err) {
      // The metric and the log already carry the failure; an unreachable broker must not mask it.
      this.o.log.error({ err: errorMessage(err), event }, "ops event not sent");
    }
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private async loadState(): Promise<Record<string, SourceState>> {
    try {
      return JSON.parse(await readFile(this.o.statePath, "utf8")) as Record<string, SourceState>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw err;
    }
  }

  private async saveState(s: Record<string, SourceState>): Promise<void> {
    await mkdir(dirname(this.o.statePath), { recursive: true });
    const tmp = `${this.o.statePath}.tmp`;
    await writeFile(tmp, JSON.stringify(s, null, 2));
    await rename(tmp, this.o.statePath);
  }
}
