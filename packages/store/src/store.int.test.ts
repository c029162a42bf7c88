import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ValidationError } from "@chainscreen/errors";
import { type FlagV1, flagId, type TransferV1, transferId } from "@chainscreen/schema";
import { uniqueName } from "@chainscreen/testing";
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from "vitest";
import { createStoreClient } from "./client.js";
import { defaultMigrationsDir, migrate } from "./migrate.js";
import { Store } from "./store.js";

const cfg = {
  url: inject("clickhouseUrl"),
  username: inject("clickhouseUser"),
  password: inject("clickhousePassword"),
  database: uniqueName("store"),
};
const client = createStoreClient(cfg);
const store = new Store(client);
// The store's own migrations; views other services add on top are tested by them.
const maxVersion = 99;

beforeAll(async () => {
  await migrate(cfg, { maxVersion });
});
afterAll(() => client.close());

const LISTED = "0x7f367cc41522ce07553e823bf3be79a889debe1b";

function transfer(i: number, over: Partial<TransferV1> = {}): TransferV1 {
  const txHash = `0x${i.toString(16).padStart(64, "0")}`;
  return {
    type: "transfer.v1",
    id: transferId("ethereum", txHash, "native", 0),
    chain: "ethereum",
    kind: "native",
    txHash,
    index: "0",
    blockNumber: 19_000_000 + i,
    blockHash: `0x${"cd".repeat(32)}`,
    timestamp: Date.UTC(2024, 0, 1 + i),
    from: i % 2 === 0 ? LISTED : "0x1111111111111111111111111111111111111111",
    to: i % 2 === 0 ? "0x2222222222222222222222222222222222222222" : LISTED,
    asset: { symbol: "ETH", contract: null, decimals: 18 },
    amount: (10n ** 30n + BigInt(i)).toString(),
    status: "confirmed",
    source: "test",
    observedAt: Date.UTC(2024, 6, 1),
    ...over,
  };
}

function flag(t: TransferV1, over: Partial<FlagV1> = {}): FlagV1 {
  return {
    type: "flag.v1",
    id: flagId(t.id, "direct-sanctioned", ["from"], LISTED),
    transferId: t.id,
    transfer: {
      id: t.id,
      chain: t.chain,
      kind: t.kind,
      txHash: t.txHash,
      index: t.index,
      blockNumber: t.blockNumber,
      blockHash: t.blockHash,
      timestamp: t.timestamp,
      from: typeof t.from === "string" ? [t.from] : [],
      inputs: null,
      to: t.to,
      asset: t.asset,
      amount: t.amount,
      status: t.status,
      source: t.source,
      exchange: { name: "binance", reference: "r1" },
    },
    rule: { id: "direct-sanctioned", kind: "direct", configVersion: "v1" },
    severity: "severe",
    sides: ["from"],
    address: LISTED,
    family: "evm",
    counterparty: t.to,
    entries: [
      {
        listId: "ofac-sdn",
        listVersion: "1",
        family: "evm",
        address: LISTED,
        entityName: "GARANTEX EUROPE OU",
        programmes: ["CYBER2", "RUSSIA-EO14024"],
        category: "sanctioned",
        listedFrom: Date.UTC(2022, 3, 5),
        listedUntil: null,
        listedAt: Date.UTC(2022, 3, 5),
        listedAtTransferTime: true,
      },
    ],
    listedAtTransferTime: true,
    exposure: "direct",
    hops: 0,
    weight: 1,
    path: [{ address: LISTED, hop: 0, viaTransferId: null, amount: null, timestamp: null }],
    valueUsd: "1234.5",
    evidence: [],
    incidentId: "0".repeat(32),
    retro: false,
    listedAt: null,
    status: "active",
    createdAt: Date.UTC(2024, 6, 1),
    ...over,
  };
}

describe("store on the embedded ClickHouse", () => {
  it("inserts transfers, deduplicates a retried batch by token, and answers address history", async () => {
    const items = [0, 1, 2, 3].map((i) => ({
      value: transfer(i),
      origin: { topic: "t.v1", partition: 1, offset: String(10 + i) },
    }));
    await store.insertTransfers(items, { dedupToken: "t.v1:1:10-13" });
    await store.insertTransfers(items, { dedupToken: "t.v1:1:10-13" }); // a retry whose first attempt landed
    const [c] = await (
      await client.query({ query: "SELECT count() AS c FROM transfers", format: "JSONEachRow" })
    ).json<{ c: string }>();
    expect(c?.c).toBe("4");
    // A retraction of transfer 2 (same id, later observation) replaces it.
    await store.insertTransfers([
      { value: transfer(2, { status: "retracted", observedAt: Date.UTC(2024, 7, 1) }) },
    ]);

    const hist = await store.addressHistory(LISTED);
    expect(hist.map((h) => [h.id, h.direction, h.status])).toEqual([
      [transfer(3).id, "in", "confirmed"],
      [transfer(2).id, "out", "retracted"],
      [transfer(1).id, "in", "confirmed"],
      [transfer(0).id, "out", "confirmed"],
    ]);
    expect(hist[0]?.amount).toBe((10n ** 30n + 3n).toString());
    expect(hist[0]?.counterparties).toEqual(["0x1111111111111111111111111111111111111111"]);
    const jan2 = await store.addressHistory(LISTED, {
      fromMs: Date.UTC(2024, 0, 2),
      toMs: Date.UTC(2024, 0, 3),
    });
    expect(jan2.map((h) => h.id)).toEqual([transfer(1).id]);

    const offsets = await store.storedOffsets("transfers", "t.v1");
    expect(offsets.get(1)).toBe(13n);
  });

  it("validates input with the message schemas", async () => {
    await expect(
      store.insertTransfers([{ value: { ...transfer(9), amount: "1.5" } }]),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      store.insertFlags([{ value: { ...flag(transfer(9)), id: "nope" } }]),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it("stores flags, answers flagged flows, and rolls up daily exposure", async () => {
    const t0 = transfer(20);
    const t1 = transfer(21);
    const f0 = flag(t0);
    const f1 = flag(t1, {
      id: flagId(t1.id, "indirect", ["from"], LISTED),
      severity: "medium",
      exposure: "indirect",
      hops: 2,
      retro: true,
      listedAt: Date.UTC(2024, 5, 1),
    });
    await store.insertFlags([{ value: f0 }, { value: f1 }]);
    const window = { fromMs: Date.UTC(2024, 0, 1), toMs: Date.UTC(2024, 11, 31) };
    const all = await store.flaggedFlows(window);
    expect(all.map((f) => f.id).sort()).toEqual([f0.id, f1.id].sort());
    const severe = await store.flaggedFlows({ ...window, minSeverity: "high" });
    expect(severe.map((f) => [f.id, f.severity, f.exposure, f.hops, f.retro])).toEqual([
      [f0.id, "severe", "direct", 0, false],
    ]);
    const garantex = await store.flaggedFlows({ ...window, entity: "GARANTEX EUROPE OU" });
    expect(garantex).toHaveLength(2);
    expect(garantex[0]?.programmes.sort()).toEqual(["CYBER2", "RUSSIA-EO14024"]);

    // Retraction: the flag disappears from active flows.
    await store.insertFlags([{ value: { ...f0, status: "retracted" } }]);
    expect((await store.flaggedFlows(window)).map((f) => f.id)).toEqual([f1.id]);

    const q = async (query: string) =>
      (await client.query({ query, format: "JSONEachRow" })).json<Record<string, string>>();
    expect(
      await q(
        "SELECT entity, exposure, sum(flows) AS flows, toString(sum(amount)) AS amount FROM exposure_daily_by_entity GROUP BY entity, exposure ORDER BY exposure",
      ),
    ).toEqual([
      { entity: "GARANTEX EUROPE OU", exposure: "direct", flows: "1", amount: t0.amount },
      { entity: "GARANTEX EUROPE OU", exposure: "indirect", flows: "1", amount: t1.amount },
    ]);
    expect(
      await q(
        "SELECT exchange, sum(flows) AS flows FROM exposure_daily_by_exchange GROUP BY exchange",
      ),
    ).toEqual([{ exchange: "binance", flows: "2" }]);
    expect(
      await q("SELECT chain, sum(flows) AS flows FROM exposure_daily_by_chain GROUP BY chain"),
    ).toEqual([{ chain: "ethereum", flows: "2" }]);
  });

  it("keeps mutable rows with version and deleted flag", async () => {
    const row = (version: number, name: string, deleted = 0) => ({
      id: "tenant-1",
      name,
      kind: "bank",
      created_at: "2024-01-01 00:00:00.000",
      version,
      deleted,
    });
    await store.insertRows("tenants", [row(1, "Acme"), row(2, "Acme Bank")]);
    const read = async () =>
      (
        await client.query({
          query: "SELECT name FROM tenants FINAL WHERE id = 'tenant-1'",
          format: "JSONEachRow",
        })
      ).json();
    expect(await read()).toEqual([{ name: "Acme Bank" }]);
    await store.insertRows("tenants", [row(3, "Acme Bank", 1)]);
    expect(await read()).toEqual([]);
  });

  it("re-running migrate applies nothing, and an edited released migration is refused", async () => {
    const again = await migrate(cfg, { maxVersion });
    expect(again.applied).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), "migrations-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const original = readFileSync(join(defaultMigrationsDir, "001_transfers.sql"), "utf8");
    writeFileSync(join(dir, "001_transfers.sql"), `${original}\n-- edited\n`);
    await expect(migrate(cfg, { dir })).rejects.toThrow(/migration changed after it was applied/);
  });
});
