import type { FlagV1 } from "@chainscreen/schema";
import { migrate, Store } from "@chainscreen/store";
import { uniqueName } from "@chainscreen/testing";
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  type ExposureRow,
  type ExposureSqlRow,
  exposureFromFlows,
  exposureFromSql,
  exposureSql,
} from "../../services/api/src/address-exposure.js";
import {
  AMOUNT_CANDIDATE_FACTORS,
  FLOW_COLUMNS,
  FLOWS_BY_ADDRESS_RELATION,
  type FlowRow,
  type FlowsQuery,
  flowFromRow,
  queryFlowsByAmount,
} from "../../services/api/src/flows-query.js";
import { type ApiHarness, startHarness } from "./harness.js";
import { type AddressPageExposure, buildFlags } from "./seed.js";

// Two query paths that replaced a query, compared with it on the same store:
// - GET /v1/flows sorted by amount over every flag reads `flags_by_amount` (migration 103) in two
//   steps (candidates without FINAL, then the page with FINAL over their key range); its pages must
//   be those of the query on `api_flows` (FINAL over every flag), with amount ties, unmerged
//   duplicate versions and retractions (a higher version of the same flag) in the data.
// - the address page computes its exposure summary from its flows when they are every flag of the
//   address; the summary must equal the query's, to the last bit.

let h: ApiHarness;
/** Latest version of every flag the tests inserted, by id. */
const latest = new Map<string, FlagV1>();
/** Flags whose latest version is retracted by the tests' extra inserts. */
const retractedLater = new Set<string>();

async function insert(flags: FlagV1[]): Promise<void> {
  await new Store(h.stack.writer).insertFlags(flags.map((value) => ({ value })));
  for (const f of flags) latest.set(f.id, f);
}
const retract = (f: FlagV1, after: number): FlagV1 => ({
  ...f,
  status: "retracted",
  createdAt: f.createdAt + after,
});

beforeAll(async () => {
  h = await startHarness("byamount", 150);
  for (const f of h.flags) latest.set(f.flag.id, f.flag);
  const byAmountDesc = h.flags
    .map((f) => f.flag)
    .filter((f) => f.status === "active")
    .sort((a, b) => {
      const x = BigInt(a.transfer.amount);
      const y = BigInt(b.transfer.amount);
      return x === y ? 0 : x > y ? -1 : 1;
    });
  // Retractions: a higher version of the same flag, status retracted. The 12 largest amounts
  // and the 3 smallest: the first candidates of a page in either order are stale versions.
  const retracted = [...byAmountDesc.slice(0, 12), ...byAmountDesc.slice(-3)];
  await insert(retracted.map((f) => retract(f, 60_000)));
  for (const f of retracted) retractedLater.add(f.id);
  // Unmerged duplicate versions: the next 8 active flags again, with a later createdAt.
  await insert(byAmountDesc.slice(12, 20).map((f) => ({ ...f, createdAt: f.createdAt + 30_000 })));
  // Ties: copies of 4 more flags under other ids abc… (same amount, chain and time).
  await insert(
    byAmountDesc.slice(20, 24).flatMap((f, i) =>
      [1, 2, 3].map((j) => ({
        ...f,
        id: `abc${i}${j}`.padEnd(32, "0"),
        createdAt: f.createdAt + j,
      })),
    ),
  );
});
afterAll(async () => {
  await h?.close();
});

/** The store's client, counting the queries made through it. */
function counting(): { ch: ClickHouseClient; queries: () => number } {
  let n = 0;
  const ch = {
    query: ((...args: Parameters<ClickHouseClient["query"]>) => {
      n++;
      return h.stack.writer.query(...args);
    }) as ClickHouseClient["query"],
  } as ClickHouseClient;
  return { ch, queries: () => n };
}

type Item = ReturnType<typeof flowFromRow>;

/**
 * The reference: every row of the filters in the page order, from the query on `api_flows`
 * (the NDJSON export runs it: FINAL over every flag, ORDER BY amount, id).
 */
async function reference(query: string): Promise<Item[]> {
  const r = await h.call(`/v1/flows?format=ndjson&${query}`, h.keys.regulator);
  expect(r.status, await r.clone().text()).toBe(200);
  const text = (await r.text()).trim();
  return text ? text.split("\n").map((l) => flowFromRow(JSON.parse(l) as FlowRow)) : [];
}

/** Walks every page with the cursor. */
async function walk(query: string, size: number): Promise<Item[]> {
  const out: Item[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 2000; page++) {
    const r = await h.call(
      `/v1/flows?${query}&limit=${size}${cursor ? `&cursor=${cursor}` : ""}`,
      h.keys.regulator,
    );
    expect(r.status, await r.clone().text()).toBe(200);
    const b = (await r.json()) as { items: Item[]; next: string | null };
    expect(b.items.length).toBeLessThanOrEqual(size);
    out.push(...b.items);
    if (!b.next) break;
    expect(b.items.length).toBe(size);
    cursor = b.next;
  }
  return out;
}

describe("GET /v1/flows sorted by amount over every flag", () => {
  const filters = [
    "",
    "chain=ethereum",
    "programme=CYBER2&exposure=direct",
    "programme=DPRK3&exposure=indirect",
    "includeRetracted=true",
    "minAmount=1000000000000000000&chain=ethereum,tron",
    "severity=high&severity=severe&retro=false",
    `from=${new Date(Date.UTC(2024, 0, 10)).toISOString()}&to=${Date.UTC(2024, 0, 25)}`,
    "programme=NOSUCH",
  ];
  it.each(filters.flatMap((f) => ["desc", "asc"].map((o) => [f, o] as const)))(
    "filters %j order %s: every page size walks the reference rows, in order",
    async (filter, order) => {
      const q = `sort=amount&order=${order}${filter ? `&${filter}` : ""}`;
      const want = await reference(q);
      for (const size of [1, 4, 1000]) {
        const got = await walk(q, size);
        expect(got, `${q} limit ${size}`).toEqual(want);
      }
    },
  );

  it("retracted flags are hidden, and shown retracted with includeRetracted", async () => {
    const page = await walk("sort=amount&order=desc", 1000);
    expect(page.length).toBeGreaterThan(100);
    for (const f of page) expect(retractedLater.has(f.id)).toBe(false);
    const all = await walk("sort=amount&order=desc&includeRetracted=true", 1000);
    const shown = all.filter((f) => retractedLater.has(f.id));
    expect(shown).toHaveLength(retractedLater.size);
    for (const f of shown) expect(f.status).toBe("retracted");
    // Amount ties are broken by id, as on every other sort.
    const ties = page.filter((f) => f.id.startsWith("abc"));
    expect(ties.length).toBeGreaterThan(0);
  });

  it("both steps and both candidate sizes are used where they suffice", async () => {
    const run = async (q: FlowsQuery, limit: number) => {
      const c = counting();
      const rows = await queryFlowsByAmount(c.ch, { sort: "amount", ...q }, limit);
      return { ids: rows?.map((r) => r.id) ?? null, rows, queries: c.queries() };
    };
    const first = async (q: string, n: number) =>
      (await reference(`sort=amount&${q}`)).slice(0, n).map((f) => f.id);
    expect(AMOUNT_CANDIDATE_FACTORS).toEqual([2, 16]);
    // A page of 1 descending: 2 × 2 = 4 candidates, all stale versions of the 12 retracted
    // largest flags, then 16 × 2 = 32, which reach active flags: four queries.
    expect(await run({ order: "desc" }, 1)).toMatchObject({
      ids: await first("order=desc", 2),
      queries: 4,
    });
    // Ascending: 3 of the 4 smallest candidates are stale, one try is not enough either.
    expect(await run({ order: "asc" }, 1)).toMatchObject({
      ids: await first("order=asc", 2),
      queries: 4,
    });
    // includeRetracted: the candidates are the versions of the first flags; one try.
    const inclusive = await run({ order: "desc", includeRetracted: true }, 2);
    expect(inclusive.queries).toBe(2);
    expect(inclusive.rows?.map((r) => flowFromRow(r))).toEqual(
      (await reference("sort=amount&order=desc&includeRetracted=true")).slice(0, 3),
    );
    // A page of 10 past the retracted flags: one try.
    expect(await run({ order: "desc", chain: ["tron"] }, 10)).toMatchObject({
      ids: await first("order=desc&chain=tron", 11),
    });
    // No version matches: empty, from the first query alone.
    expect(await run({ order: "desc", programme: ["NOSUCH"] }, 5)).toEqual({
      ids: [],
      rows: [],
      queries: 1,
    });
  });

  it("returns null (the caller runs the query on api_flows) when stale versions fill every try", async () => {
    // Retract the 40 largest active flags: with the 12 before, the 32 candidates of a page of 1
    // are all stale.
    const top = (await reference("sort=amount&order=desc")).slice(0, 40);
    await insert(top.map((f) => retract(latest.get(f.id) as FlagV1, 120_000)));
    for (const f of top) retractedLater.add(f.id);
    const c = counting();
    expect(await queryFlowsByAmount(c.ch, { sort: "amount", order: "desc" }, 1)).toBeNull();
    expect(c.queries()).toBe(4);
    // The route still answers exactly, through the full query.
    const want = await reference("sort=amount&order=desc");
    expect(await walk("sort=amount&order=desc", 7)).toEqual(want);
    for (const f of want) expect(retractedLater.has(f.id)).toBe(false);
  });
});

describe("address page exposure from the flows equals its query", () => {
  interface Page {
    flows: { id: string }[];
    exposure: AddressPageExposure[];
  }
  const page = async (chain: string, addr: string, flows: number): Promise<Page> => {
    const r = await h.call(`/v1/addresses/${chain}/${addr}?flows=${flows}`, h.keys.regulator);
    expect(r.status, await r.clone().text()).toBe(200);
    return (await r.json()) as Page;
  };
  /** The exposure query itself, as the page runs it when an address has more flags than a page. */
  const bySql = async (chain: string | null, addr: string): Promise<ExposureRow[]> => {
    const where = `party = {addr:String} AND ${chain ? "chain = {chain:String}" : "1"} AND status != 'retracted'`;
    const rs = await h.stack.writer.query({
      query: exposureSql(FLOWS_BY_ADDRESS_RELATION, where),
      query_params: { addr, chain: chain ?? "" },
      format: "JSONEachRow",
    });
    return exposureFromSql(await rs.json<ExposureSqlRow>());
  };
  const flowsOf = async (chain: string | null, addr: string): Promise<FlowRow[]> => {
    const rs = await h.stack.writer.query({
      query: `SELECT ${FLOW_COLUMNS} FROM ${FLOWS_BY_ADDRESS_RELATION}
              WHERE party = {addr:String} AND ${chain ? "chain = {chain:String}" : "1"}
                AND status != 'retracted' ORDER BY ts DESC, id DESC`,
      query_params: { addr, chain: chain ?? "" },
      format: "JSONEachRow",
    });
    return rs.json<FlowRow>();
  };
  const parties = () => {
    const seen = new Map<string, { chain: string; address: string }>();
    for (const f of h.flags) {
      for (const a of [...f.flag.transfer.from, f.flag.transfer.to]) {
        if (a) seen.set(`${f.transfer.chain}/${a}`, { chain: f.transfer.chain, address: a });
      }
    }
    return [...seen.values()];
  };

  it("for every address: computed from every flag, from the query, and through both page paths", async () => {
    let queried = 0;
    let exposed = 0;
    for (const { chain, address } of parties()) {
      const sql = await bySql(chain, address);
      const all = await flowsOf(chain, address);
      // The function the page uses when it holds every flag gives the query's answer exactly.
      expect(exposureFromFlows(all, address), `${chain} ${address}`).toEqual(sql);
      // Through the route: a page holding every flag (computed) and a page of 1 (queried when the
      // address has more than one flag) answer the same.
      const big = await page(chain, address, 500);
      const small = await page(chain, address, 1);
      expect(small.exposure, `${chain} ${address}`).toEqual(big.exposure);
      expect(big.exposure.map((e) => e.flows)).toEqual(sql.map((e) => e.flows));
      expect(big.exposure.map((e) => e.valueUsd)).toEqual(sql.map((e) => e.valueUsd));
      if (all.length > 1) queried++;
      if (sql.length > 0) exposed++;
    }
    // The comparison covered addresses past the page limit and exposed ones.
    expect(queried).toBeGreaterThan(10);
    expect(exposed).toBeGreaterThan(3);
  });

  it("flows=0 still gives the summary, and a family name covers its chains", async () => {
    let checked = 0;
    for (const { address } of parties().filter((p) => p.address.startsWith("0x"))) {
      const sql = await bySql(null, address);
      if (sql.length === 0) continue;
      const zero = await page("evm", address, 0);
      expect(zero.flows).toEqual([]);
      expect(zero.exposure).toEqual((await page("evm", address, 500)).exposure);
      expect(zero.exposure.map((e) => [e.exposure, e.flows, e.valueUsd, e.sources])).toEqual(
        sql.map((e) => [e.exposure, e.flows, e.valueUsd, e.sources]),
      );
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe("migration 103 on a store that already holds flags", () => {
  it("backfills every stored version, keeps retractions, and files later flags too", async () => {
    const cfg = {
      url: inject("clickhouseUrl"),
      username: inject("clickhouseUser"),
      password: inject("clickhousePassword"),
      database: uniqueName("amount_upgrade"),
    };
    await migrate(cfg, { maxVersion: 102 });
    const ch = createClient({ ...cfg });
    try {
      const flags = buildFlags(30);
      const store = new Store(ch);
      await store.insertFlags(flags.map((f) => ({ value: f.flag })));
      const gone = flags.find((f) => f.flag.status === "active")?.flag as FlagV1;
      await store.insertFlags([{ value: retract(gone, 1) }]);

      const r = await migrate(cfg);
      expect(r.applied).toContain("103_api_flows_by_amount");
      const q = async (sql: string) =>
        (await (await ch.query({ query: sql, format: "JSONEachRow" })).json()) as {
          id: string;
          status: string;
        }[];
      const want = await q("SELECT id, status FROM api_flows ORDER BY amount DESC, id DESC");
      expect(want.find((x) => x.id === gone.id)?.status).toBe("retracted");
      expect(
        await q("SELECT id, status FROM api_flows_by_amount ORDER BY amount DESC, id DESC"),
      ).toEqual(want);
      // Inserts after the upgrade reach the table through the materialized view: a new flag,
      // and a retraction of a backfilled one, whose two versions the view without FINAL shows.
      const later = buildFlags(31)[30]?.flag as FlagV1;
      const other = flags.find((f) => f.flag.status === "active" && f.flag.id !== gone.id)
        ?.flag as FlagV1;
      await store.insertFlags([{ value: later }, { value: retract(other, 1) }]);
      const after = await q("SELECT id, status FROM api_flows_by_amount");
      expect(after.map((x) => x.id)).toContain(later.id);
      expect(after.find((x) => x.id === other.id)?.status).toBe("retracted");
      const versions = await q(
        `SELECT id, status FROM api_flow_versions_by_amount WHERE id = '${other.id}' ORDER BY status`,
      );
      expect(versions.map((v) => v.status)).toEqual(["active", "retracted"]);
    } finally {
      await ch.close();
    }
  });
});
