import { ClickHouseError } from "@clickhouse/client";
import type { FastifyInstance } from "fastify";
import { badRequest, HttpProblem } from "../problem.js";
import { checkSql } from "../sql-guard.js";
import { lineCounter } from "../stream-util.js";
import { problemResponses } from "./schemas.js";

const FORMATS = {
  ndjson: { ch: "JSONEachRow", type: "application/x-ndjson", header: 0 },
  json: { ch: "JSON", type: "application/json", header: 0 },
  csv: { ch: "CSVWithNames", type: "text/csv; charset=utf-8", header: 1 },
} as const;

/** POST /v1/sql: read-only analyst SQL, streamed, limited and audited. */
export async function sqlRoutes(app: FastifyInstance): Promise<void> {
  app.post<{ Body: { query: string; format?: keyof typeof FORMATS } }>(
    "/v1/sql",
    {
      config: { permission: "sql:run" },
      schema: {
        tags: ["analysts"],
        summary: "Run read-only SQL; the result streams as NDJSON, JSON or CSV",
        description:
          "Runs as the read-only ClickHouse user with `max_execution_time` and `max_result_rows` limits. " +
          "One statement only (SELECT/WITH/SHOW/DESCRIBE/EXPLAIN/EXISTS); writes, SETTINGS/FORMAT clauses and table " +
          "functions that reach files, URLs, other servers or programs are refused with 400. Every query is audited.",
        body: {
          type: "object",
          additionalProperties: false,
          required: ["query"],
          properties: {
            query: { type: "string", minLength: 1, maxLength: 100_000 },
            format: { type: "string", enum: Object.keys(FORMATS), default: "ndjson" },
          },
        },
        response: {
          200: {
            description: "Result rows",
            content: {
              "application/x-ndjson": { schema: { type: "string" } },
              "application/json": { schema: { type: "string" } },
              "text/csv": { schema: { type: "string" } },
            },
          },
          ...problemResponses(400, 401, 403, 429),
        },
      },
    },
    async (req, reply) => {
      // Audited as "sql" whether it runs or is refused.
      req.auditAction = "sql";
      const check = checkSql(req.body.query);
      if (!check.ok)
        throw badRequest(`query refused: ${check.reason}`, [
          { field: "query", message: check.reason },
        ]);
      const fmt = FORMATS[req.body.format ?? "ndjson"];
      let res: Awaited<ReturnType<typeof app.deps.chSql.exec>>;
      try {
        res = await app.deps.chSql.exec({
          query: `${check.sql}\nFORMAT ${fmt.ch}`,
          // Limits (execution time, result rows/bytes, threads) belong to the read-only user's
          // profile, which a readonly=1 user cannot change per query; extra settings are only
          // sent when configured (a server profile with readonly=2 accepts them).
          ...(app.opts.sqlSettings ? { clickhouse_settings: app.opts.sqlSettings } : {}),
        });
      } catch (err) {
        if (err instanceof ClickHouseError) {
          // ClickHouse explains what is wrong (syntax, unknown table, not allowed for readonly).
          const msg = err.message.replace(/\s*\(version [^)]*\)\s*$/, "");
          const status = ["READONLY", "ACCESS_DENIED", "NOT_ENOUGH_PRIVILEGES"].includes(
            err.type ?? "",
          )
            ? 403
            : 400;
          throw new HttpProblem(status, status === 403 ? "forbidden" : "invalid-query", msg, {
            clickhouseCode: err.code,
            clickhouseType: err.type,
          });
        }
        throw err;
      }
      const counter = lineCounter((n) => {
        req.auditRows = Math.max(0, n - fmt.header);
      });
      reply.type(fmt.type);
      return reply.send(res.stream.pipe(counter));
    },
  );
}
