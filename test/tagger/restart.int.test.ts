import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TransferV1 } from "@chainscreen/schema";
import {
  LocalTagger,
  MemoryEntryIndex,
  makeEntry,
  makeTransfer,
  parseRules,
  Suppressions,
} from "@chainscreen/tagger";
import { repoRoot, waitFor } from "@chainscreen/testing";
import { afterAll, describe, expect, inject, it, onTestFinished } from "vitest";
import {
  active,
  freshTopics,
  publishTransfers,
  publishWatchlist,
  readAllFlags,
  waitIdle,
  watchlistMessage,
} from "./harness.js";

const T0 = Date.UTC(2024, 9, 1);
const addr = (i: number) => `0x${i.toString(16).padStart(40, "0")}`;

/** A deterministic pseudo-random graph: 10 listed sources, 300 addresses, 3,000 transfers in time order. */
function workload(): { listed: string[]; transfers: TransferV1[] } {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const listed = Array.from({ length: 10 }, (_, i) => addr(0xa000 + i));
  const pool = Array.from({ length: 300 }, (_, i) => addr(0x1000 + i));
  const transfers: TransferV1[] = [];
  for (let i = 0; i < 3_000; i++) {
    const fromListed = rnd(20) === 0;
    const from = fromListed ? (listed[rnd(listed.length)] ?? "") : (pool[rnd(pool.length)] ?? "");
    const to = pool[rnd(pool.length)] ?? "";
    transfers.push(
      makeTransfer({ txHash: `0x${i.toString(16)}`, from, to, timestamp: T0 + i * 1_000 }),
    );
  }
  return { listed, transfers };
}

/**
 * Runs the service as a real child process. Node itself is spawned (tsx as a loader), not the
 * tsx wrapper binary, so SIGKILL reaches the tagger and leaves no orphan behind.
 */
function startChild(env: Record<string, string>): ChildProcess {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(repoRoot, "services", "tagger", "src", "main.ts")],
    {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stderr?.on("data", (d: Buffer) => process.stderr.write(`[tagger child] ${d}`));
  // Drain stdout (pino logs) so the child never blocks on a full pipe.
  child.stdout?.resume();
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
});

describe("tagger service process", () => {
  it("killed mid-stream (SIGKILL) and restarted yields the same flag set as an uninterrupted run", async () => {
    const brokers = inject("kafkaBrokers");
    const { listed, transfers } = workload();
    // Reference: both stages in one process, no Kafka.
    const index = new MemoryEntryIndex();
    for (const a of listed)
      index.upsert(
        makeEntry("evm", a, {
          listId: "ofac-sdn",
          listVersion: "1",
          listedFrom: Date.UTC(2024, 8, 27),
          listedAt: Date.UTC(2024, 8, 27),
          entityName: "TEST ENTITY",
          programmes: ["CYBER2"],
        }),
      );
    // Memory bounds high enough not to be hit: then the flag set is independent of arrival order.
    const rulesInput = {
      indirect: { maxSourcesPerAddress: 100_000, maxOutflowsPerAddress: 100_000 },
    };
    const dir = mkdtempSync(join(tmpdir(), "tagger-rules-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const rulesFile = join(dir, "rules.json");
    writeFileSync(rulesFile, JSON.stringify(rulesInput));
    const reference = new LocalTagger({
      index,
      rules: parseRules(rulesInput),
      suppressions: new Suppressions(),
      exposurePartitions: 8,
      now: () => 0,
    });
    const expected = new Set(reference.run(transfers).map((f) => f.id));
    const kinds = new Set(reference.active().map((f) => f.rule.kind));
    expect(kinds).toEqual(new Set(["direct", "indirect"]));

    const { bus, topics, prefix } = await freshTopics(brokers, 8);
    await publishWatchlist(
      bus,
      topics.watchlist,
      listed.map((a) => watchlistMessage("evm", a)),
    );
    const env = {
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC_PREFIX: prefix,
      TAGGER_GROUP_ID: "tagger", // the service prefixes it with KAFKA_TOPIC_PREFIX
      TAGGER_OPS_PORT: "0",
      TAGGER_RULES_FILE: rulesFile,
      CLICKHOUSE_URL: "",
      LOG_LEVEL: "warn",
    };
    let child = startChild(env);
    const half = transfers.length / 2;
    for (let i = 0; i < half; i += 100)
      await publishTransfers(bus, topics.transfers, transfers.slice(i, i + 100));
    // Kill once the tagger has published some flags but not everything.
    await waitFor(async () => (await bus.messageCount(topics.flags)) > 20, {
      timeoutMs: 120_000,
      message: "tagger produced nothing",
    });
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const atKill = await bus.messageCount(topics.flags);
    for (let i = half; i < transfers.length; i += 100)
      await publishTransfers(bus, topics.transfers, transfers.slice(i, i + 100));
    child = startChild(env);
    await waitIdle(bus, topics, `${prefix}.tagger`, 180_000);
    const got = new Set(active(await readAllFlags(bus, topics.flags)).map((f) => f.id));
    console.log(
      `flag messages at kill: ${atKill}; after restart: ${await bus.messageCount(topics.flags)}; distinct active ids: ${got.size} (expected ${expected.size})`,
    );
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await bus.close();
    expect(got.size).toBe(expected.size);
    expect(got).toEqual(expected);
  });
});
