import { BaseError } from "@chainscreen/errors";
import {
  Backfill,
  type BackfillOptions,
  type BackfillProgress,
  type BlockSource,
} from "@chainscreen/ingest";
import { KafkaBus } from "@chainscreen/kafka";
import { createLogger, type Logger } from "@chainscreen/logger";
import type { Command } from "commander";
import { fail, progressBar } from "./util.js";

// Shared by the `backfill <chain>` commands. This file sits outside ./commands on purpose: every
// module there is loaded as a command (see program.ts).

/**
 * The `backfill` parent command, created by whichever chain's command file loads first (they load
 * in name order, so `backfill-bitcoin.ts` creates it).
 */
export function backfillCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === "backfill") ??
    program.command("backfill").description("Backfill a closed block range of a chain into Kafka")
  );
}

/**
 * `backfill <chain>` with the shared description and the `--from`/`--to` options; the caller adds
 * the chain's own options. `blocks` names what is read, e.g. "Tron blocks FROM..TO (solidified only)".
 */
export function chainBackfillCommand(program: Command, chain: string, blocks: string): Command {
  return backfillCommand(program)
    .command(chain)
    .description(
      `Backfill ${blocks} as transfer.v1; a rerun of the same range resumes after the last committed batch`,
    )
    .requiredOption("--from <n>", "first block", intOption("--from"))
    .requiredOption("--to <n>", "last block (inclusive)", intOption("--to"));
}

/** The command's logger: warnings and errors only unless $LOG_LEVEL says otherwise. */
export function backfillLogger(service: string): Logger {
  return createLogger({ service, level: process.env.LOG_LEVEL ?? "warn" });
}

/** Option parser for a non-negative integer; exits 1 naming the option otherwise. */
export const intOption = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) fail(`${name} must be a non-negative integer`);
  return n;
};

/** Comma-separated list with blanks removed. */
export const listOption = (v: string): string[] =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** Kafka brokers from the option, else $KAFKA_BROKERS, else the local broker. */
export function brokersOption(value: string | undefined): string[] {
  return (value ?? process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",").map((s) => s.trim());
}

/** The parsed options every `backfill <chain>` command has. */
export interface BackfillRange {
  from: number;
  /** Last block, inclusive. */
  to: number;
  batchSize: number;
  concurrency: number;
  /** Transfer topic. */
  topic: string;
  /** Progress topic (default `ingest.backfill`). */
  progressTopic?: string;
}

/** Options of {@link runBackfill}. */
export interface RunBackfillOptions {
  source: BlockSource;
  log: Logger;
  /** How the job checks that the range is final (see {@link BackfillOptions}). */
  finality?: Pick<BackfillOptions, "requireFinal" | "confirmations" | "useSafeHead">;
  brokers: string[];
  clientId: string;
  /** Closes the source's clients after the job (errors ignored). */
  close?: () => Promise<void>;
  /** Signals that stop the job after the batch in flight is committed (default SIGINT). */
  signals?: readonly NodeJS.Signals[];
  /**
   * Retry errors that Kafka (kafkajs `retriable`) or the source (BaseError `retryable`) call
   * retriable, up to 5 attempts; each attempt resumes from the last committed batch.
   */
  retry?: boolean;
  /** Say on stderr where a job that committed batches before picks up. */
  announceResume?: boolean;
  /** The summary line on stdout (default `done: blocks D/T, transfers N`). */
  summary?: (p: BackfillProgress, interrupted: boolean) => string;
}

/** Kafka (kafkajs `retriable`) or source (BaseError `retryable`) errors worth another attempt. */
function retriable(err: unknown): boolean {
  return (
    (err as { retriable?: boolean }).retriable === true ||
    (err instanceof BaseError && err.retryable)
  );
}

const defaultSummary = (p: BackfillProgress, interrupted: boolean) =>
  `${interrupted ? "interrupted" : "done"}: blocks ${p.done}/${p.total}, transfers ${p.transfers}`;

/**
 * Runs a resumable backfill job for a CLI command: a Kafka bus, a progress bar on stderr, a
 * signal that stops the job after the batch in flight (the same command then resumes), and a
 * summary line on stdout. Errors stop the bar, close the clients and are rethrown (the CLI prints
 * `error: …` and exits 1).
 */
export async function runBackfill(
  range: BackfillRange,
  o: RunBackfillOptions,
): Promise<BackfillProgress> {
  const { from, to } = range;
  const bus = new KafkaBus({ brokers: o.brokers, clientId: o.clientId }, o.log);
  const stop = new AbortController();
  // Ctrl-C (and any other of `signals`) stops after the batch in flight is committed; the same
  // command then resumes.
  for (const sig of o.signals ?? ["SIGINT"]) process.once(sig, () => stop.abort());
  const bar = progressBar(to - from + 1, "blocks");
  try {
    const job = new Backfill({
      source: o.source,
      bus,
      log: o.log,
      from,
      to,
      batchSize: range.batchSize,
      concurrency: range.concurrency,
      topics: { transfers: range.topic, progress: range.progressTopic },
      ...o.finality,
      signal: stop.signal,
      onProgress: (p) => bar.update(p.done),
    });
    const attempt = async () => {
      const resume = await job.resumePoint();
      if (o.announceResume && resume > from)
        process.stderr.write(`resuming at block ${resume} (${resume - from} done before)\n`);
      bar.update(resume - from);
      return job.run();
    };
    const attempts = o.retry ? 5 : 1;
    let p = await attempt().catch((err: unknown) => ({ err }));
    for (let n = 1; "err" in p && n < attempts && retriable(p.err) && !stop.signal.aborted; n++) {
      await new Promise((r) => setTimeout(r, 1_000 * n));
      p = await attempt().catch((err: unknown) => ({ err }));
    }
    if ("err" in p) throw p.err;
    bar.stop();
    process.stdout.write(`${(o.summary ?? defaultSummary)(p, stop.signal.aborted)}\n`);
    return p;
  } catch (err) {
    bar.stop();
    throw err;
  } finally {
    await bus.close().catch(() => {});
    await o.close?.().catch(() => {});
  }
}
