import { readFileSync } from "node:fs";
import { join } from "node:path";
import { extractBlock, type RpcBlock, type RpcReceipt } from "@chainscreen/evm";
import { type ExchangeReport, reportToTransfer } from "@chainscreen/exchange";
import type { TransferV1 } from "@chainscreen/schema";
import { Store } from "@chainscreen/store";
import {
  entryFromWatchlist,
  LocalTagger,
  MemoryEntryIndex,
  makeTransfer,
  parseRules,
  Suppressions,
} from "@chainscreen/tagger";
import { fixturesDir, repoRoot } from "@chainscreen/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startHarness } from "../api/harness.js";
import { loadOfacFixture, watchlistMessage } from "../tagger/harness.js";

// Exchange reports are joined to the chain's own record of the same transaction in the store
// (view `exchange_links`, migration 006): a report and the on-chain transfer it describes are
// linked whichever is stored first, batched transactions link each report to its own output,
// reorgs unlink, and investigators see the exchange attribution of a flagged on-chain flow both
// in analyst SQL (the README example) and in the API's flow detail.

let h: ApiHarness;
let store: Store;

beforeAll(async () => {
  // No seeded flags: every row in this database comes from this test.
  h = await startHarness("exchange_links", 0);
  store = new Store(h.stack.writer);
});
afterAll(async () => {
  await h?.close();
});

function report(over: Partial<ExchangeReport> & { reference: string }): TransferV1 {
  const r = reportToTransfer(
    {
      exchange: "acme-exchange",
      direction: "deposit",
      network: "TRX",
      asset: "USDT",
      amount: "1",
      time: Date.UTC(2026, 0, 1, 12),
      ...over,
    },
    { tenantId: "acme", source: "test" },
  );
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.transfer;
}

interface LinkRow {
  exchange: string;
  direction: string;
  exchange_transfer_id: string;
  reference: string;
  customer_ref: string;
  exchange_address: string;
  counterparty: string;
  transfer_id: string;
  kind: string;
  block_number: string | null;
  matched_on: string;
  counterparty_on_chain: boolean;
  amount_matches: boolean;
  status: string;
}

async function links(reference?: string): Promise<LinkRow[]> {
  const rs = await h.stack.analyst.query({
    query: `SELECT * FROM exchange_links
            WHERE {ref:String} = '' OR reference = {ref:String}
            ORDER BY reference, transfer_id`,
    query_params: { ref: reference ?? "" },
    format: "JSONEachRow",
  });
  return rs.json<LinkRow>();
}

/** The real Tron USDT transfer of the bitquery fixture, as the Tron ingester emits it. */
function tronFixtureTransfer(): TransferV1 {
  const row = JSON.parse(
    readFileSync(join(fixturesDir, "tron", "bitquery", "transfers.json"), "utf8"),
  ) as Record<string, string | number>;
  return makeTransfer({
    chain: "tron",
    kind: "token",
    txHash: String(row.Transaction_Hash).toLowerCase(),
    index: String(row.Transfer_LogIndex),
    from: String(row.Transfer_Sender),
    to: String(row.Transfer_Receiver),
    symbol: String(row.Transfer_Currency_Symbol),
    contract: String(row.Transfer_Currency_SmartContract),
    decimals: Number(row.Transfer_Currency_Decimals),
    amount: "30401259", // Transfer_Amount 30.401259 at 6 decimals
    timestamp: Number(row.Block_Time) * 1000,
  });
}

/** Block 1755635 of the ethereum-etl fixture through the EVM ingester's extraction. */
function ethereumFixture(): { transfers: TransferV1[]; block: RpcBlock } {
  const dir = join(
    fixturesDir,
    "ethereum",
    "ethereum-etl",
    "test_stream",
    "blocks_1755634_1755635",
  );
  const rpc = <T>(f: string) =>
    (JSON.parse(readFileSync(join(dir, `web3_response.${f}.json`), "utf8")) as { result: T })
      .result;
  const block = rpc<RpcBlock>("eth_getBlockByNumber_0x1ac9f3_true");
  const receipts = block.transactions.map((t) =>
    rpc<RpcReceipt>(`eth_getTransactionReceipt_${t.hash.toLowerCase()}`),
  );
  const transfers = extractBlock({
    chain: "ethereum",
    source: "fixture",
    block,
    receipts,
    native: { symbol: "ETH", decimals: 18 },
  });
  return { transfers, block };
}

describe("exchange reports joined to on-chain transfers (exchange_links)", () => {
  it("links a report to the transfer of its transaction, asset and parties, in either arrival order", async () => {
    // Tron: the report arrives first, with the hash as the exchange writes it (0x, upper case).
    const tron = tronFixtureTransfer();
    const tronReport = report({
      reference: "trx-dep-1",
      customerRef: "cust-17",
      amount: "30.401259",
      txHash: `0x${tron.txHash.toUpperCase()}`,
      counterpartyAddress: tron.from as string,
      exchangeAddress: tron.to as string,
    });
    await store.insertTransfers([{ value: tronReport }]);
    expect(await links("trx-dep-1")).toEqual([]);
    await store.insertTransfers([{ value: tron }]);
    expect(await links("trx-dep-1")).toMatchObject([
      {
        exchange: "acme-exchange",
        direction: "deposit",
        exchange_transfer_id: tronReport.id,
        customer_ref: "cust-17",
        exchange_address: tron.to,
        counterparty: tron.from,
        transfer_id: tron.id,
        matched_on: "receiver",
        counterparty_on_chain: true,
        amount_matches: true,
        status: "confirmed",
      },
    ]);

    // Ethereum: the chain is stored first. The DAO token deposit names the transaction's sender
    // as counterparty, but the tokens came from another address: linked by the deposit address,
    // and the chain does not confirm the reported counterparty.
    const eth = ethereumFixture();
    const dao = eth.transfers.find((t) => t.kind === "token");
    const native = eth.transfers.find((t) => t.kind === "native");
    const daoTx = eth.block.transactions.find((t) => t.hash === dao?.txHash);
    if (!dao || !native || !daoTx) throw new Error("fixture block lacks its transfers");
    await store.insertTransfers(eth.transfers.map((value) => ({ value })));
    const daoReport = report({
      reference: "dao-dep-1",
      network: "ETH",
      asset: "DAO",
      assetContract: dao.asset.contract,
      decimals: 16,
      amount: "500",
      txHash: dao.txHash.toUpperCase().replace("0X", "0x"),
      counterpartyAddress: daoTx.from,
      exchangeAddress: dao.to,
    });
    // Same transaction, other asset: the transaction moved no ETH, so nothing to link.
    const wrongAsset = report({
      reference: "eth-dep-wrong-asset",
      network: "ETH",
      asset: "ETH",
      amount: "500",
      txHash: dao.txHash,
      exchangeAddress: dao.to,
      counterpartyAddress: daoTx.from,
    });
    const withdrawal = report({
      reference: "eth-wd-1",
      direction: "withdrawal",
      network: "ethereum",
      asset: "ETH",
      amount: "0.406", // the chain moved 0.405738107 (a fee taken on top): linked, amounts differ
      txHash: native.txHash,
      exchangeAddress: native.from as string,
      counterpartyAddress: native.to as string,
    });
    await store.insertTransfers([daoReport, wrongAsset, withdrawal].map((value) => ({ value })));
    expect(await links("dao-dep-1")).toMatchObject([
      {
        transfer_id: dao.id,
        kind: "token",
        block_number: "1755635",
        matched_on: "receiver",
        counterparty: daoTx.from,
        counterparty_on_chain: false,
        amount_matches: true,
      },
    ]);
    expect(await links("eth-dep-wrong-asset")).toEqual([]);
    expect(await links("eth-wd-1")).toMatchObject([
      {
        direction: "withdrawal",
        transfer_id: native.id,
        exchange_address: native.from,
        counterparty: native.to,
        matched_on: "receiver",
        counterparty_on_chain: true,
        amount_matches: false,
      },
    ]);
  });

  it("links each report of a batched withdrawal to its own output, never the change; unknown hashes link nothing; a reorg unlinks", async () => {
    const HOT = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"; // the exchange's hot wallet
    const ALICE = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";
    const BOB = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy";
    const txid = "7f".repeat(32);
    const inputs = [{ address: HOT, value: "100000000" }];
    const output = (index: number, to: string, amount: string) =>
      makeTransfer({
        chain: "bitcoin",
        txHash: txid,
        index,
        from: inputs,
        to,
        symbol: "BTC",
        decimals: 8,
        amount,
      });
    const outputs = [
      output(0, ALICE, "30000000"),
      output(1, BOB, "20000000"),
      output(2, HOT, "49990000"), // change
    ];
    await store.insertTransfers(outputs.map((value) => ({ value })));
    const wd = (reference: string, counterparty: string | null, amount: string, txHash = txid) =>
      report({
        reference,
        direction: "withdrawal",
        network: "BTC",
        asset: "BTC",
        amount,
        txHash,
        exchangeAddress: HOT,
        counterpartyAddress: counterparty,
      });
    await store.insertTransfers(
      [
        wd("btc-wd-alice", ALICE, "0.3"),
        wd("btc-wd-bob", BOB, "0.2"),
        // Only the hot wallet is known: every payment of the transaction, not the change.
        wd("btc-wd-batch", null, "0.5"),
        // A transaction no ingester stored, and a report without any hash.
        wd("btc-wd-unseen", ALICE, "0.1", "6e".repeat(32)),
      ].map((value) => ({ value })),
    );
    const noHash = report({
      reference: "trx-no-hash",
      counterpartyAddress: "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF",
    });
    expect(noHash.txHash).toBe("ref:trx-no-hash");
    await store.insertTransfers([{ value: noHash }]);

    const [out0, out1] = outputs;
    const byRef = (rows: LinkRow[]) =>
      rows
        .filter((r) => r.reference.startsWith("btc-") || r.reference === "trx-no-hash")
        .map((r) => `${r.reference}>${r.transfer_id.split(":").pop()}:${r.matched_on}`);
    expect(byRef(await links())).toEqual([
      "btc-wd-alice>0:receiver",
      "btc-wd-batch>0:sender",
      "btc-wd-batch>1:sender",
      "btc-wd-bob>1:receiver",
    ]);
    expect((await links("btc-wd-alice"))[0]?.transfer_id).toBe(out0?.id);
    expect((await links("btc-wd-bob"))[0]?.transfer_id).toBe(out1?.id);

    // Reorg: the transaction's block is orphaned, its transfers retracted (higher version).
    await store.insertTransfers(
      outputs.map((t) => ({
        value: { ...t, status: "retracted" as const, observedAt: t.observedAt + 1 },
      })),
    );
    expect(byRef(await links())).toEqual([]);
  });

  it("shows investigators that a deposit at an exchange came from a listed address (analyst SQL and flow detail)", async () => {
    const listed = loadOfacFixture().find((e) => e.family === "tron")?.address;
    if (!listed) throw new Error("no Tron address in the OFAC fixture");
    const DEPOSIT = "TDii6vao7xyWg2rKPbCPWVRpSmne8xcqYx"; // acme-exchange's deposit address
    const txHash = "ab".repeat(32);
    const onchain = makeTransfer({
      chain: "tron",
      kind: "token",
      txHash,
      from: listed,
      to: DEPOSIT,
      symbol: "USDT",
      contract: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
      decimals: 6,
      amount: "2500000000",
      timestamp: Date.UTC(2026, 0, 2),
    });
    const deposit = report({
      reference: "trx-dep-listed",
      customerRef: "cust-99",
      amount: "2500",
      txHash,
      counterpartyAddress: listed,
      exchangeAddress: DEPOSIT,
    });
    // Screened by the tagger's own logic against the OFAC fixture lists.
    const index = new MemoryEntryIndex();
    for (const e of loadOfacFixture())
      index.upsert(entryFromWatchlist(watchlistMessage(e.family, e.address)));
    const tagger = new LocalTagger({
      index,
      rules: parseRules({ p2p: { enabled: false } }),
      suppressions: new Suppressions(),
      exposurePartitions: 4,
      now: () => Date.UTC(2026, 0, 3),
    });
    const flags = tagger.run([onchain, deposit]);
    const onchainFlag = flags.find((f) => f.transferId === onchain.id);
    const depositFlag = flags.find((f) => f.transferId === deposit.id);
    expect(onchainFlag?.transfer.exchange).toBeUndefined(); // the chain alone knows no exchange
    if (!onchainFlag || !depositFlag) throw new Error("both sides should be flagged");
    await store.insertTransfers([onchain, deposit].map((value) => ({ value })));
    await store.insertFlags(flags.map((value) => ({ value })));

    // The READMEs' analyst example (the same in both), run as the read-only analyst.
    const [example, ...copies] = [
      join(repoRoot, "README.md"),
      join(repoRoot, "infra", "clickhouse", "README.md"),
    ].map((file) =>
      [...readFileSync(file, "utf8").matchAll(/```sql\n([\s\S]*?)```/g)]
        .map((m) => (m[1] ?? "").trim().replace(/;$/, ""))
        .find((sql) => sql.includes("FROM exchange_links") && sql.includes("flags")),
    );
    expect(example, "README has the exchange_links + flags example").toBeDefined();
    expect(copies).toEqual([example]);
    const rows = await (
      await h.stack.analyst.query({ query: example as string, format: "JSONEachRow" })
    ).json<Record<string, unknown>>();
    expect(rows).toContainEqual(
      expect.objectContaining({
        exchange: "acme-exchange",
        reference: "trx-dep-listed",
        customer_ref: "cust-99",
        tx_hash: txHash,
        counterparty: listed,
        listed_source: listed,
        exposure: "direct",
      }),
    );

    // The flow detail of the on-chain flag carries the exchange attribution …
    const r = await h.call(`/v1/flows/${onchainFlag.id}`, h.keys.regulator);
    expect(r.status, await r.clone().text()).toBe(200);
    const detail = (await r.json()) as { flow: { listedAddress: string }; exchange: unknown[] };
    expect(detail.flow.listedAddress).toBe(listed);
    expect(detail.exchange).toEqual([
      expect.objectContaining({
        exchange: "acme-exchange",
        tenantId: "acme",
        direction: "deposit",
        reference: "trx-dep-listed",
        customerRef: "cust-99",
        exchangeAddress: DEPOSIT,
        counterparty: listed,
        counterpartyOnChain: true,
        matchedOn: "receiver",
        reportTransferId: deposit.id,
        onchainTransferId: onchain.id,
        amountMatches: true,
      }),
    ]);
    // … and the report's own flag points at the on-chain transfer.
    const d2 = (await (await h.call(`/v1/flows/${depositFlag.id}`, h.keys.regulator)).json()) as {
      exchange: { onchainTransferId: string }[];
    };
    expect(d2.exchange.map((l) => l.onchainTransferId)).toEqual([onchain.id]);
  });
});
