import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  type ApiKeyStore,
  AuditedRoles,
  can,
  KeyVerifier,
  type Permission,
  type Principal,
} from "@chainscreen/auth";
import type { Logger } from "@chainscreen/logger";
import type { ClickHouseClient } from "@clickhouse/client";
import rateLimit from "@fastify/rate-limit";
import fastifyStatic from "@fastify/static";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from "fastify";
import type { Redis } from "ioredis";
import type { AuditSink } from "./audit.js";
import { HttpProblem, ProblemSchema, problem, sendProblem } from "./problem.js";
import { addressRoutes } from "./routes/addresses.js";
import { caseRoutes } from "./routes/cases.js";
import type { TransferPublisher, WalletTagger } from "./routes/compat.js";
import { compatRoutes } from "./routes/compat.js";
import { exchangeRoutes } from "./routes/exchange.js";
import { flowRoutes } from "./routes/flows.js";
import { keyRoutes } from "./routes/keys.js";
import { type ListsDeps, listRoutes } from "./routes/lists.js";
import { screenRoutes } from "./routes/screen.js";
import { sqlRoutes } from "./routes/sql.js";
import { statsRoutes } from "./routes/stats.js";
import { type AlertsDeps, subscriptionRoutes } from "./routes/subscriptions.js";
import type { WatchlistLookup } from "./screening.js";

/** Everything the API needs, built by main.ts (or a test). */
export interface ApiDeps {
  /** Service user: reads flows, writes audit rows, cases, keys. */
  ch: ClickHouseClient;
  /** Read-only ClickHouse user with limits, used for POST /v1/sql only. */
  chSql: ClickHouseClient;
  keys: ApiKeyStore;
  watchlist: WatchlistLookup;
  audit: AuditSink;
  log: Logger;
  /** Produces exchange transfer.v1 events for the KYT-shaped endpoint; absent → 503 there. */
  transfers?: TransferPublisher;
  /**
   * Publishes the exchange wallets that pushed reports name as service tags (watchlist.v1),
   * before their transfers; absent → reports tag nothing.
   */
  exchangeWallets?: WalletTagger;
  /** Subscriptions, alert history and redelivery; absent → 503 on those routes. */
  alerts?: AlertsDeps;
  /** List versions and imports; absent → 503 on those routes. */
  lists?: ListsDeps;
  /** Shared rate-limit counters across API instances; in-process when absent. */
  redis?: Redis;
  options?: Partial<ApiOptions>;
}

/** Tunables. */
export interface ApiOptions {
  /** Requests per minute per key unless the key has its own limit. */
  rateLimitPerMinute: number;
  /** Built console (vite build output) served at /; not served when missing. */
  consoleDir: string;
  /**
   * Settings sent with each /v1/sql query (e.g. max_execution_time) when the read-only user's
   * profile allows per-query settings; null = rely on the profile's limits.
   */
  sqlSettings: Record<string, string | number> | null;
  /** Cap on rows in one CSV/NDJSON export. */
  exportMaxRows: number;
  /** Key cache TTL: how long a revoked key may still work on another instance. */
  keyCacheMs: number;
  /** Addresses accepted by one POST /v1/screen. */
  screenMaxAddresses: number;
}

const DEFAULTS: ApiOptions = {
  rateLimitPerMinute: 6_000,
  consoleDir: resolve(import.meta.dirname, "..", "console", "dist"),
  sqlSettings: null,
  exportMaxRows: 10_000_000,
  keyCacheMs: 5_000,
  screenMaxAddresses: 10_000,
};

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
    /** Rows returned/affected, recorded in the audit log. */
    auditRows: number | null;
    /** State-changing action name for the audit log. */
    auditAction: string;
  }
  interface FastifyContextConfig {
    /** No key needed (health, docs, console assets). */
    public?: boolean;
    /** Permission the caller's role must hold. */
    permission?: Permission;
  }
  interface FastifyInstance {
    deps: ApiDeps;
    opts: ApiOptions;
    verifier: KeyVerifier;
  }
}

/** Reads the key from `Authorization: Bearer <key>` or `X-API-Key`. */
function presentedKey(req: FastifyRequest): string | null {
  const auth = req.headers.authorization;
  if (typeof auth === "string" && auth.toLowerCase().startsWith("bearer "))
    return auth.slice(7).trim();
  const x = req.headers["x-api-key"];
  if (typeof x === "string" && x.length > 0) return x.trim();
  return null;
}

/** Summarises a body for the audit log: small bodies as they are, large arrays by length. */
function auditBody(body: unknown): unknown {
  if (body === undefined || body === null) return undefined;
  const s = JSON.stringify(body);
  if (s.length <= 4_000) return body;
  if (typeof body === "object" && !Array.isArray(body)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      out[k] = Array.isArray(v)
        ? { items: v.length }
        : typeof v === "string" && v.length > 2_000
          ? `${v.slice(0, 2_000)}…`
          : v;
    }
    return out;
  }
  return { truncated: s.length };
}

/**
 * Builds the Fastify app: auth on every route but health/docs/console, roles, per-key rate
 * limits, audit, problem+json errors, OpenAPI at /openapi.json and /docs, the console at /.
 */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const opts: ApiOptions = { ...DEFAULTS, ...deps.options };
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // Requests are not logged one by one (the audit log and metrics cover them).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 5 * 1024 * 1024,
    // Unique ids across instances and restarts (they key the audit log); never taken from the client.
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // Tenant of keys and routes must not be guessable from timing of 404 vs 403; ids are opaque.
    ajv: {
      customOptions: {
        // Unknown filters are errors, not silently dropped.
        removeAdditional: false,
        coerceTypes: "array",
        useDefaults: true,
        allErrors: true,
      },
    },
    routerOptions: { ignoreTrailingSlash: true },
  });
  // List files arrive as raw text (XML, CSV, JSON lines).
  app.addContentTypeParser(
    ["text/csv", "application/xml", "text/xml", "application/x-ndjson", "application/octet-stream"],
    { parseAs: "string", bodyLimit: 200 * 1024 * 1024 },
    (_req, body, done) => done(null, body),
  );
  app.decorate("deps", deps);
  app.decorate("opts", opts);
  app.decorate("verifier", new KeyVerifier(deps.keys, opts.keyCacheMs));
  app.decorateRequest("principal", null);
  app.decorateRequest("auditRows", null);
  app.decorateRequest("auditAction", "");
  app.addSchema(ProblemSchema);
  // Every API route lives under /v1, /v2 or /api/ and needs a key; everything else (health,
  // /openapi.json, /docs, the console's static files) is public. Registered first so it sees
  // every route, including those added by plugins.
  app.addHook("onRoute", (route) => {
    if (!/^\/(v\d+|api)\//.test(route.url)) {
      route.config = { ...(route.config as object), public: true };
    }
  });

  app.setErrorHandler((err: FastifyError | HttpProblem, req, reply) => {
    if (err instanceof HttpProblem) {
      return sendProblem(reply, problem(err.status, err.kind, err.message, err.extra));
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const errors = fe.validation.map((v) => {
        const path = (v.instancePath || "").replace(/^\//, "").replaceAll("/", ".");
        const extra = v.params as Record<string, unknown>;
        const field =
          (v.keyword === "additionalProperties" && typeof extra.additionalProperty === "string"
            ? [path, extra.additionalProperty].filter(Boolean).join(".")
            : v.keyword === "required" && typeof extra.missingProperty === "string"
              ? [path, extra.missingProperty].filter(Boolean).join(".")
              : path) ||
          fe.validationContext ||
          "request";
        const message =
          v.keyword === "additionalProperties" ? "unknown parameter" : (v.message ?? "invalid");
        return { field, message };
      });
      const detail = `invalid ${fe.validationContext ?? "request"}: ${errors.map((e) => `${e.field} ${e.message}`).join("; ")}`;
      return sendProblem(reply, problem(400, "invalid-request", detail, { errors }));
    }
    const status = typeof fe.statusCode === "number" && fe.statusCode >= 400 ? fe.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, "request failed");
      return sendProblem(
        reply,
        problem(status, "internal", "the server failed to answer this request"),
      );
    }
    return sendProblem(
      reply,
      problem(status, status === 429 ? "rate-limited" : "invalid-request", fe.message),
    );
  });

  app.setNotFoundHandler((req, reply) => {
    // Browser navigation to a console route gets the single-page app.
    if (
      req.method === "GET" &&
      !req.url.startsWith("/v") &&
      !req.url.startsWith("/api/") &&
      consoleAvailable
    ) {
      return reply.sendFile("index.html");
    }
    return sendProblem(
      reply,
      problem(404, "not-found", `no route ${req.method} ${req.url.split("?")[0]}`),
    );
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Chainscreen API",
        version: "1.0.0",
        description:
          "Flagged flows, address investigation, screening, cases, subscriptions and analyst SQL. " +
          "Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>`. Errors are RFC 9457 problem+json.",
      },
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer" },
          apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
    },
    refResolver: {
      buildLocalReference: (json, _base, _frag, i) => (json.$id as string) || `def-${i}`,
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs", uiConfig: { docExpansion: "list" } });

  // Authentication first (onRequest), so the rate limiter can key on the caller.
  app.addHook("onRequest", async (req, reply) => {
    const cfg = req.routeOptions.config;
    if (cfg?.public || req.routeOptions.url === undefined) return;
    const key = presentedKey(req);
    if (!key) {
      reply.header("www-authenticate", 'Bearer realm="chainscreen"');
      throw new HttpProblem(
        401,
        "unauthenticated",
        "an API key is required (Authorization: Bearer <key> or X-API-Key)",
      );
    }
    const p = await app.verifier.verify(key);
    if (!p) {
      reply.header("www-authenticate", 'Bearer realm="chainscreen", error="invalid_token"');
      throw new HttpProblem(401, "unauthenticated", "the API key is unknown or revoked");
    }
    req.principal = p;
    if (cfg?.permission && !can(p.role, cfg.permission)) {
      throw new HttpProblem(403, "forbidden", `role ${p.role} may not ${cfg.permission}`);
    }
  });

  await app.register(rateLimit, {
    global: true,
    hook: "preHandler",
    redis: deps.redis,
    nameSpace: "chainscreen-api-rl:",
    timeWindow: 60_000,
    max: async (req) => req.principal?.rateLimitPerMinute ?? opts.rateLimitPerMinute,
    keyGenerator: (req) => (req.principal ? `key:${req.principal.keyId}` : `ip:${req.ip}`),
    allowList: (req) => Boolean(req.routeOptions.config?.public),
    errorResponseBuilder: (_req, ctx) => {
      const e = new HttpProblem(
        429,
        "rate-limited",
        `rate limit of ${ctx.max} requests per minute exceeded; retry in ${ctx.after}`,
      );
      return e;
    },
  });

  app.addHook("onResponse", async (req, reply) => {
    const p = req.principal;
    if (!p) return;
    // Every regulator/analyst request; and every state change by anyone.
    const audited = AuditedRoles.includes(p.role) || req.auditAction !== "";
    if (!audited) return;
    deps.audit.write({
      at: Date.now() - Math.round(reply.elapsedTime),
      requestId: req.id,
      keyId: p.keyId,
      tenantId: p.tenantId,
      role: p.role,
      method: req.method,
      route: req.routeOptions.url ?? req.url.split("?")[0] ?? "",
      params: JSON.stringify({ query: req.query, params: req.params, body: auditBody(req.body) }),
      status: reply.statusCode,
      rowCount: req.auditRows,
      durationMs: Math.round(reply.elapsedTime),
      action: req.auditAction,
      ip: req.ip,
    });
  });

  // Lets a caller (and the tests) find its request in the audit log.
  app.addHook("onSend", async (req, reply) => {
    reply.header("x-request-id", req.id);
  });

  app.addHook("onClose", async () => {
    await deps.audit.flush();
  });

  const pub = { config: { public: true } };
  app.get("/healthz", { ...pub, schema: { hide: true } }, async () => ({ status: "ok" }));
  app.get("/readyz", { ...pub, schema: { hide: true } }, async (_req, reply) => {
    const ping = await deps.ch.ping();
    if (!ping.success)
      return reply.code(503).send({ status: "not ready", clickhouse: "unreachable" });
    return { status: "ready" };
  });
  app.get("/openapi.json", { ...pub, schema: { hide: true } }, async () => app.swagger());

  app.get(
    "/v1/me",
    {
      schema: {
        tags: ["keys"],
        summary: "Who the key belongs to (role, tenant) — the console uses it to sign in",
        response: {
          200: {
            type: "object",
            properties: {
              keyId: { type: "string" },
              tenantId: { type: "string" },
              role: { type: "string" },
              name: { type: "string" },
            },
          },
          401: {
            description: "No key, or an unknown or revoked key",
            content: { "application/problem+json": { schema: { $ref: "Problem#" } } },
          },
        },
      },
    },
    async (req) => req.principal,
  );

  await app.register(flowRoutes);
  await app.register(addressRoutes);
  await app.register(screenRoutes);
  await app.register(compatRoutes);
  await app.register(exchangeRoutes);
  await app.register(caseRoutes);
  await app.register(subscriptionRoutes);
  await app.register(listRoutes);
  await app.register(sqlRoutes);
  await app.register(keyRoutes);
  await app.register(statsRoutes);

  const consoleAvailable = existsSync(join(opts.consoleDir, "index.html"));
  if (consoleAvailable) {
    await app.register(fastifyStatic, {
      root: opts.consoleDir,
      prefix: "/",
      wildcard: false,
      index: ["index.html"],
      decorateReply: true,
    });
  }
  return app;
}
