import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Family, familyForCode, tryCanonicalize } from "@chainscreen/addresses";
import type { KafkaBus } from "@chainscreen/kafka";
import { silentLogger } from "@chainscreen/logger";
import {
  type FlagV1,
  type TransferV1,
  type WatchlistEntryV1,
  watchlistKey,
} from "@chainscreen/schema";
import {
  parseRules,
  type RulesConfigInput,
  Suppressions,
  TaggerRunner,
  type TaggerTopics,
  type TransferHistory,
  taggerTopicSpecs,
  taggerTopics,
} from "@chainscreen/tagger";
import { collectTopic, fixturesDir, testBus, uniqueName, waitFor } from "@chainscreen/testing";

/** Date of the fixture lists; used as the listing date of every fixture entry. */
export const LISTS_DATE = Date.UTC(2024, 8, 27);
export const LIST_DIR = join(fixturesDir, "sanctions", "ofac-0xB10C-lists-2024-09-27");

/** Chain to put a synthetic transfer of each family on. */
export const CHAIN_OF: Record<string, string> = {
  evm: "ethereum",
  bitcoin: "bitcoin",
  tron: "tron",
  litecoin: "litecoin",
  "bitcoin-cash": "bitcoin-cash",
  "bitcoin-sv": "bitcoin-sv",
  "bitcoin-gold": "bitcoin-gold",
  dash: "dash",
  zcash: "zcash",
  monero: "monero",
  xrp: "xrp",
  verge: "verge",
};

/** The 2024-09-27 lists as canonical (family, address, codes), invalid addresses skipped. */
export function loadOfacFixture(): { family: Family; address: string; codes: string[] }[] {
  const out = new Map<string, { family: Family; address: string; codes: string[] }>();
  for (const f of readdirSync(LIST_DIR).filter((n) => n.endsWith(".txt"))) {
    const code = f.replace("sanctioned_addresses_", "").replace(".txt", "");
    for (const line of readFileSync(join(LIST_DIR, f), "utf8").split("\n")) {
      const raw = line.trim();
      if (!raw) continue;
      const { family } = familyForCode(code, raw);
      const c = tryCanonicalize(family, raw);
      if (!c.ok) continue;
      const k = `${family}:${c.address}`;
      const e = out.get(k) ?? { family, address: c.address, codes: [] };
      e.codes.push(code);
      out.set(k, e);
    }
  }
  return [...out.values()];
}

/** A `watchlist.v1` state message. */
export function watchlistMessage(
  family: string,
  address: string,
  over: Partial<WatchlistEntryV1> = {},
): WatchlistEntryV1 {
  const entityName = over.entityName === undefined ? "TEST ENTITY" : over.entityName;
  const programmes = over.programmes ?? ["CYBER2"];
  const category = over.category ?? "sanctioned";
  const severity = over.severity ?? "severe";
  return {
    type: "watchlist.v1",
    listId: "ofac-sdn",
    listVersion: 1,
    listHash: "0".repeat(64),
    family,
    address,
    code: null,
    entityName,
    programmes,
    category,
    severity,
    records: [
      {
        code: over.code ?? null,
        entityName,
        entityId: null,
        programmes,
        category,
        severity,
        label: null,
        designatedAt: null,
      },
    ],
    listedFrom: LISTS_DATE,
    listedUntil: null,
    publishedAt: LISTS_DATE,
    ...over,
  };
}

/** Publishes watchlist states (keyed as the watchlist publisher keys them). */
export async function publishWatchlist(
  bus: KafkaBus,
  topic: string,
  msgs: WatchlistEntryV1[],
): Promise<void> {
  const p = await bus.producer();
  await p.send(
    topic,
    msgs.map((m) => ({ key: watchlistKey(m.listId, m.family, m.address), value: m })),
  );
  await p.disconnect();
}

/** Publishes a tombstone (removal) for an entry. */
export async function publishTombstone(
  bus: KafkaBus,
  topic: string,
  listId: string,
  family: string,
  address: string,
): Promise<void> {
  const p = await bus.producer();
  await p.send(topic, [{ key: watchlistKey(listId, family, address), value: null }]);
  await p.disconnect();
}

/** Produces transfers keyed by transfer id (as ingesters do: any partition). */
export async function publishTransfers(
  bus: KafkaBus,
  topic: string,
  transfers: TransferV1[],
): Promise<void> {
  const p = await bus.producer();
  await p.send(
    topic,
    transfers.map((t) => ({ key: t.id, value: t })),
  );
  await p.disconnect();
}

/** A fresh topic set (unique prefix) with the tagger's topics created. */
export async function freshTopics(
  brokers: string,
  exposurePartitions = 4,
): Promise<{ bus: KafkaBus; topics: TaggerTopics; prefix: string }> {
  const prefix = uniqueName("tagger");
  const bus = testBus(brokers);
  const topics = taggerTopics(prefix);
  await bus.ensureTopics(taggerTopicSpecs(topics, { partitions: 4, exposurePartitions }));
  // Leadership of new topics settles asynchronously: wait until every topic answers.
  for (const t of Object.values(topics)) {
    await waitFor(async () => (await bus.endOffsets(t)).length > 0, {
      timeoutMs: 30_000,
      message: `topic ${t} not ready`,
    });
  }
  return { bus, topics, prefix };
}

/** Starts an in-process tagger instance on its own bus. */
export async function startTagger(
  brokers: string,
  topics: TaggerTopics,
  opts: {
    groupId: string;
    rules?: RulesConfigInput;
    history?: TransferHistory | null;
    replayTransfers?: number;
  },
): Promise<{ runner: TaggerRunner; bus: KafkaBus; stop: () => Promise<void> }> {
  const bus = testBus(brokers);
  const rules = parseRules(opts.rules ?? {});
  const runner = new TaggerRunner({
    bus,
    log: silentLogger(),
    topics,
    groupId: opts.groupId,
    rules: () => rules,
    suppressions: new Suppressions(),
    history: opts.history ?? null,
    replayTransfers: opts.replayTransfers,
  });
  await runner.start({ watchlistTimeoutMs: 60_000 });
  return {
    runner,
    bus,
    stop: async () => {
      await runner.stop();
      await bus.close();
    },
  };
}

/** Latest version of each flag on the topic, by id (reads from the start). */
export async function readFlags(
  bus: KafkaBus,
  topic: string,
  until: (flags: Map<string, FlagV1>) => boolean,
  timeoutMs = 60_000,
): Promise<Map<string, FlagV1>> {
  const latest = new Map<string, FlagV1>();
  await collectTopic(bus, topic, {
    timeoutMs,
    until: (msgs) => {
      latest.clear();
      for (const m of msgs) {
        const f = m.value as FlagV1;
        latest.set(f.id, f);
      }
      return until(latest);
    },
  });
  return latest;
}

/** Active flags only. */
export function active(flags: Map<string, FlagV1>): FlagV1[] {
  return [...flags.values()].filter((f) => f.status === "active");
}

/** `txHash:rule:hops` summaries, sorted. */
export function summarize(flags: FlagV1[]): string[] {
  return flags.map((f) => `${f.transfer.txHash}:${f.rule.kind}:${f.hops}`).sort();
}

/**
 * Waits until the tagger's transfer and exposure stages have committed everything currently on
 * their topics, twice in a row (records produced by the exposure stage feed itself).
 */
export async function waitIdle(
  bus: KafkaBus,
  topics: TaggerTopics,
  groupId: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (Date.now() < deadline) {
    const lag =
      (await bus.lag(groupId, topics.transfers).catch(() => 1)) +
      (await bus.lag(`${groupId}-exposure`, topics.exposure).catch(() => 1));
    quiet = lag === 0 ? quiet + 1 : 0;
    if (quiet >= 3) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error("tagger did not become idle");
}

/** Every flag currently on the topic (latest version per id). */
export async function readAllFlags(bus: KafkaBus, topic: string): Promise<Map<string, FlagV1>> {
  const n = await bus.messageCount(topic);
  const latest = new Map<string, FlagV1>();
  const msgs = await collectTopic(bus, topic, { until: (m) => m.length >= n, timeoutMs: 60_000 });
  for (const m of msgs) {
    const f = m.value as FlagV1;
    latest.set(f.id, f);
  }
  return latest;
}
