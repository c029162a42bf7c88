import type { Logger } from "@chainscreen/logger";

type Handler = { name: string; fn: () => Promise<void> | void };

/**
 * Ordered shutdown with a deadline.
 *
 * Services register handlers in the order they must run, which is always:
 *   1. stop intake (consumers stop fetching, HTTP servers stop accepting),
 *   2. drain in-flight work,
 *   3. flush buffered writes (ClickHouse batches),
 *   4. commit offsets,
 *   5. close clients (Kafka, Redis, ClickHouse).
 * Each handler runs once even if shutdown is requested twice. When the deadline passes, the
 * process exits non-zero so a supervisor restarts it: redelivery, not loss, covers the rest.
 */
export class Shutdown {
  private readonly handlers: Handler[] = [];
  private running: Promise<void> | null = null;
  private installed = false;

  constructor(
    private readonly log: Logger,
    private readonly deadlineMs = 25_000,
    private readonly exit: (code: number) => void = (c) => process.exit(c),
  ) {}

  /** Registers a step; steps run in registration order. */
  add(name: string, fn: () => Promise<void> | void): this {
    this.handlers.push({ name, fn });
    return this;
  }

  /** True once shutdown started. */
  get stopping(): boolean {
    return this.running !== null;
  }

  /** Runs every step in order (idempotent); resolves when done or the deadline passed. */
  run(reason: string): Promise<void> {
    if (this.running) return this.running;
    this.log.info({ reason }, "shutting down");
    this.running = (async () => {
      const timer = new Promise<"timeout">((r) =>
        setTimeout(() => r("timeout"), this.deadlineMs).unref(),
      );
      const steps = (async () => {
        for (const h of this.handlers) {
          const t0 = Date.now();
          try {
            await h.fn();
            this.log.info({ step: h.name, ms: Date.now() - t0 }, "shutdown step done");
          } catch (err) {
            this.log.error({ step: h.name, err }, "shutdown step failed");
          }
        }
        return "done" as const;
      })();
      const outcome = await Promise.race([steps, timer]);
      if (outcome === "timeout") {
        this.log.error({ deadlineMs: this.deadlineMs }, "shutdown deadline passed");
        this.exit(1);
      }
    })();
    return this.running;
  }

  /**
   * Wires SIGTERM/SIGINT to an orderly shutdown followed by exit(0), and makes uncaught errors
   * fatal (log, exit 1) so a supervisor restarts the process instead of it limping on.
   */
  install(): this {
    if (this.installed) return this;
    this.installed = true;
    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      process.on(sig, () => {
        void this.run(sig).then(() => this.exit(0));
      });
    }
    process.on("uncaughtException", (err) => {
      this.log.fatal({ err }, "uncaught exception");
      this.exit(1);
    });
    process.on("unhandledRejection", (err) => {
      this.log.fatal({ err }, "unhandled rejection");
      this.exit(1);
    });
    return this;
  }
}
