import { type ApiKeyRecord, generateApiKey, Roles, revokeKey } from "@chainscreen/auth";
import type { FastifyInstance } from "fastify";
import { notFound } from "../problem.js";
import { problemResponses } from "./schemas.js";

const KeySchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    tenantId: { type: "string" },
    role: { type: "string", enum: [...Roles] },
    name: { type: "string" },
    createdAt: { type: "string", format: "date-time" },
    revokedAt: { type: "string", format: "date-time", nullable: true },
    rateLimitPerMinute: { type: "integer", nullable: true },
  },
} as const;

/** A key record without its hash. */
function keyOut(r: ApiKeyRecord) {
  return {
    id: r.id,
    tenantId: r.tenantId,
    role: r.role,
    name: r.name,
    createdAt: new Date(r.createdAt).toISOString(),
    revokedAt: r.revokedAt === null ? null : new Date(r.revokedAt).toISOString(),
    rateLimitPerMinute: r.rateLimitPerMinute,
  };
}

/** API key administration (admins): create (the key is shown once), list, revoke. */
export async function keyRoutes(app: FastifyInstance): Promise<void> {
  const { keys } = app.deps;
  const cfg = { permission: "keys:manage" } as const;
  const tags = ["keys"];

  app.post<{
    Body: {
      tenantId: string;
      role: (typeof Roles)[number];
      name: string;
      rateLimitPerMinute?: number;
    };
  }>(
    "/v1/keys",
    {
      config: cfg,
      schema: {
        tags,
        summary: "Create an API key; the key is returned once and stored only as a hash",
        body: {
          type: "object",
          additionalProperties: false,
          required: ["tenantId", "role", "name"],
          properties: {
            tenantId: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$" },
            role: { type: "string", enum: [...Roles] },
            name: { type: "string", minLength: 1, maxLength: 200 },
            rateLimitPerMinute: { type: "integer", minimum: 1, maximum: 1_000_000 },
          },
        },
        response: {
          201: { type: "object", properties: { key: { type: "string" }, record: KeySchema } },
          ...problemResponses(400, 401, 403),
        },
      },
    },
    async (req, reply) => {
      const g = generateApiKey({
        tenantId: req.body.tenantId,
        role: req.body.role,
        name: req.body.name,
        rateLimitPerMinute: req.body.rateLimitPerMinute ?? null,
      });
      await keys.put(g.record);
      req.auditAction = "key.create";
      req.auditRows = 1;
      return reply.code(201).send({ key: g.key, record: keyOut(g.record) });
    },
  );

  app.get<{ Querystring: { tenantId?: string } }>(
    "/v1/keys",
    {
      config: cfg,
      schema: {
        tags,
        summary: "List keys (never their secrets)",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { tenantId: { type: "string", maxLength: 128 } },
        },
        response: {
          200: { type: "object", properties: { items: { type: "array", items: KeySchema } } },
          ...problemResponses(401, 403),
        },
      },
    },
    async (req) => {
      const items = await keys.list(
        req.query.tenantId ? { tenantId: req.query.tenantId } : undefined,
      );
      return { items: items.map(keyOut) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/v1/keys/:id",
    {
      config: cfg,
      schema: {
        tags,
        summary:
          "Revoke a key (effective at once on this instance, within the key cache TTL elsewhere)",
        params: {
          type: "object",
          properties: { id: { type: "string", pattern: "^[0-9a-f]{16}$" } },
          required: ["id"],
        },
        response: {
          204: { type: "null", description: "Revoked" },
          ...problemResponses(401, 403, 404),
        },
      },
    },
    async (req, reply) => {
      if (!(await revokeKey(keys, req.params.id))) throw notFound(`no key ${req.params.id}`);
      app.verifier.invalidate(req.params.id);
      req.auditAction = "key.revoke";
      req.auditRows = 1;
      return reply.code(204).send();
    },
  );
}
