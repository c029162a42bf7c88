import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  createStoreClient,
  defaultMigrationsDir,
  migrate,
  type StoreConfig,
} from "@chainscreen/store";
import { loadSuppressionsFromStore, Suppressions } from "@chainscreen/tagger";
import { repoRoot, uniqueName } from "@chainscreen/testing";
import { describe, expect, inject, it } from "vitest";

describe("suppressions from the store", () => {
  it("reads the API's fp_suppressions (latest version, deleted rows excluded)", async () => {
    const config: StoreConfig = {
      url: inject("clickhouseUrl"),
      username: inject("clickhouseUser"),
      password: inject("clickhousePassword"),
      database: uniqueName("tagger_supp"),
    };
    const dir = join(repoRoot, ".data", uniqueName("tagger-supp-migrations"));
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(defaultMigrationsDir))
      if (/^101_/.test(f)) copyFileSync(join(defaultMigrationsDir, f), join(dir, f));
    await migrate(config, { dir });
    rmSync(dir, { recursive: true, force: true });
    const client = createStoreClient(config);
    const a = "0x1111111111111111111111111111111111111111";
    const b = "0x2222222222222222222222222222222222222222";
    const row = (id: string, version: number, deleted: number, until: string | null) => ({
      id,
      tenant_id: "t1",
      case_id: "c1",
      family: "evm",
      a,
      b,
      rule: "direct",
      until,
      reason: "known counterparty",
      created_by: "analyst",
      created_at: "2024-10-01 00:00:00.000",
      version,
      deleted,
    });
    await client.insert({
      table: "fp_suppressions",
      values: [
        row("s1", 1, 0, null),
        row("s2", 1, 0, null),
        row("s2", 2, 1, null),
        row("s3", 1, 0, "2024-01-01 00:00:00.000"),
      ],
      format: "JSONEachRow",
    });
    const list = await loadSuppressionsFromStore(client);
    expect(list.map((s) => s.until ?? null).sort()).toEqual([Date.UTC(2024, 0, 1), null]);
    const sup = new Suppressions(list);
    expect(sup.isSuppressed("evm", "direct", b, [a], Date.UTC(2024, 5, 1))).toBe(true);
    expect(sup.isSuppressed("evm", "indirect", b, [a], Date.UTC(2024, 5, 1))).toBe(false);
    await client.close();
  });
});
