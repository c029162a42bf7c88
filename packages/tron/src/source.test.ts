import { createServer } from "node:net";
import { isRetryable } from "@chainscreen/errors";
import { ChainFollower, MemoryIngestStore, netConfirmed } from "@chainscreen/ingest";
import { silentLogger } from "@chainscreen/logger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { account, FIXTURE_BLOCK, TronTestChain } from "../../../test/tron/chain.js";
import {
  type FaultKind,
  startTronTestServer,
  type TronTestServer,
} from "../../../test/tron/server.js";
import { TronHttpClient, TronRequestError, TronResponseError } from "./client.js";
import { TronBlockSource } from "./source.js";

const USDT_HEX = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c";
const a = account("alice");
const b = account("bob");

/** Synthetic blocks up to the fixture's parent, the real fixture block, then more synthetic ones. */
function fixtureChain(): TronTestChain {
  const chain = new TronTestChain();
  chain.add([{ kind: "trx", from: a, to: b, amount: 1 }], { number: FIXTURE_BLOCK - 2 });
  const fx = "0000000004b3532bbf50c7ec18ad8985176f507a15c48d2a583bc8e5130c9e67";
  chain.add([{ kind: "trx", from: b, to: a, amount: 2 }], { hash: fx });
  chain.addFixture();
  chain.add([{ kind: "trc20", from: a, token: USDT_HEX, to: b, amount: 10n }]);
  chain.add([]);
  return chain;
}

async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

describe("TronHttpClient and TronBlockSource against the test server", () => {
  let server: TronTestServer;
  beforeAll(async () => {
    const chain = fixtureChain();
    chain.solidify(FIXTURE_BLOCK + 1);
    server = await startTronTestServer({ chain, apiKey: "k-123" });
  });
  afterAll(() => server.close());

  const client = (over: Partial<ConstructorParameters<typeof TronHttpClient>[0]> = {}) =>
    new TronHttpClient({
      urls: [server.url],
      apiKey: "k-123",
      baseDelayMs: 1,
      maxDelayMs: 5,
      ...over,
    });

  it("serves only solidified blocks by default and sends the API key", async () => {
    const src = new TronBlockSource({ client: client() });
    expect(await src.head()).toBe(FIXTURE_BLOCK + 1);
    expect(server.lastApiKey).toBe("k-123");
    const blk = await src.block(FIXTURE_BLOCK);
    expect(blk.transfers.map((t) => [t.from, t.to, t.amount, t.asset.symbol])).toEqual([
      [
        "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF",
        "TDii6vao7xyWg2rKPbCPWVRpSmne8xcqYx",
        "30401259",
        "USDT",
      ],
    ]);
    expect(blk.transfers[0]?.source).toBe("tron-http:solidified");
    // The block above the solidified one exists on the tip but not on /walletsolidity.
    await expect(src.block(FIXTURE_BLOCK + 2)).rejects.toThrow(/not available yet/);
    const tip = new TronBlockSource({ client: client(), finality: "head", lag: 1 });
    expect(await tip.head()).toBe(FIXTURE_BLOCK + 1);
    expect(await tip.safeHead()).toBe(FIXTURE_BLOCK + 1);
    expect((await tip.block(FIXTURE_BLOCK + 2)).transfers).toEqual([]);
  });

  it("links headers by parent hash across synthetic and real blocks", async () => {
    const src = new TronBlockSource({ client: client() });
    const blocks = await src.blocks(FIXTURE_BLOCK - 2, FIXTURE_BLOCK + 1);
    expect(blocks.map((x) => x.ref.number)).toEqual([0, 1, 2, 3].map((i) => FIXTURE_BLOCK - 2 + i));
    for (let i = 1; i < blocks.length; i++) {
      expect(blocks[i]?.ref.parentHash).toBe(blocks[i - 1]?.ref.hash);
    }
    expect(blocks.map((x) => x.transfers.length)).toEqual([1, 1, 1, 1]);
  });

  it("rejects a missing or wrong API key without retrying forever", async () => {
    const c = client({ apiKey: "wrong" });
    const err = await c.getNowBlock(true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TronRequestError);
    expect(isRetryable(err)).toBe(false);
    expect((err as TronRequestError).context).toMatchObject({ status: 401 });
  });

  const kinds: FaultKind[] = [
    "429",
    "503",
    "garbage",
    "truncated",
    "wrong-shape",
    "error-body",
    "reset",
  ];
  it.each(kinds)("retries a %s answer and then succeeds", async (kind) => {
    const retries: string[] = [];
    const c = client({ onRetry: (r) => retries.push(r.error.message) });
    server.fault({ path: "getblockbynum", kind, times: 2 });
    const blk = await new TronBlockSource({ client: c }).block(FIXTURE_BLOCK);
    expect(blk.transfers).toHaveLength(1);
    expect(retries).toHaveLength(2);
  });

  it("turns a block whose txID does not match its raw_data into a retryable error", async () => {
    const src = new TronBlockSource({ client: client() });
    server.fault({ path: "getblockbynum", kind: "bad-txid", times: 1 });
    const err = await src.block(FIXTURE_BLOCK).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TronResponseError);
    expect((err as Error).message).toBe("malformed Tron block");
    expect(isRetryable(err)).toBe(true);
    expect((await src.block(FIXTURE_BLOCK)).transfers).toHaveLength(1);
  });

  it("gives up with a clear, retryable error when every attempt is malformed", async () => {
    server.fault({ path: "getnowblock", kind: "wrong-shape", times: 3 });
    const err = await client({ maxAttempts: 3 })
      .getNowBlock(true)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TronResponseError);
    expect((err as Error).message).toBe("malformed Tron API response");
    expect(isRetryable(err)).toBe(true);
    expect(JSON.stringify((err as TronResponseError).context)).toMatch(/blockID/);
  });

  it("fails over from an unreachable URL to the next one and sticks with it", async () => {
    const c = new TronHttpClient({
      urls: [await deadUrl(), server.url],
      apiKey: "k-123",
      baseDelayMs: 1,
    });
    expect((await c.getNowBlock(false)).block_header.raw_data.number).toBe(FIXTURE_BLOCK + 2);
    expect(c.currentUrl).toBe(server.url);
  });
});

describe("transfer kinds over HTTP", () => {
  it("serves TRX, TRC-10, TRC-20, call value and internal transfers; failed and rejected ones are skipped", async () => {
    const c = account("carol");
    const pool = account("pool");
    const chain = new TronTestChain();
    chain.add(
      [
        { kind: "trx", from: a, to: b, amount: 1_500_000 },
        { kind: "trx", from: b, to: a, amount: 9, failed: true },
        { kind: "trc10", from: b, to: c, assetId: "1002000", amount: 77 },
        { kind: "trc20", from: a, token: USDT_HEX, to: c, amount: 5_000_000n },
        { kind: "trc20", from: a, token: USDT_HEX, to: b, amount: 9n, failed: true },
        {
          kind: "call",
          from: a,
          contract: pool,
          callValue: 2_000_000,
          internal: [
            { from: pool, to: b, value: 1_000_000 },
            { from: pool, to: a, value: 999, rejected: true },
          ],
        },
      ],
      { number: 500 },
    );
    chain.solidify(500);
    const server = await startTronTestServer({ chain });
    try {
      const src = new TronBlockSource({ client: new TronHttpClient({ urls: [server.url] }) });
      const blk = await src.block(500);
      expect(blk.transfers.map((t) => [t.kind, t.asset.symbol, t.amount])).toEqual([
        ["native", "TRX", "1500000"],
        ["token", null, "77"],
        ["token", "USDT", "5000000"],
        ["native", "TRX", "2000000"],
        ["internal", "TRX", "1000000"],
      ]);
    } finally {
      await server.close();
    }
  });
});

describe("TRC-20 metadata", () => {
  it("reads decimals() and symbol() once per unknown contract, bytes32 symbols and missing contracts included", async () => {
    const tkx = account("token-tkx");
    const old = account("token-old");
    const ghost = account("not-a-contract");
    const chain = new TronTestChain();
    chain.contracts.set(tkx, { symbol: "TKX", decimals: 18 });
    chain.contracts.set(old, { symbol: "OLD", decimals: 8, bytes32Symbol: true });
    chain.add(
      [
        { kind: "trc20", from: a, token: tkx, to: b, amount: 10n ** 20n },
        { kind: "trc20", from: a, token: old, to: b, amount: 3n },
        { kind: "trc20", from: a, token: ghost, to: b, amount: 4n },
        { kind: "trc20", from: b, token: tkx, to: a, amount: 1n },
      ],
      { number: 20 },
    );
    chain.solidify(20);
    const server = await startTronTestServer({ chain });
    try {
      const src = new TronBlockSource({ client: new TronHttpClient({ urls: [server.url] }) });
      const got = (await src.block(20)).transfers.map((t) => [
        t.amount,
        t.asset.symbol,
        t.asset.decimals,
      ]);
      expect(got).toEqual([
        ["100000000000000000000", "TKX", 18],
        ["3", "OLD", 8],
        ["4", null, null],
        ["1", "TKX", 18],
      ]);
      expect(server.requests.get("/wallet/triggerconstantcontract")).toBe(6);
      await src.block(20);
      expect(server.requests.get("/wallet/triggerconstantcontract")).toBe(6);
    } finally {
      await server.close();
    }
  });
});

describe("TRC-10 metadata", () => {
  it("is looked up once per id with getassetissuebyid and cached, unknown ids included", async () => {
    const chain = new TronTestChain();
    chain.assets.set("1002000", { name: "BitTorrent", abbr: "BTT", precision: 6 });
    chain.add([{ kind: "trc10", from: a, to: b, assetId: "1002000", amount: 5 }], { number: 10 });
    chain.add([
      { kind: "trc10", from: a, to: b, assetId: "1002000", amount: 6 },
      { kind: "trc10", from: b, to: a, assetId: "1000001", amount: 7 },
    ]);
    chain.add([{ kind: "trc10", from: b, to: a, assetId: "1000001", amount: 8 }]);
    chain.solidify(chain.head);
    const server = await startTronTestServer({ chain });
    try {
      const src = new TronBlockSource({ client: new TronHttpClient({ urls: [server.url] }) });
      const got = (await src.blocks(10, 12)).flatMap((x) =>
        x.transfers.map((t) => [t.amount, t.asset]),
      );
      expect(got).toEqual([
        ["5", { symbol: "BTT", contract: "1002000", decimals: 6 }],
        ["6", { symbol: "BTT", contract: "1002000", decimals: 6 }],
        ["7", { symbol: null, contract: "1000001", decimals: null }],
        ["8", { symbol: null, contract: "1000001", decimals: null }],
      ]);
      expect(server.requests.get("/wallet/getassetissuebyid")).toBe(2);
    } finally {
      await server.close();
    }
  });
});

describe("early events on the unsolidified tip", () => {
  it("retracts transfers of a block replaced before solidification; solidified mode never sees it", async () => {
    const chain = new TronTestChain();
    chain.add([{ kind: "trx", from: a, to: b, amount: 100 }], { number: 1000 });
    chain.add([{ kind: "trx", from: a, to: b, amount: 101 }]);
    chain.add([{ kind: "trx", from: a, to: b, amount: 102 }]); // 1002: will be orphaned
    chain.solidify(1001);
    const server = await startTronTestServer({ chain });
    try {
      const client = new TronHttpClient({ urls: [server.url], baseDelayMs: 1 });
      const early = new TronBlockSource({ client, finality: "head" });
      const solid = new TronBlockSource({ client });
      const storeE = new MemoryIngestStore();
      const storeS = new MemoryIngestStore();
      const follow = (source: TronBlockSource, store: MemoryIngestStore, emitPending: boolean) =>
        new ChainFollower({
          source,
          store,
          log: silentLogger(),
          confirmations: 0,
          useSafeHead: true,
          emitPending,
          startBlock: 1000,
        });
      const fe = follow(early, storeE, true);
      const fs = follow(solid, storeS, false);
      await fe.tick();
      await fs.tick();
      expect(storeE.events.map((e) => [e.amount, e.status])).toEqual([
        ["100", "confirmed"],
        ["101", "confirmed"],
        ["102", "pending"],
      ]);
      expect(storeS.events.map((e) => e.amount)).toEqual(["100", "101"]);

      // A different block 1002 (and 1003) wins before 1002 is solidified.
      chain.reorg(1002);
      chain.add([{ kind: "trx", from: a, to: b, amount: 202 }], { tag: "fork" });
      chain.add([{ kind: "trx", from: a, to: b, amount: 203 }], { tag: "fork" });
      chain.solidify(1003);
      for (let i = 0; i < 4; i++) {
        await fe.tick();
        await fs.tick();
      }
      const statuses = storeE.events.map((e) => [e.amount, e.status]);
      expect(statuses).toContainEqual(["102", "retracted"]);
      const net = (s: MemoryIngestStore) =>
        [...netConfirmed(s.events).values()].map((e) => e.amount).sort();
      expect(net(storeE)).toEqual(["100", "101", "202", "203"]);
      expect(net(storeS)).toEqual(["100", "101", "202", "203"]);
      expect(storeS.events.some((e) => e.status !== "confirmed")).toBe(false);
    } finally {
      await server.close();
    }
  });
});
