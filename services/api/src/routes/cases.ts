import { randomUUID } from "node:crypto";
import { tenantScope } from "@chainscreen/auth";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { chTime } from "../ch.js";
import { badRequest, notFound } from "../problem.js";
import { problemResponses } from "./schemas.js";

/** Case statuses. */
export const CASE_STATUSES = [
  "open",
  "escalated",
  "closed_false_positive",
  "closed_reported",
] as const;
type CaseStatus = (typeof CASE_STATUSES)[number];

interface CaseRow {
  id: string;
  tenant_id: string;
  title: string;
  status: string;
  assignee: string;
  flag_ids: string[];
  addresses: string[];
  notes: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  version: string;
}

const CASE_COLS = `id, tenant_id, title, status, assignee, flag_ids, addresses, notes, created_by,
  toUnixTimestamp64Milli(created_at) AS created_at, toUnixTimestamp64Milli(updated_at) AS updated_at, version`;

const CaseSchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    tenantId: { type: "string" },
    title: { type: "string" },
    status: { type: "string", enum: [...CASE_STATUSES] },
    assignee: { type: "string" },
    flagIds: { type: "array", items: { type: "string" } },
    addresses: { type: "array", items: { type: "string" } },
    createdBy: { type: "string" },
    createdAt: { type: "string", format: "date-time" },
    updatedAt: { type: "string", format: "date-time" },
  },
} as const;

const EventSchema = {
  type: "object",
  properties: {
    at: { type: "string", format: "date-time" },
    actor: { type: "string" },
    kind: { type: "string" },
    status: { type: "string" },
    body: { type: "string" },
  },
} as const;

function caseOut(r: CaseRow) {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    title: r.title,
    status: r.status,
    assignee: r.assignee,
    flagIds: r.flag_ids,
    addresses: r.addresses,
    createdBy: r.created_by,
    createdAt: new Date(Number(r.created_at)).toISOString(),
    updatedAt: new Date(Number(r.updated_at)).toISOString(),
  };
}

let lastVersion = 0;
/** Strictly increasing version for ReplacingMergeTree rows written by this process. */
function nextVersion(): number {
  lastVersion = Math.max(lastVersion + 1, Date.now() * 1000);
  return lastVersion;
}

const idParams = {
  type: "object",
  properties: { id: { type: "string", minLength: 1, maxLength: 64 } },
  required: ["id"],
} as const;

/**
 * Cases: group flags, comment, move through open → escalated → closed (false positive |
 * reported). Every change is a `case_events` row and an audit row. Closing as a false positive
 * can record suppressions (`fp_suppressions`) for each flag's address pair, which the tagger
 * loads so identical findings are not raised again.
 */
export async function caseRoutes(app: FastifyInstance): Promise<void> {
  const { ch } = app.deps;

  const load = async (req: FastifyRequest, id: string): Promise<CaseRow> => {
    const p = req.principal;
    const scope = p ? tenantScope(p) : null;
    const rs = await ch.query({
      query: `SELECT ${CASE_COLS} FROM cases FINAL WHERE id = {id:String} AND ({t:String} = '' OR tenant_id = {t:String}) LIMIT 1`,
      query_params: { id, t: scope ?? "" },
      format: "JSONEachRow",
    });
    const r = (await rs.json<CaseRow>())[0];
    // Another tenant's case is indistinguishable from a missing one.
    if (!r) throw notFound(`no case ${id}`);
    return r;
  };

  const save = async (
    r: Omit<CaseRow, "version" | "created_at" | "updated_at"> & { created_at: number },
  ) => {
    await ch.insert({
      table: "cases",
      format: "JSONEachRow",
      values: [
        {
          ...r,
          created_at: chTime(r.created_at),
          updated_at: chTime(Date.now()),
          version: nextVersion(),
          deleted: 0,
        },
      ],
    });
  };

  const event = async (
    c: { id: string; tenant_id: string },
    actor: string,
    kind: string,
    status: string,
    body: string,
  ) => {
    await ch.insert({
      table: "case_events",
      format: "JSONEachRow",
      values: [
        {
          case_id: c.id,
          tenant_id: c.tenant_id,
          at: chTime(Date.now()),
          actor,
          kind,
          status,
          body,
        },
      ],
    });
  };

  /** Flags that exist (flag id → addresses), so a case never references unknown flags. */
  const flagFacts = async (ids: string[]) => {
    if (ids.length === 0)
      return new Map<
        string,
        {
          listed: string;
          counterparty: string;
          family: string;
          rule: string;
          senders: string[];
          to: string;
        }
      >();
    const rs = await ch.query({
      query: `SELECT toString(id) AS id, address, counterparty, family, rule_kind, senders, ifNull(to_address, '') AS to_address
              FROM flags FINAL WHERE id IN {ids:Array(String)}`,
      query_params: { ids },
      format: "JSONEachRow",
    });
    const rows = await rs.json<{
      id: string;
      address: string | null;
      counterparty: string | null;
      family: string;
      rule_kind: string;
      senders: string[];
      to_address: string;
    }>();
    return new Map(
      rows.map((r) => [
        r.id,
        {
          listed: r.address ?? "",
          counterparty: r.counterparty ?? "",
          family: r.family,
          rule: r.rule_kind,
          senders: r.senders,
          to: r.to_address,
        },
      ]),
    );
  };

  const addFlags = async (
    c: CaseRow | { id: string; tenant_id: string },
    ids: string[],
    actor: string,
  ) => {
    const facts = await flagFacts(ids);
    const unknown = ids.filter((i) => !facts.has(i));
    if (unknown.length > 0) {
      throw badRequest(
        `unknown flag ids: ${unknown.slice(0, 10).join(", ")}`,
        unknown.slice(0, 10).map((u) => ({ field: "flagIds", message: `unknown flag ${u}` })),
      );
    }
    if (ids.length > 0) {
      await ch.insert({
        table: "case_flags",
        format: "JSONEachRow",
        values: ids.map((f) => ({
          case_id: c.id,
          tenant_id: c.tenant_id,
          flag_id: f,
          added_at: chTime(Date.now()),
          added_by: actor,
        })),
      });
    }
    const addrs = new Set<string>();
    for (const f of facts.values()) {
      if (f.listed) addrs.add(f.listed);
      if (f.counterparty) addrs.add(f.counterparty);
    }
    return { facts, addresses: [...addrs] };
  };

  app.post<{ Body: { title: string; flagIds?: string[]; assignee?: string; comment?: string } }>(
    "/v1/cases",
    {
      config: { permission: "cases:write" },
      schema: {
        tags: ["cases"],
        summary: "Open a case, optionally with flags",
        body: {
          type: "object",
          additionalProperties: false,
          required: ["title"],
          properties: {
            title: { type: "string", minLength: 1, maxLength: 500 },
            flagIds: {
              type: "array",
              items: { type: "string", minLength: 1, maxLength: 64 },
              maxItems: 10_000,
            },
            assignee: { type: "string", maxLength: 200 },
            comment: { type: "string", maxLength: 20_000 },
          },
        },
        response: { 201: CaseSchema, ...problemResponses(400, 401, 403) },
      },
    },
    async (req, reply) => {
      const p = req.principal;
      if (!p) throw badRequest("no principal");
      const id = `case_${randomUUID().replaceAll("-", "").slice(0, 20)}`;
      const flagIds = [...new Set(req.body.flagIds ?? [])];
      const base = { id, tenant_id: p.tenantId };
      const { addresses } = await addFlags(base, flagIds, p.keyId);
      const now = Date.now();
      const row = {
        id,
        tenant_id: p.tenantId,
        title: req.body.title,
        status: "open",
        assignee: req.body.assignee ?? "",
        flag_ids: flagIds,
        addresses,
        notes: "",
        created_by: p.keyId,
        created_at: now,
      };
      await save(row);
      await event(
        base,
        p.keyId,
        "created",
        "open",
        JSON.stringify({ title: req.body.title, flagIds }),
      );
      if (req.body.comment) await event(base, p.keyId, "comment", "", req.body.comment);
      req.auditAction = "case.create";
      req.auditRows = 1;
      return reply
        .code(201)
        .send(caseOut({ ...row, created_at: String(now), updated_at: String(now), version: "0" }));
    },
  );

  app.get<{ Querystring: { status?: CaseStatus; limit?: number } }>(
    "/v1/cases",
    {
      config: { permission: "cases:read" },
      schema: {
        tags: ["cases"],
        summary: "Cases of the caller's tenant (regulators and admins: all)",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            status: { type: "string", enum: [...CASE_STATUSES] },
            limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
          },
        },
        response: {
          200: { type: "object", properties: { items: { type: "array", items: CaseSchema } } },
          ...problemResponses(400, 401, 403),
        },
      },
    },
    async (req) => {
      const p = req.principal;
      const scope = p ? tenantScope(p) : null;
      const rs = await ch.query({
        query: `SELECT ${CASE_COLS} FROM cases FINAL
                WHERE ({t:String} = '' OR tenant_id = {t:String}) AND ({s:String} = '' OR status = {s:String})
                ORDER BY updated_at DESC LIMIT {lim:UInt32}`,
        query_params: { t: scope ?? "", s: req.query.status ?? "", lim: req.query.limit ?? 100 },
        format: "JSONEachRow",
      });
      const rows = await rs.json<CaseRow>();
      req.auditRows = rows.length;
      return { items: rows.map(caseOut) };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/cases/:id",
    {
      config: { permission: "cases:read" },
      schema: {
        tags: ["cases"],
        summary: "A case with its history (404 for another tenant's)",
        params: idParams,
        response: {
          200: {
            type: "object",
            properties: { case: CaseSchema, events: { type: "array", items: EventSchema } },
          },
          ...problemResponses(401, 403, 404),
        },
      },
    },
    async (req) => {
      const c = await load(req, req.params.id);
      const rs = await ch.query({
        query: `SELECT toUnixTimestamp64Milli(at) AS at, actor, kind, status, body FROM case_events
                WHERE case_id = {id:String} AND tenant_id = {t:String} ORDER BY at, kind`,
        query_params: { id: c.id, t: c.tenant_id },
        format: "JSONEachRow",
      });
      const events = (
        await rs.json<{ at: string; actor: string; kind: string; status: string; body: string }>()
      ).map((e) => ({
        ...e,
        at: new Date(Number(e.at)).toISOString(),
      }));
      req.auditRows = 1;
      return { case: caseOut(c), events };
    },
  );

  app.post<{ Params: { id: string }; Body: { flagIds: string[] } }>(
    "/v1/cases/:id/flags",
    {
      config: { permission: "cases:write" },
      schema: {
        tags: ["cases"],
        summary: "Add flags to a case",
        params: idParams,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["flagIds"],
          properties: {
            flagIds: {
              type: "array",
              minItems: 1,
              maxItems: 10_000,
              items: { type: "string", minLength: 1, maxLength: 64 },
            },
          },
        },
        response: { 200: CaseSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const p = req.principal;
      if (!p) throw badRequest("no principal");
      const c = await load(req, req.params.id);
      const fresh = [...new Set(req.body.flagIds)].filter((f) => !c.flag_ids.includes(f));
      const { addresses } = await addFlags(c, fresh, p.keyId);
      const next = {
        ...c,
        flag_ids: [...c.flag_ids, ...fresh],
        addresses: [...new Set([...c.addresses, ...addresses])],
        created_at: Number(c.created_at),
      };
      await save(next);
      await event(c, p.keyId, "flags_added", "", JSON.stringify({ flagIds: fresh }));
      req.auditAction = "case.flags";
      req.auditRows = fresh.length;
      return caseOut({ ...next, created_at: c.created_at, updated_at: String(Date.now()) });
    },
  );

  app.post<{ Params: { id: string }; Body: { body: string } }>(
    "/v1/cases/:id/comments",
    {
      config: { permission: "cases:write" },
      schema: {
        tags: ["cases"],
        summary: "Comment on a case",
        params: idParams,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["body"],
          properties: { body: { type: "string", minLength: 1, maxLength: 20_000 } },
        },
        response: { 201: EventSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      const p = req.principal;
      if (!p) throw badRequest("no principal");
      const c = await load(req, req.params.id);
      await event(c, p.keyId, "comment", "", req.body.body);
      req.auditAction = "case.comment";
      req.auditRows = 1;
      return reply.code(201).send({
        at: new Date().toISOString(),
        actor: p.keyId,
        kind: "comment",
        status: "",
        body: req.body.body,
      });
    },
  );

  app.patch<{
    Params: { id: string };
    Body: {
      status?: CaseStatus;
      assignee?: string;
      comment?: string;
      suppress?: boolean;
      suppressDays?: number;
      suppressRuleOnly?: boolean;
    };
  }>(
    "/v1/cases/:id",
    {
      config: { permission: "cases:write" },
      schema: {
        tags: ["cases"],
        summary:
          "Change status or assignee; closing as false positive can suppress identical future flags",
        description:
          "With `status: closed_false_positive` and `suppress` (default true) each flag's address pair (listed or " +
          "matched address, counterparty) is written to `fp_suppressions` — for `suppressDays` (default: no end) " +
          "and, with `suppressRuleOnly`, only for the flag's rule kind. The tagger loads active suppressions and " +
          "does not raise those findings again.",
        params: idParams,
        body: {
          type: "object",
          additionalProperties: false,
          minProperties: 1,
          properties: {
            status: { type: "string", enum: [...CASE_STATUSES] },
            assignee: { type: "string", maxLength: 200 },
            comment: { type: "string", maxLength: 20_000 },
            suppress: { type: "boolean", default: true },
            suppressDays: { type: "integer", minimum: 1, maximum: 36_500 },
            suppressRuleOnly: { type: "boolean", default: false },
          },
        },
        response: {
          200: {
            type: "object",
            properties: { case: CaseSchema, suppressions: { type: "integer" } },
          },
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (req) => {
      const p = req.principal;
      if (!p) throw badRequest("no principal");
      const c = await load(req, req.params.id);
      const b = req.body;
      const next = {
        ...c,
        status: b.status ?? c.status,
        assignee: b.assignee ?? c.assignee,
        created_at: Number(c.created_at),
      };
      await save(next);
      if (b.status && b.status !== c.status)
        await event(
          c,
          p.keyId,
          "status",
          b.status,
          JSON.stringify({ from: c.status, to: b.status }),
        );
      if (b.assignee !== undefined && b.assignee !== c.assignee)
        await event(c, p.keyId, "assignee", "", b.assignee);
      if (b.comment) await event(c, p.keyId, "comment", "", b.comment);
      let suppressions = 0;
      if (b.status === "closed_false_positive" && b.suppress !== false && c.flag_ids.length > 0) {
        const facts = await flagFacts(c.flag_ids);
        const until = b.suppressDays ? Date.now() + b.suppressDays * 86_400_000 : null;
        const rows = [];
        const seen = new Set<string>();
        for (const f of facts.values()) {
          const a = f.listed || f.senders[0] || "";
          const other = f.counterparty || (a === f.to ? (f.senders[0] ?? "") : f.to);
          if (!a) continue;
          const key = `${f.family}|${a}|${other}|${b.suppressRuleOnly ? f.rule : ""}`;
          if (seen.has(key)) continue;
          seen.add(key);
          rows.push({
            id: `fp_${randomUUID().replaceAll("-", "").slice(0, 20)}`,
            tenant_id: c.tenant_id,
            case_id: c.id,
            family: f.family,
            a,
            b: other || null,
            rule: b.suppressRuleOnly ? f.rule : null,
            until: until === null ? null : chTime(until),
            reason: `case ${c.id} closed as false positive`,
            created_by: p.keyId,
            created_at: chTime(Date.now()),
            version: nextVersion(),
            deleted: 0,
          });
        }
        if (rows.length > 0)
          await ch.insert({ table: "fp_suppressions", format: "JSONEachRow", values: rows });
        suppressions = rows.length;
      }
      req.auditAction = "case.update";
      req.auditRows = 1;
      return {
        case: caseOut({ ...next, created_at: c.created_at, updated_at: String(Date.now()) }),
        suppressions,
      };
    },
  );

  app.get(
    "/v1/suppressions",
    {
      config: { permission: "cases:read" },
      schema: {
        tags: ["cases"],
        summary: "Active false-positive suppressions, in the tagger's Suppression shape",
        response: {
          200: {
            type: "array",
            items: {
              type: "object",
              properties: {
                family: { type: "string" },
                a: { type: "string" },
                b: { type: "string", nullable: true },
                rule: { type: "string", nullable: true },
                until: { type: "integer", nullable: true },
                reason: { type: "string" },
              },
            },
          },
          ...problemResponses(401, 403),
        },
      },
    },
    async (req) => {
      const rs = await ch.query({
        query: `SELECT family, a, b, rule, if(isNull(until), NULL, toUnixTimestamp64Milli(assumeNotNull(until))) AS until, reason
                FROM fp_suppressions FINAL WHERE until IS NULL OR until > now64(3) ORDER BY family, a`,
        format: "JSONEachRow",
      });
      const rows = await rs.json<{
        family: string;
        a: string;
        b: string | null;
        rule: string | null;
        until: string | null;
        reason: string;
      }>();
      req.auditRows = rows.length;
      return rows.map((r) => ({ ...r, until: r.until === null ? null : Number(r.until) }));
    },
  );
}
