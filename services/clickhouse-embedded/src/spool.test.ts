import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { defaultSpoolDir, InsertSpool } from "./spool.js";

describe("InsertSpool", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("writes each payload to a file of its own", async () => {
    const dir = mkdtempSync(join(tmpdir(), "spool-test-"));
    dirs.push(dir);
    const spool = new InsertSpool(dir);
    const a = await spool.write(Buffer.from('["a",1]\n'));
    const b = await spool.write(Buffer.from('["b",2]\n'));
    expect(a).not.toBeNull();
    expect(b).not.toBe(a);
    expect(dirname(a as string)).toBe(dir);
    expect(readFileSync(a as string, "utf8")).toBe('["a",1]\n');
    expect(readFileSync(b as string, "utf8")).toBe('["b",2]\n');
  });

  it("answers null when it cannot write, and reports that once", async () => {
    const reasons: unknown[] = [];
    const spool = new InsertSpool(join(tmpdir(), "spool-test-missing", "nested"), (e) =>
      reasons.push(e),
    );
    expect(await spool.write(Buffer.from("x\n"))).toBeNull();
    expect(await spool.write(Buffer.from("y\n"))).toBeNull();
    expect(reasons).toHaveLength(1);
    expect((reasons[0] as NodeJS.ErrnoException).code).toBe("ENOENT");
  });

  it("keeps one spool directory per data directory", () => {
    expect(defaultSpoolDir("/data/a")).toBe(defaultSpoolDir("/data/a"));
    expect(defaultSpoolDir("/data/a")).not.toBe(defaultSpoolDir("/data/b"));
  });
});
