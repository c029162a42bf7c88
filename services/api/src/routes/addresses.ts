import type { FastifyInstance } from "fastify";
import {
  type ExposureSqlRow,
  exposureFromFlows,
  exposureFromSql,
  exposureSql,
} from "../address-exposure.js";
import {
  ADDRESS_QUERY_SETTINGS,
  FLOW_COLUMNS,
  FLOWS_BY_ADDRESS_RELATION,
  type FlowRow,
  flowFromRow,
} from "../flows-query.js";
import { badRequest } from "../problem.js";
import { normalizeAddress, type ScreenMatch } from "../screening.js";
import { FlowSchema, iso, MatchSchema, problemResponses } from "./schemas.js";

/**
 * Address-oriented relation (a view in the API's migrations over the store's address table):
 * one row per (address, transfer) with the other side as `counterparty` and `direction` in/out.
 */
export const ADDRESS_FLOWS_RELATION = "api_address_flows";

/** API shape of a list match. */
export function matchOut(m: ScreenMatch) {
  return { ...m, listedFrom: iso(m.listedFrom), listedUntil: iso(m.listedUntil) };
}

interface Params {
  chain: string;
  address: string;
}

/** GET /v1/addresses/{chain}/{address}: status, exposure, counterparties, flows, graph, timeline. */
export async function addressRoutes(app: FastifyInstance): Promise<void> {
  const { ch, watchlist } = app.deps;

  app.get<{
    Params: Params;
    Querystring: { flows?: number; counterparties?: number; graphHops?: number };
  }>(
    "/v1/addresses/:chain/:address",
    {
      config: { permission: "addresses:read" },
      schema: {
        tags: ["addresses"],
        summary:
          "List status now and historically, exposure, counterparties, recent flows, graph, timeline",
        params: {
          type: "object",
          properties: {
            chain: { type: "string", minLength: 1, maxLength: 32 },
            address: { type: "string", minLength: 1, maxLength: 128 },
          },
          required: ["chain", "address"],
        },
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            flows: { type: "integer", minimum: 0, maximum: 500, default: 50 },
            counterparties: { type: "integer", minimum: 0, maximum: 500, default: 50 },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              chain: { type: "string" },
              family: { type: "string" },
              address: { type: "string" },
              listed: { type: "boolean" },
              matches: { type: "array", items: MatchSchema },
              history: { type: "array", items: MatchSchema },
              exposure: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    exposure: { type: "string" },
                    minHops: { type: "integer" },
                    flows: { type: "integer" },
                    valueUsd: { type: "number" },
                    sources: { type: "array", items: { type: "string" } },
                    entities: { type: "array", items: { type: "string" } },
                    firstSeen: { type: "string", format: "date-time" },
                    lastSeen: { type: "string", format: "date-time" },
                  },
                },
              },
              counterparties: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    address: { type: "string" },
                    asset: { type: "string" },
                    transfers: { type: "integer" },
                    received: { type: "string", description: "Base units received from it" },
                    sent: { type: "string", description: "Base units sent to it" },
                    firstSeen: { type: "string", format: "date-time" },
                    lastSeen: { type: "string", format: "date-time" },
                    listed: { type: "boolean" },
                  },
                },
              },
              flows: { type: "array", items: FlowSchema },
              graph: {
                type: "object",
                properties: {
                  nodes: {
                    type: "array",
                    items: {
                      type: "object",
                      properties: {
                        id: { type: "string" },
                        listed: { type: "boolean" },
                        entity: { type: "string", nullable: true },
                        hops: { type: "integer", nullable: true },
                        focus: { type: "boolean" },
                      },
                    },
                  },
                  edges: {
                    type: "array",
                    items: {
                      type: "object",
                      properties: {
                        source: { type: "string" },
                        target: { type: "string" },
                        flows: { type: "integer" },
                        flagged: { type: "boolean" },
                      },
                    },
                  },
                },
              },
              timeline: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    day: { type: "string" },
                    transfersIn: { type: "integer" },
                    transfersOut: { type: "integer" },
                    flagged: { type: "integer" },
                  },
                },
              },
            },
          },
          ...problemResponses(400, 401, 403, 429),
        },
      },
    },
    async (req) => {
      const n = normalizeAddress(req.params.chain, req.params.address);
      if (!n.ok) throw badRequest(n.error, [{ field: "address", message: n.error }]);
      const addr = n.address;
      const chain = req.params.chain.toLowerCase();
      // A family name (evm) means every chain of the family; a chain name only that chain.
      const allChains = chain === n.family;
      const chainCond = allChains ? "1" : "chain = {chain:String}";
      const params = { addr, chain };
      const now = Date.now();
      const q = async <T>(query: string, extra: Record<string, unknown> = {}): Promise<T[]> =>
        (
          await ch.query({
            query,
            query_params: { ...params, ...extra },
            format: "JSONEachRow",
            clickhouse_settings: ADDRESS_QUERY_SETTINGS,
          })
        ).json<T>();

      const cpLimit = req.query.counterparties ?? 50;
      const flowsLimit = req.query.flows ?? 50;
      // Flags filed under the address (flags_by_address, migration 102): the page's flows, and
      // its exposure summary, which the flows give when they are every flag of the address.
      const mine = `party = {addr:String} AND ${chainCond} AND status != 'retracted'`;
      // Two queries at once, each a range of an address-ordered table's primary key: the recent
      // flags (one more than the page shows, to know whether that is all of them), and the
      // address's transfers (transfers_by_address) read once for counterparties and timeline.
      const [transferRollup, flowsPlusOne] = await Promise.all([
        q<{
          per_day: number;
          day: string;
          counterparty: string;
          asset: string;
          transfers: string;
          tin: string;
          tout: string;
          received: string;
          sent: string;
          first: string;
          last: string;
        }>(
          // One read of the address's transfers, two groupings (rather than two queries, each
          // paying FINAL over every part): per (counterparty, asset) — one row per counterparty of
          // a transfer (UTXO transfers have several, and none when the other side is unknown) —
          // and per day, counting each transfer once (its first counterparty, n <= 1; n = 0 when
          // it has none). per_day tells the two kinds of rows apart; counterparties come first,
          // most transfers first, then the days in order; LIMIT … BY keeps the top counterparties
          // and every day.
          `SELECT grouping(counterparty) AS per_day, toString(toDate(ts)) AS day, counterparty, asset,
             count() AS transfers,
             countIf(n <= 1 AND direction = 'in') AS tin, countIf(n <= 1 AND direction = 'out') AS tout,
             toString(sumIf(amount, direction = 'in')) AS received,
             toString(sumIf(amount, direction = 'out')) AS sent,
             toUnixTimestamp64Milli(min(ts)) AS first, toUnixTimestamp64Milli(max(ts)) AS last
           FROM transfers_by_address FINAL
           LEFT ARRAY JOIN counterparties AS counterparty, arrayEnumerate(counterparties) AS n
           WHERE address = {addr:String} AND ${chainCond} AND status != 'retracted'
           GROUP BY GROUPING SETS ((counterparty, asset), (day))
           HAVING per_day = 1 OR counterparty != ''
           ORDER BY per_day, if(per_day = 0, transfers, 0) DESC, counterparty, asset, day
           LIMIT {lim:UInt32} BY per_day, day`,
          // LIMIT 0 BY would drop the days too; extra counterparty rows are cut below.
          { lim: Math.max(1, cpLimit) },
        ),
        q<FlowRow & { path: string[] }>(
          `SELECT ${FLOW_COLUMNS}, path_addresses AS path FROM ${FLOWS_BY_ADDRESS_RELATION}
           WHERE ${mine} ORDER BY ts DESC, id DESC LIMIT {lim:UInt32}`,
          { lim: flowsLimit + 1 },
        ),
      ]);
      const flows = flowsPlusOne.slice(0, flowsLimit);
      // Every flag of the address is in hand when the query returned no more than the page
      // shows: the exposure summary is computed from them (the same answer as its query,
      // address-exposure.ts), else the query runs.
      const exposure =
        flowsPlusOne.length <= flowsLimit
          ? exposureFromFlows(flowsPlusOne, addr)
          : exposureFromSql(await q<ExposureSqlRow>(exposureSql(FLOWS_BY_ADDRESS_RELATION, mine)));
      const counterparties = transferRollup
        .filter((r) => Number(r.per_day) === 0)
        .slice(0, cpLimit);
      const timeline = transferRollup.filter((r) => Number(r.per_day) === 1);

      const flaggedPerDay = new Map<string, number>();
      for (const f of flows) {
        const d = new Date(Number(f.ts_ms)).toISOString().slice(0, 10);
        flaggedPerDay.set(d, (flaggedPerDay.get(d) ?? 0) + 1);
      }
      const listedNow = (a: string): ScreenMatch[] => {
        const nn = normalizeAddress(n.family, a);
        return nn.ok ? watchlist.lookup(n.family, nn.address, now) : [];
      };

      // Graph: the address, its top counterparties, and the exposure paths of its flags back to
      // the listed sources (source → hop 1 → … → counterparty).
      const nodes = new Map<
        string,
        { id: string; listed: boolean; entity: string | null; hops: number | null; focus: boolean }
      >();
      const edges = new Map<
        string,
        { source: string; target: string; flows: number; flagged: boolean }
      >();
      const node = (id: string, hops: number | null = null) => {
        let nd = nodes.get(id);
        if (!nd) {
          const m = listedNow(id);
          nd = { id, listed: m.length > 0, entity: m[0]?.entity ?? null, hops, focus: id === addr };
          nodes.set(id, nd);
        } else if (hops !== null && (nd.hops === null || hops < nd.hops)) nd.hops = hops;
        return nd;
      };
      const edge = (s: string, t: string, count: number, flagged: boolean) => {
        const k = `${s}>${t}`;
        const e = edges.get(k);
        if (e) {
          e.flows += count;
          e.flagged ||= flagged;
        } else edges.set(k, { source: s, target: t, flows: count, flagged });
      };
      node(addr);
      for (const f of flows) {
        if (f.from_address) node(f.from_address);
        if (f.to_address) node(f.to_address);
        if (f.from_address && f.to_address) edge(f.from_address, f.to_address, 1, true);
        const p = f.path ?? [];
        for (let i = 0; i < p.length; i++) {
          const a = p[i] as string;
          node(a, i);
          if (i > 0) edge(p[i - 1] as string, a, 1, true);
        }
      }
      for (const c of counterparties.slice(0, 25)) {
        node(c.counterparty);
        if (c.received !== "0") edge(c.counterparty, addr, Number(c.transfers), false);
        if (c.sent !== "0") edge(addr, c.counterparty, Number(c.transfers), false);
      }

      const matches = watchlist.lookup(n.family, addr, now);
      req.auditRows = flows.length + counterparties.length;
      return {
        chain,
        family: n.family,
        address: addr,
        listed: matches.length > 0,
        matches: matches.map(matchOut),
        history: watchlist.history(n.family, addr).map(matchOut),
        exposure: exposure.map((e) => ({
          exposure: e.exposure,
          minHops: e.minHops,
          flows: e.flows,
          valueUsd: e.valueUsd,
          sources: e.sources,
          entities: e.entities,
          firstSeen: iso(e.firstMs),
          lastSeen: iso(e.lastMs),
        })),
        counterparties: counterparties.map((c) => ({
          address: c.counterparty,
          asset: c.asset,
          transfers: Number(c.transfers),
          received: c.received,
          sent: c.sent,
          firstSeen: iso(Number(c.first)),
          lastSeen: iso(Number(c.last)),
          listed: listedNow(c.counterparty).length > 0,
        })),
        flows: flows.map(flowFromRow),
        graph: { nodes: [...nodes.values()], edges: [...edges.values()] },
        timeline: timeline.map((t) => ({
          day: t.day,
          transfersIn: Number(t.tin),
          transfersOut: Number(t.tout),
          flagged: flaggedPerDay.get(t.day) ?? 0,
        })),
      };
    },
  );
}
