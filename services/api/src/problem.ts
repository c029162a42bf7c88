import type { FastifyReply } from "fastify";

/** RFC 9457 problem details body. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  /** Per-field problems for invalid input. */
  errors?: { field: string; message: string }[];
  [k: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** Base URI for problem types; each kind gets a stable URI under it. */
export const PROBLEM_BASE = "https://chainscreen.dev/problems/";

/** An error that the error handler turns into problem+json with its status. */
export class HttpProblem extends Error {
  readonly status: number;
  readonly kind: string;
  readonly extra: Record<string, unknown>;
  constructor(status: number, kind: string, detail: string, extra: Record<string, unknown> = {}) {
    super(detail);
    this.status = status;
    this.kind = kind;
    this.extra = extra;
  }
}

/** 400 with a message naming what is wrong. */
export function badRequest(detail: string, errors?: { field: string; message: string }[]) {
  return new HttpProblem(400, "invalid-request", detail, errors ? { errors } : {});
}
/** 404 for a resource the caller cannot see (also used for other tenants' resources). */
export function notFound(detail: string) {
  return new HttpProblem(404, "not-found", detail);
}
/** 403 for a role without the needed permission. */
export function forbidden(detail: string) {
  return new HttpProblem(403, "forbidden", detail);
}

/** Builds a problem body. */
export function problem(
  status: number,
  kind: string,
  detail: string,
  extra: Record<string, unknown> = {},
): Problem {
  return {
    type: `${PROBLEM_BASE}${kind}`,
    title: TITLES[status] ?? "Error",
    status,
    detail,
    ...extra,
  };
}

/** Sends a problem with the right content type. */
export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type("application/problem+json").send(p);
}

/** JSON schema of a problem body, for route response schemas (OpenAPI). */
export const ProblemSchema = {
  $id: "Problem",
  type: "object",
  description: "RFC 9457 problem details (extension members allowed)",
  additionalProperties: true,
  properties: {
    type: { type: "string" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    instance: { type: "string" },
    errors: {
      type: "array",
      items: {
        type: "object",
        properties: { field: { type: "string" }, message: { type: "string" } },
      },
    },
  },
  required: ["type", "title", "status"],
} as const;
