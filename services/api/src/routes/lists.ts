import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ImportResult,
  importList,
  LIST_FORMATS,
  type ListFormat,
  type WatchlistStore,
} from "@chainscreen/watchlist";
import type { FastifyInstance } from "fastify";
import { badRequest, HttpProblem, notFound } from "../problem.js";
import { problemResponses } from "./schemas.js";

/** What the list routes need. */
export interface ListsDeps {
  store: WatchlistStore;
  /** Called after an import (e.g. rebuild the matcher, publish watchlist.v1). */
  onImported?: (r: ImportResult) => Promise<void>;
}

const listParams = {
  type: "object",
  properties: { listId: { type: "string", pattern: "^[a-z0-9][a-z0-9._-]{0,63}$" } },
  required: ["listId"],
} as const;

/** List versions (everyone with lists:read) and imports (admins). */
export async function listRoutes(app: FastifyInstance): Promise<void> {
  const need = (): ListsDeps => {
    const l = app.deps.lists;
    if (!l)
      throw new HttpProblem(503, "unavailable", "list management is not configured on this server");
    return l;
  };
  const summary = (
    v: { diff: { added: string[]; removed: string[]; changed: string[] } } & Record<
      string,
      unknown
    >,
  ) => ({
    ...v,
    diff: {
      ...v.diff,
      added: v.diff.added.length,
      removed: v.diff.removed.length,
      changed: v.diff.changed.length,
    },
    report: undefined,
  });

  app.get(
    "/v1/lists",
    {
      config: { permission: "lists:read" },
      schema: {
        tags: ["lists"],
        summary: "Lists with their active version",
        response: problemResponses(401, 403, 503),
      },
    },
    async (req) => {
      const l = need();
      const ids = await l.store.listIds();
      const items = [];
      for (const id of ids) {
        const s = await l.store.getState(id);
        if (!s) continue;
        const active = s.versions.find((v) => v.version === s.activeVersion);
        items.push({
          listId: id,
          activeVersion: s.activeVersion,
          lastVersion: s.lastVersion,
          active: active ? summary(active as never) : null,
        });
      }
      req.auditRows = items.length;
      return { items };
    },
  );

  app.get<{ Params: { listId: string } }>(
    "/v1/lists/:listId/versions",
    {
      config: { permission: "lists:read" },
      schema: {
        tags: ["lists"],
        summary: "Every version of a list with diff counts and status",
        params: listParams,
        response: problemResponses(401, 403, 404, 503),
      },
    },
    async (req) => {
      const s = await need().store.getState(req.params.listId);
      if (!s) throw notFound(`no list ${req.params.listId}`);
      req.auditRows = s.versions.length;
      return {
        listId: s.listId,
        activeVersion: s.activeVersion,
        versions: s.versions.map((v) => summary(v as never)),
      };
    },
  );

  app.get<{ Params: { listId: string; version: number } }>(
    "/v1/lists/:listId/versions/:version",
    {
      config: { permission: "lists:read" },
      schema: {
        tags: ["lists"],
        summary:
          "One version with its full diff (added, removed, changed addresses) and parser report",
        params: {
          type: "object",
          properties: { ...listParams.properties, version: { type: "integer", minimum: 1 } },
          required: ["listId", "version"],
        },
        response: problemResponses(401, 403, 404, 503),
      },
    },
    async (req) => {
      const s = await need().store.getState(req.params.listId);
      const v = s?.versions.find((x) => x.version === req.params.version);
      if (!v) throw notFound(`no version ${req.params.version} of list ${req.params.listId}`);
      return v;
    },
  );

  app.post<{
    Params: { listId: string };
    Querystring: { format: ListFormat; force?: boolean; source?: string };
    Body: string;
  }>(
    "/v1/lists/:listId/import",
    {
      config: { permission: "lists:write" },
      bodyLimit: 200 * 1024 * 1024,
      schema: {
        tags: ["lists"],
        summary: "Import a list file (raw body) as a new version",
        description:
          "The body is the file as published (SDN_ADVANCED.XML, SDN.CSV, OpenSanctions JSON lines, custom CSV/JSON). " +
          "A version that parses to far fewer addresses than the active one, or with too many invalid ones, is stored as " +
          "held and the active version stays (unless force=true).",
        params: listParams,
        querystring: {
          type: "object",
          additionalProperties: false,
          required: ["format"],
          properties: {
            format: { type: "string", enum: LIST_FORMATS.filter((f) => f !== "ofac-codes-dir") },
            force: { type: "boolean", default: false },
            source: { type: "string", maxLength: 2000 },
          },
        },
        response: problemResponses(400, 401, 403, 503),
      },
    },
    async (req) => {
      const l = need();
      if (typeof req.body !== "string" || req.body.length === 0)
        throw badRequest("the body must be the list file (text)");
      const dir = await mkdtemp(join(tmpdir(), "chainscreen-list-"));
      const path = join(dir, "list");
      try {
        await writeFile(path, req.body);
        const r = await importList(l.store, {
          listId: req.params.listId,
          format: req.query.format,
          path,
          source: req.query.source ?? `api upload by ${req.principal?.keyId ?? "?"}`,
          force: req.query.force ?? false,
        });
        await l.onImported?.(r);
        req.auditAction = "list.import";
        req.auditRows = r.entries.length;
        return { status: r.status, version: summary(r.version as never) };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
}
