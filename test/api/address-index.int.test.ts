import type { FlagV1, TransferV1 } from "@chainscreen/schema";
import { migrate, Store } from "@chainscreen/store";
import { uniqueName } from "@chainscreen/testing";
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type ApiHarness, startHarness } from "./harness.js";
import {
  type AddressPageExposure,
  buildFlags,
  CHAINS,
  COUNTERPARTIES,
  type SeededFlag,
} from "./seed.js";

// The address page and GET /v1/flows?address= read the address-ordered `flags_by_address`
// (migration 102) and one combined read of `transfers_by_address`. Their answers are compared
// with the queries they replaced (the flags of the address's transfers found through
// `api_flows`, counterparties and timeline as two queries), run on the same store; then a
// retraction must still hide a flag, and a store upgraded to migration 102 must be backfilled.

let h: ApiHarness;
let extra: SeededFlag[];
beforeAll(async () => {
  h = await startHarness("addrindex", 120);
  extra = edgeCases();
  await new Store(h.stack.writer).insertTransfers(extra.map((f) => ({ value: f.transfer })));
  await new Store(h.stack.writer).insertFlags(extra.map((f) => ({ value: f.flag })));
});
afterAll(async () => {
  await h?.close();
});

/**
 * Transfers the seed has none of: a UTXO transfer with several input addresses, a contract
 * creation (no receiver) and a self-transfer, each flagged.
 */
function edgeCases(): SeededFlag[] {
  const base = buildFlags(3); // ethereum, tron, bitcoin flags to copy the shape from
  const btc = CHAINS[2]?.listed[0] as string;
  const eth = CHAINS[0]?.listed[0] as string;
  const cpBtc = COUNTERPARTIES.bitcoin as string[];
  const cpEth = COUNTERPARTIES.ethereum as string[];
  const mk = (
    i: number,
    from: TransferV1["from"],
    flagFrom: string[],
    to: string | null,
    kind: TransferV1["kind"],
  ): SeededFlag => {
    const b = base[i % 3] as SeededFlag;
    const txHash = `edge${i}`.padEnd(64, "0");
    const id = `${b.transfer.chain}:${txHash}:${kind}:0`;
    const ts = b.transfer.timestamp + 3 * 3_600_000 + i;
    const transfer: TransferV1 = { ...b.transfer, id, txHash, kind, from, to, timestamp: ts };
    const flag: FlagV1 = {
      ...b.flag,
      id: `e${i}`.padEnd(32, "0"),
      transferId: id,
      transfer: { ...b.flag.transfer, id, txHash, kind, from: flagFrom, to, timestamp: ts },
      status: "active",
    };
    return { flag, transfer, exchange: b.exchange };
  };
  const inputs = [cpBtc[0], cpBtc[1], cpBtc[0]].map((address) => ({
    address: address as string,
    value: "1000",
  }));
  return [
    // Two distinct input addresses (one twice) paying the listed address.
    mk(2, inputs, [cpBtc[0] as string, cpBtc[1] as string], btc, "utxo"),
    // Contract creation from the listed address: no receiver, no counterparty.
    mk(3, eth, [eth], null, "native"),
    // Self-transfer: the address is sender and receiver; filed once under it.
    mk(6, cpEth[2] as string, [cpEth[2] as string], cpEth[2] as string, "native"),
  ];
}

/** Sums of Float64 in another order may differ in the last bits: compare to the micro-dollar. */
const usd = (x: number) => Math.round(x * 1e6) / 1e6;

const rows = async <T>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> =>
  (await (
    await h.stack.writer.query({ query: sql, query_params: params, format: "JSONEachRow" })
  ).json()) as T[];

/** The pre-102 answers for one address (the SQL the API ran before). */
async function before(addr: string, chain: string | null) {
  const cc = chain ? "chain = {chain:String}" : "1";
  const p = { addr, chain: chain ?? "" };
  const mine = "transfer_id IN (SELECT id FROM transfers_by_address WHERE address = {addr:String})";
  const [flows, exposure, counterparties, timeline] = await Promise.all([
    rows<{ id: string }>(
      `SELECT id FROM api_flows WHERE ${mine} AND (has(senders, {addr:String}) OR to_address = {addr:String})
         AND ${cc} AND status != 'retracted' ORDER BY ts DESC, id DESC`,
      p,
    ),
    rows<{
      exposure: string;
      min_hops: number;
      flows: string;
      usd: number;
      srcs: string[];
      ents: string[];
      first: string;
      last: string;
    }>(
      `SELECT exposure, min(hops) AS min_hops, count() AS flows, sum(value_usd) AS usd,
         groupUniqArray(50)(listed_address) AS srcs, groupUniqArrayArray(50)(entities) AS ents,
         toUnixTimestamp64Milli(min(ts)) AS first, toUnixTimestamp64Milli(max(ts)) AS last
       FROM api_flows WHERE ${mine} AND counterparty = {addr:String} AND ${cc} AND status != 'retracted'
       GROUP BY exposure`,
      p,
    ),
    rows<{
      counterparty: string;
      asset: string;
      transfers: string;
      received: string;
      sent: string;
      first: string;
      last: string;
    }>(
      `SELECT counterparty, asset, count() AS transfers,
         toString(sumIf(amount, direction = 'in')) AS received,
         toString(sumIf(amount, direction = 'out')) AS sent,
         toUnixTimestamp64Milli(min(ts)) AS first, toUnixTimestamp64Milli(max(ts)) AS last
       FROM transfers_by_address FINAL ARRAY JOIN counterparties AS counterparty
       WHERE address = {addr:String} AND ${cc} AND status != 'retracted'
       GROUP BY counterparty, asset`,
      p,
    ),
    rows<{ day: string; tin: string; tout: string }>(
      `SELECT toString(toDate(ts)) AS day, countIf(direction = 'in') AS tin, countIf(direction = 'out') AS tout
       FROM transfers_by_address FINAL
       WHERE address = {addr:String} AND ${cc} AND status != 'retracted'
       GROUP BY day ORDER BY day`,
      p,
    ),
  ]);
  const iso = (ms: string) => new Date(Number(ms)).toISOString();
  return {
    flows: flows.map((f) => f.id),
    exposure: exposure
      .map((e) => ({
        exposure: e.exposure,
        minHops: Number(e.min_hops),
        flows: Number(e.flows),
        valueUsd: usd(Number(e.usd)),
        sources: [...e.srcs].sort(),
        entities: [...e.ents].sort(),
        firstSeen: iso(e.first),
        lastSeen: iso(e.last),
      }))
      .sort((a, b) => a.exposure.localeCompare(b.exposure)),
    counterparties: counterparties
      .map((c) => ({
        address: c.counterparty,
        asset: c.asset,
        transfers: Number(c.transfers),
        received: c.received,
        sent: c.sent,
        firstSeen: iso(c.first),
        lastSeen: iso(c.last),
      }))
      .sort((a, b) => `${a.address}/${a.asset}`.localeCompare(`${b.address}/${b.asset}`)),
    timeline: timeline.map((t) => ({
      day: t.day,
      transfersIn: Number(t.tin),
      transfersOut: Number(t.tout),
    })),
  };
}

interface Page {
  flows: { id: string; status: string }[];
  exposure: AddressPageExposure[];
  counterparties: {
    address: string;
    asset: string;
    transfers: number;
    received: string;
    sent: string;
    firstSeen: string;
    lastSeen: string;
  }[];
  timeline: { day: string; transfersIn: number; transfersOut: number; flagged: number }[];
}

async function page(chain: string, addr: string): Promise<Page> {
  const r = await h.call(
    `/v1/addresses/${chain}/${addr}?flows=500&counterparties=500`,
    h.keys.regulator,
  );
  expect(r.status, await r.clone().text()).toBe(200);
  return (await r.json()) as Page;
}

async function flowIds(query: string): Promise<{ id: string; status: string }[]> {
  const r = await h.call(`/v1/flows?limit=1000&${query}`, h.keys.regulator);
  expect(r.status, await r.clone().text()).toBe(200);
  return ((await r.json()) as { items: { id: string; status: string }[] }).items;
}

/** Every address of the seeded and edge-case transfers, with its chain. */
function parties(): { chain: string; address: string }[] {
  const seen = new Map<string, { chain: string; address: string }>();
  for (const f of [...h.flags, ...extra]) {
    for (const a of [...f.flag.transfer.from, f.flag.transfer.to]) {
      if (a) seen.set(`${f.transfer.chain}/${a}`, { chain: f.transfer.chain, address: a });
    }
  }
  return [...seen.values()];
}

describe("address queries on flags_by_address answer as the queries they replaced", () => {
  it("address page: flows, exposure, counterparties and timeline of every address", async () => {
    const all = parties();
    expect(all.length).toBeGreaterThan(40);
    let withFlows = 0;
    let withExposure = 0;
    for (const { chain, address } of all) {
      const want = await before(address, chain);
      const got = await page(chain, address);
      expect(
        got.flows.map((f) => f.id),
        `${chain} ${address}`,
      ).toEqual(want.flows);
      expect(
        got.exposure
          .map((e) => ({
            ...e,
            valueUsd: usd(e.valueUsd),
            sources: [...e.sources].sort(),
            entities: [...e.entities].sort(),
          }))
          .sort((a, b) => a.exposure.localeCompare(b.exposure)),
      ).toEqual(want.exposure);
      expect(
        got.counterparties
          .map(({ address: a, asset, transfers, received, sent, firstSeen, lastSeen }) => ({
            address: a,
            asset,
            transfers,
            received,
            sent,
            firstSeen,
            lastSeen,
          }))
          .sort((a, b) => `${a.address}/${a.asset}`.localeCompare(`${b.address}/${b.asset}`)),
      ).toEqual(want.counterparties);
      expect(
        got.timeline.map(({ day, transfersIn, transfersOut }) => ({
          day,
          transfersIn,
          transfersOut,
        })),
      ).toEqual(want.timeline);
      if (want.flows.length > 0) withFlows++;
      if (want.exposure.length > 0) withExposure++;
    }
    // The comparison covered addresses with flags and exposed addresses, not only empty pages.
    expect(withFlows).toBeGreaterThan(10);
    expect(withExposure).toBeGreaterThan(3);
  });

  it("a family name (evm) covers every chain of the family", async () => {
    const listed = CHAINS[0]?.listed[0] as string;
    const got = await page("evm", listed);
    const want = await before(listed, null);
    expect(got.flows.map((f) => f.id)).toEqual(want.flows);
    expect(got.timeline.reduce((s, t) => s + t.transfersIn + t.transfersOut, 0)).toBe(
      want.timeline.reduce((s, t) => s + t.transfersIn + t.transfersOut, 0),
    );
  });

  it("edge cases: several UTXO inputs, no receiver, a self-transfer", async () => {
    const [utxo, creation, self] = extra as [SeededFlag, SeededFlag, SeededFlag];
    // Each input address finds the UTXO flag, the duplicate input counted once.
    for (const a of utxo.flag.transfer.from) {
      expect((await flowIds(`chain=bitcoin&address=${a}`)).map((f) => f.id)).toContain(
        utxo.flag.id,
      );
    }
    const cps = (await page("bitcoin", utxo.flag.transfer.to as string)).counterparties;
    for (const a of utxo.flag.transfer.from) {
      expect(cps.some((c) => c.address === a)).toBe(true);
    }
    // No receiver: the sender's page lists the flag; the transfer counts in its timeline.
    const sender = creation.flag.transfer.from[0] as string;
    const p = await page("ethereum", sender);
    expect(p.flows.map((f) => f.id)).toContain(creation.flag.id);
    // counterparties=0 keeps the timeline (LIMIT … BY must not drop the day rows).
    const none = await h.call(`/v1/addresses/ethereum/${sender}?counterparties=0`, h.keys.analyst);
    const nb = (await none.json()) as Page;
    expect(nb.counterparties).toEqual([]);
    expect(nb.timeline.length).toBe(p.timeline.length);
    // A self-transfer is filed once under its address.
    const filed = await rows<{ n: string }>(
      "SELECT count() AS n FROM flags_by_address FINAL WHERE id = {id:String}",
      { id: self.flag.id },
    );
    expect(Number(filed[0]?.n)).toBe(1);
    const selfFlows = await flowIds(`address=${self.flag.transfer.to}`);
    expect(selfFlows.filter((f) => f.id === self.flag.id)).toHaveLength(1);
  });

  it("GET /v1/flows?address= equals the flags of the address's transfers", async () => {
    for (const { chain, address } of parties().slice(0, 30)) {
      const want = await before(address, chain);
      const got = (await flowIds(`chain=${chain}&address=${address}`)).map((f) => f.id);
      expect(got, `${chain} ${address}`).toEqual(want.flows);
    }
  });
});

describe("newest-first pages of every flag are read from recent windows", () => {
  // Seeded flags are 6 h apart: a page of 3 fits the last day, 10 and 45 the last 30 days, 1,000
  // needs every flag; walking with the cursor moves the windows back in time.
  it.each([3, 10, 45, 1000])(
    "page size %i walks every active flag once, in order",
    async (size) => {
      const want = (
        await rows<{ id: string }>(
          "SELECT id FROM api_flows WHERE status != 'retracted' ORDER BY ts DESC, id DESC",
        )
      ).map((r) => r.id);
      const got: string[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 500; i++) {
        const r = await h.call(
          `/v1/flows?limit=${size}${cursor ? `&cursor=${cursor}` : ""}`,
          h.keys.regulator,
        );
        expect(r.status).toBe(200);
        const b = (await r.json()) as { items: { id: string }[]; next: string | null };
        got.push(...b.items.map((x) => x.id));
        if (!b.next) break;
        cursor = b.next;
      }
      expect(got).toEqual(want);
    },
  );
  it("a time range narrower than the windows is queried as it is", async () => {
    const newest = Math.max(...h.flags.map((f) => f.flag.transfer.timestamp));
    const from = newest - 2 * 86_400_000;
    const r = await h.call(`/v1/flows?from=${from}&limit=2`, h.keys.regulator);
    expect(r.status).toBe(200);
    const got = ((await r.json()) as { items: { id: string }[] }).items.map((f) => f.id);
    const want = (
      await rows<{ id: string }>(
        `SELECT id FROM api_flows WHERE status != 'retracted' AND ts >= fromUnixTimestamp64Milli({f:Int64}, 'UTC')
         ORDER BY ts DESC, id DESC LIMIT 2`,
        { f: from },
      )
    ).map((r) => r.id);
    expect(got).toEqual(want);
  });
});

describe("a retraction hides the flag from the address queries", () => {
  it("an active flag retracted later disappears; includeRetracted shows it retracted", async () => {
    const f = h.flags.find(
      (x) =>
        x.flag.status === "active" && x.flag.exposure === "indirect" && x.transfer.chain === "tron",
    ) as SeededFlag;
    const exposed = f.flag.address as string;
    const sender = f.flag.transfer.from[0] as string;
    const beforePage = await page("tron", exposed);
    expect(beforePage.flows.map((x) => x.id)).toContain(f.flag.id);
    const indirectBefore = beforePage.exposure.find((e) => e.exposure === "indirect")?.flows ?? 0;
    expect(indirectBefore).toBeGreaterThan(0);

    // As the tagger emits it: same id, status retracted, later createdAt (higher version).
    await new Store(h.stack.writer).insertFlags([
      { value: { ...f.flag, status: "retracted", createdAt: f.flag.createdAt + 60_000 } },
    ]);

    const after = await page("tron", exposed);
    expect(after.flows.map((x) => x.id)).not.toContain(f.flag.id);
    expect(after.exposure.find((e) => e.exposure === "indirect")?.flows ?? 0).toBe(
      indirectBefore - 1,
    );
    expect((await flowIds(`chain=tron&address=${sender}`)).map((x) => x.id)).not.toContain(
      f.flag.id,
    );
    const all = await flowIds(`chain=tron&address=${sender}&includeRetracted=true`);
    expect(all.find((x) => x.id === f.flag.id)?.status).toBe("retracted");
    // Both versions are stored; FINAL keeps one row per party, the retraction.
    const stored = await rows<{ status: string }>(
      "SELECT status FROM flags_by_address FINAL WHERE id = {id:String}",
      { id: f.flag.id },
    );
    expect(stored.map((s) => s.status)).toEqual(["retracted", "retracted"]);
    expect((await before(exposed, "tron")).flows).toEqual(after.flows.map((x) => x.id));
  });
});

describe("migration 102 on a store that already holds flags", () => {
  let cfg: { url: string; username: string; password: string; database: string };
  let ch: ClickHouseClient;
  beforeAll(async () => {
    cfg = {
      url: inject("clickhouseUrl"),
      username: inject("clickhouseUser"),
      password: inject("clickhousePassword"),
      database: uniqueName("addr_upgrade"),
    };
    await migrate(cfg, { maxVersion: 101 });
    ch = createClient({ ...cfg });
  });
  afterAll(async () => {
    await ch?.close();
  });

  it("backfills every stored flag, keeps retractions, and files later flags too", async () => {
    const flags = buildFlags(40);
    const store = new Store(ch);
    await store.insertTransfers(flags.map((f) => ({ value: f.transfer })));
    await store.insertFlags(flags.map((f) => ({ value: f.flag })));
    // A flag retracted before the upgrade: both versions are in `flags`.
    const retracted = flags.find((f) => f.flag.status === "active") as SeededFlag;
    await store.insertFlags([
      {
        value: { ...retracted.flag, status: "retracted", createdAt: retracted.flag.createdAt + 1 },
      },
    ]);

    const r = await migrate(cfg);
    expect(r.applied).toContain("102_api_flows_by_address");

    const q = async <T>(sql: string, params: Record<string, unknown> = {}) =>
      (await (
        await ch.query({ query: sql, query_params: params, format: "JSONEachRow" })
      ).json()) as T[];
    const stored = await q<{ party: string; id: string; status: string }>(
      "SELECT party, id, status FROM flags_by_address FINAL ORDER BY id, party",
    );
    const want = flags
      .flatMap((f) =>
        [...new Set([...f.flag.transfer.from, f.flag.transfer.to].filter(Boolean))].map((p) => ({
          party: p as string,
          id: f.flag.id,
          status: f === retracted ? "retracted" : f.flag.status,
        })),
      )
      .sort((a, b) => (a.id === b.id ? a.party.localeCompare(b.party) : a.id < b.id ? -1 : 1));
    expect(stored).toEqual(want);

    // Inserts after the upgrade reach the table through the materialized view.
    const later = buildFlags(41)[40] as SeededFlag;
    await store.insertFlags([{ value: later.flag }]);
    const party = later.flag.transfer.from[0] as string;
    const ids = await q<{ id: string }>(
      "SELECT id FROM api_flows_by_address WHERE party = {p:String}",
      { p: party },
    );
    expect(ids.map((i) => i.id)).toContain(later.flag.id);
  });
});

describe("screenings are recorded in batches", () => {
  it("every screening of a burst is stored", async () => {
    const listed = CHAINS[0]?.listed[0] as string;
    const ids = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const r = await h.call("/v1/screen", h.keys.bankA, {
          method: "POST",
          body: JSON.stringify({ addresses: [listed, COUNTERPARTIES.ethereum?.[0]] }),
        });
        expect(r.status).toBe(200);
        return ((await r.json()) as { screeningId: string }).screeningId;
      }),
    );
    await expect
      .poll(
        async () => {
          const b = (await (await h.call("/v1/screenings?limit=100", h.keys.bankA)).json()) as {
            items: { id: string }[];
          };
          return ids.filter((id) => b.items.some((i) => i.id === id)).length;
        },
        { timeout: 10_000 },
      )
      .toBe(ids.length);
  });
});
