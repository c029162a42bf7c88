import type { FlagV1, TransferV1 } from "@chainscreen/schema";
import { ExposureEngine } from "./exposure.js";
import type { ScreenContext } from "./screen.js";
import { type RoutedRecord, screenTransfer } from "./screen.js";

/**
 * Both stages in one process without Kafka: screens transfers and feeds the routed records
 * through an {@link ExposureEngine} until nothing is left. `pick` chooses which pending record to
 * apply next (default FIFO) so tests can prove the flag set does not depend on arrival order.
 * Used by unit tests, the CLI and benchmarks; the service runs the same two stages over Kafka.
 */
export class LocalTagger {
  readonly engine: ExposureEngine;
  private readonly pending: RoutedRecord[] = [];
  /** Latest version of every flag by id (a retraction replaces the active version). */
  readonly flags = new Map<string, FlagV1>();
  /** Every flag message in publication order. */
  readonly published: FlagV1[] = [];

  constructor(
    readonly ctx: ScreenContext,
    private readonly pick: (n: number) => number = () => 0,
  ) {
    this.engine = new ExposureEngine({
      rules: () => ctx.rules,
      suppressions: () => ctx.suppressions,
      exposurePartitions: ctx.exposurePartitions,
      now: ctx.now,
    });
  }

  /** Screens transfers (stage 1) and queues their records; call {@link drain} to run stage 2. */
  screen(transfers: readonly TransferV1[]): void {
    for (const t of transfers) {
      const r = screenTransfer(t, this.ctx);
      this.publish(r.flags);
      this.pending.push(...r.records);
    }
  }

  /** Applies pending records (and the ones they produce) until none is left. */
  drain(): void {
    while (this.pending.length > 0) {
      const i = this.pick(this.pending.length) % this.pending.length;
      const [rec] = this.pending.splice(i, 1);
      if (!rec) continue;
      const out = this.engine.apply(rec.value, rec.partition);
      this.publish(out.flags);
      this.pending.push(...out.records);
    }
  }

  /** Screens and drains. */
  run(transfers: readonly TransferV1[]): FlagV1[] {
    this.screen(transfers);
    this.drain();
    return this.active();
  }

  /** Flags whose latest version is active. */
  active(): FlagV1[] {
    return [...this.flags.values()].filter((f) => f.status === "active");
  }

  private publish(flags: FlagV1[]): void {
    for (const f of flags) {
      this.published.push(f);
      this.flags.set(f.id, f);
    }
  }
}
