// Live-chain tests: a real anvil node, the real EVM source and follower, a real Kafka broker.

import { EvmBlockSource, RpcClient } from "@chainscreen/evm";
import { ChainFollower, KafkaIngestStore, netConfirmed } from "@chainscreen/ingest";
import { createLogger, silentLogger } from "@chainscreen/logger";
import type { TransferV1 } from "@chainscreen/schema";
import { collectTopic, testBus, uniqueName, waitFor } from "@chainscreen/testing";
import { ethers } from "ethers";
import { afterAll, describe, expect, inject, it } from "vitest";
import { type Anvil, startAnvil } from "./anvil.js";
import { deploy, type Expected, expKey, oracleIds, sendEthTransfers, wallet } from "./chain.js";
import { startFaultProxy } from "./fault-proxy.js";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
const bus = testBus(inject("kafkaBrokers"));
// TEST_LOG=debug shows the follower's and RPC client's logs.
const log = process.env.TEST_LOG
  ? createLogger({ service: "test", level: process.env.TEST_LOG })
  : silentLogger();
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await bus.close();
});

async function anvil(args: string[] = []): Promise<Anvil> {
  const a = await startAnvil(args);
  cleanups.push(() => a.stop());
  return a;
}

/** Starts a follower writing to fresh topics; returns a handle to read what it emitted. */
async function startIngest(opts: {
  urls: string[];
  confirmations?: number;
  traces?: "off" | "callTracer" | "parity";
  window?: number;
  batchSize?: number;
  timeoutMs?: number;
  cooldownMs?: number;
}) {
  const topics = { transfers: uniqueName("transfers"), blocks: uniqueName("blocks") };
  const rpc = new RpcClient({
    urls: opts.urls,
    log,
    timeoutMs: opts.timeoutMs ?? 5_000,
    cooldownMs: opts.cooldownMs,
    backoffMs: 20,
    maxBackoffMs: 200,
    maxAttempts: 12,
  });
  const source = new EvmBlockSource({
    chain: "anvil",
    rpc,
    log,
    traces: opts.traces ?? "callTracer",
    rpcBlocksPerBatch: 5,
    concurrency: 2,
  });
  const store = new KafkaIngestStore({
    bus,
    log,
    transactionalId: uniqueName("txid"),
    topics,
    transferPartitions: 2,
  });
  const follower = new ChainFollower({
    source,
    store,
    log,
    confirmations: opts.confirmations ?? 0,
    startBlock: 0,
    window: opts.window ?? 64,
    batchSize: opts.batchSize ?? 10,
    pollIntervalMs: 50,
    maxBackoffMs: 200,
  });
  const abort = new AbortController();
  let failure: unknown = null;
  const running = follower.run(abort.signal).catch((e: unknown) => {
    failure = e;
  });
  const stop = async () => {
    abort.abort();
    await running;
    await store.close();
    await rpc.close();
  };
  cleanups.push(stop);
  const read = (until: (m: TransferV1[]) => boolean, timeoutMs = 60_000) =>
    collectTopic(bus, topics.transfers, {
      until: (ms) => until(ms.map((m) => m.value as TransferV1)),
      timeoutMs,
    }).then((ms) => ms.map((m) => m.value as TransferV1));
  /** Waits until the follower has emitted the node's current head block. */
  const caughtUp = async (node: Anvil, confirmations = opts.confirmations ?? 0) => {
    await waitFor(
      async () => {
        if (failure) throw failure;
        // Re-read the head each time: the node may mine more blocks meanwhile.
        const head = Number.parseInt(await node.rpc<string>("eth_blockNumber"), 16);
        const target = head - confirmations;
        const want = await node.rpc<{ hash: string }>("eth_getBlockByNumber", [
          `0x${target.toString(16)}`,
          false,
        ]);
        return follower.tip?.number === target && follower.tip.hash === want.hash;
      },
      { timeoutMs: 90_000, message: "follower reaches the head" },
    );
  };
  return { topics, follower, source, store, read, caughtUp, stop, getFailure: () => failure };
}

describe("EVM ingestion on a live anvil chain", () => {
  it("delivers ETH, token and contract-forwarded transfers exactly once, incl. from an impersonated address", async () => {
    const node = await anvil();
    const { provider, signer } = await wallet(node);
    const me = (await signer.getAddress()).toLowerCase();
    const ing = await startIngest({ urls: [node.url], confirmations: 2 });
    const { token, forwarder, tokenAddress, forwarderAddress, tokenDeployTx } =
      await deploy(signer);
    const accounts = (await node.rpc<string[]>("eth_accounts")).map((a) => a.toLowerCase());
    const [A, B, C, D, E, F] = accounts.slice(1, 7) as string[];
    const exp: Expected[] = [
      {
        kind: "token",
        from: ethers.ZeroAddress,
        to: me,
        amount: String(10n ** 15n),
        contract: tokenAddress,
        txHash: tokenDeployTx,
      },
    ];
    const wait = async (p: Promise<ethers.TransactionResponse>) => {
      const tx = await p;
      const r = await tx.wait();
      return { hash: tx.hash, status: r?.status };
    };
    const eth = ethers.parseEther;

    let h = await wait(signer.sendTransaction({ to: A, value: eth("1") }));
    exp.push({
      kind: "native",
      from: me,
      to: A as string,
      amount: String(eth("1")),
      contract: null,
      txHash: h.hash,
    });
    h = await wait(token.getFunction("transfer")(B, 1000n));
    exp.push({
      kind: "token",
      from: me,
      to: B as string,
      amount: "1000",
      contract: tokenAddress,
      txHash: h.hash,
    });
    h = await wait(forwarder.getFunction("forward")(C, { value: eth("0.5") }));
    exp.push({
      kind: "native",
      from: me,
      to: forwarderAddress,
      amount: String(eth("0.5")),
      contract: null,
      txHash: h.hash,
    });
    exp.push({
      kind: "internal",
      from: forwarderAddress,
      to: C as string,
      amount: String(eth("0.5")),
      contract: null,
      txHash: h.hash,
    });
    h = await wait(forwarder.getFunction("split")([D, E], { value: eth("0.2") }));
    exp.push({
      kind: "native",
      from: me,
      to: forwarderAddress,
      amount: String(eth("0.2")),
      contract: null,
      txHash: h.hash,
    });
    exp.push({
      kind: "internal",
      from: forwarderAddress,
      to: D as string,
      amount: String(eth("0.1")),
      contract: null,
      txHash: h.hash,
    });
    exp.push({
      kind: "internal",
      from: forwarderAddress,
      to: E as string,
      amount: String(eth("0.1")),
      contract: null,
      txHash: h.hash,
    });
    // The inner call reverts and is caught: its value never moves, only the outer payment counts.
    h = await wait(forwarder.getFunction("tryFail")(F, { value: eth("0.3") }));
    expect(h.status).toBe(1);
    exp.push({
      kind: "native",
      from: me,
      to: forwarderAddress,
      amount: String(eth("0.3")),
      contract: null,
      txHash: h.hash,
    });
    // A failed transaction with value (forwarding into the token, which refuses ETH): nothing moves.
    const failedHash = await node.rpc<string>("eth_sendTransaction", [
      {
        from: me,
        to: forwarderAddress,
        value: ethers.toQuantity(eth("0.1")),
        gas: "0x30000",
        data: forwarder.interface.encodeFunctionData("forward", [tokenAddress]),
      },
    ]);
    const failedReceipt = await provider.waitForTransaction(failedHash, 1, 30_000);
    expect(failedReceipt?.status).toBe(0);

    // Impersonated sender: ETH, token and a forwarded internal transfer.
    const X = "0x00000000000000000000000000000000c0ffee01";
    await node.rpc("anvil_setBalance", [X, ethers.toQuantity(eth("10"))]);
    await node.rpc("anvil_impersonateAccount", [X]);
    h = await wait(token.getFunction("transfer")(X, 500n));
    exp.push({
      kind: "token",
      from: me,
      to: X,
      amount: "500",
      contract: tokenAddress,
      txHash: h.hash,
    });
    const x1 = await node.rpc<string>("eth_sendTransaction", [
      { from: X, to: A, value: ethers.toQuantity(eth("0.25")) },
    ]);
    exp.push({
      kind: "native",
      from: X,
      to: A as string,
      amount: String(eth("0.25")),
      contract: null,
      txHash: x1,
    });
    const x2 = await node.rpc<string>("eth_sendTransaction", [
      {
        from: X,
        to: tokenAddress,
        data: token.interface.encodeFunctionData("transfer", [B, 200n]),
      },
    ]);
    exp.push({
      kind: "token",
      from: X,
      to: B as string,
      amount: "200",
      contract: tokenAddress,
      txHash: x2,
    });
    const x3 = await node.rpc<string>("eth_sendTransaction", [
      {
        from: X,
        to: forwarderAddress,
        value: ethers.toQuantity(eth("0.05")),
        data: forwarder.interface.encodeFunctionData("forward", [C]),
      },
    ]);
    exp.push({
      kind: "native",
      from: X,
      to: forwarderAddress,
      amount: String(eth("0.05")),
      contract: null,
      txHash: x3,
    });
    exp.push({
      kind: "internal",
      from: forwarderAddress,
      to: C as string,
      amount: String(eth("0.05")),
      contract: null,
      txHash: x3,
    });
    await node.rpc("anvil_stopImpersonatingAccount", [X]);
    await node.rpc("anvil_mine", ["0x3"]); // confirmations

    await ing.caughtUp(node);
    const events = await ing.read((m) => m.length >= exp.length, 30_000);
    // Give a straggler (a duplicate would arrive after the expected count) a moment to show up.
    const again = await ing.read((m) => m.length > exp.length, 2_000);
    expect(again.length).toBe(events.length);
    const ids = events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(events.every((e) => e.status === "confirmed" && e.chain === "anvil")).toBe(true);
    const got = events.map((e) =>
      expKey({
        kind: e.kind as Expected["kind"],
        from: e.from as string,
        to: e.to as string,
        amount: e.amount,
        contract: e.asset.contract,
        txHash: e.txHash,
      }),
    );
    expect(got.sort()).toEqual(exp.map(expKey).sort());
    expect(events.some((e) => e.txHash === failedHash.toLowerCase())).toBe(false);
    // Fields: token metadata read from the contract, native asset, block data from the node.
    for (const e of events) {
      if (e.kind === "token")
        expect(e.asset).toEqual({ symbol: "TT", contract: tokenAddress, decimals: 6 });
      else expect(e.asset).toEqual({ symbol: "ETH", contract: null, decimals: 18 });
      const r = await provider.getTransactionReceipt(e.txHash);
      expect(e.blockNumber).toBe(r?.blockNumber);
      expect(e.blockHash).toBe(r?.blockHash.toLowerCase());
      const blk = await provider.getBlock(r?.blockNumber as number);
      expect(e.timestamp).toBe((blk?.timestamp as number) * 1000);
      expect(e.from).toBe((e.from as string).toLowerCase());
    }
  });

  it("retracts orphaned blocks on anvil_reorg (k up to 10) and ends with the canonical chain", async () => {
    const node = await anvil();
    const ing = await startIngest({ urls: [node.url], confirmations: 0, traces: "callTracer" });
    const accounts = await node.rpc<string[]>("eth_accounts");
    await sendEthTransfers(node, 25);
    await ing.caughtUp(node);
    let reorgs = 0;
    for (const k of [1, 3, 10, 6]) {
      // New branch: k blocks, with other transfers in some of them.
      const txs = Array.from({ length: Math.min(k, 4) }, (_, i) => [
        { from: accounts[5 + i], to: accounts[9], value: `0x${(7_000 + k * 10 + i).toString(16)}` },
        i,
      ]);
      await node.rpc("anvil_reorg", [k, txs]);
      reorgs++;
      await sendEthTransfers(node, 2, k);
      await ing.caughtUp(node);
    }
    const head = Number.parseInt(await node.rpc<string>("eth_blockNumber"), 16);
    const oracle = await oracleIds(ing.source, 0, head);
    const events = await ing.read(
      (m) => netConfirmed(m).size === oracle.length && m.length > oracle.length,
      30_000,
    );
    const net = netConfirmed(events);
    expect([...net.keys()].sort()).toEqual(oracle);
    const retracted = events.filter((e) => e.status === "retracted");
    expect(retracted.length).toBeGreaterThanOrEqual(1 + 3 + 10 + 6 - 4); // orphaned blocks carried transfers
    // Every retraction repeats an earlier confirmed event of an orphaned block, with the same content.
    const confirmed = new Map(events.filter((e) => e.status === "confirmed").map((e) => [e.id, e]));
    for (const r of retracted) {
      const c = confirmed.get(r.id);
      expect(c).toBeDefined();
      expect({ ...r, status: "x", observedAt: 0 }).toEqual({ ...c, status: "x", observedAt: 0 });
      const canon = await node.rpc<{ hash: string } | null>("eth_getBlockByNumber", [
        `0x${(r.blockNumber as number).toString(16)}`,
        false,
      ]);
      expect(canon?.hash).not.toBe(r.blockHash);
    }
    expect(reorgs).toBe(4);
  });

  it("reads the same blocks over WebSocket as over HTTP", async () => {
    const node = await anvil();
    await sendEthTransfers(node, 12);
    const ws = new RpcClient({ urls: [node.wsUrl], log });
    const http = new RpcClient({ urls: [node.url], log });
    try {
      const a = new EvmBlockSource({ chain: "anvil", rpc: ws, log, traces: "callTracer" });
      const b = new EvmBlockSource({ chain: "anvil", rpc: http, log, traces: "callTracer" });
      expect(await a.head()).toBe(await b.head());
      const strip = (bs: { ref: unknown; transfers: TransferV1[] }[]) =>
        bs.map((x) => ({
          ref: x.ref,
          transfers: x.transfers.map((t) => ({ ...t, observedAt: 0, source: "" })),
        }));
      expect(strip(await a.blocks(0, 12))).toEqual(strip(await b.blocks(0, 12)));
    } finally {
      await ws.close();
      await http.close();
    }
  });

  it("retries and fails over on errors, timeouts, truncated JSON and wrong blocks, never emitting garbage", async () => {
    const node = await anvil();
    await sendEthTransfers(node, 30);
    const { signer } = await wallet(node);
    const { token } = await deploy(signer);
    const accounts = await node.rpc<string[]>("eth_accounts");
    for (let i = 0; i < 10; i++)
      await (await token.getFunction("transfer")(accounts[(i % 5) + 1], 10n + BigInt(i))).wait();
    const flaky = await startFaultProxy(node.url, 1_500);
    const backup = await startFaultProxy(node.url, 1_500);
    cleanups.push(
      () => flaky.close(),
      () => backup.close(),
    );
    const kinds = [
      "http500",
      "http429",
      "rpcError",
      "timeout",
      "truncate",
      "wrongBlock",
      "garbageReceipts",
    ] as const;
    const methodOf = (k: string) =>
      k === "wrongBlock"
        ? "eth_getBlockByNumber"
        : k === "garbageReceipts"
          ? "eth_getBlockReceipts"
          : undefined;
    for (const kind of kinds)
      flaky.queue.push({ kind, method: methodOf(kind) }, { kind, method: methodOf(kind) });
    flaky.random = { kinds: [...kinds], probability: 0.4 };
    backup.random = { kinds: [...kinds], probability: 0.15 };
    const ing = await startIngest({
      urls: [flaky.url, backup.url],
      confirmations: 0,
      timeoutMs: 400,
      batchSize: 5,
      cooldownMs: 0,
    });
    await ing.caughtUp(node);
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
    const events = await ing.read((m) => m.length >= oracle.length, 30_000);
    expect(events.map((e) => e.id).sort()).toEqual(oracle);
    expect(events.every((e) => e.status === "confirmed")).toBe(true);
    expect(Object.keys(flaky.injected).sort()).toEqual([...kinds].sort());
    expect(backup.requests).toBeGreaterThan(0); // failover happened
  });
});
