import { Backfill } from "@chainscreen/ingest";
import { KafkaBus } from "@chainscreen/kafka";
import { createLogger } from "@chainscreen/logger";
import { TronBlockSource, type TronFinality, TronHttpClient } from "@chainscreen/tron";
import type { Command } from "commander";
import { errorText, fail, progressBar } from "../util.js";

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) fail(`${name} must be a non-negative integer`);
  return n;
};

/** `chainscreen backfill tron --from N --to M`: solidified Tron blocks into transfer.v1, resumable. */
export function register(program: Command): void {
  // The parent may already exist (another chain's backfill file); attach to it if so.
  const parent =
    program.commands.find((c) => c.name() === "backfill") ??
    program.command("backfill").description("Backfill a closed block range of a chain into Kafka");
  parent
    .command("tron")
    .description(
      "Backfill Tron blocks FROM..TO (solidified only) as transfer.v1; a rerun of the same range resumes after the last committed batch",
    )
    .requiredOption("--from <n>", "first block", int("--from"))
    .requiredOption("--to <n>", "last block (inclusive)", int("--to"))
    .option("--url <urls>", "Tron HTTP API base URLs, comma-separated (env TRON_API_URLS)")
    .option("--brokers <list>", "Kafka brokers, comma-separated (env KAFKA_BROKERS)")
    .option("--topic <name>", "transfer topic", "transfer.v1")
    .option("--batch-size <n>", "blocks per Kafka transaction", int("--batch-size"), 50)
    .option("--concurrency <n>", "batches fetched in parallel", int("--concurrency"), 4)
    .option(
      "--finality <mode>",
      "solidified | head (head requires --allow-unsolidified)",
      "solidified",
    )
    .option("--allow-unsolidified", "allow blocks above the solidified head (no reorg handling)")
    .action(
      async (o: {
        from: number;
        to: number;
        url?: string;
        brokers?: string;
        topic: string;
        batchSize: number;
        concurrency: number;
        finality: string;
        allowUnsolidified?: boolean;
      }) => {
        if (o.to < o.from) fail("--to must be >= --from");
        if (o.finality !== "solidified" && o.finality !== "head")
          fail("--finality must be solidified or head");
        const urls = (o.url ?? process.env.TRON_API_URLS ?? "")
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
        if (urls.length === 0) fail("no Tron API URL: pass --url or set TRON_API_URLS");
        const brokers = (o.brokers ?? process.env.KAFKA_BROKERS ?? "127.0.0.1:9092")
          .split(",")
          .map((s) => s.trim());
        const log = createLogger({
          service: "cli-backfill-tron",
          level: process.env.LOG_LEVEL ?? "warn",
        });
        const client = new TronHttpClient({
          urls,
          apiKey: process.env.TRON_API_KEY || undefined,
          log,
        });
        const source = new TronBlockSource({ client, finality: o.finality as TronFinality });
        const bus = new KafkaBus({ brokers, clientId: "chainscreen-backfill-tron" }, log);
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
            topics: { transfers: o.topic },
            requireFinal: !o.allowUnsolidified,
            // The range check compares with the solidified block, whatever endpoint set is read.
            useSafeHead: true,
            signal: stop.signal,
            onProgress: (p) => bar.update(p.done),
          });
          const resume = await job.resumePoint();
          bar.update(resume - o.from);
          const p = await job.run();
          bar.stop();
          process.stdout.write(
            `${stop.signal.aborted ? "interrupted" : "done"}: blocks ${p.done}/${p.total}, transfers ${p.transfers}\n`,
          );
        } catch (err) {
          bar.stop();
          fail(errorText(err));
        } finally {
          await bus.close().catch(() => {});
          await client.close().catch(() => {});
        }
      },
    );
}
