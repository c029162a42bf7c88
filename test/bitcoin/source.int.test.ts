import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BitcoinBlockSource,
  BitcoinCoreRpc,
  type BitcoinSourceOptions,
  EsploraClient,
  LmdbOutpointStore,
  MemoryOutpointStore,
  Networks,
  outpointKey,
  type Prevout,
  parseTransaction,
  prevoutOf,
} from "@chainscreen/bitcoin";
import type { TransferV1 } from "@chainscreen/schema";
import { TransferV1 as TransferSchema } from "@chainscreen/schema";
import { fixturesDir } from "@chainscreen/testing";
import { afterEach, describe, expect, it } from "vitest";
import { chain50000, chain413567 } from "./chain.js";
import { type BitcoinTestServer, startBitcoinTestServer } from "./server.js";

// The Bitcoin block source against the local test node (Core JSON-RPC and Esplora REST shapes,
// serving recorded mainnet data), checked against bitcoin-etl's expected exports.

interface EtlTx {
  hash: string;
  is_coinbase: boolean;
  inputs: { addresses: string[]; value: number }[];
  outputs: { addresses: string[]; value: number }[];
  fee: number;
}
const expected: EtlTx[] = readFileSync(
  join(fixturesDir, "bitcoin", "bitcoin-etl", "stream_50001_50002", "expected_transactions.json"),
  "utf8",
)
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as EtlTx);

const MOVED = [
  "7940cdde4d713e171849efc6bd89939185be270266c94e92369e3877ad89455a",
  "f84761459a00c6df3176ae5d94c99e69f25100d09548e5686bd0c354bb8cc60a",
] as const;
const fast = { attempts: 4, baseDelayMs: 1, maxDelayMs: 5, timeoutMs: 5_000 };
const servers: BitcoinTestServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function node(opts: Partial<Parameters<typeof startBitcoinTestServer>[0]> = {}) {
  const s = await startBitcoinTestServer({ chain: chain50000(), ...opts });
  servers.push(s);
  return s;
}

/** Every transfer of the expected transactions matches bitcoin-etl: to, amount, from, fee. */
function checkAgainstEtl(transfers: TransferV1[]) {
  for (const t of transfers) expect(TransferSchema.safeParse(t).success).toBe(true);
  const want = expected.filter((e) => transfers.some((t) => t.txHash === e.hash));
  expect(want.length).toBeGreaterThan(0);
  for (const e of want) {
    const mine = transfers.filter((t) => t.txHash === e.hash);
    expect(mine.map((t) => [t.to, t.amount])).toEqual(
      e.outputs.map((o) => [o.addresses[0], String(o.value)]),
    );
    for (const t of mine) {
      expect(t.from).toEqual(
        e.inputs.map((i) => ({ address: i.addresses[0], value: String(i.value) })),
      );
      expect(t.fee).toBe(String(e.fee));
      expect(t.kind).toBe("utxo");
      expect(t.asset).toEqual({ symbol: "BTC", contract: null, decimals: 8 });
    }
  }
  return want.length;
}

const src = (o: Partial<BitcoinSourceOptions> & Pick<BitcoinSourceOptions, "backend">) =>
  new BitcoinBlockSource({ ...o });

describe("Bitcoin Core JSON-RPC source", () => {
  it("uses getblock verbosity 3 prevouts on Core ≥ 23 (no getrawtransaction)", async () => {
    const s = await node({ rpcAuth: { username: "u", password: "p w" } });
    const url = s.url.replace("http://", "http://u:p%20w@");
    const source = src({ backend: new BitcoinCoreRpc([url], fast) });
    expect(await source.head()).toBe(50002);
    const blocks = await source.blocks(50000, 50002);
    expect(blocks.map((b) => b.ref.number)).toEqual([50000, 50001, 50002]);
    expect(blocks[1]?.ref.parentHash).toBe(blocks[0]?.ref.hash);
    expect(checkAgainstEtl(blocks.flatMap((b) => b.transfers))).toBe(4);
    expect(s.requests.get("getrawtransaction") ?? 0).toBe(0);
    expect(s.requests.get("getnetworkinfo")).toBe(1);
    const h = await source.header(50001);
    expect(h).toEqual(blocks[1]?.ref);
  });

  it("on an older node resolves inputs with getrawtransaction through the cache and fills the index", async () => {
    const s = await node({ coreVersion: 220000 });
    const store = new MemoryOutpointStore();
    const source = src({ backend: new BitcoinCoreRpc([s.url], fast), store });
    const blocks = await source.blocks(50000, 50002);
    checkAgainstEtl(blocks.flatMap((b) => b.transfers));
    expect(s.requests.get("getrawtransaction")).toBe(3);
    expect(s.requests.get("getblock")).toBe(3);
    // Outputs of processed blocks are in the index; spent ones were pruned.
    expect(
      store.map.get(
        outpointKey("7940cdde4d713e171849efc6bd89939185be270266c94e92369e3877ad89455a", 0),
      ),
    ).toEqual({
      value: 10_000_000_000,
      type: "p2pkh",
      addresses: ["1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ"],
    });
    // Processing a block again hits the cache, not the node.
    await source.block(50001);
    expect(s.requests.get("getrawtransaction")).toBe(3);
  });

  it("rejects bad credentials without retrying", async () => {
    const s = await node({ rpcAuth: { username: "u", password: "right" } });
    const source = src({
      backend: new BitcoinCoreRpc([{ url: s.url, username: "u", password: "wrong" }], fast),
    });
    await expect(source.head()).rejects.toThrow(/HTTP 401/);
    expect(s.requests.size).toBe(0);
  });

  it("retries malformed hex, truncated blocks, RPC warm-up errors, 5xx and resets, then succeeds", async () => {
    const s = await node({ coreVersion: 220000 });
    const source = src({ backend: new BitcoinCoreRpc([s.url], fast), blockAttempts: 4 });
    s.fault({ target: "getblock", kind: "malformed-hex", times: 1 });
    s.fault({ target: "getblock", kind: "truncated", times: 1 });
    s.fault({ target: "getblock", kind: "warmup", times: 1 });
    s.fault({ target: "getblockhash", kind: "503", times: 1 });
    s.fault({ target: "getrawtransaction", kind: "reset", times: 1 });
    s.fault({ target: "getrawtransaction", kind: "garbage", times: 1 });
    const b = await source.block(50001);
    checkAgainstEtl(b.transfers);
    expect(s.requests.get("getblock")).toBe(4);
  });

  it("gives a clear retryable error when faults persist, and a permanent one above the tip", async () => {
    const s = await node({ coreVersion: 220000 });
    const source = src({ backend: new BitcoinCoreRpc([s.url], fast), blockAttempts: 2 });
    s.fault({ target: "getblock", kind: "truncated", times: 100 });
    const err = await source.block(50001).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true });
    expect(String((err as Error).message)).toMatch(
      /bitcoin block 50001 failed after 2 attempts: malformed bitcoin data/,
    );
    const above = await source.block(50003).catch((e: unknown) => e);
    expect(above).toMatchObject({
      retryable: false,
      context: { code: -8, method: "getblockhash" },
    });
  });

  it("fails over from a dead endpoint to a live one", async () => {
    const s = await node();
    const dead = await node();
    const deadUrl = dead.url;
    await dead.close();
    servers.splice(servers.indexOf(dead), 1);
    const source = src({ backend: new BitcoinCoreRpc([deadUrl, s.url], fast) });
    expect((await source.block(50001)).transfers.length).toBe(3);
  });
});

describe("Esplora REST source", () => {
  it("ingests raw blocks with the LMDB outpoint index, fetching only missing prevouts", async () => {
    const s = await node();
    const dir = mkdtempSync(join(tmpdir(), "btc-outpoints-"));
    dirs.push(dir);
    const store = new LmdbOutpointStore(dir);
    // Pre-fill the index with the outputs of two of the three spent transactions.
    const pre = new Map<string, Prevout>();
    for (const id of [
      "76a8d70a757be5055f60be076b683897cadaad6b7bdf78c43e39b9d59cb4a6ea",
      "0dd0394c6240355f4e4b3c88028f678ed746cebee3b3e8509620733f018914c9",
    ]) {
      const tx = parseTransaction(s.chain.txs.get(id) as Buffer);
      pre.set(outpointKey(id, 0), prevoutOf(tx, 0, Networks.bitcoin) as Prevout);
    }
    await store.apply(pre, []);
    const source = src({ backend: new EsploraClient([s.esploraUrl], fast), store });
    const blocks = await source.blocks(50000, 50002);
    checkAgainstEtl(blocks.flatMap((b) => b.transfers));
    expect(s.requests.get("/tx/:hash/hex")).toBe(1);
    expect(s.requests.get("/block/:hash/raw")).toBe(3);
    const [created] = await store.getMany([outpointKey(MOVED[1], 0)]);
    expect(created).toEqual({
      value: 5_000_000_000,
      type: "p2pkh",
      addresses: ["1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ"],
    });
    // Spent outputs are kept while their blocks are shallow: a reorg replays the payments in the
    // new 50002 and resolves their inputs from the index, not the node.
    expect(store.pendingHeights()).toEqual([50000, 50001, 50002]);
    const { fork } = s.chain.reorg(50001);
    const replay = await source.blocks(50001, 50002);
    expect(replay.map((b) => b.ref.hash)).toEqual(fork);
    checkAgainstEtl(replay.flatMap((b) => b.transfers));
    expect(s.requests.get("/tx/:hash/hex")).toBe(1);
    await store.close();
  });

  it("deletes spent outpoints once their block is pruneDepth deep", async () => {
    const s = await node();
    const dir = mkdtempSync(join(tmpdir(), "btc-outpoints-"));
    dirs.push(dir);
    const store = new LmdbOutpointStore(dir, { pruneDepth: 1 });
    const source = src({ backend: new EsploraClient([s.esploraUrl], fast), store });
    await source.blocks(50000, 50002);
    expect(store.pendingHeights()).toEqual([50002]);
    const spent = outpointKey(
      "0dd0394c6240355f4e4b3c88028f678ed746cebee3b3e8509620733f018914c9",
      0,
    );
    expect(await store.getMany([spent])).toEqual([undefined]);
    await store.close();
  });

  it("retries a truncated raw block and a 500", async () => {
    const s = await node();
    const source = src({
      backend: new EsploraClient([s.esploraUrl], fast),
      store: new MemoryOutpointStore(),
    });
    s.fault({ target: "/raw", kind: "truncated", times: 1 });
    s.fault({ target: "/block-height", kind: "500", times: 1 });
    const b = await source.block(50001);
    checkAgainstEtl(b.transfers);
  });

  it("block 413567: 1557 txs; without recorded prevouts strict mode refuses, best-effort emits outputs", async () => {
    const s = await startBitcoinTestServer({ chain: chain413567() });
    servers.push(s);
    const strict = src({ backend: new EsploraClient([s.esploraUrl], fast), blockAttempts: 1 });
    await expect(strict.block(413567)).rejects.toThrow(/cannot resolve spent output/);
    let stats: Parameters<NonNullable<BitcoinSourceOptions["onBlock"]>>[1] | undefined;
    const lax = src({
      backend: new EsploraClient([s.esploraUrl], fast),
      strictInputs: false,
      onBlock: (_n, st) => {
        stats = st;
      },
    });
    const b = await lax.block(413567);
    expect(stats?.txs).toBe(1557);
    expect(b.transfers.length).toBe(stats?.addressedOutputs);
    expect(b.transfers.length).toBe(3578);
    expect(stats?.byType.nulldata?.outputs).toBe(3);
    const coinbaseTxid = b.transfers[0]?.txHash;
    const cb = b.transfers.filter((t) => t.txHash === coinbaseTxid);
    expect(cb.every((t) => Array.isArray(t.from) && t.from.length === 0)).toBe(true);
    expect(cb.reduce((a, t) => a + BigInt(t.amount), 0n)).toBe(2_531_310_238n);
    expect(cb.every((t) => t.fee === "0")).toBe(true);
    // Transactions spending outputs of earlier transactions of the same block are fully resolved
    // (their fee is known and never negative); the others have an unknown fee.
    const known = b.transfers.filter((t) => t.fee !== null && t.txHash !== coinbaseTxid);
    expect(known.length).toBeGreaterThan(0);
    expect(known.every((t) => BigInt(t.fee as string) >= 0n)).toBe(true);
    expect(b.transfers.filter((t) => t.fee === null).length).toBe(
      b.transfers.length - cb.length - known.length,
    );
  });
});
