import { describe, expect, it } from "vitest";
import { inspect, isDeniedFunction, plainInsert, quoteIdent, quoteString } from "./sql.js";

describe("inspect", () => {
  it("classifies statements and finds the FORMAT clause", () => {
    expect(inspect("SELECT 1 FORMAT JSONEachRow")).toMatchObject({
      kind: "SELECT",
      format: "JSONEachRow",
      multiStatement: false,
    });
    expect(
      inspect("  with x as (select 1) select * from x format CSV settings max_threads=1"),
    ).toMatchObject({
      kind: "WITH",
      format: "CSV",
    });
    expect(inspect("(SELECT 1)").kind).toBe("(");
    expect(inspect("SELECT 1").format).toBeNull();
    // A column named format is not a FORMAT clause, nor is FORMAT inside a subquery.
    expect(inspect("SELECT format FROM t").format).toBeNull();
    expect(inspect("SELECT * FROM (SELECT 1 FORMAT JSON)").format).toBeNull();
  });

  it("stops at the data of an INSERT", () => {
    const data = '{"a":"x; DROP TABLE t; file(\'/etc/passwd\')"}\n'.repeat(3);
    const i = inspect(`INSERT INTO t FORMAT JSONEachRow\n${data}`);
    expect(i).toMatchObject({
      kind: "INSERT",
      format: "JSONEachRow",
      multiStatement: false,
      calls: [],
    });
    expect(inspect("INSERT INTO t (a, b) VALUES (1, 'x;y'), (2, 'z')").multiStatement).toBe(false);
  });

  it("refuses multi-statements but not semicolons in literals, identifiers or comments", () => {
    expect(inspect("SELECT 1; DROP TABLE t").multiStatement).toBe(true);
    expect(inspect("SELECT 1;").multiStatement).toBe(false);
    expect(inspect("SELECT 1; -- done\n").multiStatement).toBe(false);
    expect(inspect("SELECT 'a;b', \"c;d\", `e;f` /* ; */ -- ;\n").multiStatement).toBe(false);
    expect(inspect("SELECT 'it''s; fine', 'esc\\'; still'").multiStatement).toBe(false);
    expect(inspect("SELECT /* nested /* ; */ ; */ 1").multiStatement).toBe(false);
  });

  it("lists called functions, including quoted names", () => {
    expect(inspect("SELECT file('/x'), count() FROM `url`('http://x', CSV)").calls).toEqual([
      "file",
      "count",
      "url",
    ]);
    expect(inspect("SELECT 'file(' AS s").calls).toEqual([]);
  });

  it("spots INTO OUTFILE and FROM INFILE", () => {
    expect(inspect("SELECT 1 INTO OUTFILE '/tmp/x'").fileClause).toBe(true);
    expect(inspect("INSERT INTO t FROM INFILE '/etc/passwd' FORMAT CSV").fileClause).toBe(true);
    expect(inspect("SELECT 'INTO OUTFILE'").fileClause).toBe(false);
  });
});

describe("isDeniedFunction", () => {
  it("denies functions that reach outside the database", () => {
    for (const f of [
      "file",
      "FILE",
      "url",
      "remote",
      "remoteSecure",
      "s3",
      "s3Cluster",
      "hdfs",
      "mysql",
      "postgresql",
      "azureBlobStorage",
      "icebergS3",
      "executable",
      "jdbc",
    ]) {
      expect(isDeniedFunction(f), f).toBe(true);
    }
    for (const f of [
      "count",
      "sum",
      "numbers",
      "toString",
      "cityHash64",
      "JSONExtractString",
      "arrayJoin",
    ]) {
      expect(isDeniedFunction(f), f).toBe(false);
    }
  });
});

describe("quoting", () => {
  it("escapes quotes and backslashes", () => {
    expect(quoteString("a'b\\c")).toBe("'a\\'b\\\\c'");
    expect(quoteIdent("we`ird")).toBe("`we\\`ird`");
  });
});

describe("plainInsert", () => {
  it("recognises the INSERT clients send with rows in the body", () => {
    expect(plainInsert("INSERT INTO transfers (id, chain) FORMAT JSONCompactEachRow")).toEqual({
      database: null,
      table: "transfers",
      columns: ["id", "chain"],
      format: "JSONCompactEachRow",
    });
    expect(plainInsert(" insert into db_1.kv FORMAT JSONEachRow\n")).toEqual({
      database: "db_1",
      table: "kv",
      columns: null,
      format: "JSONEachRow",
    });
    expect(plainInsert("INSERT INTO TABLE t(a,b) FORMAT TSV;")?.columns).toEqual(["a", "b"]);
  });

  it("leaves everything else to the general path", () => {
    for (const sql of [
      "INSERT INTO t FORMAT RowBinary",
      "INSERT INTO t FORMAT Native",
      "INSERT INTO t SETTINGS async_insert = 1 FORMAT JSONEachRow",
      "INSERT INTO t SELECT * FROM input('a UInt8') FORMAT CSV",
      "INSERT INTO t VALUES (1)",
      "INSERT INTO `t` FORMAT JSONEachRow",
      "INSERT INTO t (* EXCEPT (a)) FORMAT JSONEachRow",
      'INSERT INTO t FORMAT JSONEachRow {"a":1}',
      "INSERT INTO t /* c */ FORMAT CSV",
      "INSERT INTO FUNCTION file('x') FORMAT CSV",
      "SELECT 1 FORMAT CSV",
    ]) {
      expect(plainInsert(sql), sql).toBeNull();
    }
  });
});
