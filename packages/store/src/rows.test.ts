import { type TransferV1, transferId, type WatchlistEntryV1 } from "@chainscreen/schema";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ChTimeCache,
  chTime,
  encodeTransfers,
  jsonString,
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

describe("ChTimeCache", () => {
  it("gives chTime's text for any timestamp, in any order", () => {
    const cache = new ChTimeCache();
    const ms = fc.oneof(
      fc.integer({ min: 0, max: 253_402_300_799_999 }),
      fc.integer({ min: 1_700_000_000_000, max: 1_700_000_002_000 }),
      fc.constantFrom(0, 9, 10, 99, 100, 999, 1000, 253_402_300_799_999, 253_402_300_800_000),
    );
    fc.assert(
      fc.property(fc.array(ms, { maxLength: 20 }), (xs) => {
        for (const x of xs) expect(cache.text(x)).toBe(chTime(x));
      }),
    );
    expect(() => cache.text(9e15)).toThrow(RangeError); // as chTime: no Date that far out
  });
});

/** Valid transfer.v1 messages of every shape: account and UTXO, with and without exchange. */
const anyTransfer: fc.Arbitrary<TransferV1> = fc.record(
  {
    type: fc.constant("transfer.v1" as const),
    id: fc.string({ minLength: 1 }),
    chain: fc.constantFrom("ethereum", "bitcoin", "tron"),
    kind: fc.constantFrom("native", "token", "utxo", "exchange_deposit" as const),
    txHash: fc.string({ minLength: 1 }),
    index: fc.string(),
    blockNumber: fc.option(fc.nat()),
    blockHash: fc.option(fc.string()),
    timestamp: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    from: fc.oneof(
      fc.option(fc.string()),
      fc.array(
        fc.record({
          address: fc.option(fc.constantFrom("1A", "3B", 'bc1q"\\\n')),
          value: fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
        }),
        { maxLength: 4 },
      ),
    ),
    to: fc.option(fc.string()),
    asset: fc.record({
      symbol: fc.option(fc.string({ maxLength: 64 })),
      contract: fc.option(fc.string()),
      decimals: fc.option(fc.integer({ min: 0, max: 255 })),
    }),
    amount: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }).map(String),
    fee: fc.option(fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String)),
    status: fc.constantFrom("pending", "confirmed", "retracted" as const),
    source: fc.string(),
    observedAt: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    exchange: fc.record(
      {
        name: fc.string({ minLength: 1 }),
        tenantId: fc.string({ minLength: 1 }),
        reference: fc.string({ minLength: 1 }),
        customerRef: fc.string(),
      },
      { requiredKeys: ["name", "reference"] },
    ),
  },
  {
    requiredKeys: [
      "type",
      "id",
      "chain",
      "kind",
      "txHash",
      "index",
      "blockNumber",
      "blockHash",
      "timestamp",
      "from",
      "to",
      "asset",
      "amount",
      "status",
      "source",
      "observedAt",
    ],
  },
);

describe("jsonString", () => {
  it("is JSON.stringify for any string", () => {
    const any = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary" }),
      fc.string({ unit: "grapheme" }),
    );
    fc.assert(
      fc.property(any, (s) => {
        expect(jsonString(s)).toBe(JSON.stringify(s));
      }),
      { numRuns: 5_000 },
    );
    for (const s of ["", '"', "\\", "\u007f", "\u0000", "\ud800", "é", "0xabc"])
      expect(jsonString(s)).toBe(JSON.stringify(s));
  });
});

describe("encodeTransfers", () => {
  it("encodes the rows transferRow gives; left-out columns hold their default (property)", () => {
    const defaults: Record<string, unknown> = {
      block_hash: null,
      inputs: "",
      fee: null,
      exchange: "",
      exchange_tenant: "",
      exchange_reference: "",
      exchange_customer_ref: "",
    };
    fc.assert(
      fc.property(fc.array(anyTransfer, { minLength: 1, maxLength: 8 }), fc.nat(), (ts, p) => {
        const items = ts.map((value, i) => ({
          value,
          topic: "transfer.v1",
          partition: p % 8,
          offset: String(1000 + i),
        }));
        const enc = encodeTransfers(items);
        const lines = enc.body.toString("utf8").split("\n");
        expect(lines.pop()).toBe(""); // every row ends in a newline
        expect(lines).toHaveLength(ts.length);
        expect(enc.rows).toBe(ts.length);
        lines.forEach((line, i) => {
          const it = items[i] as (typeof items)[number];
          const row = transferRow(it.value, it) as unknown as Record<string, unknown>;
          const values = JSON.parse(line) as unknown[];
          const got = Object.fromEntries(enc.columns.map((c, j) => [c, values[j]]));
          for (const [col, want] of Object.entries(row)) {
            expect(col in got ? got[col] : defaults[col], col).toEqual(want);
          }
          expect(Object.keys(got).every((c) => c in row)).toBe(true);
        });
      }),
      { numRuns: 500 },
    );
  });

  it("leaves out only the optional columns no row of the batch needs", () => {
    const account = { ...base, from: "0xa", fee: null, blockHash: null };
    const one = (t: TransferV1) =>
      encodeTransfers([{ value: t, topic: "t", partition: 0, offset: "1" }]).columns;
    expect(one(account)).not.toContain("inputs");
    expect(one(account)).not.toContain("block_hash");
    expect(one(account)).not.toContain("exchange");
    expect(one(base)).toEqual(expect.arrayContaining(["inputs", "fee", "block_hash"]));
    expect(one({ ...account, exchange: { name: "x", reference: "r" } })).toEqual(
      expect.arrayContaining(["exchange", "exchange_tenant", "exchange_reference"]),
    );
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
