import { type TransferV1, transferId, type WatchlistEntryV1 } from "@chainscreen/schema";
import { describe, expect, it } from "vitest";
import {
  chTime,
  type ListVersionInfo,
  listVersionRow,
  redactSource,
  transferRow,
  watchlistEntryRow,
} from "./rows.js";

const base: TransferV1 = {
  type: "transfer.v1",
  id: transferId("bitcoin", "ab".repeat(32), "utxo", 1),
  chain: "bitcoin",
  kind: "utxo",
  txHash: "ab".repeat(32),
  index: "1",
  blockNumber: 413567,
  blockHash: "00".repeat(32),
  timestamp: 1_464_000_000_123,
  from: [
    { address: "1A", value: "5" },
    { address: null, value: "1" },
    { address: "1A", value: "2" },
    { address: "3B", value: "9" },
  ],
  to: "bc1q",
  asset: { symbol: "BTC", contract: null, decimals: 8 },
  amount: "115792089237316195423570985008687907853269984665640564039457584007913129639935",
  fee: "100",
  status: "confirmed",
  source: "node",
  observedAt: 1_464_000_001_000,
};

describe("transferRow", () => {
  it("maps a UTXO transfer: distinct senders, inputs kept as JSON, amounts as strings, UTC times", () => {
    const r = transferRow(base, { topic: "transfer.v1", partition: 2, offset: "42" });
    expect(r.senders).toEqual(["1A", "3B"]);
    expect(JSON.parse(r.inputs)).toHaveLength(4);
    expect(r.amount).toBe(base.amount);
    expect(r.ts).toBe("2016-05-23 10:40:00.123");
    expect(r.version).toBe(base.observedAt);
    expect([r.asset, r.asset_contract, r.kafka_partition, r.kafka_offset]).toEqual([
      "BTC",
      "",
      2,
      "42",
    ]);
  });

  it("maps an account transfer with an exchange", () => {
    const r = transferRow({
      ...base,
      chain: "ethereum",
      kind: "exchange_deposit",
      from: "0xabc",
      exchange: { name: "binance", tenantId: "t1", reference: "ref-1" },
    });
    expect(r.senders).toEqual(["0xabc"]);
    expect(r.inputs).toBe("");
    expect([r.exchange, r.exchange_tenant, r.exchange_reference]).toEqual([
      "binance",
      "t1",
      "ref-1",
    ]);
  });

  it("formats epoch milliseconds without a time zone shift", () => {
    expect(chTime(0)).toBe("1970-01-01 00:00:00.000");
  });
});

const listed: WatchlistEntryV1 = {
  type: "watchlist.v1",
  listId: "ofac-sdn",
  listVersion: 3,
  listHash: "ab".repeat(32),
  family: "bitcoin",
  address: "149w62rY42aZBox8fGcmqNsXUzSStKeq8C",
  code: "XBT",
  entityName: "KHORASHADIZADEH, Mohammad Ghorbaniyan",
  programmes: ["CYBER2"],
  category: "sanctioned",
  severity: "severe",
  records: [
    {
      code: "XBT",
      entityName: "KHORASHADIZADEH, Mohammad Ghorbaniyan",
      entityId: "26137",
      programmes: ["CYBER2"],
      category: "sanctioned",
      severity: "severe",
      label: null,
      designatedAt: 1_543_363_200_000,
    },
  ],
  listedFrom: 1_543_363_200_000,
  listedUntil: null,
  publishedAt: 1_700_000_000_000,
};

describe("watchlistEntryRow", () => {
  it("maps a listing with its interval, records as JSON and Kafka origin", () => {
    const r = watchlistEntryRow(listed, { topic: "watchlist.v1", partition: 0, offset: "7" });
    expect(r).toMatchObject({
      list_id: "ofac-sdn",
      family: "bitcoin",
      address: listed.address,
      list_version: 3,
      code: "XBT",
      listed_from: "2018-11-28 00:00:00.000",
      listed_until: null,
      published_at: "2023-11-14 22:13:20.000",
      deleted: 0,
      kafka_topic: "watchlist.v1",
      kafka_offset: "7",
    });
    expect(JSON.parse(r?.records ?? "")).toEqual(listed.records);
  });

  it("orders states of one interval: later publication wins, the ending wins a same-ms tie", () => {
    const open = watchlistEntryRow(listed);
    const ended = watchlistEntryRow({ ...listed, listedUntil: 1_700_000_000_000 });
    const later = watchlistEntryRow({ ...listed, publishedAt: listed.publishedAt + 1 });
    expect(ended?.listed_until).toBe("2023-11-14 22:13:20.000");
    expect(ended?.version).toBeGreaterThan(open?.version ?? 0);
    expect(later?.version).toBeGreaterThan(ended?.version ?? 0);
    expect(Number.isSafeInteger(later?.version)).toBe(true);
  });

  it("stores an unknown listing start as the epoch and writes nothing for a tombstone", () => {
    expect(watchlistEntryRow({ ...listed, listedFrom: null })?.listed_from).toBe(
      "1970-01-01 00:00:00.000",
    );
    expect(watchlistEntryRow(null)).toBeNull();
  });
});

describe("listVersionRow", () => {
  const v: ListVersionInfo & { report: Record<string, unknown> } = {
    listId: "ofac-sdn",
    version: 2,
    hash: "cd".repeat(32),
    source: "https://lists.example/SDN.CSV",
    importedAt: 1_714_700_000_000,
    counts: { addresses: 279 },
    diff: { added: ["evm:0x1"], removed: ["bitcoin:1a", "bitcoin:1b"] },
    report: { unknownCodes: { XMR: 3, ARB: 1 }, fragments: [{ code: "XBT", text: "1Gq" }] },
  };

  it("maps counts, unknown codes and the parser report", () => {
    const r = listVersionRow(v, 1_714_700_001_000);
    expect(r).toMatchObject({
      list_id: "ofac-sdn",
      list_version: 2,
      source_url: "https://lists.example/SDN.CSV",
      fetched_at: "2024-05-03 01:33:20.000",
      published_at: "2024-05-03 01:33:21.000",
      entries: 279,
      added: 1,
      removed: 2,
      unknown_codes: ["ARB", "XMR"],
    });
    expect(JSON.parse(r.problems)).toEqual(v.report);
    expect(listVersionRow(v, null).published_at).toBeNull();
  });

  it("never stores a password of the source URL", () => {
    expect(redactSource("https://u:s3cret@lists.example/a.csv")).toBe(
      "https://u:***@lists.example/a.csv",
    );
    expect(redactSource("/data/lists/custom.csv")).toBe("/data/lists/custom.csv");
    expect(listVersionRow({ ...v, source: "https://u:s3cret@h/x" }, null).source_url).not.toMatch(
      /s3cret/,
    );
  });
});
