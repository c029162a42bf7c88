/**
 * EVM ingestion throughput on a generated anvil chain: N blocks × K ERC-20 transfers (one
 * batchTransfer transaction per block). Measures (1) extraction alone (JSON-RPC batches of
 * eth_getBlockByNumber + eth_getBlockReceipts, validation, decoding) and (2) the full backfill
 * into Kafka with one transaction per batch; then the time `ethereumetl export_token_transfers`
 * takes for the same blocks on the same node, and the ratio. ethereum-etl is installed from PyPI
 * into the throwaway venv bench/.venv on the first run (python3 needed; `--no-etl` skips it).
 * On Python ≥ 3.11 ethereum-etl's pinned parsimonious imports the removed inspect.getargspec:
 * the venv gets a sitecustomize.py that maps it to inspect.getfullargspec.
 * Figures and their history: bench/README.md ("evm"); 2026-11-30 on 2 quiet cores, 2,000 × 100:
 * backfill → Kafka 71–73k transfers/s, ethereum-etl 6.1–6.3k/s, 11.5–11.6×.
 * Usage: npm run bench -- evm [blocks=2000] [transfersPerBlock=100] [--no-etl] [--cold-broker]
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EvmBlockSource, RpcClient } from "@chainscreen/evm";
import { Backfill } from "@chainscreen/ingest";
import { KafkaBus } from "@chainscreen/kafka";
import { silentLogger } from "@chainscreen/logger";
import { collectTopic, uniqueName } from "@chainscreen/testing";
import { ethers } from "ethers";
import { run } from "../infra/local/proc.js";
import { startAnvil } from "../test/evm/anvil.js";
import { deploy, wallet } from "../test/evm/chain.js";
import { benchInfra, rssMb, table, warmBroker } from "./lib.js";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const BLOCKS = Number(args[0] ?? 2000);
const PER_BLOCK = Number(args[1] ?? 100);
const log = silentLogger();
const ETL_VERSION = "2.4.2";
const COLD_BROKER = process.argv.includes("--cold-broker");
const NO_ETL = process.argv.includes("--no-etl");

/**
 * bench/.venv/bin/ethereumetl, installed there first if missing; null (with the reason on
 * stderr) when `--no-etl` was given or the install failed, and the run then has no ratio.
 */
function ethereumEtl(): string | null {
  if (NO_ETL) return null;
  const venv = join(import.meta.dirname, ".venv");
  const bin = join(venv, "bin", "ethereumetl");
  const works = () =>
    existsSync(bin) && spawnSync(bin, ["--help"], { stdio: "ignore" }).status === 0;
  if (works()) return bin;
  console.error(`installing ethereum-etl ${ETL_VERSION} from PyPI into ${venv} (once) …`);
  try {
    run("python3", ["-m", "venv", venv]);
    const python = join(venv, "bin", "python");
    run(python, ["-m", "pip", "install", "-q", `ethereum-etl==${ETL_VERSION}`]);
    const site = run(python, [
      "-c",
      "import sysconfig; print(sysconfig.get_paths()['purelib'])",
    ]).trim();
    writeFileSync(
      join(site, "sitecustomize.py"),
      "import inspect\nif not hasattr(inspect, 'getargspec'):\n    inspect.getargspec = inspect.getfullargspec\n",
    );
    if (!works()) throw new Error(`${bin} --help failed after the install`);
    return bin;
  } catch (err) {
    console.error(`ethereum-etl unavailable, no ratio: ${(err as Error).message.slice(0, 2000)}`);
    return null;
  }
}
const etl = ethereumEtl();

// Eight states in memory, not the tests' 500: with 500, anvil generating a 2,000-block chain had
// grown to 10 GB and was still generating after 7 minutes; with 8 it stays near 200 MB (1,000
// blocks in 45 s). The bench reads only blocks, receipts and the latest state.
const node = await startAnvil(["--gas-limit", "300000000", "--prune-history", "8"]);
const infra = await benchInfra("evm").catch(async (err) => {
  await node.stop();
  throw err;
});
try {
  const { signer } = await wallet(node);
  const { token, tokenAddress } = await deploy(signer, 10n ** 30n);
  const me = await signer.getAddress();
  const data = (b: number) =>
    token.interface.encodeFunctionData("batchTransfer", [
      Array.from({ length: PER_BLOCK }, (_, i) =>
        ethers.getAddress(`0x${(b * PER_BLOCK + i + 1).toString(16).padStart(40, "0")}`),
      ),
      1n + BigInt(b),
    ]);
  const first = Number.parseInt(await node.rpc<string>("eth_blockNumber"), 16) + 1;
  const g0 = performance.now();
  let lastHash = "";
  for (let b = 0; b < BLOCKS; b++) {
    lastHash = await node.rpc<string>("eth_sendTransaction", [
      { from: me, to: tokenAddress, data: data(b), gas: "0x5f5e100" },
    ]);
  }
  // eth_sendTransaction answers before anvil has mined: wait for the last one.
  while (!(await node.rpc("eth_getTransactionReceipt", [lastHash])))
    await new Promise((r) => setTimeout(r, 50));
  const last = Number.parseInt(await node.rpc<string>("eth_blockNumber"), 16);
  console.error(
    `generated blocks ${first}..${last} (${BLOCKS} × ${PER_BLOCK} token transfers) in ${((performance.now() - g0) / 1000).toFixed(1)} s`,
  );

  const rpc = new RpcClient({ urls: [node.url], log, maxBatch: 200 });
  // Large JSON-RPC batches: measured on anvil, 100 blocks per batch fetch 3× faster than 10.
  const source = new EvmBlockSource({
    chain: "anvil",
    rpc,
    log,
    rpcBlocksPerBatch: 100,
    concurrency: 2,
  });
  const rows: Record<string, string | number>[] = [];

  // 1. Extraction alone.
  let t0 = performance.now();
  let transfers = 0;
  for (let s = first; s <= last; s += 200) {
    for (const b of await source.blocks(s, Math.min(last, s + 199)))
      transfers += b.transfers.length;
  }
  let secs = (performance.now() - t0) / 1000;
  rows.push({
    case: "extract (RPC + decode)",
    blocks: BLOCKS,
    transfers,
    seconds: secs.toFixed(2),
    "blocks/s": (BLOCKS / secs).toFixed(0),
    "transfers/s": (transfers / secs).toFixed(0),
    rssMb: rssMb(),
  });

  // 2. Full backfill into Kafka (transactions with checkpoint records).
  const bus = new KafkaBus({ brokers: infra.kafkaBrokers.split(","), clientId: "bench-evm" }, log);
  const topics = {
    transfers: uniqueName("bench_transfers"),
    progress: uniqueName("bench_progress"),
  };
  // The transfers topic exists before the clock starts, and the broker has run: a separate
  // process sends 100,000 events through it first (its transaction log, its JIT), as the live
  // followers did long before any backfill in production; `--cold-broker` skips that. The
  // backfill, like the CLI's, starts in a process whose produce path has never run, and creates
  // its own progress topic (a new job: nothing to resume, no checkpoint read).
  await bus.ensureTopics([{ topic: topics.transfers, partitions: 4 }]);
  if (!COLD_BROKER) warmBroker(infra.kafkaBrokers);
  console.log(
    COLD_BROKER
      ? "broker: fresh (--cold-broker), its JIT compiling during the backfill"
      : "broker: warmed by 100,000 events from another process; backfill process cold",
  );
  t0 = performance.now();
  // Batch commits after the first: the steady rate, without the one-off start (topic creation,
  // transaction coordinator, checkpoint read) that the total includes.
  const commits: { at: number; blocks: number; transfers: number }[] = [];
  const p = await new Backfill({
    source,
    bus,
    log,
    from: first,
    to: last,
    topics,
    batchSize: 200,
    concurrency: 2,
    onProgress: (x) =>
      commits.push({ at: performance.now(), blocks: x.done, transfers: x.transfers }),
  }).run();
  secs = (performance.now() - t0) / 1000;
  const ours = secs;
  rows.push({
    case: "backfill → Kafka (total)",
    blocks: p.done,
    transfers: p.transfers,
    seconds: secs.toFixed(2),
    "blocks/s": (p.done / secs).toFixed(0),
    "transfers/s": (p.transfers / secs).toFixed(0),
    rssMb: rssMb(),
  });
  const c0 = commits[0];
  const cN = commits[commits.length - 1];
  if (c0 && cN && cN !== c0) {
    const steadyS = (cN.at - c0.at) / 1000;
    rows.push({
      case: "backfill → Kafka (after 1st batch)",
      blocks: cN.blocks - c0.blocks,
      transfers: cN.transfers - c0.transfers,
      seconds: steadyS.toFixed(2),
      "blocks/s": ((cN.blocks - c0.blocks) / steadyS).toFixed(0),
      "transfers/s": ((cN.transfers - c0.transfers) / steadyS).toFixed(0),
      rssMb: rssMb(),
    });
    console.log(
      `backfill start until the first batch was committed: ${((c0.at - t0) / 1000).toFixed(2)} s`,
    );
  }
  // Read back with read_committed: what consumers will see.
  const inKafka = (
    await collectTopic(bus, topics.transfers, {
      until: (m) => m.length >= p.transfers,
      timeoutMs: 120_000,
    })
  ).length;
  await bus.deleteTopics([topics.transfers, topics.progress]).catch(() => {});
  await bus.close();

  // 3. ethereum-etl on the same node and blocks.
  if (etl) {
    const out = join(import.meta.dirname, ".venv", "token_transfers.csv");
    rmSync(out, { force: true });
    t0 = performance.now();
    const code = await new Promise<number | null>((resolve) => {
      const c = spawn(
        etl,
        [
          "export_token_transfers",
          "-s",
          String(first),
          "-e",
          String(last),
          "-p",
          node.url,
          "-o",
          out,
          "-b",
          "100",
          "-w",
          "5",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let err = "";
      c.stderr.on("data", (d: Buffer) => {
        err += d.toString();
      });
      c.on("exit", (x) => {
        if (x !== 0) console.error(err.slice(-2000));
        resolve(x);
      });
    });
    secs = (performance.now() - t0) / 1000;
    const n = code === 0 ? readFileSync(out, "utf8").trim().split("\n").length - 1 : 0;
    rows.push({
      case: "ethereum-etl export_token_transfers",
      blocks: BLOCKS,
      transfers: n,
      seconds: secs.toFixed(2),
      "blocks/s": (BLOCKS / secs).toFixed(0),
      "transfers/s": (n / secs).toFixed(0),
      rssMb: "-",
    });
    table(rows);
    console.log(
      `ratio (ethereum-etl seconds / our backfill→Kafka seconds): ${(secs / ours).toFixed(1)}×`,
    );
    console.log(
      `same transfers: ours ${p.transfers} (in Kafka: ${inKafka} messages), ethereum-etl ${n}`,
    );
  } else {
    table(rows);
    console.log("ethereum-etl skipped (--no-etl) or not installable (reason above): no ratio");
  }
} finally {
  await node.stop();
  await infra.cleanup();
}
