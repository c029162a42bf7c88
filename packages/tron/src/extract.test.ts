import { TransientError, ValidationError } from "@chainscreen/errors";
import { TransferV1 } from "@chainscreen/schema";
import { describe, expect, it } from "vitest";
import { account, FIXTURE_BLOCK, TronTestChain } from "../../../test/tron/chain.js";
import { tronAddress } from "./address.js";
import { extractBlock } from "./extract.js";
import { TokenRegistry, USDT_TRC20 } from "./tokens.js";
import { checkBlock, checkTxInfoList, parseTronJson } from "./trongrid.js";

const USDT_HEX = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c";

function parsed(chain: TronTestChain, n: number) {
  const b = chain.blocks.get(n);
  if (!b) throw new Error(`no block ${n}`);
  return {
    block: checkBlock(parseTronJson(b.blockJson)),
    infos: checkTxInfoList(parseTronJson(b.infosJson)),
  };
}

const opts = () => ({
  tokens: new TokenRegistry(),
  source: "test",
  verifyTxIds: true,
  now: () => 42,
});

describe("extractBlock on the mainnet fixture block 78861100", () => {
  const chain = new TronTestChain();
  chain.addFixture();
  const { block, infos } = parsed(chain, FIXTURE_BLOCK);
  const out = extractBlock(block, infos, opts());

  it("yields exactly one USDT-TRC20 transfer with the real parties, amount, block and time", () => {
    expect(out.ref).toEqual({
      number: 78861100,
      hash: "0000000004b3532cbc14c910020c3ae5336f5607d6aa194abb3e6df264297e8a",
      parentHash: "0000000004b3532bbf50c7ec18ad8985176f507a15c48d2a583bc8e5130c9e67",
      timestamp: 1767246213000,
    });
    expect(out.transfers).toHaveLength(1);
    const t = out.transfers[0];
    expect(TransferV1.parse(t)).toEqual(t);
    expect(t).toMatchObject({
      id: "tron:e122cba603b48ee234807f91859a04dbc4728f1b215d5c9c05385733bca674bc:token:0",
      chain: "tron",
      kind: "token",
      txHash: "e122cba603b48ee234807f91859a04dbc4728f1b215d5c9c05385733bca674bc",
      index: "0",
      blockNumber: 78861100,
      timestamp: 1767246213000,
      from: "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF",
      to: "TDii6vao7xyWg2rKPbCPWVRpSmne8xcqYx",
      asset: { symbol: "USDT", contract: USDT_TRC20, decimals: 6 },
      amount: "30401259",
      status: "confirmed",
    });
  });

  it("is deterministic", () => {
    expect(extractBlock(block, infos, opts())).toEqual(out);
  });

  it("rejects a transaction whose txID is not sha256(raw_data)", () => {
    const bad = structuredClone(block);
    const tx = bad.transactions?.[0];
    if (!tx) throw new Error("fixture has a transaction");
    tx.raw_data_hex = `${tx.raw_data_hex.slice(0, -2)}00`;
    expect(() => extractBlock(bad, infos, opts())).toThrow(ValidationError);
  });

  it("refuses a block whose infos do not match (answered from another fork)", () => {
    expect(() => extractBlock(block, [], opts())).toThrow(TransientError);
  });
});

describe("extractBlock on synthetic blocks", () => {
  const a = account("alice");
  const b = account("bob");
  const c = account("carol");
  const pool = account("pool-contract");
  const chain = new TronTestChain();
  chain.add([], { number: 100 });
  const blk = chain.add([
    { kind: "trx", from: a, to: b, amount: 1_500_000 },
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
        { from: pool, to: c, value: 5, tokenId: "1002000" },
        { from: pool, to: c, value: 0 },
        { from: pool, to: a, value: 999, rejected: true },
      ],
    },
    {
      kind: "call",
      from: b,
      contract: pool,
      callValue: 3,
      internal: [{ from: pool, to: b, value: 3 }],
      failed: true,
    },
  ]);
  const { block, infos } = parsed(chain, blk.number);
  const out = extractBlock(block, infos, opts());
  const T = tronAddress;

  it("extracts TRX, TRC-10, TRC-20, call value and internal transfers; skips failed and rejected", () => {
    const rows = out.transfers.map((t) => [
      t.kind,
      t.index,
      t.from,
      t.to,
      t.asset.contract,
      t.amount,
    ]);
    expect(rows).toEqual([
      ["native", "0", T(a), T(b), null, "1500000"],
      ["token", "trc10:0", T(b), T(c), "1002000", "77"],
      ["token", "0", T(a), T(c), USDT_TRC20, "5000000"],
      ["native", "0", T(a), T(pool), null, "2000000"],
      ["internal", "0:0", T(pool), T(b), null, "1000000"],
      ["internal", "1:0", T(pool), T(c), "1002000", "5"],
    ]);
    for (const t of out.transfers) expect(TransferV1.safeParse(t).success).toBe(true);
    expect(new Set(out.transfers.map((t) => t.id)).size).toBe(out.transfers.length);
  });

  it("labels native TRX with 6 decimals and unknown TRC-10 tokens with nulls", () => {
    expect(out.transfers[0]?.asset).toEqual({ symbol: "TRX", contract: null, decimals: 6 });
    expect(out.transfers[1]?.asset).toEqual({ symbol: null, contract: "1002000", decimals: null });
    const tokens = new TokenRegistry();
    tokens.setTrc10("1002000", { symbol: "BTT", decimals: 6 });
    const again = extractBlock(block, infos, { ...opts(), tokens });
    expect(again.transfers[1]?.asset).toEqual({ symbol: "BTT", contract: "1002000", decimals: 6 });
  });

  it("keeps int64 amounts above 2^53 exact through JSON parsing", () => {
    const big = new TronTestChain();
    big.add([{ kind: "trc10", from: a, to: b, assetId: "1000001", amount: 2n ** 62n + 1n }], {
      number: 5,
    });
    const served = big.blocks.get(5)?.blockJson ?? "";
    expect(served).toContain(`"amount":${2n ** 62n + 1n}`); // a bare number, as java-tron prints it
    // Plain JSON.parse would round it: the reason parseTronJson exists.
    const naive = JSON.parse(served).transactions[0].raw_data.contract[0].parameter.value.amount;
    expect(BigInt(naive)).not.toBe(2n ** 62n + 1n);
    const p = parsed(big, 5);
    expect(extractBlock(p.block, p.infos, opts()).transfers[0]?.amount).toBe(
      (2n ** 62n + 1n).toString(),
    );
  });

  it("emits nothing for an empty block", () => {
    const p = parsed(chain, 100);
    expect(p.block.transactions).toBeUndefined();
    expect(extractBlock(p.block, p.infos, opts()).transfers).toEqual([]);
  });
});
