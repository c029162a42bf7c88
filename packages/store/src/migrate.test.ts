import { describe, expect, it } from "vitest";
import { loadMigrations, splitStatements } from "./migrate.js";

describe("splitStatements", () => {
  it("splits at semicolons outside literals and drops comments", () => {
    const sql =
      "-- header; with semicolon\nCREATE TABLE a (x String DEFAULT 'a;b') ENGINE = Memory;\n/* c; */ CREATE VIEW v AS SELECT ';' AS s;\n";
    expect(splitStatements(sql)).toEqual([
      "CREATE TABLE a (x String DEFAULT 'a;b') ENGINE = Memory",
      "CREATE VIEW v AS SELECT ';' AS s",
    ]);
    expect(splitStatements("SELECT 'it\\'s; ok'")).toEqual(["SELECT 'it\\'s; ok'"]);
  });
});

describe("loadMigrations", () => {
  it("reads the repository's numbered migrations in order, each with statements and a checksum", () => {
    const ms = loadMigrations();
    expect(ms.length).toBeGreaterThanOrEqual(5);
    expect(ms.map((m) => m.version)).toEqual([...ms.map((m) => m.version)].sort((a, b) => a - b));
    expect(ms[0]?.name).toBe("001_transfers");
    for (const m of ms) {
      expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(m.statements.length).toBeGreaterThan(0);
    }
  });
});
