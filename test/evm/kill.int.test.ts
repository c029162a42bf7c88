// Crash safety of the real service: kill -9 the ingest-evm process mid-range, restart it, and
// check that Kafka (read_committed) holds every transfer of the chain exactly once.
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { EvmBlockSource, RpcClient } from "@chainscreen/evm";
import { silentLogger } from "@chainscreen/logger";
import type { TransferV1 } from "@chainscreen/schema";
import { collectTopic, testBus, uniqueName, waitFor } from "@chainscreen/testing";
import { afterAll, expect, inject, it } from "vitest";
import { startAnvil } from "./anvil.js";
import { deploy, oracleIds, sendEthTransfers, wallet } from "./chain.js";
import { startFaultProxy } from "./fault-proxy.js";

const root = resolve(import.meta.dirname, "..", "..");
const brokers = inject("kafkaBrokers");
const bus = testBus(brokers);
const log = silentLogger();
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await bus.close();
});

it("kill -9 mid-range and restart: no gap, no duplicate id", async () => {
  const node = await startAnvil();
  cleanups.push(() => node.stop());
  const { signer } = await wallet(node);
  const { token } = await deploy(signer);
  const accounts = await node.rpc<string[]>("eth_accounts");
  await sendEthTransfers(node, 100);
  for (let i = 0; i < 20; i++)
    await (await token.getFunction("transfer")(accounts[(i % 8) + 1], 1n + BigInt(i))).wait();
  const head = Number.parseInt(await node.rpc<string>("eth_blockNumber"), 16);
  const oracle = await oracleIds(
    new EvmBlockSource({
      chain: "anvil",
      rpc: new RpcClient({ urls: [node.url], log }),
      log,
      traces: "callTracer",
    }),
    0,
    head,
  );
  // Latency so the run lasts long enough to be killed in the middle.
  const slow = await startFaultProxy(node.url);
  slow.delayMs = 15;
  cleanups.push(() => slow.close());

  const transfers = uniqueName("transfers");
  const env = {
    ...process.env,
    KAFKAJS_NO_PARTITIONER_WARNING: "1",
    KAFKA_BROKERS: brokers,
    INGEST_TRANSFERS_TOPIC: transfers,
    INGEST_BLOCKS_TOPIC: uniqueName("blocks"),
    INGEST_TRANSACTIONAL_ID: uniqueName("txid"),
    EVM_CHAIN: "anvil",
    EVM_RPC_URLS: slow.url,
    EVM_CONFIRMATIONS: "0",
    EVM_START_BLOCK: "0",
    EVM_BATCH_SIZE: "2",
    EVM_RPC_BLOCKS_PER_BATCH: "2",
    EVM_TRACES: "callTracer",
    EVM_POLL_MS: "100",
    OPS_PORT: "0",
    LOG_LEVEL: "warn",
  };
  const start = (): ChildProcess => {
    const p = spawn(process.execPath, ["--import", "tsx", "services/ingest-evm/src/main.ts"], {
      cwd: root,
      env,
      stdio: ["ignore", "ignore", "inherit"],
    });
    cleanups.push(async () => p.kill("SIGKILL"));
    return p;
  };
  const count = async () =>
    (await bus.endOffsets(transfers).catch(() => [])).reduce((n, p) => n + Number(p.high), 0);
  const kill9 = async (p: ChildProcess) => {
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await exited;
  };

  // Two crashes at different points, then a run to the end.
  let p = start();
  await waitFor(async () => (await count()) > 20, { timeoutMs: 60_000, message: "first events" });
  await kill9(p);
  const afterFirst = await count();
  p = start();
  await waitFor(async () => (await count()) > afterFirst + 30, {
    timeoutMs: 60_000,
    message: "more events",
  });
  await kill9(p);
  expect(await count()).toBeLessThan(oracle.length * 2); // still mid-range
  p = start();
  const read = await collectTopic(bus, transfers, {
    until: (ms) => new Set(ms.map((m) => (m.value as TransferV1).id)).size >= oracle.length,
    timeoutMs: 120_000,
  });
  await new Promise((r) => setTimeout(r, 1_000));
  const all = await collectTopic(bus, transfers, {
    until: (ms) => ms.length > read.length,
    timeoutMs: 2_000,
  });
  await kill9(p);
  const ids = all.map((m) => (m.value as TransferV1).id);
  expect(new Set(ids).size).toBe(ids.length); // no duplicate
  expect(ids.sort()).toEqual(oracle); // no gap
});
