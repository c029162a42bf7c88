import { randomUUID } from "node:crypto";
import { tenantScope } from "@chainscreen/auth";
import type { FastifyInstance } from "fastify";
import { BatchInserter } from "../batch-insert.js";
import { chTime } from "../ch.js";
import { parseTime } from "../flows-query.js";
import { badRequest, notFound } from "../problem.js";
import { normalizeAddress } from "../screening.js";
import { matchOut } from "./addresses.js";
import { iso, MatchSchema, problemResponses } from "./schemas.js";

interface ScreenBody {
  addresses: (string | { address: string; chain?: string })[];
  chain?: string;
  at?: string;
}

/** Where screenings are recorded per tenant (migration 101). */
const SCREENINGS = "api_screenings";

/** A row of {@link SCREENINGS} as inserted (times as DateTime64 text). */
interface ScreeningRow {
  id: string;
  tenant_id: string;
  key_id: string;
  at: string;
  screened_at: string;
  addresses: number;
  hits: number;
  invalid: number;
  hit_addresses: string[];
}

/** POST /v1/screen (batch screening against the in-memory matcher) and screening history. */
export async function screenRoutes(app: FastifyInstance): Promise<void> {
  const { watchlist, ch, log } = app.deps;
  // One INSERT per batch of screenings, not per request (see BatchInserter); flushed on close.
  const screenings = new BatchInserter<ScreeningRow>(ch, log, { table: SCREENINGS });
  app.addHook("onClose", () => screenings.close());

  app.post<{ Body: ScreenBody }>(
    "/v1/screen",
    {
      config: { permission: "screen" },
      schema: {
        tags: ["screening"],
        summary: "Screen up to thousands of addresses in one call; one result per address",
        description:
          "Each address is normalised (per chain when given, else by its shape) and looked up in the " +
          "in-memory watchlist at `at` (default now). Invalid addresses get `valid: false` and an error, " +
          "they do not fail the batch. The screening is recorded for the caller's tenant.",
        body: {
          type: "object",
          additionalProperties: false,
          required: ["addresses"],
          properties: {
            addresses: {
              type: "array",
              minItems: 1,
              maxItems: app.opts.screenMaxAddresses,
              items: {
                anyOf: [
                  { type: "string", minLength: 1, maxLength: 128 },
                  {
                    type: "object",
                    additionalProperties: false,
                    required: ["address"],
                    properties: {
                      address: { type: "string", minLength: 1, maxLength: 128 },
                      chain: { type: "string", minLength: 1, maxLength: 32 },
                    },
                  },
                ],
              },
            },
            chain: {
              type: "string",
              minLength: 1,
              maxLength: 32,
              description: "Default chain for plain strings",
            },
            at: { type: "string", description: "Point in time (ISO 8601 or Unix ms); default now" },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              screeningId: { type: "string" },
              at: { type: "string", format: "date-time" },
              screened: { type: "integer" },
              hits: { type: "integer" },
              invalid: { type: "integer" },
              results: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    input: { type: "string" },
                    chain: { type: "string", nullable: true },
                    family: { type: "string", nullable: true },
                    address: { type: "string", nullable: true },
                    valid: { type: "boolean" },
                    error: { type: "string" },
                    listed: { type: "boolean" },
                    matches: { type: "array", items: MatchSchema },
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
      const p = req.principal;
      if (!p) throw badRequest("no principal");
      const at = req.body.at === undefined ? Date.now() : parseTime("at", req.body.at);
      let hits = 0;
      let invalid = 0;
      const hitAddresses: string[] = [];
      const results = req.body.addresses.map((item) => {
        const input = typeof item === "string" ? item : item.address;
        const chain = typeof item === "string" ? req.body.chain : (item.chain ?? req.body.chain);
        const n = normalizeAddress(chain, input);
        if (!n.ok) {
          invalid++;
          return {
            input,
            chain: chain ?? null,
            family: null,
            address: null,
            valid: false,
            error: n.error,
            listed: false,
            matches: [],
          };
        }
        const m = watchlist.lookup(n.family, n.address, at);
        if (m.length > 0) {
          hits++;
          hitAddresses.push(n.address);
        }
        return {
          input,
          chain: chain ?? null,
          family: n.family,
          address: n.address,
          valid: true,
          listed: m.length > 0,
          matches: m.map(matchOut),
        };
      });
      const screeningId = randomUUID();
      // Recorded asynchronously and in batches: the answer does not wait for the store.
      screenings.write({
        id: screeningId,
        tenant_id: p.tenantId,
        key_id: p.keyId,
        at: chTime(Date.now()),
        screened_at: chTime(at),
        addresses: results.length,
        hits,
        invalid,
        hit_addresses: hitAddresses.slice(0, 10_000),
      });
      req.auditRows = results.length;
      return {
        screeningId,
        at: new Date(at).toISOString(),
        screened: results.length,
        hits,
        invalid,
        results,
      };
    },
  );

  const ScreeningSchema = {
    type: "object",
    properties: {
      id: { type: "string" },
      tenantId: { type: "string" },
      at: { type: "string", format: "date-time" },
      screenedAt: { type: "string", format: "date-time" },
      addresses: { type: "integer" },
      hits: { type: "integer" },
      invalid: { type: "integer" },
      hitAddresses: { type: "array", items: { type: "string" } },
    },
  } as const;
  /** A row as read back by `cols` (times as Unix milliseconds, no key id). */
  type Row = Omit<ScreeningRow, "key_id">;
  const out = (r: Row) => ({
    id: r.id,
    tenantId: r.tenant_id,
    at: iso(Number(r.at)),
    screenedAt: iso(Number(r.screened_at)),
    addresses: Number(r.addresses),
    hits: Number(r.hits),
    invalid: Number(r.invalid),
    hitAddresses: r.hit_addresses,
  });
  const cols =
    "id, tenant_id, toUnixTimestamp64Milli(at) AS at, toUnixTimestamp64Milli(screened_at) AS screened_at, addresses, hits, invalid, hit_addresses";

  app.get<{ Querystring: { limit?: number } }>(
    "/v1/screenings",
    {
      config: { permission: "screen" },
      schema: {
        tags: ["screening"],
        summary: "Past screenings of the caller's tenant (admins and regulators: all tenants)",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 } },
        },
        response: {
          200: { type: "object", properties: { items: { type: "array", items: ScreeningSchema } } },
          ...problemResponses(400, 401, 403),
        },
      },
    },
    async (req) => {
      const p = req.principal;
      const scope = p ? tenantScope(p) : null;
      const rs = await ch.query({
        query: `SELECT ${cols} FROM ${SCREENINGS} WHERE ({t:String} = '' OR tenant_id = {t:String}) ORDER BY at DESC LIMIT {lim:UInt32}`,
        query_params: { t: scope ?? "", lim: req.query.limit ?? 100 },
        format: "JSONEachRow",
      });
      const rows = await rs.json<Row>();
      req.auditRows = rows.length;
      return { items: rows.map(out) };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/screenings/:id",
    {
      config: { permission: "screen" },
      schema: {
        tags: ["screening"],
        summary: "One screening (404 for another tenant's)",
        params: {
          type: "object",
          properties: { id: { type: "string", maxLength: 64 } },
          required: ["id"],
        },
        response: { 200: ScreeningSchema, ...problemResponses(401, 403, 404) },
      },
    },
    async (req) => {
      const p = req.principal;
      const scope = p ? tenantScope(p) : null;
      const rs = await ch.query({
        query: `SELECT ${cols} FROM ${SCREENINGS} WHERE id = {id:String} AND ({t:String} = '' OR tenant_id = {t:String}) LIMIT 1`,
        query_params: { id: req.params.id, t: scope ?? "" },
        format: "JSONEachRow",
      });
      const r = (await rs.json<Row>())[0];
      if (!r) throw notFound(`no screening ${req.params.id}`);
      req.auditRows = 1;
      return out(r);
    },
  );
}
