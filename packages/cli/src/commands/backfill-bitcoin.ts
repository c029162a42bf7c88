import {
  BitcoinBlockSource,
  createBackend,
  LmdbOutpointStore,
  Networks,
} from "@chainscreen/bitcoin";
import { BaseError } from "@chainscreen/errors";
import { Backfill } from "@chainscreen/ingest";
import { KafkaBus } from "@chainscreen/kafka";
import { createLogger } from "@chainscreen/logger";
import type { Command } from "commander";
import { errorText, fail, progressBar } from "../util.js";

/** Kafka (kafkajs `retriable`) or node (BaseError `retryable`) errors worth another attempt. */
function retriable(err: unknown): boolean {
  return (
    (err as { retriable?: boolean }).retriable === true ||
    (err instanceof BaseError && err.retryable)
  );
}

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) fail(`${name} must be a non-negative integer`);
  return n;
};

interface Opts {
  from: number;
  to: number;
  url?: string;
  api: string;
  network: string;
  brokers?: string;
  topic: string;
  batchSize: number;
  concurrency: number;
  confirmations: number;
  prevouts: string;
  outpointDb?: string;
  lenientInputs?: boolean;
}

/** `chainscreen backfill bitcoin --from N --to M`: confirmed Bitcoin blocks into transfer.v1, resumable. */
export function register(program: Command): void {
  // The parent may already exist (another chain's backfill file); attach to it if so.
  const parent =
    program.commands.find((c) => c.name() === "backfill") ??
    program.command("backfill").description("Backfill a closed block range of a chain into Kafka");
  parent
    .command("bitcoin")
    .description(
      "Backfill Bitcoin blocks FROM..TO (below the confirmation depth) as transfer.v1; a rerun of the same range resumes after the last committed batch",
    )
    .requiredOption("--from <n>", "first block", int("--from"))
    .requiredOption("--to <n>", "last block (inclusive)", int("--to"))
    .option(
      "--url <urls>",
      "node URLs, comma-separated (env BITCOIN_URLS); RPC credentials via BITCOIN_RPC_USER/PASSWORD",
    )
    .option(
      "--api <api>",
      "rpc (Bitcoin Core JSON-RPC) | esplora",
      process.env.BITCOIN_API ?? "rpc",
    )
    .option(
      "--network <name>",
      "bitcoin | testnet | regtest",
      process.env.BITCOIN_NETWORK ?? "bitcoin",
    )
    .option("--brokers <list>", "Kafka brokers, comma-separated (env KAFKA_BROKERS)")
    .option("--topic <name>", "transfer topic", "transfer.v1")
    .option("--batch-size <n>", "blocks per Kafka transaction", int("--batch-size"), 10)
    .option(
      "--concurrency <n>",
      "batches fetched in parallel (1 keeps the outpoint index in block order)",
      int("--concurrency"),
      1,
    )
    .option(
      "--confirmations <n>",
      "refuse blocks with fewer confirmations",
      int("--confirmations"),
      6,
    )
    .option("--prevouts <mode>", "auto | node | index", "auto")
    .option("--outpoint-db <dir>", "LMDB outpoint index directory (env BITCOIN_OUTPOINT_DB)")
    .option("--lenient-inputs", "emit blocks whose inputs cannot all be resolved (fee unknown)")
    .action(async (o: Opts) => {
      if (o.to < o.from) fail("--to must be >= --from");
      if (o.api !== "rpc" && o.api !== "esplora") fail("--api must be rpc or esplora");
      if (!(o.network in Networks)) fail("--network must be bitcoin, testnet or regtest");
      if (!["auto", "node", "index"].includes(o.prevouts))
        fail("--prevouts must be auto, node or index");
      const urls = (o.url ?? process.env.BITCOIN_URLS ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      if (urls.length === 0) fail("no node URL: pass --url or set BITCOIN_URLS");
      const brokers = (o.brokers ?? process.env.KAFKA_BROKERS ?? "127.0.0.1:9092")
        .split(",")
        .map((s) => s.trim());
      const log = createLogger({
        service: "cli-backfill-bitcoin",
        level: process.env.LOG_LEVEL ?? "warn",
      });
      const backend = createBackend({
        api: o.api as "rpc" | "esplora",
        urls,
        username: process.env.BITCOIN_RPC_USER || undefined,
        password: process.env.BITCOIN_RPC_PASSWORD || undefined,
        log,
      });
      const dbDir = o.outpointDb ?? process.env.BITCOIN_OUTPOINT_DB;
      const outpoints = dbDir ? new LmdbOutpointStore(dbDir) : undefined;
      const source = new BitcoinBlockSource({
        backend,
        network: Networks[o.network as keyof typeof Networks],
        prevouts: o.prevouts as "auto" | "node" | "index",
        store: outpoints,
        strictInputs: !o.lenientInputs,
        log,
      });
      const bus = new KafkaBus({ brokers, clientId: "chainscreen-backfill-bitcoin" }, log);
      const stop = new AbortController();
      // Ctrl-C stops after the batch in flight is committed; the same command resumes.
      process.once("SIGINT", () => stop.abort());
      const bar = progressBar(o.to - o.from + 1, "blocks");
      try {
        const job = new Backfill({
          source,
          bus,
          log,
          from: o.from,
          to: o.to,
          batchSize: o.batchSize,
          concurrency: o.concurrency,
          confirmations: o.confirmations,
          topics: { transfers: o.topic },
          signal: stop.signal,
          onProgress: (p) => bar.update(p.done),
        });
        // A broker that just created the topics may not have elected leaders yet: retry what
        // Kafka or the node call retriable; the job resumes from its last committed batch.
        const attempt = async () => {
          bar.update((await job.resumePoint()) - o.from);
          return job.run();
        };
        let p = await attempt().catch((err: unknown) => ({ err }));
        for (let n = 1; "err" in p && n < 5 && retriable(p.err) && !stop.signal.aborted; n++) {
          await new Promise((r) => setTimeout(r, 1_000 * n));
          p = await attempt().catch((err: unknown) => ({ err }));
        }
        if ("err" in p) throw p.err;
        bar.stop();
        process.stdout.write(
          `${stop.signal.aborted ? "interrupted" : "done"}: blocks ${p.done}/${p.total}, transfers ${p.transfers}\n`,
        );
      } catch (err) {
        bar.stop();
        fail(errorText(err));
      } finally {
        await bus.close().catch(() => {});
        await outpoints?.close().catch(() => {});
      }
    });
}
