import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "@chainscreen/logger";
import type { ExchangeReport } from "../report.js";
import type { ExchangeApi } from "./types.js";

type Kind = "deposit" | "withdrawal";

/** Durable poller position: history is complete up to `until` (exclusive) for each kind. */
export interface PollerCheckpoint {
  deposit: { until: number; recentRefs: string[] };
  withdrawal: { until: number; recentRefs: string[] };
}

/** Stores a checkpoint as a JSON file, replaced atomically (write + rename). */
export class FileCheckpoint {
  constructor(private readonly file: string) {}

  load(initialFrom: number): PollerCheckpoint {
    if (!existsSync(this.file)) {
      return {
        deposit: { until: initialFrom, recentRefs: [] },
        withdrawal: { until: initialFrom, recentRefs: [] },
      };
    }
    return JSON.parse(readFileSync(this.file, "utf8")) as PollerCheckpoint;
  }

  save(cp: PollerCheckpoint): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(cp));
    renameSync(tmp, this.file);
  }
}

/** Options for {@link ExchangePoller}. */
export interface PollerOptions {
  api: ExchangeApi;
  checkpoint: FileCheckpoint;
  /** Where history starts on the very first run (ms). */
  initialFrom: number;
  /** Records may appear late (credited after their timestamp): re-read this much, de-duplicated. */
  overlapMs?: number;
  /** Don't read closer to now than this (records still settling). */
  settleMs?: number;
  /** Receives every new report once; the checkpoint advances only after it resolves. */
  onReports: (reports: ExchangeReport[]) => Promise<void>;
  log: Logger;
  now?: () => number;
}

/**
 * Polls one exchange account's deposit and withdrawal history window by window, page by page.
 * After each window the reports are handed on and only then the checkpoint is saved, so a crash
 * re-reads at most one window; references already handed on inside the overlap are remembered
 * in the checkpoint, so a restart never hands the same report on twice.
 */
export class ExchangePoller {
  private readonly overlap: number;
  private readonly settle: number;
  private readonly now: () => number;

  constructor(private readonly opts: PollerOptions) {
    this.overlap = opts.overlapMs ?? 10 * 60_000;
    this.settle = opts.settleMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  /** Catches up to now − settle once; returns how many new reports were handed on. */
  async pollOnce(): Promise<number> {
    const cp = this.opts.checkpoint.load(this.opts.initialFrom);
    let total = 0;
    for (const kind of ["deposit", "withdrawal"] as const) total += await this.catchUp(cp, kind);
    return total;
  }

  private async catchUp(cp: PollerCheckpoint, kind: Kind): Promise<number> {
    const api = this.opts.api;
    const target = this.now() - this.settle;
    let n = 0;
    while (cp[kind].until < target) {
      const start = Math.max(this.opts.initialFrom, cp[kind].until - this.overlap);
      const end = Math.min(target, cp[kind].until + api.maxWindowMs);
      const seen = new Set(cp[kind].recentRefs);
      const fresh: ExchangeReport[] = [];
      const times = new Map<string, number>();
      let cursor: string | null = null;
      do {
        const page = await api.history(kind, start, end, cursor);
        for (const r of page.reports) {
          const t = typeof r.time === "number" ? r.time : Date.parse(String(r.time));
          times.set(r.reference, t);
          if (seen.has(r.reference)) continue;
          seen.add(r.reference);
          fresh.push(r);
        }
        cursor = page.next;
      } while (cursor !== null);
      if (fresh.length > 0) await this.opts.onReports(fresh);
      n += fresh.length;
      // Remember references inside the next overlap so they are not handed on again.
      const keepFrom = end - this.overlap;
      const recent = [...seen].filter((ref) => (times.get(ref) ?? end) >= keepFrom);
      cp[kind] = { until: end, recentRefs: recent };
      this.opts.checkpoint.save(cp);
      this.opts.log.info(
        { exchange: api.exchange, kind, until: end, fresh: fresh.length },
        "exchange history window done",
      );
    }
    return n;
  }
}
