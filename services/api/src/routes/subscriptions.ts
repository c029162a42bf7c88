import {
  type AlertsStore,
  createSubscription,
  type DeliveryQueues,
  deleteSubscription,
  getSubscription,
  listDeliveries,
  listSubscriptions,
  publicView,
  replayAlert,
  replayAlerts,
  rotateSecret,
  type SsrfPolicy,
  SubscriptionInput,
  SubscriptionPatch,
  updateSubscription,
} from "@chainscreen/alerts";
import type { Principal } from "@chainscreen/auth";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { parseTime } from "../flows-query.js";
import { badRequest, HttpProblem, notFound } from "../problem.js";
import { problemResponses } from "./schemas.js";

/** What the subscription and alert routes need (from @chainscreen/alerts and its store). */
export interface AlertsDeps {
  store: AlertsStore;
  /** Redelivery needs the BullMQ queues; without them redelivery answers 503. */
  queues?: DeliveryQueues;
  ssrf?: SsrfPolicy;
}

const jsonSchema = (s: z.ZodType) => {
  const j = z.toJSONSchema(s, { target: "openapi-3.0", io: "input" }) as Record<string, unknown>;
  delete j.$schema;
  return j;
};

const idParams = {
  type: "object",
  properties: { id: { type: "string", minLength: 1, maxLength: 128 } },
  required: ["id"],
} as const;

const tenantQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    tenantId: {
      type: "string",
      minLength: 1,
      maxLength: 128,
      description: "Admins only: act for this tenant",
    },
  },
} as const;

/**
 * The tenant a request acts for: its own; admins may name another with `tenantId`. A bank that
 * names another tenant gets 403.
 */
function actingTenant(req: FastifyRequest, p: Principal): string {
  const q = (req.query ?? {}) as { tenantId?: string };
  if (q.tenantId && q.tenantId !== p.tenantId) {
    if (p.role !== "admin")
      throw new HttpProblem(403, "forbidden", "only admins may act for another tenant");
    return q.tenantId;
  }
  return p.tenantId;
}

/** Subscriptions CRUD, alert history and redelivery for banks (their tenant) and admins. */
export async function subscriptionRoutes(app: FastifyInstance): Promise<void> {
  const need = (): AlertsDeps => {
    const a = app.deps.alerts;
    if (!a) throw new HttpProblem(503, "unavailable", "alerting is not configured on this server");
    return a;
  };
  const who = (req: FastifyRequest): Principal => {
    if (!req.principal) throw badRequest("no principal");
    return req.principal;
  };
  /** A subscription visible to the caller (admins: any tenant's); 404 otherwise. */
  const visible = async (req: FastifyRequest, id: string) => {
    const p = who(req);
    const a = need();
    const s =
      p.role === "admin"
        ? await a.store.getSubscription(id)
        : await getSubscription(a, p.tenantId, id);
    if (!s || s.deleted) throw notFound(`no subscription ${id}`);
    return s;
  };
  const parse = <T extends z.ZodType>(schema: T, body: unknown): z.output<T> => {
    const r = schema.safeParse(body);
    if (!r.success) {
      const errors = r.error.issues.map((i) => ({
        field: i.path.join(".") || "body",
        message: i.message,
      }));
      throw badRequest(
        `invalid subscription: ${errors.map((e) => `${e.field} ${e.message}`).join("; ")}`,
        errors,
      );
    }
    return r.data;
  };
  const tags = ["subscriptions"];
  const cfg = { permission: "subscriptions:manage" } as const;

  app.get(
    "/v1/subscriptions",
    {
      config: cfg,
      schema: {
        tags,
        summary: "The tenant's subscriptions",
        querystring: tenantQuery,
        response: problemResponses(401, 403, 503),
      },
    },
    async (req) => {
      const p = who(req);
      const items = await listSubscriptions(need(), actingTenant(req, p));
      req.auditRows = items.length;
      return { items };
    },
  );

  app.post(
    "/v1/subscriptions",
    {
      config: cfg,
      schema: {
        tags,
        summary: "Create a webhook subscription; the signing secret is returned once",
        querystring: tenantQuery,
        body: jsonSchema(SubscriptionInput),
        response: problemResponses(400, 401, 403, 503),
      },
    },
    async (req, reply) => {
      const p = who(req);
      const input = parse(SubscriptionInput, req.body);
      const out = await createSubscription(need(), actingTenant(req, p), input);
      req.auditAction = "subscription.create";
      req.auditRows = 1;
      return reply.code(201).send(out);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/subscriptions/:id",
    {
      config: cfg,
      schema: {
        tags,
        summary: "One subscription (404 for another tenant's)",
        params: idParams,
        response: problemResponses(401, 403, 404, 503),
      },
    },
    async (req) => publicView(await visible(req, req.params.id)),
  );

  app.patch<{ Params: { id: string } }>(
    "/v1/subscriptions/:id",
    {
      config: cfg,
      schema: {
        tags,
        summary: "Update a subscription",
        params: idParams,
        body: jsonSchema(SubscriptionPatch),
        response: problemResponses(400, 401, 403, 404, 503),
      },
    },
    async (req) => {
      const s = await visible(req, req.params.id);
      const patch = parse(SubscriptionPatch, req.body);
      req.auditAction = "subscription.update";
      return updateSubscription(need(), s.tenantId, s.id, patch);
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/v1/subscriptions/:id",
    {
      config: cfg,
      schema: {
        tags,
        summary: "Delete a subscription",
        params: idParams,
        response: problemResponses(401, 403, 404, 503),
      },
    },
    async (req, reply) => {
      const s = await visible(req, req.params.id);
      await deleteSubscription(need(), s.tenantId, s.id);
      req.auditAction = "subscription.delete";
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string }; Body: { overlapSec?: number } }>(
    "/v1/subscriptions/:id/rotate-secret",
    {
      config: cfg,
      schema: {
        tags,
        summary: "Add a new signing secret; old ones keep signing for overlapSec (default 24 h)",
        params: idParams,
        body: {
          type: "object",
          nullable: true,
          additionalProperties: false,
          properties: { overlapSec: { type: "integer", minimum: 0, maximum: 30 * 86_400 } },
        },
        response: problemResponses(400, 401, 403, 404, 503),
      },
    },
    async (req) => {
      const s = await visible(req, req.params.id);
      req.auditAction = "subscription.rotate_secret";
      return rotateSecret(need(), s.tenantId, s.id, { overlapSec: req.body?.overlapSec });
    },
  );

  const alertCfg = { permission: "alerts:read" } as const;
  const alertTags = ["alerts"];
  /** Tenant scope for alerts: banks their own; admins all (or one with tenantId). */
  const scopeOf = (req: FastifyRequest) => {
    const p = who(req);
    const q = (req.query ?? {}) as { tenantId?: string };
    if (p.role === "admin") return { tenantId: q.tenantId ?? null };
    if (q.tenantId && q.tenantId !== p.tenantId)
      throw new HttpProblem(403, "forbidden", "only admins may act for another tenant");
    return { tenantId: p.tenantId };
  };

  app.get<{
    Querystring: {
      from?: string;
      to?: string;
      subscriptionId?: string;
      limit?: number;
      tenantId?: string;
    };
  }>(
    "/v1/alerts",
    {
      config: alertCfg,
      schema: {
        tags: alertTags,
        summary: "Alert history of the tenant",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            from: { type: "string" },
            to: { type: "string" },
            subscriptionId: { type: "string", maxLength: 128 },
            limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
            tenantId: { type: "string", maxLength: 128 },
          },
        },
        response: problemResponses(400, 401, 403, 503),
      },
    },
    async (req) => {
      const scope = scopeOf(req);
      const from = req.query.from ? parseTime("from", req.query.from) : 0;
      const to = req.query.to ? parseTime("to", req.query.to) : Date.now() + 86_400_000;
      const items = await need().store.findAlerts({
        from,
        to,
        limit: req.query.limit ?? 100,
        ...(scope.tenantId !== null ? { tenantId: scope.tenantId } : {}),
        ...(req.query.subscriptionId ? { subscriptionId: req.query.subscriptionId } : {}),
      });
      req.auditRows = items.length;
      return { items };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { tenantId?: string } }>(
    "/v1/alerts/:id",
    {
      config: alertCfg,
      schema: {
        tags: alertTags,
        summary: "One alert with its delivery attempts (404 for another tenant's)",
        params: idParams,
        querystring: tenantQuery,
        response: problemResponses(401, 403, 404, 503),
      },
    },
    async (req) => {
      const scope = scopeOf(req);
      const a = need();
      const alert = await a.store.getAlert(req.params.id);
      if (!alert || (scope.tenantId !== null && alert.tenantId !== scope.tenantId))
        throw notFound(`no alert ${req.params.id}`);
      const deliveries = await listDeliveries(a.store, scope, { alertId: alert.id, limit: 100 });
      return { alert, deliveries };
    },
  );

  app.post<{ Params: { id: string }; Querystring: { tenantId?: string } }>(
    "/v1/alerts/:id/redeliver",
    {
      config: alertCfg,
      schema: {
        tags: alertTags,
        summary: "Deliver an alert again (same event id)",
        params: idParams,
        querystring: tenantQuery,
        response: problemResponses(401, 403, 404, 503),
      },
    },
    async (req, reply) => {
      const scope = scopeOf(req);
      const a = need();
      if (!a.queues)
        throw new HttpProblem(
          503,
          "unavailable",
          "redelivery is not configured (no queue connection)",
        );
      const alert = await a.store.getAlert(req.params.id);
      if (!alert || (scope.tenantId !== null && alert.tenantId !== scope.tenantId))
        throw notFound(`no alert ${req.params.id}`);
      const deliveryId = await replayAlert({ store: a.store, queues: a.queues }, scope, alert.id);
      req.auditAction = "alert.redeliver";
      return reply.code(202).send({ deliveryId });
    },
  );

  app.post<{
    Body: { from: string; to: string; subscriptionId?: string; deadOnly?: boolean };
    Querystring: { tenantId?: string };
  }>(
    "/v1/alerts/redeliver",
    {
      config: alertCfg,
      schema: {
        tags: alertTags,
        summary: "Deliver every alert of a time range again",
        querystring: tenantQuery,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["from", "to"],
          properties: {
            from: { type: "string" },
            to: { type: "string" },
            subscriptionId: { type: "string", maxLength: 128 },
            deadOnly: { type: "boolean", default: false },
          },
        },
        response: problemResponses(400, 401, 403, 503),
      },
    },
    async (req, reply) => {
      const scope = scopeOf(req);
      const a = need();
      if (!a.queues)
        throw new HttpProblem(
          503,
          "unavailable",
          "redelivery is not configured (no queue connection)",
        );
      const from = parseTime("from", req.body.from);
      const to = parseTime("to", req.body.to);
      if (!(from < to))
        throw badRequest("to must be after from", [{ field: "to", message: "before from" }]);
      if (req.body.subscriptionId) await visible(req, req.body.subscriptionId);
      const r = await replayAlerts({ store: a.store, queues: a.queues }, scope, {
        from,
        to,
        ...(req.body.subscriptionId ? { subscriptionId: req.body.subscriptionId } : {}),
        deadOnly: req.body.deadOnly ?? false,
      });
      req.auditAction = "alert.redeliver_range";
      req.auditRows = r.enqueued;
      return reply.code(202).send(r);
    },
  );
}
