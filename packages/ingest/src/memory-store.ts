import type { TransferV1 } from "@chainscreen/schema";
import type { BlockRecord, Commit, IngestStore } from "./types.js";

/**
 * In-process IngestStore for unit tests of follower logic (no durability). Keeps every emitted
 * event in order so tests can check the emitted stream; `failNext` simulates a failed commit.
 */
export class MemoryIngestStore implements IngestStore {
  readonly events: TransferV1[] = [];
  readonly records = new Map<string, BlockRecord>();
  failNext = 0;

  async restore(chain: string): Promise<BlockRecord[]> {
    return [...this.records.entries()]
      .filter(([k]) => k.startsWith(`${chain}:`))
      .map(([, v]) => v)
      .sort((a, b) => a.ref.number - b.ref.number);
  }

  async commit(chain: string, c: Commit): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("simulated commit failure");
    }
    this.events.push(...c.events);
    for (const n of c.remove) this.records.delete(`${chain}:${n}`);
    for (const b of c.put) this.records.set(`${chain}:${b.ref.number}`, b);
  }

  async close(): Promise<void> {}
}

/** Net set of an event stream: ids whose last status is confirmed (pending/retracted excluded). */
export function netConfirmed(events: TransferV1[]): Map<string, TransferV1> {
  const last = new Map<string, TransferV1>();
  for (const e of events) last.set(e.id, e);
  return new Map([...last].filter(([, e]) => e.status === "confirmed"));
}
