import { TronBlockSource, type TronFinality, TronHttpClient } from "@chainscreen/tron";
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

/** `chainscreen backfill tron --from N --to M`: solidified Tron blocks into transfer.v1, resumable. */
export function register(program: Command): void {
  chainBackfillCommand(program, "tron", "Tron blocks FROM..TO (solidified only)")
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
        const urls = listOption(o.url ?? process.env.TRON_API_URLS ?? "");
        if (urls.length === 0) fail("no Tron API URL: pass --url or set TRON_API_URLS");
        const brokers = brokersOption(o.brokers);
        const log = backfillLogger("cli-backfill-tron");
        const client = new TronHttpClient({
          urls,
          apiKey: process.env.TRON_API_KEY || undefined,
          log,
        });
        await runBackfill(o, {
          source: new TronBlockSource({ client, finality: o.finality as TronFinality }),
          log,
          finality: {
            requireFinal: !o.allowUnsolidified,
            // The range check compares with the solidified block, whatever endpoint set is read.
            useSafeHead: true,
          },
          brokers,
          clientId: "chainscreen-backfill-tron",
          close: () => client.close(),
        });
      },
    );
}
