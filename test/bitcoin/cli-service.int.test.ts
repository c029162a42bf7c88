import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { KafkaBus } from "@chainscreen/kafka";
import type { TransferV1 } from "@chainscreen/schema";
import { collectTopic, repoRoot, testBus, uniqueName, waitFor } from "@chainscreen/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { chain50000 } from "./chain.js";
import { type BitcoinTestServer, startBitcoinTestServer } from "./server.js";

// `chainscreen backfill bitcoin` and the ingest-bitcoin service run as real processes against the
// test node and the test broker.

const execFileAsync = promisify(execFile);

describe("chainscreen backfill bitcoin and services/ingest-bitcoin", () => {
  let server: BitcoinTestServer;
  let bus: KafkaBus;
  let dir: string;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    server = await startBitcoinTestServer({
      chain: chain50000(),
      rpcAuth: { username: "u", password: "pw" },
    });
    bus = testBus(inject("kafkaBrokers"));
    dir = mkdtempSync(join(tmpdir(), "btc-cli-"));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await bus?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Creates topics up front and waits until the broker serves them (fresh test broker). */
  async function topics(...names: string[]) {
    await waitFor(() => bus.ensureTopics(names.map((topic) => ({ topic }))).then(() => true), {
      timeoutMs: 30_000,
    });
    for (const t of names)
      await waitFor(() => bus.endOffsets(t).then((p) => p.length > 0), { timeoutMs: 30_000 });
  }

  it("backfills 50000–50002 with a progress report", async () => {
    const topic = uniqueName("btc_cli_transfers");
    await topics(topic);
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      [
        join(repoRoot, "packages/cli/bin/chainscreen.mjs"),
        "backfill",
        "bitcoin",
        "--from",
        "50000",
        "--to",
        "50002",
        "--url",
        server.url,
        "--brokers",
        inject("kafkaBrokers"),
        "--topic",
        topic,
        "--confirmations",
        "0",
        "--outpoint-db",
        join(dir, "cli-outpoints"),
      ],
      { cwd: repoRoot, env: { ...process.env, BITCOIN_RPC_USER: "u", BITCOIN_RPC_PASSWORD: "pw" } },
    );
    expect(stdout).toMatch(/done: blocks 3\/3, transfers 5/);
    expect(stderr).toMatch(/done: 3 blocks/);
    const msgs = await collectTopic(bus, topic, { until: (m) => m.length >= 5, timeoutMs: 30_000 });
    expect(new Set(msgs.map((m) => m.key)).size).toBe(5);
    const pay = msgs.map((m) => m.value as TransferV1).find((t) => t.txHash.startsWith("7940cdde"));
    expect(pay).toMatchObject({
      to: "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ",
      amount: "10000000000",
      fee: "0",
    });
  });

  it("the service follows the node into Kafka and stops cleanly on SIGTERM", async () => {
    const topic = uniqueName("btc_svc_transfers");
    await topics(topic);
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(repoRoot, "services/ingest-bitcoin/src/main.ts")],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          BITCOIN_API: "rpc",
          BITCOIN_URLS: server.url,
          BITCOIN_RPC_USER: "u",
          BITCOIN_RPC_PASSWORD: "pw",
          BITCOIN_CONFIRMATIONS: "1",
          BITCOIN_START_BLOCK: "50000",
          BITCOIN_OUTPOINT_DB: join(dir, "svc-outpoints"),
          BITCOIN_POLL_INTERVAL_MS: "100",
          KAFKA_BROKERS: inject("kafkaBrokers"),
          TRANSFERS_TOPIC: topic,
          INGEST_BLOCKS_TOPIC: uniqueName("btc_svc_blocks"),
          INGEST_TRANSACTIONAL_ID: uniqueName("ingest-bitcoin"),
          LOG_LEVEL: "warn",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    children.push(child);
    let output = "";
    child.stdout?.on("data", (d) => {
      output += String(d);
    });
    child.stderr?.on("data", (d) => {
      output += String(d);
    });
    // One confirmation: blocks 50000 and 50001 are emitted (4 transfers), 50002 waits.
    const msgs = await collectTopic(bus, topic, { until: (m) => m.length >= 4, timeoutMs: 90_000 });
    expect(msgs.map((m) => (m.value as TransferV1).blockNumber).sort()).toEqual([
      50000, 50001, 50001, 50001,
    ]);
    child.kill("SIGTERM");
    await waitFor(() => child.exitCode !== null || child.signalCode !== null, {
      timeoutMs: 30_000,
    });
    expect(child.exitCode, output).toBe(0);
  });
});
