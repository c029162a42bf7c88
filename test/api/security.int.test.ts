import SwaggerParser from "@apidevtools/swagger-parser";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startHarness } from "./harness.js";
import { CHAINS } from "./seed.js";

// Authentication, roles, tenant isolation, analyst SQL, audit, rate limits, OpenAPI validity and a
// property-based fuzz run, against the real embedded ClickHouse.

let h: ApiHarness;
beforeAll(async () => {
  h = await startHarness("security", 120);
});
afterAll(async () => {
  await h?.close();
});

const json = (body: unknown): RequestInit => ({ method: "POST", body: JSON.stringify(body) });

describe("authentication", () => {
  it("no route under /v1, /v2 or /api answers without a key (every path of the OpenAPI document)", async () => {
    const doc = (await (await h.call("/openapi.json", null)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const paths = Object.entries(doc.paths);
    expect(paths.length).toBeGreaterThan(20);
    for (const [p, methods] of paths) {
      for (const m of Object.keys(methods)) {
        const url = p.replace(/\{[^}]+\}/g, "x");
        const r = await h.call(url, null, {
          method: m.toUpperCase(),
          ...(m === "get" || m === "delete" ? {} : { body: "{}" }),
        });
        expect(r.status, `${m} ${p}`).toBe(401);
        expect(r.headers.get("content-type")).toMatch(/problem\+json/);
      }
    }
  });
  it("accepts the X-API-Key header, refuses unknown and malformed keys", async () => {
    const r = await fetch(`${h.url}/v1/me`, { headers: { "x-api-key": h.keys.regulator } });
    expect(r.status).toBe(200);
    expect(
      (await h.call("/v1/me", "cs_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
        .status,
    ).toBe(401);
    expect((await h.call("/v1/me", "not a key")).status).toBe(401);
  });
  it("a revoked key stops working at once", async () => {
    const key = await h.newKey("regulator", "fiu");
    expect((await h.call("/v1/me", key)).status).toBe(200);
    const keys = (await (await h.call("/v1/keys?tenantId=fiu", h.keys.admin)).json()) as {
      items: { id: string }[];
    };
    const id = key.split("_")[1] as string;
    expect(keys.items.map((k) => k.id)).toContain(id);
    expect((await h.call(`/v1/keys/${id}`, h.keys.admin, { method: "DELETE" })).status).toBe(204);
    expect((await h.call("/v1/me", key)).status).toBe(401);
  });
  it("admins create keys through the API; the key is shown once and stored hashed", async () => {
    const r = await h.call(
      "/v1/keys",
      h.keys.admin,
      json({ tenantId: "bank-c", role: "bank", name: "bank c prod" }),
    );
    expect(r.status).toBe(201);
    const b = (await r.json()) as { key: string; record: { id: string; role: string } };
    expect((await h.call("/v1/me", b.key)).status).toBe(200);
    const rs = await h.stack.writer.query({
      query: "SELECT hash FROM api_keys FINAL WHERE id = {id:String}",
      query_params: { id: b.record.id },
      format: "JSONEachRow",
    });
    const rows = await rs.json<{ hash: string }>();
    expect(rows[0]?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]?.hash).not.toContain(b.key.slice(20));
  });
  it("health and docs are public", async () => {
    expect((await h.call("/healthz", null)).status).toBe(200);
    expect((await h.call("/readyz", null)).status).toBe(200);
    expect((await h.call("/docs", null, { redirect: "follow" })).status).toBe(200);
  });
});

describe("roles", () => {
  it.each([
    ["bank", "GET", "/v1/flows", 403],
    ["bank", "POST", "/v1/sql", 403],
    ["bank", "GET", "/v1/cases", 403],
    ["regulator", "POST", "/v1/sql", 403],
    ["analyst", "POST", "/v1/keys", 403],
    ["analyst", "POST", "/v1/lists/x/import?format=csv", 403],
    ["analyst", "GET", "/v1/subscriptions", 403],
    ["regulator", "POST", "/v2/users/u1/transfers", 403],
  ] as const)("%s %s %s → %i", async (who, method, path, status) => {
    const key =
      who === "bank" ? h.keys.bankA : who === "analyst" ? h.keys.analyst : h.keys.regulator;
    const r = await h.call(path, key, { method, ...(method === "POST" ? { body: "{}" } : {}) });
    expect(r.status).toBe(status);
  });
});

describe("tenant isolation", () => {
  it("a bank sees only its own subscriptions (404 on another tenant's, 403 when naming another tenant)", async () => {
    const c = await h.call(
      "/v1/subscriptions",
      h.keys.bankA,
      json({ url: "https://bank-a.example/hook", filters: { addresses: [CHAINS[0]?.listed[0]] } }),
    );
    expect(c.status).toBe(201);
    const { subscription, secret } = (await c.json()) as {
      subscription: { id: string; tenantId: string };
      secret: string;
    };
    expect(subscription.tenantId).toBe("bank-a");
    expect(secret).toMatch(/^whsec_/);
    const id = subscription.id;
    expect((await h.call(`/v1/subscriptions/${id}`, h.keys.bankA)).status).toBe(200);
    expect((await h.call(`/v1/subscriptions/${id}`, h.keys.bankB)).status).toBe(404);
    expect(
      (
        await h.call(`/v1/subscriptions/${id}`, h.keys.bankB, {
          method: "PATCH",
          body: JSON.stringify({ active: false }),
        })
      ).status,
    ).toBe(404);
    expect(
      (await h.call(`/v1/subscriptions/${id}`, h.keys.bankB, { method: "DELETE" })).status,
    ).toBe(404);
    expect(
      (await h.call(`/v1/subscriptions/${id}/rotate-secret`, h.keys.bankB, json({}))).status,
    ).toBe(404);
    const listB = (await (await h.call("/v1/subscriptions", h.keys.bankB)).json()) as {
      items: unknown[];
    };
    expect(listB.items).toEqual([]);
    expect((await h.call("/v1/subscriptions?tenantId=bank-a", h.keys.bankB)).status).toBe(403);
    // The admin sees it, and A can change it.
    expect((await h.call(`/v1/subscriptions/${id}`, h.keys.admin)).status).toBe(200);
    const p = await h.call(`/v1/subscriptions/${id}`, h.keys.bankA, {
      method: "PATCH",
      body: JSON.stringify({ active: false }),
    });
    expect(((await p.json()) as { active: boolean }).active).toBe(false);
  });
  it("alerts of another tenant are 404 and never listed", async () => {
    expect((await h.call("/v1/alerts/alert-of-bank-a", h.keys.bankB)).status).toBe(404);
    expect((await h.call("/v1/alerts?tenantId=bank-a", h.keys.bankB)).status).toBe(403);
  });
  it("screenings are per tenant", async () => {
    const s = await h.call("/v1/screen", h.keys.bankA, json({ addresses: [CHAINS[0]?.listed[0]] }));
    const { screeningId } = (await s.json()) as { screeningId: string };
    await expect
      .poll(async () => (await h.call(`/v1/screenings/${screeningId}`, h.keys.bankA)).status, {
        timeout: 10_000,
      })
      .toBe(200);
    expect((await h.call(`/v1/screenings/${screeningId}`, h.keys.bankB)).status).toBe(404);
    const listB = (await (await h.call("/v1/screenings", h.keys.bankB)).json()) as {
      items: { id: string }[];
    };
    expect(listB.items.map((i) => i.id)).not.toContain(screeningId);
  });
  it("cases are per tenant for analysts", async () => {
    const c = await h.call("/v1/cases", h.keys.analyst, json({ title: "isolation" }));
    const { id } = (await c.json()) as { id: string };
    const other = await h.newKey("analyst", "other-fiu");
    expect((await h.call(`/v1/cases/${id}`, h.keys.analyst)).status).toBe(200);
    expect((await h.call(`/v1/cases/${id}`, other)).status).toBe(404);
    expect((await h.call(`/v1/cases/${id}/comments`, other, json({ body: "x" }))).status).toBe(404);
  });
});

describe("analyst SQL", () => {
  it("streams results as NDJSON and CSV", async () => {
    const r = await h.call(
      "/v1/sql",
      h.keys.analyst,
      json({ query: "SELECT chain, count() AS n FROM api_flows GROUP BY chain ORDER BY chain" }),
    );
    expect(r.status).toBe(200);
    const rows = (await r.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { chain: string; n: string });
    const want = ["bitcoin", "ethereum", "tron"].map(
      (c) => h.flags.filter((f) => f.flag.transfer.chain === c).length,
    );
    expect(rows.map((x) => Number(x.n))).toEqual(want);
    const csv = await h.call(
      "/v1/sql",
      h.keys.analyst,
      json({ query: "SELECT 1 AS a, 'x' AS b", format: "csv" }),
    );
    expect(await csv.text()).toBe('"a","b"\n1,"x"\n');
  });
  it.each([
    "INSERT INTO flags SELECT * FROM flags",
    "ALTER TABLE flags DELETE WHERE 1",
    "DROP TABLE api_keys",
    "CREATE TABLE t (a Int8) ENGINE = Memory",
    "TRUNCATE TABLE audit_log",
    "SET readonly = 0",
    "SELECT 1; DROP TABLE flags",
    "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "SELECT * FROM url('http://127.0.0.1:1/', CSV, 'a String')",
    "SELECT * FROM remote('127.0.0.1', system.one)",
    "SELECT * FROM s3('http://127.0.0.1:1/x', CSV)",
    "SELECT * FROM executable('id', TSV, 'a String')",
    "SELECT 1 SETTINGS readonly = 0",
    "SELECT 1 INTO OUTFILE '/tmp/x'",
  ])("refuses %s", async (query) => {
    const r = await h.call("/v1/sql", h.keys.analyst, json({ query }));
    expect(r.status).toBe(400);
    expect(((await r.json()) as { detail: string }).detail).toMatch(/query refused/);
  });
  it("the read-only ClickHouse user refuses writes even past the API's own check", async () => {
    // The API's guard is the first line; the store's read-only user is the guarantee.
    await expect(
      h.stack.analyst.command({ query: "INSERT INTO audit_log (actor) VALUES ('x')" }),
    ).rejects.toThrow(/readonly|READONLY/i);
  });
  it("reports ClickHouse errors as 400 problems", async () => {
    const r = await h.call(
      "/v1/sql",
      h.keys.analyst,
      json({ query: "SELECT * FROM no_such_table" }),
    );
    expect(r.status).toBe(400);
    expect(((await r.json()) as { detail: string; clickhouseType: string }).clickhouseType).toBe(
      "UNKNOWN_TABLE",
    );
  });
});

describe("audit", () => {
  it("records every regulator and analyst request with who, route, parameters and row count", async () => {
    const reqs: { id: string; rows: number }[] = [];
    for (const q of [
      "chain=tron&limit=3",
      "exposure=indirect&limit=5",
      "programme=DPRK3&limit=7",
    ]) {
      const r = await h.call(`/v1/flows?${q}`, h.keys.regulator);
      const b = (await r.json()) as { items: unknown[] };
      reqs.push({ id: r.headers.get("x-request-id") as string, rows: b.items.length });
    }
    const s = await h.call(
      "/v1/sql",
      h.keys.analyst,
      json({ query: "SELECT number FROM numbers(42)" }),
    );
    await s.text();
    reqs.push({ id: s.headers.get("x-request-id") as string, rows: 42 });
    const denied = await h.call("/v1/sql", h.keys.analyst, json({ query: "DROP TABLE flags" }));
    reqs.push({ id: denied.headers.get("x-request-id") as string, rows: 0 });
    await h.audit.flush();
    const rs = await h.stack.writer.query({
      query:
        "SELECT request_id, actor, role, action, resource, params, status_code, rows FROM audit_log WHERE request_id IN {ids:Array(String)}",
      query_params: { ids: reqs.map((r) => r.id) },
      format: "JSONEachRow",
    });
    const rows = await rs.json<{
      request_id: string;
      actor: string;
      role: string;
      action: string;
      resource: string;
      params: string;
      status_code: number;
      rows: string;
    }>();
    expect(rows.length).toBe(reqs.length);
    for (const r of reqs) {
      const row = rows.find((x) => x.request_id === r.id);
      expect(row, r.id).toBeDefined();
      expect(Number(row?.rows)).toBe(r.rows);
    }
    const flowRow = rows.find((x) => x.request_id === reqs[2]?.id);
    expect(flowRow).toMatchObject({
      role: "regulator",
      resource: "/v1/flows",
      status_code: 200,
      actor: h.keys.regulator.split("_")[1],
    });
    expect(JSON.parse(flowRow?.params ?? "{}").query).toMatchObject({
      programme: ["DPRK3"],
      limit: 7,
    });
    expect(rows.find((x) => x.request_id === reqs[4]?.id)).toMatchObject({
      action: "sql",
      status_code: 400,
    });
  });
  it("case changes are audited for any role and keep a history", async () => {
    const flagIds = h.flags.slice(0, 3).map((f) => f.flag.id);
    const c = await h.call(
      "/v1/cases",
      h.keys.regulator,
      json({ title: "Garantex exposure", flagIds }),
    );
    expect(c.status).toBe(201);
    const { id } = (await c.json()) as { id: string };
    expect(
      (
        await h.call(
          `/v1/cases/${id}/comments`,
          h.keys.regulator,
          json({ body: "looks like an OTC desk" }),
        )
      ).status,
    ).toBe(201);
    expect(
      (
        await h.call(`/v1/cases/${id}`, h.keys.regulator, {
          method: "PATCH",
          body: JSON.stringify({ status: "escalated" }),
        })
      ).status,
    ).toBe(200);
    const close = await h.call(`/v1/cases/${id}`, h.keys.regulator, {
      method: "PATCH",
      body: JSON.stringify({ status: "closed_false_positive", suppressDays: 30 }),
    });
    const closed = (await close.json()) as { case: { status: string }; suppressions: number };
    expect(closed.case.status).toBe("closed_false_positive");
    expect(closed.suppressions).toBe(3);
    const got = (await (await h.call(`/v1/cases/${id}`, h.keys.regulator)).json()) as {
      case: { flagIds: string[] };
      events: { kind: string }[];
    };
    expect(got.case.flagIds.sort()).toEqual([...flagIds].sort());
    expect(got.events.map((e) => e.kind)).toEqual(["created", "comment", "status", "status"]);
    // The tagger reads these (same fields as its Suppression).
    const sup = (await (await h.call("/v1/suppressions", h.keys.analyst)).json()) as {
      family: string;
      a: string;
      b: string | null;
      until: number;
    }[];
    const f0 = h.flags[0]?.flag;
    expect(sup).toContainEqual(
      expect.objectContaining({ family: f0?.family, a: f0?.address, b: f0?.counterparty }),
    );
    expect(
      (await h.call("/v1/cases", h.keys.regulator, json({ title: "x", flagIds: ["nope"] }))).status,
    ).toBe(400);
    await h.audit.flush();
    const rs = await h.stack.writer.query({
      query: "SELECT action FROM audit_log WHERE action LIKE 'case.%' ORDER BY at",
      format: "JSONEachRow",
    });
    const actions = (await rs.json<{ action: string }>()).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(["case.create", "case.comment", "case.update"]));
  });
});

describe("rate limits", () => {
  it("limit per key: the key over its limit gets 429 problem+json, others are unaffected", async () => {
    const g = await h.call(
      "/v1/keys",
      h.keys.admin,
      json({ tenantId: "bank-d", role: "bank", name: "slow", rateLimitPerMinute: 3 }),
    );
    const { key } = (await g.json()) as { key: string };
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await h.call("/v1/screenings", key)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const r = await h.call("/v1/screenings", key);
    expect(r.headers.get("content-type")).toMatch(/problem\+json/);
    expect(((await r.json()) as { detail: string }).detail).toMatch(
      /rate limit of 3 requests per minute/,
    );
    expect((await h.call("/v1/screenings", h.keys.bankB)).status).toBe(200);
  });
});

describe("compatibility endpoints", () => {
  it("Chainalysis sanctions API shape: identifications for a listed address, [] for a clean one", async () => {
    const listed = "0x01e2919679362dFBC9ee1644Ba9C6da6D6245BB1";
    const r = await fetch(`${h.url}/api/v1/address/${listed}`, {
      headers: { "X-API-Key": h.keys.bankA },
    });
    const b = (await r.json()) as {
      identifications: { category: string; name: string; description: string; url: string }[];
    };
    expect(b.identifications).toHaveLength(1);
    expect(Object.keys(b.identifications[0] ?? {}).sort()).toEqual([
      "category",
      "description",
      "name",
      "url",
    ]);
    expect(b.identifications[0]?.category).toBe("sanctions");
    const clean = await fetch(
      `${h.url}/api/v1/address/0x0000000000000000000000000000000000000001`,
      { headers: { "X-API-Key": h.keys.bankA } },
    );
    expect(await clean.json()).toEqual({ identifications: [] });
  });
  it("batch screening answers per address, invalid ones included", async () => {
    const addrs = [
      ...(CHAINS[0]?.listed ?? []),
      "0x0000000000000000000000000000000000000001",
      "garbage",
      { chain: "tron", address: CHAINS[1]?.listed[0] as string },
    ];
    const r = await h.call("/v1/screen", h.keys.bankA, json({ addresses: addrs }));
    const b = (await r.json()) as {
      screened: number;
      hits: number;
      invalid: number;
      results: { listed: boolean; valid: boolean }[];
    };
    expect(b.screened).toBe(addrs.length);
    expect(b.hits).toBe(4);
    expect(b.invalid).toBe(1);
    expect(b.results.map((x) => x.listed)).toEqual([true, true, true, false, false, true]);
  });
  it("list import (admin) applies to screening at once", async () => {
    const fresh = "0x00000000000000000000000000000000deadbeef";
    const before = (await (
      await h.call("/v1/screen", h.keys.bankA, json({ addresses: [fresh] }))
    ).json()) as { hits: number };
    expect(before.hits).toBe(0);
    const csv = `chain,address,label,category,severity\nethereum,${fresh},Test mixer,mixer,high\n`;
    const imp = await h.call("/v1/lists/custom-mixers/import?format=csv", h.keys.admin, {
      method: "POST",
      body: csv,
      headers: { "content-type": "text/csv" },
    });
    expect(imp.status, await imp.clone().text()).toBe(200);
    expect(((await imp.json()) as { status: string }).status).toBe("activated");
    const after = (await (
      await h.call("/v1/screen", h.keys.bankA, json({ addresses: [fresh] }))
    ).json()) as { hits: number; results: { matches: { list: string }[] }[] };
    expect(after.hits).toBe(1);
    expect(after.results[0]?.matches[0]?.list).toBe("custom-mixers");
    const versions = (await (
      await h.call("/v1/lists/custom-mixers/versions", h.keys.bankA)
    ).json()) as { versions: { version: number; diff: { added: number } }[] };
    expect(versions.versions[0]).toMatchObject({ version: 1, diff: { added: 1 } });
  });
});

describe("OpenAPI", () => {
  it("the document validates as OpenAPI 3 and documents every route", async () => {
    const doc = (await (await h.call("/openapi.json", null)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    await SwaggerParser.validate(structuredClone(doc) as never);
    for (const p of [
      "/v1/flows",
      "/v1/flows/{id}",
      "/v1/addresses/{chain}/{address}",
      "/v1/screen",
      "/api/v1/address/{address}",
      "/v2/users/{userId}/transfers",
      "/v1/cases",
      "/v1/sql",
      "/v1/subscriptions",
      "/v1/alerts",
      "/v1/lists/{listId}/import",
      "/v1/keys",
    ]) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
  });
});

describe("fuzz", () => {
  it("thousands of generated requests: no 5xx, the server keeps answering", async () => {
    const keys = [h.keys.regulator, h.keys.analyst, h.keys.bankA, h.keys.admin, null, "cs_bad"];
    const flowParams = [
      "from",
      "to",
      "chain",
      "asset",
      "address",
      "entity",
      "list",
      "programme",
      "exposure",
      "hops",
      "maxHops",
      "severity",
      "minSeverity",
      "retro",
      "minAmount",
      "maxAmount",
      "exchange",
      "includeRetracted",
      "sort",
      "order",
      "limit",
      "cursor",
      "format",
      "bogus",
    ];
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.integer({ min: -5, max: 1_000_000_000 }).map(String),
      fc.constantFrom(
        "ethereum",
        "tron",
        "bitcoin",
        "USDT",
        "direct",
        "indirect",
        "high",
        "true",
        "false",
        "amount",
        "asc",
        "csv",
        "2024-01-15",
        "0x01e2919679362dFBC9ee1644Ba9C6da6D6245BB1",
        "1".repeat(90),
        "%00",
        "'; DROP TABLE flags; --",
      ),
      fc.string({ unit: "binary", maxLength: 10 }),
    );
    const flowReq = fc.record({
      kind: fc.constant("flows" as const),
      key: fc.constantFrom(...keys),
      params: fc.array(fc.tuple(fc.constantFrom(...flowParams), value), { maxLength: 6 }),
    });
    const addressReq = fc.record({
      kind: fc.constant("address" as const),
      key: fc.constantFrom(...keys),
      chain: fc.oneof(
        fc.constantFrom("ethereum", "tron", "bitcoin", "evm"),
        fc.string({ maxLength: 12 }),
      ),
      address: value,
    });
    const bodyReq = fc.record({
      kind: fc.constant("body" as const),
      key: fc.constantFrom(...keys),
      path: fc.constantFrom(
        "/v1/screen",
        "/v1/sql",
        "/v1/cases",
        "/v2/users/u1/transfers",
        "/v1/subscriptions",
        "/v1/keys",
        "/v1/alerts/redeliver",
      ),
      body: fc.oneof(
        fc.json(),
        fc.string({ maxLength: 50 }),
        fc.record({ addresses: fc.array(value, { maxLength: 20 }) }),
        fc.record({ query: value }),
      ),
    });
    const pathReq = fc.record({
      kind: fc.constant("path" as const),
      key: fc.constantFrom(...keys),
      path: fc.constantFrom(
        "/v1/flows/",
        "/v1/cases/",
        "/v1/screenings/",
        "/v1/subscriptions/",
        "/v1/alerts/",
        "/api/v1/address/",
        "/v1/lists/",
      ),
      tail: value,
    });
    let count = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(flowReq, addressReq, bodyReq, pathReq), async (req) => {
        count++;
        let r: Response;
        if (req.kind === "flows") {
          const q = new URLSearchParams(req.params);
          r = await h.call(`/v1/flows?${q}`, req.key);
        } else if (req.kind === "address") {
          r = await h.call(
            `/v1/addresses/${encodeURIComponent(req.chain)}/${encodeURIComponent(req.address)}`,
            req.key,
          );
        } else if (req.kind === "body") {
          r = await h.call(req.path, req.key, {
            method: "POST",
            body: typeof req.body === "string" ? req.body : JSON.stringify(req.body),
          });
        } else {
          r = await h.call(`${req.path}${encodeURIComponent(req.tail)}`, req.key);
        }
        const text = await r.text();
        if (r.status >= 500)
          throw new Error(`${r.status} for ${JSON.stringify(req)}: ${text.slice(0, 300)}`);
        if (r.status >= 400) expect(r.headers.get("content-type")).toMatch(/problem\+json/);
      }),
      {
        numRuns: Number(process.env.API_FUZZ_RUNS ?? 2000),
        seed: Number(process.env.API_FUZZ_SEED ?? 20261129),
      },
    );
    expect(count).toBeGreaterThanOrEqual(2000);
    expect((await h.call("/healthz", null)).status).toBe(200);
  });
});
