import type { Logger } from "@chainscreen/logger";
import type { AlertsStore } from "./store.js";
import type { DeliveryAttempt } from "./types.js";

/**
 * Buffers delivery attempts and writes them in batches (ClickHouse prefers few large inserts).
 * A failed write keeps the rows and tries again on the next flush; past `maxBuffered` the oldest
 * rows are dropped with a warning rather than growing without bound.
 */
export class DeliveryLog {
  #buf: DeliveryAttempt[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;

  constructor(
    private readonly store: AlertsStore,
    private readonly log: Logger,
    private readonly flushMs = 200,
    private readonly maxBuffered = 100_000,
  ) {}

  /** Starts periodic flushing. */
  start(): void {
    this.#timer ??= setInterval(() => void this.flush(), this.flushMs);
    this.#timer.unref();
  }

  /** Queues one attempt for writing. */
  record(row: DeliveryAttempt): void {
    this.#buf.push(row);
    if (this.#buf.length > this.maxBuffered) {
      const dropped = this.#buf.length - this.maxBuffered;
      this.#buf.splice(0, dropped);
      this.log.warn({ dropped }, "delivery log buffer full, oldest attempts dropped");
    }
  }

  /** Writes what is buffered; concurrent calls share one write. */
  flush(): Promise<void> {
    this.#flushing ??= this.#doFlush().finally(() => {
      this.#flushing = null;
    });
    return this.#flushing;
  }

  async #doFlush(): Promise<void> {
    while (this.#buf.length > 0) {
      const rows = this.#buf;
      this.#buf = [];
      try {
        await this.store.insertDeliveries(rows);
      } catch (err) {
        this.#buf = rows.concat(this.#buf);
        this.log.warn(
          { err: (err as Error).message, rows: rows.length },
          "delivery log write failed",
        );
        return;
      }
    }
  }

  /** Stops the timer and writes the rest. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.flush();
  }
}
