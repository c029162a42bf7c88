import {
  EXCHANGE_WALLETS_LIST,
  ExchangeWalletTags,
  followWalletTags,
  ReportIngestor,
} from "@chainscreen/exchange";
import type { ConsumerHandle } from "@chainscreen/kafka";
import { WatchlistEntryV1, watchlistKey } from "@chainscreen/schema";
import { makeTransfer } from "@chainscreen/tagger";
import { collectTopic, uniqueName, waitFor } from "@chainscreen/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  active,
  freshTopics,
  loadOfacFixture,
  publishTransfers,
  publishWatchlist,
  readAllFlags,
  startTagger,
  summarize,
  waitIdle,
  watchlistMessage,
} from "../tagger/harness.js";

// Exchange wallets named by exchange reports become service tags: ingest publishes them once
// each on the compacted watchlist topic (not again on repeated reports, nor after a restart), and
// the tagger then stops indirect exposure at them, as at any exchange.

const T0 = Date.UTC(2024, 9, 1);
const MIN = 60_000;
const DEPOSIT = "0xd0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0"; // acme's deposit address (reported)
const HOT = "0xe0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0"; // acme's hot wallet (reported)
const CUSTOMER = "0x1010101010101010101010101010101010101010";
const X = "0x2020202020202020202020202020202020202020";
const Z = "0x3030303030303030303030303030303030303030";
// The same shape without any report: D2 is not known to be an exchange.
const D2 = "0x4040404040404040404040404040404040404040";
const X2 = "0x5050505050505050505050505050505050505050";
const Z2 = "0x6060606060606060606060606060606060606060";

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  while (closers.length) await closers.pop()?.();
});

const reports = [
  {
    reference: "dep-1",
    exchange: "Acme",
    direction: "deposit",
    network: "ETH",
    asset: "ETH",
    amount: "1.5",
    txHash: `0x${"a1".repeat(32)}`,
    counterpartyAddress: CUSTOMER,
    exchangeAddress: DEPOSIT.toUpperCase().replace("0X", "0x"),
    time: T0 - 10 * MIN,
  },
  {
    reference: "dep-2",
    exchange: "Acme",
    direction: "deposit",
    network: "ETH",
    asset: "ETH",
    amount: "0.5",
    txHash: `0x${"a2".repeat(32)}`,
    counterpartyAddress: CUSTOMER,
    exchangeAddress: DEPOSIT,
    time: T0 - 9 * MIN,
  },
  {
    reference: "wd-1",
    exchange: "Acme",
    direction: "withdrawal",
    network: "ETH",
    asset: "ETH",
    amount: "2",
    txHash: `0x${"a3".repeat(32)}`,
    counterpartyAddress: CUSTOMER,
    exchangeAddress: HOT,
    time: T0 - 8 * MIN,
  },
];

describe("exchange wallets reported by exchanges become service tags", () => {
  it("publishes each reported wallet once, and the tagger stops indirect exposure at it", async () => {
    const brokers = inject("kafkaBrokers");
    const { bus, topics } = await freshTopics(brokers);
    closers.push(() => bus.close());
    const listed = loadOfacFixture().find((e) => e.family === "evm")?.address as string;
    await publishWatchlist(bus, topics.watchlist, [watchlistMessage("evm", listed)]);
    // The tagger runs from the start: the tags reach it live, as in production.
    const groupId = uniqueName("tagger");
    const tagger = await startTagger(brokers, topics, {
      groupId,
      rules: { p2p: { enabled: false } },
    });
    closers.push(() => tagger.stop());
    const producer = await bus.producer();
    closers.push(() => producer.disconnect());
    const follow = async (tags: ExchangeWalletTags): Promise<ConsumerHandle> => {
      const c = await followWalletTags(bus, topics.watchlist, tags, uniqueName("wallets"));
      closers.push(() => c.stop());
      return c;
    };

    // The poller path: reports → ReportIngestor → service tags, then transfer.v1.
    const tags = new ExchangeWalletTags(producer, topics.watchlist);
    await follow(tags);
    const ingestor = new ReportIngestor(producer, topics.transfers, "acme-api:main", tags);
    const first = await ingestor.submit(reports, "acme");
    expect(first.rejected).toEqual([]);
    expect(tags.published).toBe(2);
    const tagged = await collectTopic(bus, topics.watchlist, {
      until: (m) => m.filter((x) => x.key?.startsWith(EXCHANGE_WALLETS_LIST)).length >= 2,
    });
    const entries = tagged
      .filter((m) => m.key?.startsWith(`${EXCHANGE_WALLETS_LIST}|`))
      .map((m) => ({ key: m.key, value: WatchlistEntryV1.parse(m.value) }));
    expect(entries.map((e) => e.key).sort()).toEqual(
      [
        watchlistKey(EXCHANGE_WALLETS_LIST, "evm", DEPOSIT),
        watchlistKey(EXCHANGE_WALLETS_LIST, "evm", HOT),
      ].sort(),
    );
    expect(entries[0]?.value).toMatchObject({
      listId: EXCHANGE_WALLETS_LIST,
      category: "exchange",
      entityName: "acme",
      listedFrom: null,
      listedUntil: null,
      records: [expect.objectContaining({ entityId: "acme", category: "exchange" })],
    });

    // The same reports again (a re-poll): no wallet is published a second time.
    const count = await bus.messageCount(topics.watchlist);
    await ingestor.submit(reports, "acme");
    expect(tags.published).toBe(2);
    expect(await bus.messageCount(topics.watchlist)).toBe(count);

    // A restarted publisher learns the published wallets from the compacted topic.
    const restarted = new ExchangeWalletTags(producer, topics.watchlist);
    await follow(restarted);
    await waitFor(
      () =>
        restarted.has({ family: "evm", address: DEPOSIT }) &&
        restarted.has({ family: "evm", address: HOT }),
      {
        timeoutMs: 30_000,
        message: "restarted publisher did not learn the published wallets",
      },
    );
    await new ReportIngestor(producer, topics.transfers, "acme-api:main", restarted).submit(
      reports,
      "acme",
    );
    expect(restarted.published).toBe(0);
    expect(await bus.messageCount(topics.watchlist)).toBe(count);

    // The tagger: listed → DEPOSIT → X → Z stops at the tagged deposit address; the same flows
    // through the untagged D2 carry exposure two hops on.
    await waitFor(() => tagger.runner.index.lookup("evm", DEPOSIT).length > 0, {
      timeoutMs: 30_000,
      message: "the tagger did not receive the wallet tag",
    });
    expect(
      tagger.runner.index.lookup("evm", DEPOSIT).map((e) => `${e.listId}:${e.category}`),
    ).toEqual([`${EXCHANGE_WALLETS_LIST}:exchange`]);
    await publishTransfers(bus, topics.transfers, [
      makeTransfer({ txHash: "0x01", from: listed, to: DEPOSIT, timestamp: T0 }),
      makeTransfer({ txHash: "0x02", from: DEPOSIT, to: X, timestamp: T0 + MIN }),
      makeTransfer({ txHash: "0x03", from: X, to: Z, timestamp: T0 + 2 * MIN }),
      makeTransfer({ txHash: "0x11", from: listed, to: D2, timestamp: T0 }),
      makeTransfer({ txHash: "0x12", from: D2, to: X2, timestamp: T0 + MIN }),
      makeTransfer({ txHash: "0x13", from: X2, to: Z2, timestamp: T0 + 2 * MIN }),
    ]);
    await waitIdle(bus, topics, groupId);
    const flags = active(await readAllFlags(bus, topics.flags));
    // The exchange reports themselves (customer ↔ exchange) are clean.
    expect(flags.filter((f) => f.transfer.kind.startsWith("exchange_"))).toEqual([]);
    expect(summarize(flags)).toEqual([
      "0x01:direct:0",
      "0x11:direct:0",
      "0x12:indirect:1",
      "0x13:indirect:2",
    ]);
  });
});
