import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tryCanonicalize } from "@chainscreen/addresses";
import { isRetryable } from "@chainscreen/errors";
import { ChainFollower, KafkaIngestStore } from "@chainscreen/ingest";
import type { KafkaBus } from "@chainscreen/kafka";
import { silentLogger } from "@chainscreen/logger";
import { type FlagV1, type WatchlistEntryV1, watchlistKey } from "@chainscreen/schema";
import {
  parseRules,
  Suppressions,
  TaggerRunner,
  taggerTopicSpecs,
  taggerTopics,
} from "@chainscreen/tagger";
import { collectTopic, fixturesDir, testBus, uniqueName } from "@chainscreen/testing";
import { TronBlockSource, TronHttpClient, tronAddress } from "@chainscreen/tron";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { account, FIXTURE_BLOCK, hexOf, TronTestChain } from "./chain.js";
import { startTronTestServer, type TronTestServer } from "./server.js";

// Acceptance: a Tron address on the OFAC fixture lists (TRX or USDT `T…`) sending or receiving
// USDT-TRC20 produces a flag, through the Tron test server → TronBlockSource → ChainFollower →
// Kafka transfer.v1 → TaggerRunner → flag.v1. The real fixture transfer (clean) is not flagged.

const LISTS = join(fixturesDir, "sanctions", "ofac-0xB10C-lists-2024-09-27");
const tronListed = (code: string) =>
  (
    JSON.parse(readFileSync(join(LISTS, `sanctioned_addresses_${code}.json`), "utf8")) as string[]
  ).filter((a) => a.startsWith("T") && tryCanonicalize("tron", a).ok);
const USDT_HEX = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c";

async function retry<T>(fn: () => Promise<T>, attempts = 40): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

describe("OFAC-listed Tron addresses moving USDT through the pipeline", () => {
  let server: TronTestServer;
  let bus: KafkaBus;
  let runner: TaggerRunner | undefined;
  const usdtListed = tronListed("USDT");
  const trxListed = tronListed("TRX");
  const sender = usdtListed[0] as string;
  const receiver = trxListed[0] as string;
  const clean = account("clean-counterparty");

  beforeAll(async () => {
    const chain = new TronTestChain();
    chain.add(
      [{ kind: "trc20", from: hexOf(sender), token: USDT_HEX, to: clean, amount: 1_000_000_000n }],
      {
        number: FIXTURE_BLOCK - 1,
        hash: "0000000004b3532bbf50c7ec18ad8985176f507a15c48d2a583bc8e5130c9e67",
      },
    );
    chain.addFixture();
    chain.add([
      { kind: "trc20", from: clean, token: USDT_HEX, to: hexOf(receiver), amount: 250_000_000n },
    ]);
    chain.solidify(chain.head);
    server = await startTronTestServer({ chain });
    bus = testBus(inject("kafkaBrokers"));
  });
  afterAll(async () => {
    await runner?.stop();
    await bus?.close();
    await server?.close();
  });

  it("flags the listed sender and the listed receiver, and not the clean fixture transfer", async () => {
    expect(usdtListed.length).toBeGreaterThan(0);
    expect(trxListed.length).toBeGreaterThan(0);
    const topics = taggerTopics(uniqueName("tronflag"));
    await bus.ensureTopics(taggerTopicSpecs(topics, { exposurePartitions: 2 }));

    // The OFAC Tron entries as the watchlist sync would publish them.
    const listHash = createHash("sha256").update("ofac-0xB10C-lists-2024-09-27").digest("hex");
    const entries = [
      ...usdtListed.map((a) => ({ a, code: "USDT" })),
      ...trxListed.map((a) => ({ a, code: "TRX" })),
    ].map(({ a, code }): WatchlistEntryV1 => {
      const record = {
        code,
        entityName: null,
        entityId: null,
        programmes: [],
        category: "sanctioned" as const,
        severity: "severe" as const,
        label: null,
        designatedAt: null,
      };
      return {
        type: "watchlist.v1",
        listId: "ofac-sdn",
        listVersion: 1,
        listHash,
        family: "tron",
        address: a,
        code,
        entityName: null,
        programmes: [],
        category: "sanctioned",
        severity: "severe",
        records: [record],
        listedFrom: Date.UTC(2024, 8, 27),
        listedUntil: null,
        publishedAt: Date.UTC(2024, 8, 27),
      };
    });
    // Freshly created topics can answer "does not host this topic-partition" for a moment.
    for (const t of Object.values(topics)) await retry(() => bus.endOffsets(t));
    const p = await bus.producer();
    await retry(() =>
      p.send(
        topics.watchlist,
        entries.map((e) => ({ key: watchlistKey(e.listId, e.family, e.address), value: e })),
      ),
    );
    await p.disconnect();

    runner = new TaggerRunner({
      bus,
      log: silentLogger(),
      topics,
      groupId: uniqueName("tagger"),
      rules: () => parseRules({ p2p: { enabled: false }, structuring: { enabled: false } }),
      suppressions: new Suppressions(),
      history: null,
    });
    await runner.start();

    const store = new KafkaIngestStore({
      bus,
      log: silentLogger(),
      topics: { transfers: topics.transfers, blocks: uniqueName("tron_flag_blocks") },
      transactionalId: uniqueName("ingest-tron-flag"),
    });
    const follower = new ChainFollower({
      source: new TronBlockSource({
        client: new TronHttpClient({ urls: [server.url], baseDelayMs: 1 }),
      }),
      store,
      log: silentLogger(),
      confirmations: 0,
      useSafeHead: true,
      startBlock: FIXTURE_BLOCK - 1,
    });
    for (let i = 0; i < 10 && (follower.tip?.number ?? 0) < FIXTURE_BLOCK + 1; i++) {
      await follower.tick().catch((err: unknown) => {
        if (!isRetryable(err)) throw err;
      });
    }
    expect(follower.tip?.number).toBe(FIXTURE_BLOCK + 1);
    await store.close();

    const direct = (msgs: { value: unknown }[]) =>
      msgs.map((m) => m.value as FlagV1).filter((f) => f?.rule?.kind === "direct");
    const msgs = await collectTopic(bus, topics.flags, {
      until: (m) => new Set(direct(m).map((f) => f.address)).size >= 2,
      timeoutMs: 90_000,
    });
    const flags = direct(msgs);
    const byAddress = new Map(flags.map((f) => [f.address, f]));
    expect(byAddress.get(sender)).toMatchObject({
      sides: ["from"],
      severity: "severe",
      counterparty: tronAddress(clean),
    });
    expect(byAddress.get(receiver)).toMatchObject({ sides: ["to"], severity: "severe" });
    expect(byAddress.get(receiver)?.transfer.amount).toBe("250000000");
    expect(flags.some((f) => f.transfer.txHash.startsWith("e122cba6"))).toBe(false);
  });
});
