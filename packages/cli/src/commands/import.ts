import { createReadStream, existsSync, statSync } from "node:fs";
import { ExchangeWalletTags, importReports } from "@chainscreen/exchange";
import { KafkaBus, standardTopics, topicName } from "@chainscreen/kafka";
import { createLogger } from "@chainscreen/logger";
import { Topics } from "@chainscreen/schema";
import type { Command } from "commander";
import { fail, progressBar } from "../util.js";

/** `chainscreen import exchange <file>`: streams an exchange export into transfer.v1. */
export function register(program: Command): void {
  const imp = program.command("import").description("import records from files");
  imp
    .command("exchange <file>")
    .description(
      "stream a CSV (header row) or NDJSON export of exchange deposits/withdrawals into Kafka as transfer.v1; " +
        "columns: reference, exchange, direction, network, asset, amount, txHash, counterpartyAddress, " +
        "exchangeAddress, customerRef, time[, assetContract, decimals]",
    )
    .option("--format <format>", "csv or ndjson (default: from the file extension)")
    .option("--tenant <id>", "tenant the reports belong to (scopes their ids)")
    .option(
      "--brokers <list>",
      "Kafka bootstrap servers",
      process.env.KAFKA_BROKERS ?? "127.0.0.1:9092",
    )
    .option("--topic-prefix <prefix>", "topic prefix", process.env.KAFKA_TOPIC_PREFIX ?? "")
    .option("--show-rejected <n>", "rejected rows to print", "20")
    .option(
      "--no-wallet-tags",
      "do not publish the exchangeAddress wallets as service tags (list exchange-wallets)",
    )
    .action(
      async (
        file: string,
        opts: {
          format?: string;
          tenant?: string;
          brokers: string;
          topicPrefix: string;
          showRejected: string;
          walletTags: boolean;
        },
      ) => {
        if (!existsSync(file) || !statSync(file).isFile())
          fail(`cannot read ${file}: no such file`);
        const format = (opts.format ?? (/\.(nd)?jsonl?$/i.test(file) ? "ndjson" : "csv")) as string;
        if (format !== "csv" && format !== "ndjson")
          fail(`unknown format "${format}" (csv or ndjson)`);
        const size = statSync(file).size;
        const bus = new KafkaBus(
          { brokers: opts.brokers.split(","), clientId: "chainscreen-import" },
          createLogger({ service: "cli", level: "warn" }),
        );
        try {
          await bus.ensureTopics(standardTopics(opts.topicPrefix));
          const producer = await bus.producer();
          const topic = topicName(Topics.transfers, opts.topicPrefix);
          // The exchange's own wallets named by the rows become service tags on the watchlist
          // topic (as the push API and the pollers do), each once per run; a rerun republishes
          // the same state, which the compacted topic absorbs.
          const wallets = opts.walletTags
            ? new ExchangeWalletTags(producer, topicName(Topics.watchlist, opts.topicPrefix))
            : null;
          const input = createReadStream(file);
          const bar = progressBar(size, "bytes");
          const summary = await importReports(input, {
            format,
            tenantId: opts.tenant,
            source: `import:${file.split("/").pop()}`,
            onBatch: async (transfers) => {
              // Tags before transfers, so a tagger following both topics usually knows the wallet.
              await wallets?.tag(transfers);
              await producer.send(
                topic,
                transfers.map((t) => ({ key: t.id, value: t })),
              );
            },
            onProgress: () => bar.update(input.bytesRead),
          });
          bar.update(size);
          bar.stop();
          console.log(
            `rows ${summary.rows}, accepted ${summary.accepted}, rejected ${summary.rejected}` +
              (wallets ? `, exchange wallets tagged ${wallets.published}` : ""),
          );
          for (const r of summary.rejectedRows.slice(0, Number(opts.showRejected))) {
            console.log(
              `  line ${r.line}: ${r.errors.map((e) => `${e.field}: ${e.message}`).join("; ")}`,
            );
          }
          if (summary.rejected > Number(opts.showRejected))
            console.log(`  … and ${summary.rejected - Number(opts.showRejected)} more`);
        } finally {
          await bus.close();
        }
      },
    );
}
