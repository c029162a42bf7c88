import type { FastifyInstance } from "fastify";
import { FLOW_QUERY_SETTINGS, FLOWS_RELATION, parseTime } from "../flows-query.js";
import { badRequest } from "../problem.js";
import { problemResponses } from "./schemas.js";

const BUCKETS = { day: "toStartOfDay", week: "toMonday", month: "toStartOfMonth" } as const;
const DIMENSIONS = {
  chain: "chain",
  exchange: "if(exchange = '', '(none)', exchange)",
  programme: "arrayJoin(if(empty(programmes), ['(none)'], programmes))",
  severity: "severity",
  exposure: "exposure",
} as const;

interface RangeQuery {
  from?: string;
  to?: string;
}

function range(q: RangeQuery): { fromMs: number; toMs: number } {
  const toMs = q.to ? parseTime("to", q.to) : Date.now() + 86_400_000;
  const fromMs = q.from ? parseTime("from", q.from) : 0;
  if (!(fromMs < toMs))
    throw badRequest("to must be after from", [{ field: "to", message: "before from" }]);
  return { fromMs, toMs };
}

/** Dashboard aggregates: flagged volume over time per dimension, top exposed counterparties. */
export async function statsRoutes(app: FastifyInstance): Promise<void> {
  const { ch } = app.deps;

  app.get<{
    Querystring: RangeQuery & {
      by?: keyof typeof DIMENSIONS;
      interval?: keyof typeof BUCKETS;
      top?: number;
    };
  }>(
    "/v1/stats/volume",
    {
      config: { permission: "stats:read" },
      schema: {
        tags: ["stats"],
        summary:
          "Flagged volume (USD and flow count) over time per chain, exchange, programme, severity or exposure",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            from: { type: "string" },
            to: { type: "string" },
            by: { type: "string", enum: Object.keys(DIMENSIONS), default: "chain" },
            interval: { type: "string", enum: Object.keys(BUCKETS), default: "month" },
            top: {
              type: "integer",
              minimum: 1,
              maximum: 50,
              default: 8,
              description: "Keys kept; the rest are summed as (other)",
            },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              by: { type: "string" },
              interval: { type: "string" },
              series: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    bucket: { type: "string" },
                    key: { type: "string" },
                    flows: { type: "integer" },
                    valueUsd: { type: "number" },
                  },
                },
              },
            },
          },
          ...problemResponses(400, 401, 403),
        },
      },
    },
    async (req) => {
      const { fromMs, toMs } = range(req.query);
      const by = req.query.by ?? "chain";
      const interval = req.query.interval ?? "month";
      const rs = await ch.query({
        query: `SELECT toString(toDate(${BUCKETS[interval]}(ts))) AS bucket, ${DIMENSIONS[by]} AS key,
                       count() AS flows, sum(value_usd) AS usd
                FROM ${FLOWS_RELATION}
                WHERE ts >= fromUnixTimestamp64Milli({f:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({t:Int64}, 'UTC')
                  AND status != 'retracted'
                GROUP BY bucket, key ORDER BY bucket, key`,
        query_params: { f: fromMs, t: toMs },
        format: "JSONEachRow",
        clickhouse_settings: FLOW_QUERY_SETTINGS,
      });
      const rows = await rs.json<{ bucket: string; key: string; flows: string; usd: number }>();
      // Keep the top keys by total value; fold the rest into "(other)" so charts stay readable.
      const totals = new Map<string, number>();
      for (const r of rows)
        totals.set(r.key, (totals.get(r.key) ?? 0) + Number(r.usd) + Number(r.flows) * 1e-9);
      const keep = new Set(
        [...totals]
          .sort((a, b) => b[1] - a[1])
          .slice(0, req.query.top ?? 8)
          .map(([k]) => k),
      );
      const merged = new Map<
        string,
        { bucket: string; key: string; flows: number; valueUsd: number }
      >();
      for (const r of rows) {
        const key = keep.has(r.key) ? r.key : "(other)";
        const k = `${r.bucket}|${key}`;
        const m = merged.get(k) ?? { bucket: r.bucket, key, flows: 0, valueUsd: 0 };
        m.flows += Number(r.flows);
        m.valueUsd += Number(r.usd);
        merged.set(k, m);
      }
      req.auditRows = merged.size;
      return { by, interval, series: [...merged.values()] };
    },
  );

  app.get<{ Querystring: RangeQuery & { limit?: number; exposure?: "direct" | "indirect" } }>(
    "/v1/stats/top-counterparties",
    {
      config: { permission: "stats:read" },
      schema: {
        tags: ["stats"],
        summary: "Counterparties with the most flagged value",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            from: { type: "string" },
            to: { type: "string" },
            limit: { type: "integer", minimum: 1, maximum: 500, default: 20 },
            exposure: { type: "string", enum: ["direct", "indirect"] },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              items: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    address: { type: "string" },
                    chain: { type: "string" },
                    flows: { type: "integer" },
                    valueUsd: { type: "number" },
                    minHops: { type: "integer" },
                    entities: { type: "array", items: { type: "string" } },
                    lastSeen: { type: "string", format: "date-time" },
                  },
                },
              },
            },
          },
          ...problemResponses(400, 401, 403),
        },
      },
    },
    async (req) => {
      const { fromMs, toMs } = range(req.query);
      const rs = await ch.query({
        query: `SELECT counterparty, any(chain) AS any_chain, count() AS flows, sum(value_usd) AS usd,
                       min(hops) AS min_hops, groupUniqArrayArray(10)(entities) AS ents,
                       toUnixTimestamp64Milli(max(ts)) AS last
                FROM ${FLOWS_RELATION}
                WHERE ts >= fromUnixTimestamp64Milli({f:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({t:Int64}, 'UTC')
                  AND status != 'retracted' AND counterparty != ''
                  AND ({e:String} = '' OR exposure = {e:String})
                GROUP BY counterparty ORDER BY usd DESC, flows DESC, counterparty LIMIT {lim:UInt32}`,
        query_params: {
          f: fromMs,
          t: toMs,
          e: req.query.exposure ?? "",
          lim: req.query.limit ?? 20,
        },
        format: "JSONEachRow",
        clickhouse_settings: FLOW_QUERY_SETTINGS,
      });
      const rows = await rs.json<{
        counterparty: string;
        any_chain: string;
        flows: string;
        usd: number;
        min_hops: number;
        ents: string[];
        last: string;
      }>();
      req.auditRows = rows.length;
      return {
        items: rows.map((r) => ({
          address: r.counterparty,
          chain: r.any_chain,
          flows: Number(r.flows),
          valueUsd: Number(r.usd),
          minHops: Number(r.min_hops),
          entities: r.ents,
          lastSeen: new Date(Number(r.last)).toISOString(),
        })),
      };
    },
  );
}
