import { describe, expect, it } from "vitest";
import { checkSql } from "./sql-guard.js";

describe("checkSql", () => {
  it.each([
    "SELECT count() FROM flags",
    "select exchange, status from api_flows where chain = 'ethereum';",
    "WITH x AS (SELECT 1) SELECT * FROM x",
    "SELECT 'INSERT INTO t; DROP TABLE x' AS s",
    "SELECT name FROM system.tables",
    "SELECT sum(number) FROM numbers(10)",
    "EXPLAIN SELECT 1",
    "SHOW TABLES",
    "-- comment DROP\nSELECT 1 /* ALTER */",
  ])("accepts %s", (q) => {
    expect(checkSql(q)).toMatchObject({ ok: true });
  });

  it.each([
    ["INSERT INTO flags VALUES (1)", /only SELECT/],
    ["ALTER TABLE flags DELETE WHERE 1", /only SELECT/],
    ["DROP TABLE flags", /only SELECT/],
    ["SET readonly = 0", /only SELECT/],
    ["SELECT 1; DROP TABLE flags", /one statement/],
    ["SELECT * FROM file('/etc/passwd', 'CSV')", /table function file/],
    ["SELECT * FROM url('http://x', CSV)", /table function url/],
    ["SELECT * FROM remote('127.0.0.1', default.flags)", /table function remote/],
    ["select * from S3('http://x')", /table function S3/],
    ["SELECT * FROM `file` ('/etc/passwd')", /table function file/],
    ["SELECT * FROM executable('ls', TSV, 'x String')", /executable/],
    ["SELECT 1 SETTINGS readonly = 0", /SETTINGS/],
    ["SELECT 1 INTO OUTFILE 'x'", /OUTFILE/],
    ["SELECT 1 FORMAT Native", /FORMAT/],
    ["SELECT 'unterminated", /unterminated/],
    ["", /empty/],
  ])("refuses %s", (q, re) => {
    const r = checkSql(q);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(re);
  });
});
