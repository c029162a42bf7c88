import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FastTransferV1, isExactTransferV1 } from "./fast.js";
import { TransferKind, TransferStatus, TransferV1 } from "./transfer.js";

// Valid values for every field, and for each field the values just inside and just outside its
// limits; a case is a valid message with at most one field replaced, dropped or added.
const str = (max: number) => fc.string({ maxLength: Math.min(max, 12) });
const edgeStr = (max: number, min = 0) =>
  fc.constantFrom(min - 1, min, max, max + 1).map((n) => "x".repeat(Math.max(0, n)));
const amount = fc.bigInt({ min: 0n, max: 2n ** 256n }).map(String);
const edgeAmount = fc.constantFrom(
  "0",
  "00",
  "01",
  "-1",
  "1.5",
  "",
  " 1",
  "1 ",
  "1e3",
  "١",
  "9".repeat(90),
);
const uint = fc.oneof(fc.nat(), fc.constant(2 ** 53 - 1));
const edgeUint = fc.constantFrom(
  0,
  -0,
  -1,
  1.5,
  2 ** 53 - 1,
  2 ** 53,
  Number.MAX_VALUE,
  Number.NaN,
  Infinity,
);
const jsonish = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.double(),
  fc.string({ maxLength: 6 }),
  fc.array(fc.nat(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.nat(), { maxKeys: 2 }),
);

const asset = fc.record({
  symbol: fc.option(str(64)),
  contract: fc.option(str(128)),
  decimals: fc.option(fc.integer({ min: 0, max: 255 })),
});
const utxoInput = fc.record({ address: fc.option(str(128)), value: amount });
const exchange = fc.record(
  {
    name: str(512).map((x) => `n${x}`),
    tenantId: str(512).map((x) => `t${x}`),
    reference: str(512).map((x) => `r${x}`),
    customerRef: str(256),
    exchangeAddress: fc.option(str(128)),
  },
  { requiredKeys: ["name", "reference"] },
);
/** Keys transfer.v1 requires (from the schema itself: the ones that reject `undefined`). */
const required = (Object.keys(TransferV1.shape) as (keyof typeof TransferV1.shape)[]).filter(
  (k) => !TransferV1.shape[k].safeParse(undefined).success,
);

const validTransfer = fc.record(
  {
    type: fc.constant("transfer.v1"),
    id: str(512).map((x) => `i${x}`),
    chain: fc.constantFrom("ethereum", "tron", "bsc-2", "e1", `e${"x".repeat(31)}`),
    kind: fc.constantFrom(...TransferKind.options),
    txHash: str(512).map((x) => `h${x}`),
    index: str(128),
    blockNumber: fc.option(uint),
    blockHash: fc.option(str(128)),
    timestamp: uint,
    from: fc.oneof(fc.option(str(128)), fc.array(utxoInput, { maxLength: 3 })),
    to: fc.option(str(128)),
    asset,
    amount,
    fee: fc.option(amount),
    status: fc.constantFrom(...TransferStatus.options),
    source: str(256),
    observedAt: uint,
    exchange,
  },
  { requiredKeys: required },
);

/** One field's worth of damage (or none). */
const edits: Record<string, fc.Arbitrary<unknown>> = {
  type: fc.constantFrom("transfer.v2", "Transfer.v1", ""),
  id: edgeStr(512, 1),
  chain: fc.constantFrom("e", "Ethereum", "1eth", "eth_1", `e${"x".repeat(32)}`, " ethereum"),
  kind: fc.constantFrom("burn", "Native", ""),
  txHash: edgeStr(512, 1),
  index: edgeStr(128),
  blockNumber: edgeUint,
  blockHash: edgeStr(128),
  timestamp: edgeUint,
  from: fc.oneof(
    edgeStr(128),
    fc.constant([{ address: "a", value: "1", extra: 1 }]),
    fc.constant([{ address: "a" }]),
    fc.constant([{ address: "x".repeat(129), value: "1" }]),
    fc.constant([null]),
    edgeAmount.map((value) => [{ address: null, value }]),
  ),
  to: edgeStr(128),
  asset: fc.oneof(
    fc.constant({ symbol: "x".repeat(65), contract: null, decimals: 1 }),
    fc.constant({ symbol: "x".repeat(64), contract: "x".repeat(129), decimals: 1 }),
    fc
      .constantFrom(-1, 256, 2.5, 255, 0)
      .map((decimals) => ({ symbol: null, contract: null, decimals })),
    fc.constant({ symbol: null, contract: null }),
    fc.constant({ symbol: null, contract: null, decimals: null, extra: 1 }),
  ),
  amount: edgeAmount,
  fee: fc.oneof(edgeAmount, fc.constant(null), fc.constant(undefined)),
  status: fc.constantFrom("final", "Confirmed"),
  source: edgeStr(256),
  observedAt: edgeUint,
  exchange: fc.oneof(
    fc.constant({ name: "", reference: "r" }),
    fc.constant({ name: "n" }),
    fc.constant({ name: "n", reference: "r", tenantId: "" }),
    fc.constant({ name: "n", reference: "r", customerRef: "x".repeat(257) }),
    fc.constant({ name: "n", reference: "r", exchangeAddress: "x".repeat(129) }),
    fc.constant({ name: "n", reference: "r", extra: true }),
    fc.constant({ name: "n", reference: "r", tenantId: undefined }),
  ),
};
const fields = Object.keys(edits);

const mutated = fc
  .tuple(
    validTransfer,
    fc.constantFrom("none", "none", "edge", "edge", "edge", "drop", "add", "replace"),
    fc.nat(),
    jsonish,
  )
  .chain(([t, how, k, v]) => {
    const o: Record<string, unknown> = { ...t };
    const key = fields[k % fields.length] ?? "id";
    if (how === "drop") delete o[key];
    else if (how === "add") o[`extra${k % 3}`] = v;
    else if (how === "replace") o[key] = v;
    else if (how === "edge")
      return (edits[key] ?? fc.constant(null)).map((e) => ({ ...o, [key]: e }));
    return fc.constant(o);
  });

describe("isExactTransferV1", () => {
  it("never accepts what zod rejects or would change (property)", () => {
    fc.assert(
      fc.property(mutated, (o) => {
        if (!isExactTransferV1(o)) return;
        const r = TransferV1.safeParse(o);
        expect(r.success).toBe(true);
        expect(isDeepStrictEqual(r.data, o)).toBe(true);
      }),
      { numRuns: 10_000 },
    );
  });

  it("accepts every valid JSON message zod returns unchanged (so the fast path is taken)", () => {
    let accepted = 0;
    fc.assert(
      fc.property(mutated, (o) => {
        // Only what a JSON message can be: no keys present as undefined, no -0 or NaN.
        fc.pre(isDeepStrictEqual(JSON.parse(JSON.stringify(o)), o));
        const r = TransferV1.safeParse(o);
        const unchanged = r.success && isDeepStrictEqual(r.data, o);
        expect(isExactTransferV1(o)).toBe(unchanged);
        if (unchanged) accepted++;
      }),
      { numRuns: 10_000 },
    );
    // The generator must reach both sides often enough for the property to mean something.
    expect(accepted).toBeGreaterThan(1_000);
    expect(accepted).toBeLessThan(9_000);
  });

  it("leaves non-plain objects and keys present as undefined to zod", () => {
    const ok = {
      type: "transfer.v1",
      id: "ethereum:0x1:native:0",
      chain: "ethereum",
      kind: "native",
      txHash: "0x1",
      index: "0",
      blockNumber: 1,
      blockHash: null,
      timestamp: 1,
      from: "0xa",
      to: "0xb",
      asset: { symbol: "ETH", contract: null, decimals: 18 },
      amount: "1",
      status: "confirmed",
      source: "node",
      observedAt: 2,
    };
    expect(isExactTransferV1(ok)).toBe(true);
    expect(isExactTransferV1({ ...ok, fee: undefined })).toBe(false);
    expect(isExactTransferV1(Object.assign(Object.create(null), ok))).toBe(false);
    expect(isExactTransferV1([ok])).toBe(false);
  });
});

describe("FastTransferV1", () => {
  it("returns the message itself when valid and zod's error when not", () => {
    const valid = JSON.parse(
      '{"type":"transfer.v1","id":"x","chain":"tron","kind":"token","txHash":"h","index":"1","blockNumber":null,"blockHash":null,"timestamp":0,"from":null,"to":null,"asset":{"symbol":null,"contract":"T","decimals":null},"amount":"0","status":"pending","source":"s","observedAt":0}',
    );
    const r = FastTransferV1.safeParse(valid);
    expect(r.success && r.data).toBe(valid);
    const bad = { ...valid, amount: "1.5" };
    const z = TransferV1.safeParse(bad);
    const f = FastTransferV1.safeParse(bad);
    expect(f.success).toBe(false);
    expect(f.error?.issues).toEqual(z.error?.issues);
  });
});
