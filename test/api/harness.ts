import { join } from "node:path";
import { ClickHouseAlertsStore } from "@chainscreen/alerts";
import { ClickHouseKeyStore, generateApiKey, type Role } from "@chainscreen/auth";
import { createLogger } from "@chainscreen/logger";
import { fixturesDir } from "@chainscreen/testing";
import { importList, Matcher, MemoryWatchlistStore } from "@chainscreen/watchlist";
import type { FastifyInstance } from "fastify";
import { type ApiDeps, buildApi } from "../../services/api/src/app.js";
import { ClickHouseAuditSink } from "../../services/api/src/audit.js";
import { MatcherLookup } from "../../services/api/src/screening.js";
import { buildFlags, type SeededFlag, seed } from "./seed.js";
import { type ApiStack, startApiStack } from "./stack.js";

/** Directory of the real OFAC per-code lists (2024-09-27) used as the screening list. */
export const OFAC_LISTS = join(fixturesDir, "sanctions", "ofac-0xB10C-lists-2024-09-27");

/** A running API on the real store, with seeded flags and one key per role/tenant. */
export interface ApiHarness {
  app: FastifyInstance;
  url: string;
  stack: ApiStack;
  flags: SeededFlag[];
  keys: Record<"admin" | "regulator" | "analyst" | "bankA" | "bankB", string>;
  audit: ClickHouseAuditSink;
  /** fetch against the API with a key. */
  call(path: string, key: string | null, init?: RequestInit): Promise<Response>;
  newKey(role: Role, tenantId: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts the embedded store, seeds `n` flags, loads the OFAC lists, builds and listens. */
export async function startHarness(
  name: string,
  n = 300,
  extraDeps: Partial<ApiDeps> | ((stack: ApiStack) => Partial<ApiDeps>) = {},
): Promise<ApiHarness> {
  const stack = await startApiStack(name);
  const extra = typeof extraDeps === "function" ? extraDeps(stack) : extraDeps;
  const flags = buildFlags(n);
  if (n > 0) await seed(stack.writer, flags);
  const log = createLogger({ service: `api-test-${name}`, level: "warn" });
  const lists = new MemoryWatchlistStore();
  const imported = await importList(lists, {
    listId: "ofac-sdn",
    format: "ofac-codes-dir",
    path: OFAC_LISTS,
  });
  let matcher = Matcher.fromLists([
    { listId: "ofac-sdn", listVersion: imported.version.version, keys: imported.state.keys },
  ]);
  const keyStore = new ClickHouseKeyStore(stack.writer);
  const audit = new ClickHouseAuditSink(stack.writer, log, { intervalMs: 100 });
  const app = await buildApi({
    ch: stack.writer,
    chSql: stack.analyst,
    keys: keyStore,
    watchlist: new MatcherLookup(() => matcher),
    audit,
    log,
    alerts: { store: new ClickHouseAlertsStore(stack.writer) },
    lists: {
      store: lists,
      onImported: async () => {
        const states = [];
        for (const id of await lists.listIds()) {
          const s = await lists.getState(id);
          if (s?.activeVersion)
            states.push({ listId: id, listVersion: s.activeVersion, keys: s.keys });
        }
        matcher = Matcher.fromLists(states);
      },
    },
    ...extra,
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  const newKey = async (role: Role, tenantId: string) => {
    const g = generateApiKey({ role, tenantId, name: `${role}@${tenantId}` });
    await keyStore.put(g.record);
    return g.key;
  };
  const keys = {
    admin: await newKey("admin", "operator"),
    regulator: await newKey("regulator", "fiu"),
    analyst: await newKey("analyst", "fiu"),
    bankA: await newKey("bank", "bank-a"),
    bankB: await newKey("bank", "bank-b"),
  };
  return {
    app,
    url,
    stack,
    flags,
    keys,
    audit,
    newKey,
    call(path, key, init = {}) {
      const headers = new Headers(init.headers);
      if (key) headers.set("authorization", `Bearer ${key}`);
      if (init.body && !headers.has("content-type"))
        headers.set("content-type", "application/json");
      return fetch(`${url}${path}`, { ...init, headers });
    },
    async close() {
      await app.close();
      await audit.close();
      await stack.close();
    },
  };
}
