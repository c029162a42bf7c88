import { createEvmSource, EVM_CHAINS } from "@chainscreen/evm";
import { backfillTopic } from "@chainscreen/ingest";
import { Topics } from "@chainscreen/schema";
import { type Command, InvalidArgumentError, Option } from "commander";
import {
  backfillCommand,
  backfillLogger,
  listOption as list,
  runBackfill,
} from "../backfill-runner.js";
import { fail } from "../util.js";

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new InvalidArgumentError("expected a non-negative integer");
  return n;
};

/** `chainscreen backfill evm`: a resumable backfill of a block range into transfer.v1. */
export function register(program: Command): void {
  backfillCommand(program)
    .command("evm")
    .description(
      "Backfill an EVM chain's native, token and internal transfers for a block range (resumable)",
    )
    .requiredOption("--chain <name>", "chain name as in transfer.v1 (ethereum, bsc, polygon, …)")
    .requiredOption("--from <block>", "first block", int)
    .requiredOption("--to <block>", "last block (inclusive)", int)
    .option("--rpc <urls>", "JSON-RPC URLs, comma-separated (default $EVM_RPC_URLS)", list)
    .option("--brokers <list>", "Kafka brokers (default $KAFKA_BROKERS)", list)
    .option("--chain-id <id>", "expected eth_chainId (default for known chains)", int)
    .addOption(
      new Option("--traces <mode>", "internal transfers")
        .choices(["off", "callTracer", "parity"])
        .default("off"),
    )
    .option("--batch-size <n>", "blocks per Kafka transaction", int, 50)
    .option("--concurrency <n>", "batches fetched in parallel", int, 4)
    .option("--rpc-blocks-per-batch <n>", "blocks per JSON-RPC batch", int, 10)
    .option("--confirmations <n>", "refuse blocks with fewer confirmations (no safe head)", int, 12)
    .option("--allow-unsafe", "allow blocks above the safe head (no reorg protection)", false)
    .option("--topic <name>", "transfer topic", Topics.transfers)
    .option("--progress-topic <name>", "compacted progress topic", backfillTopic)
    .action(async (o) => {
      const rpcUrls: string[] = o.rpc ?? list(process.env.EVM_RPC_URLS ?? "");
      const brokers: string[] = o.brokers ?? list(process.env.KAFKA_BROKERS ?? "");
      if (rpcUrls.length === 0) fail("no RPC URL: pass --rpc or set EVM_RPC_URLS");
      if (brokers.length === 0) fail("no Kafka broker: pass --brokers or set KAFKA_BROKERS");
      if (o.to < o.from) fail("--to must be >= --from");
      const known = EVM_CHAINS[o.chain as string];
      const chainId: number | undefined = o.chainId ?? known?.chainId;
      if (chainId === undefined) fail(`unknown chain ${o.chain}: pass --chain-id`);
      const log = backfillLogger("cli-backfill");
      const { rpc, source } = await createEvmSource(
        {
          chain: o.chain,
          chainId,
          rpcUrls,
          nativeSymbol: known?.nativeSymbol ?? "ETH",
          traces: o.traces,
          rpcBlocksPerBatch: o.rpcBlocksPerBatch,
          concurrency: 2,
          rpcTimeoutMs: 30_000,
        },
        log,
      );
      await runBackfill(o, {
        source,
        log,
        finality: { requireFinal: !o.allowUnsafe, confirmations: o.confirmations },
        brokers,
        clientId: `chainscreen-backfill-${o.chain}`,
        close: () => rpc.close(),
        signals: ["SIGINT", "SIGTERM"],
        announceResume: true,
        summary: (p, interrupted) => {
          const eta = p.etaSeconds === null ? "-" : `${Math.round(p.etaSeconds)}s`;
          return `${interrupted ? "interrupted (resumable)" : "done"}: ${p.done}/${p.total} blocks, ${p.transfers} transfers this run, ${p.blocksPerSecond.toFixed(1)} blocks/s, ETA ${eta}`;
        },
      });
    });
}
