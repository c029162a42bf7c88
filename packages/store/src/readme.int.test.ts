import { readFileSync } from "node:fs";
import { join } from "node:path";
import { uniqueName } from "@chainscreen/testing";
import { ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { describe, expect, inject, it } from "vitest";
import { migrate } from "./migrate.js";

const readme = readFileSync(
  join(import.meta.dirname, "..", "..", "..", "infra", "clickhouse", "README.md"),
  "utf8",
);
const examples = [...readme.matchAll(/```sql\n([\s\S]*?)```/g)]
  .map((m) => (m[1] ?? "").trim().replace(/;$/, ""))
  .filter((sql) => /^SELECT\b/i.test(sql));

describe("the analysts' example SQL in infra/clickhouse/README.md", () => {
  it("runs as the read-only analyst against the migrated schema", async () => {
    expect(examples.length).toBeGreaterThanOrEqual(5);
    const database = uniqueName("readme");
    const url = inject("clickhouseUrl");
    await migrate(
      { url, username: inject("clickhouseUser"), password: inject("clickhousePassword"), database },
      { maxVersion: 99 },
    );
    const analyst = createClient({
      url,
      username: inject("clickhouseAnalystUser"),
      password: inject("clickhouseAnalystPassword"),
      database,
      log: { level: ClickHouseLogLevel.OFF },
    });
    try {
      for (const sql of examples) {
        const rows = await (await analyst.query({ query: sql, format: "JSONEachRow" })).json();
        expect(Array.isArray(rows), sql).toBe(true);
      }
    } finally {
      await analyst.close();
    }
  });
});
