import type { FastifyInstance } from "fastify";
import { exchangeLinksOf } from "../exchange-links.js";
import {
  encodeCursor,
  FLOW_COLUMNS,
  FLOW_CSV_COLUMNS,
  FLOW_QUERY_SETTINGS,
  FLOWS_RELATION,
  type FlowRow,
  type FlowsQuery,
  flowFromRow,
  flowsPageQuery,
  queryFlowsPage,
  SEVERITIES,
  SORT_FIELDS,
  sortValue,
} from "../flows-query.js";
import { notFound } from "../problem.js";
import { lineCounter } from "../stream-util.js";
import { ExchangeLinkSchema, FlowSchema, problemResponses } from "./schemas.js";

const list = (maxLength = 128) => ({
  type: "array",
  items: { type: "string", minLength: 1, maxLength },
  maxItems: 100,
});

/** Query-string schema of GET /v1/flows: unknown parameters are a 400. */
export const FlowsQuerySchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    from: {
      type: "string",
      description: "Start (inclusive), ISO 8601 or Unix ms, of the transfer time",
    },
    to: { type: "string", description: "End (exclusive), ISO 8601 or Unix ms" },
    chain: { ...list(32), description: "Chains (repeat or comma-separate)" },
    asset: { ...list(), description: "Asset symbols or token contracts" },
    address: { type: "string", minLength: 1, maxLength: 128, description: "Sender or receiver" },
    entity: {
      type: "string",
      minLength: 1,
      maxLength: 256,
      description: "Listed entity name (substring, case-insensitive)",
    },
    list: { ...list(), description: "List ids, e.g. ofac-sdn" },
    programme: { ...list(), description: "Sanctions programmes, e.g. CYBER2" },
    exposure: { type: "string", enum: ["direct", "indirect"] },
    hops: { type: "integer", minimum: 0, maximum: 32, description: "Exact hop count (0 = direct)" },
    maxHops: { type: "integer", minimum: 0, maximum: 32 },
    severity: { type: "array", items: { type: "string", enum: [...SEVERITIES] }, maxItems: 4 },
    minSeverity: { type: "string", enum: [...SEVERITIES] },
    retro: {
      type: "boolean",
      description: "Only retro-screened flags (true) or only live ones (false)",
    },
    minAmount: { type: "string", maxLength: 80, description: "Minimum amount in base units" },
    maxAmount: { type: "string", maxLength: 80, description: "Maximum amount in base units" },
    exchange: { ...list(), description: "Exchange names" },
    includeRetracted: { type: "boolean", default: false },
    sort: { type: "string", enum: Object.keys(SORT_FIELDS), default: "timestamp" },
    order: { type: "string", enum: ["asc", "desc"], default: "desc" },
    limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
    cursor: { type: "string", maxLength: 2000 },
    format: { type: "string", enum: ["json", "csv", "ndjson"], default: "json" },
  },
} as const;

/** Splits comma-separated values of repeated parameters. */
function splitLists(q: FlowsQuery): FlowsQuery {
  const out: FlowsQuery = { ...q };
  for (const k of ["chain", "asset", "list", "programme", "severity", "exchange"] as const) {
    const v = q[k];
    if (v)
      out[k] = v
        .flatMap((s) => s.split(","))
        .map((s) => s.trim())
        .filter(Boolean);
  }
  return out;
}

/** GET /v1/flows and GET /v1/flows/{id}. */
export async function flowRoutes(app: FastifyInstance): Promise<void> {
  const { ch } = app.deps;

  app.get<{ Querystring: FlowsQuery }>(
    "/v1/flows",
    {
      config: { permission: "flows:read" },
      schema: {
        tags: ["flows"],
        summary: "Flagged flows with filters, sorting and cursor pagination; CSV/NDJSON export",
        description:
          "JSON pages are keyset-paginated on (sort field, id): pass `next` as `cursor` with the same sort and " +
          "filters; pages stay stable while new flags arrive. `format=csv|ndjson` streams every matching row " +
          "(no pagination) straight from ClickHouse.",
        querystring: FlowsQuerySchema,
        response: {
          200: {
            description: "A page of flows (format=json); CSV or NDJSON stream otherwise",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: {
                    items: { type: "array", items: FlowSchema },
                    next: { type: "string", nullable: true },
                  },
                },
              },
              "text/csv": { schema: { type: "string" } },
              "application/x-ndjson": { schema: { type: "string" } },
            },
          },
          ...problemResponses(400, 401, 403, 429),
        },
      },
    },
    async (req, reply) => {
      const q = splitLists(req.query);
      if (q.format === "csv" || q.format === "ndjson") {
        const csv = q.format === "csv";
        const { sql, params } = flowsPageQuery(
          { ...q, cursor: undefined },
          csv ? FLOW_CSV_COLUMNS : FLOW_COLUMNS,
        );
        const res = await ch.exec({
          query: `${sql} LIMIT ${app.opts.exportMaxRows} FORMAT ${csv ? "CSVWithNames" : "JSONEachRow"}`,
          query_params: params,
          clickhouse_settings: {
            ...FLOW_QUERY_SETTINGS,
            output_format_json_quote_64bit_integers: 0,
          },
        });
        const counter = lineCounter((n) => {
          req.auditRows = Math.max(0, n - (csv ? 1 : 0));
        });
        // Rows are piped as ClickHouse produces them: nothing is buffered beyond the stream's
        // high-water marks, so memory stays flat however many rows match.
        reply
          .type(csv ? "text/csv; charset=utf-8" : "application/x-ndjson")
          .header("content-disposition", `attachment; filename="flows.${csv ? "csv" : "ndjson"}"`);
        return reply.send(res.stream.pipe(counter));
      }
      const { page, rows } = await queryFlowsPage(ch, q);
      const more = rows.length > page.limit;
      const items = rows.slice(0, page.limit);
      const last = items[items.length - 1];
      req.auditRows = items.length;
      return {
        items: items.map(flowFromRow),
        next:
          more && last
            ? encodeCursor({
                s: page.sort,
                o: page.order,
                v: sortValue(last, page.sort),
                id: last.id,
              })
            : null,
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/flows/:id",
    {
      config: { permission: "flows:read" },
      schema: {
        tags: ["flows"],
        summary:
          "One flagged flow with its evidence: transfer, matched entries, exposure path, exchange attribution",
        description:
          "`exchange` lists the exchange reports linked to the flow's transfer (same chain, transaction, " +
          "asset and parties): for an on-chain transfer, the deposits/withdrawals exchanges reported for it; " +
          "for a reported transfer, the on-chain transfer it describes.",
        params: {
          type: "object",
          properties: { id: { type: "string", minLength: 1, maxLength: 512 } },
          required: ["id"],
        },
        response: {
          200: {
            type: "object",
            properties: {
              flow: FlowSchema,
              path: { type: "array", items: { type: "string" } },
              evidence: { type: "object", additionalProperties: true },
              cases: { type: "array", items: { type: "string" } },
              exchange: { type: "array", items: ExchangeLinkSchema },
            },
          },
          ...problemResponses(401, 403, 404),
        },
      },
    },
    async (req) => {
      const rs = await ch.query({
        query: `SELECT ${FLOW_COLUMNS}, path_addresses AS path, path_json, entries, evidence, rule_id, rule_kind, categories
          FROM ${FLOWS_RELATION} WHERE id = {id:String} LIMIT 1`,
        query_params: { id: req.params.id },
        format: "JSONEachRow",
      });
      const rows = await rs.json<
        FlowRow & {
          path: string[];
          path_json: string;
          entries: string;
          evidence: string[];
          rule_id: string;
          rule_kind: string;
          categories: string[];
        }
      >();
      const r = rows[0];
      if (!r) throw notFound(`no flow ${req.params.id}`);
      req.auditRows = 1;
      const json = (s: string): unknown => {
        try {
          return JSON.parse(s);
        } catch {
          return s;
        }
      };
      // Evidence: the rule that fired, every matched list entry (as the tagger knew it), the
      // exposure path from the listed source (with the transfers that moved the funds), and the
      // other transfers that make up the finding (structuring windows).
      const evidence = {
        rule: { id: r.rule_id, kind: r.rule_kind },
        entries: json(r.entries),
        path: json(r.path_json),
        relatedTransfers: r.evidence,
        categories: r.categories,
      };
      const cs = await ch.query({
        query: "SELECT DISTINCT case_id FROM case_flags WHERE flag_id = {id:String}",
        query_params: { id: req.params.id },
        format: "JSONEachRow",
      });
      const cases = (await cs.json<{ case_id: string }>()).map((c) => c.case_id);
      const exchange = await exchangeLinksOf(ch, {
        chain: r.chain,
        txHash: r.tx_hash,
        transferId: r.transfer_id,
      });
      return { flow: flowFromRow(r), path: r.path, evidence, cases, exchange };
    },
  );
}
