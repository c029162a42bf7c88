import {
  BitcoinBlockSource,
  createBackend,
  LmdbOutpointStore,
  Networks,
} from "@chainscreen/bitcoin";
import type { Command } from "commander";
import {
  backfillLogger,
  brokersOption,
  chainBackfillCommand,
  intOption as int,
  listOption,
  runBackfill,
} from "../backfill-runner.js";
import { fail } from "../util.js";

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
  chainBackfillCommand(program, "bitcoin", "Bitcoin blocks FROM..TO (below the confirmation depth)")
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
      const urls = listOption(o.url ?? process.env.BITCOIN_URLS ?? "");
      if (urls.length === 0) fail("no node URL: pass --url or set BITCOIN_URLS");
      const brokers = brokersOption(o.brokers);
      const log = backfillLogger("cli-backfill-bitcoin");
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
      await runBackfill(o, {
        source,
        log,
        finality: { confirmations: o.confirmations },
        brokers,
        clientId: "chainscreen-backfill-bitcoin",
        close: async () => outpoints?.close(),
        // A broker that just created the topics may not have elected leaders yet: retry what
        // Kafka or the node call retriable; the job resumes from its last committed batch.
        retry: true,
      });
    });
}
