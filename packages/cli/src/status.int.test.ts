import { createStoreClient, listVersionRow, migrate, Store, Tables } from "@chainscreen/store";
import { testBus, uniqueName } from "@chainscreen/testing";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { buildProgram } from "./program.js";

afterEach(() => {
  vi.restoreAllMocks();
});

const version = (listId: string, v: number, addresses: number, added: number, removed: number) => ({
  listId,
  version: v,
  hash: String(v).repeat(64),
  source: `https://lists.example/${listId}.csv`,
  importedAt: Date.parse(`2024-0${v}-01T00:00:00Z`),
  counts: { addresses },
  diff: {
    added: Array.from({ length: added }, (_, i) => `evm:${i}`),
    removed: Array.from({ length: removed }, (_, i) => `bitcoin:${i}`),
  },
  report: { unknownCodes: {} },
});

describe("chainscreen status", () => {
  it("shows the latest activated version of each list from list_versions", async () => {
    const config = {
      url: inject("clickhouseUrl"),
      username: inject("clickhouseUser"),
      password: inject("clickhousePassword"),
      database: uniqueName("cli_status"),
    };
    await migrate(config, { maxVersion: 99 });
    const client = createStoreClient(config);
    const rows = [
      listVersionRow(version("ofac-sdn", 1, 280, 280, 0), null),
      listVersionRow(version("ofac-sdn", 2, 279, 0, 1), Date.parse("2024-02-01T00:00:05Z")),
      listVersionRow(version("demo", 1, 12, 12, 0), null),
    ];
    await new Store(client).insertRows(Tables.listVersions, rows);
    // Recorded twice (a retried insert): still one version.
    await new Store(client).insertRows(Tables.listVersions, rows.slice(1, 2));
    await client.close();

    // A topic of our own keeps the lag section quick (no metadata retries for missing topics).
    const bus = testBus(inject("kafkaBrokers"));
    const topic = uniqueName("status");
    await bus.ensureTopics([{ topic, partitions: 1 }]);

    const out: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
      out.push(args.join(" "));
    });
    const program = await buildProgram();
    await program.parseAsync(
      [
        "status",
        "--brokers",
        inject("kafkaBrokers"),
        "--groups",
        `${uniqueName("g")}:${topic}`,
        "--metrics",
        "",
        "--clickhouse",
        config.url,
        "--clickhouse-user",
        config.username,
        "--clickhouse-password",
        config.password,
        "--clickhouse-database",
        config.database,
        "--redis",
        inject("redisUrl"),
        "--queue-prefix",
        uniqueName("q"),
      ],
      { from: "user" },
    );
    await bus.deleteTopics([topic]).catch(() => undefined);
    await bus.close();

    const text = out.join("\n");
    const section = text.slice(text.indexOf("watchlists"));
    const lines = section.split("\n").slice(1, 4);
    expect(lines[0]).toMatch(/list\s+version\s+entries\s+added\s+removed\s+fetched_at\s+versions/);
    expect(lines[1]).toMatch(/^\s+demo\s+1\s+12\s+12\s+0\s+2024-01-01 00:00:00.000\s+1\s*$/);
    expect(lines[2]).toMatch(/^\s+ofac-sdn\s+2\s+279\s+0\s+1\s+2024-02-01 00:00:00.000\s+2\s*$/);
  });
});
