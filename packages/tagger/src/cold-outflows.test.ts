import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeTransfer } from "./build.js";
import { ColdOutflows } from "./cold-outflows.js";
import { slim } from "./exposure.js";
import { type OutflowFact, type OutflowWithBytes, transferBytes } from "./exposure-record.js";
import { flagTransfer } from "./flags.js";

/** An outflow as the screening process makes it, with its message bytes attached. */
function withBytes(
  address: string,
  n: number,
  o: { usd?: number | null; bits?: number; to?: string } = {},
): OutflowWithBytes {
  const t = makeTransfer({
    txHash: `0x${n.toString(16).padStart(64, "0")}`,
    from: address,
    to: o.to ?? "0x00000000000000000000000000000000000000bb",
    timestamp: 1_700_000_000_000 + n,
    amount: String(1_000 + n),
  });
  const bits = o.bits ?? 0;
  return {
    type: "exposure.v1",
    kind: "outflow",
    family: "evm",
    address,
    transfer: flagTransfer(t),
    valueUsd: o.usd === undefined ? 12.5 : o.usd,
    senderListed: (bits & 1) !== 0,
    receiverIsService: (bits & 2) !== 0,
    receiverListed: (bits & 4) !== 0,
    [transferBytes]: Buffer.from(JSON.stringify(t)),
  };
}

/** The fact without its attached bytes (what take() gives back). */
const plain = (f: OutflowWithBytes): OutflowFact => {
  const { [transferBytes]: _bytes, ...rest } = f;
  return rest;
};

const fact = (address: string, id: string): OutflowFact =>
  ({
    type: "exposure.v1",
    kind: "outflow",
    family: "evm",
    address,
    transfer: { id },
    valueUsd: null,
    senderListed: false,
    receiverIsService: false,
    receiverListed: false,
  }) as unknown as OutflowFact;

const ids = (xs: OutflowFact[]) => xs.map((x) => x.transfer.id);

describe("ColdOutflows", () => {
  it("returns an address's outflows newest first and forgets them once taken", () => {
    const c = new ColdOutflows(10);
    c.add("evm", "a", fact("a", "1"));
    c.add("evm", "b", fact("b", "2"));
    c.add("evm", "a", fact("a", "3"));
    expect(c.size).toBe(3);
    expect(ids(c.take("evm", "a"))).toEqual(["3", "1"]);
    expect(c.take("evm", "a")).toEqual([]);
    expect(c.size).toBe(1);
    expect(ids(c.take("evm", "b"))).toEqual(["2"]);
  });

  it("overwrites the oldest when full and counts what it dropped", () => {
    const c = new ColdOutflows(3);
    for (let i = 0; i < 5; i++) c.add("evm", i % 2 ? "odd" : "even", fact("x", String(i)));
    expect(c.size).toBe(3);
    expect(c.dropped).toBe(2);
    // 0 and 1 were overwritten by 3 and 4: each chain stops at the overwritten slot.
    expect(ids(c.take("evm", "even"))).toEqual(["4", "2"]);
    expect(ids(c.take("evm", "odd"))).toEqual(["3"]);
  });

  it("removes one retracted outflow and keeps the others of the address", () => {
    const c = new ColdOutflows(10);
    c.add("evm", "a", fact("a", "1"));
    c.add("evm", "a", fact("a", "2"));
    c.add("evm", "a", fact("a", "3"));
    expect(c.remove("evm", "a", "2")).toBe(true);
    expect(c.remove("evm", "a", "9")).toBe(false);
    expect(ids(c.take("evm", "a"))).toEqual(["3", "1"]);
  });

  it("keeps its address map bounded when many addresses pass through", () => {
    const c = new ColdOutflows(100);
    for (let i = 0; i < 10_000; i++) c.add("evm", `k${i}`, fact("x", String(i)));
    expect(c.size).toBe(100);
    const heads = (c as unknown as { headCount: number }).headCount;
    expect(heads).toBeLessThanOrEqual(200);
    expect(ids(c.take("evm", "k9999"))).toEqual(["9999"]);
    expect(c.take("evm", "k0")).toEqual([]);
  });

  it("holds outflows with bytes compactly and gives back exactly the outflow it was given", () => {
    const c = new ColdOutflows(10);
    const a1 = withBytes("a", 1, { usd: null, bits: 5 });
    const a2 = withBytes("a", 2, { usd: 3.25, bits: 2 });
    c.add("evm", "a", a1);
    c.add("evm", "a", fact("a", "plain"));
    c.add("evm", "a", a2);
    const held = (c as unknown as { facts: unknown[] }).facts.filter((f) => f !== null);
    expect(held).toHaveLength(1); // only the one without bytes is an object
    expect(c.heldBytes).toBe(
      (a1[transferBytes] as Buffer).length + (a2[transferBytes] as Buffer).length,
    );
    const got = c.take("evm", "a");
    expect(got[0]).toEqual(plain(a2));
    expect(ids([got[1] as OutflowFact])).toEqual(["plain"]);
    expect(got[2]).toEqual(plain(a1));
    expect(c.heldBytes).toBe(0);
  });

  it("removes a retracted outflow held as bytes by its transfer id", () => {
    const c = new ColdOutflows(10);
    const [x, y] = [withBytes("a", 7), withBytes("a", 8)];
    c.add("evm", "a", x);
    c.add("evm", "a", y);
    expect(c.remove("evm", "a", "ethereum:0xnothing:native:0")).toBe(false);
    expect(c.remove("evm", "a", x.transfer.id)).toBe(true);
    expect(c.take("evm", "a")).toEqual([plain(y)]);
    expect(c.heldBytes).toBe(0);
  });

  it("agrees with a plain list model over adds, takes, removals and overwrites", () => {
    agreesWithModel(false);
  });

  it("keeps addresses apart when their hashes collide (every address given the same hash)", () => {
    agreesWithModel(true);
  });

  it("finds every address again after its index grew and was swept", () => {
    const c = new ColdOutflows(5_000);
    for (let i = 0; i < 20_000; i++) c.add("evm", `k${i % 7_000}`, fact("x", String(i)));
    // The last 5,000 outflows (15,000–19,999) are held: k1000…k5999 have one each; the last
    // outflows of k6000…k6999 (13,000–13,999) were overwritten.
    expect(c.size).toBe(5_000);
    expect(ids(c.take("evm", "k1000"))).toEqual(["15000"]);
    expect(ids(c.take("evm", "k5999"))).toEqual(["19999"]);
    expect(c.take("evm", "k6500")).toEqual([]);
    expect(c.take("evm", "k1000")).toEqual([]);
    expect(c.size).toBe(4_998);
  });

  it("gives up the oldest outflows when the bytes arena is full, newest kept, exact contents", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ add: fc.constantFrom("a", "b", "c"), pad: fc.nat(300) }),
            fc.record({ take: fc.constantFrom("a", "b", "c") }),
          ),
          { maxLength: 80 },
        ),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 900, max: 4_000 }),
        fc.boolean(),
        (ops, cap, arena, resident) => {
          // A resident ring (memory written up front) behaves exactly as one filled lazily.
          const c = new ColdOutflows(cap, arena, resident);
          const model: { address: string; f: OutflowFact; held: boolean }[] = [];
          let n = 0;
          for (const o of ops) {
            if ("add" in o) {
              // Messages of different sizes (a padded receiver tag) so wraps land anywhere.
              const f = withBytes(o.add, n++, { to: `0x${"b".repeat(40)}`, usd: o.pad });
              (f as { [transferBytes]?: Buffer })[transferBytes] = Buffer.concat([
                f[transferBytes] as Buffer,
                Buffer.from(" ".repeat(o.pad)),
              ]);
              c.add("evm", o.add, f);
              model.push({ address: o.add, f: plain(f), held: true });
              if (model.length > cap)
                (model[model.length - cap - 1] as { held: boolean }).held = false;
            } else {
              const want = model.filter((m) => m.held && m.address === o.take).reverse();
              const got = c.take("evm", o.take);
              // Eviction is oldest first: what is left of an address is its newest outflows.
              expect(got).toEqual(want.slice(0, got.length).map((m) => m.f));
              for (const m of want) m.held = false;
            }
            expect(c.heldBytes).toBeLessThanOrEqual(arena);
            expect(c.size).toBeLessThanOrEqual(model.filter((m) => m.held).length);
          }
          // Whatever is still held decodes to exactly what was added.
          for (const a of ["a", "b", "c"]) {
            const want = model.filter((m) => m.held && m.address === a).reverse();
            const got = c.take("evm", a);
            expect(got).toEqual(want.slice(0, got.length).map((m) => m.f));
          }
        },
      ),
    );
  });

  it("drops the oldest outflow to make room when the arena is full", () => {
    const one = (withBytes("a", 0)[transferBytes] as Buffer).length;
    const c = new ColdOutflows(100, one * 3 + 10);
    for (let i = 0; i < 5; i++) c.add("evm", "a", withBytes("a", i));
    expect(c.size).toBe(3);
    expect(c.dropped).toBe(2);
    expect(c.take("evm", "a").map((f) => f.transfer.timestamp)).toEqual(
      [4, 3, 2].map((i) => 1_700_000_000_000 + i),
    );
  });

  it("on a wrap, gives up the old bytes at the arena's end before reusing its start", () => {
    // Sizes chosen so that a wrap happens while an older outflow still sits at the end.
    const sized = (n: number, size: number) => {
      const f = withBytes("a", n);
      const b = f[transferBytes] as Buffer;
      f[transferBytes] = Buffer.concat([b, Buffer.from(" ".repeat(size - b.length))]);
      return f;
    };
    const c = new ColdOutflows(100, 4_200);
    const sizes = [1_800, 1_800, 600, 1_500, 1_500, 1_500];
    const added = sizes.map((size, n) => sized(n, size));
    for (const f of added) c.add("evm", "a", f);
    // 1 and 2 gave way to 4 and 5; at the wrap for 6, 3 (at the end) and then 4 (at the start).
    expect(c.dropped).toBe(4);
    expect(c.take("evm", "a")).toEqual([
      plain(added[5] as OutflowWithBytes),
      plain(added[4] as OutflowWithBytes),
    ]);
  });

  it("an outflow taken into an address's state keeps none of its message bytes", () => {
    // slim() builds the held form field by field: a spread would copy the bytes' symbol too.
    const o = withBytes("a", 1);
    const held = slim(o);
    expect(Object.getOwnPropertySymbols(held)).toEqual([]);
    expect(held.json).toBe(JSON.stringify(o.transfer));
  });
});

/** Random adds, takes and removals against a plain list model of what should be held. */
function agreesWithModel(collide: boolean): void {
  const op = fc.oneof(
    fc.record({ add: fc.constantFrom("a", "b", "c"), bytes: fc.boolean(), bits: fc.nat(7) }),
    fc.record({ take: fc.constantFrom("a", "b", "c") }),
    fc.record({ remove: fc.constantFrom("a", "b", "c"), back: fc.nat(6) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), (ops, cap) => {
      const c = new ColdOutflows(cap);
      if (collide) {
        const heads = (c as unknown as { heads: { hash: () => void; h1: number; h2: number } })
          .heads;
        heads.hash = () => {
          heads.h1 = 7;
          heads.h2 = 7;
        };
      }
      // The model: every outflow added, in order, with whether it is still held.
      const model: { address: string; f: OutflowFact; held: boolean }[] = [];
      let n = 0;
      for (const o of ops) {
        if ("add" in o) {
          const f = o.bytes
            ? withBytes(o.add, n++, { bits: o.bits, usd: o.bits === 3 ? null : o.bits })
            : ({ ...plain(withBytes(o.add, n++)), valueUsd: null } as OutflowFact);
          c.add("evm", o.add, f);
          model.push({ address: o.add, f: plain(f), held: true });
          // The ring keeps the last `cap` outflows added.
          if (model.length > cap) (model[model.length - cap - 1] as { held: boolean }).held = false;
        } else if ("take" in o) {
          const want = model.filter((m) => m.held && m.address === o.take).reverse();
          for (const m of want) m.held = false;
          expect(c.take("evm", o.take)).toEqual(want.map((m) => m.f));
        } else {
          const mine = model.filter((m) => m.address === o.remove);
          const target = mine[mine.length - 1 - o.back];
          if (!target) continue;
          expect(c.remove("evm", o.remove, target.f.transfer.id)).toBe(target.held);
          target.held = false;
        }
        expect(c.size).toBe(model.filter((m) => m.held).length);
      }
    }),
  );
}
