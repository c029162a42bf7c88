/**
 * Tagger throughput through the real broker: transfers/s screened by a TaggerRunner (direct
 * screening against 1M and 10M list entries, indirect exposure and structuring on: every sender's
 * outflow is held and joined by the screening instance's exposure engine, exposure facts and
 * in-band outflows go through the exposure topic), with resident memory, beside a plain validated
 * consume of the same transfer topic in the same run (the bus ceiling; also with the tagger's
 * validator). Runs in rounds: each round measures the ceiling again and then every tagger variant,
 * and the summary gives the median and range of tagger ÷ its round's ceiling.
 *
 *   npm run bench -- tagger [--transfers 500000] [--entries 1000000,10000000] [--rounds 3] [--with-direct-only] [--held-outflows 500000] [--pool 100000] [--route-only]
 */
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { KafkaBus } from "@chainscreen/kafka";
import { silentLogger } from "@chainscreen/logger";
import { FastTransferV1, type MessageValidator, TransferV1 } from "@chainscreen/schema";
import {
  MatcherEntryIndex,
  parseRules,
  Suppressions,
  TaggerRunner,
  taggerTopicSpecs,
  taggerTopics,
} from "@chainscreen/tagger";
import { benchInfra, benchTransfer, percentile, rssMb, table, timedConsume } from "./lib.js";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? def) : def;
};
const N = Number(arg("transfers", "500000"));
const ENTRY_COUNTS = arg("entries", "1000000,10000000").split(",").map(Number);
const POOL = Number(arg("pool", "100000")); // active non-listed addresses
const HELD = Number(arg("held-outflows", "500000")); // ExposureEngine bound on held outflows
const ROUNDS = Number(arg("rounds", "3"));
const LISTED_SENDERS = 1_000; // listed addresses that actually send (inside the big list)

/** A full garbage collection (V8's gc(), made available here without a command-line flag). */
setFlagsFromString("--expose-gc");
const fullGc = runInNewContext("gc") as () => void;

const hex40 = (prefix: string, i: number) =>
  `0x${prefix}${i.toString(16).padStart(40 - prefix.length, "0")}`;
const listedAddr = (i: number) => hex40("a", i);
const poolAddr = (i: number) => hex40("b", i);

/** ~1 in 1,000 transfers leaves a listed address; the rest move between pool addresses. */
function event(i: number) {
  const fromListed = i % 1_000 === 7;
  return benchTransfer(i, {
    timestamp: 1_700_000_000_000 + i * 100,
    from: fromListed ? listedAddr((i * 7919) % LISTED_SENDERS) : poolAddr((i * 2654435761) % POOL),
    to: poolAddr((i * 40503 + 17) % POOL),
  });
}

/** Waits until every (group, topic) pair has had no lag for two checks in a row. */
async function waitLag(bus: KafkaBus, pairs: [string, string][]): Promise<void> {
  let quiet = 0;
  for (;;) {
    let lag = 0;
    for (const [g, t] of pairs) lag += await bus.lag(g, t).catch(() => 1);
    quiet = lag === 0 ? quiet + 1 : 0;
    if (quiet >= 2) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const infra = await benchInfra("tagger");
const rows: Record<string, string | number>[] = [];
try {
  const brokers = infra.kafkaBrokers;
  const bus = new KafkaBus({ brokers: [brokers], clientId: "bench-tagger" }, silentLogger());
  const prefix = `bench.tagger.${Date.now()}`;
  const topics = taggerTopics(prefix);
  await bus.ensureTopics(
    taggerTopicSpecs(topics, { partitions: 4, exposurePartitions: 4, exposureRetentionDays: 1 }),
  );
  for (const t of Object.values(topics)) {
    for (let i = 0; i < 50; i++) {
      if ((await bus.endOffsets(t).catch(() => [])).length > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const producer = await bus.producer({ chunkSize: 5_000 });
  const t0 = performance.now();
  const lanes = 4;
  for (let off = 0; off < N; off += 100_000) {
    const slice = Array.from({ length: Math.min(100_000, N - off) }, (_, j) => {
      const e = event(off + j);
      return { key: e.id, value: JSON.stringify(e) };
    });
    const per = Math.ceil(slice.length / lanes);
    await Promise.all(
      Array.from({ length: lanes }, (_, l) =>
        producer.send(topics.transfers, slice.slice(l * per, (l + 1) * per)),
      ),
    );
  }
  await producer.disconnect();
  console.log(
    `produced ${N.toLocaleString()} transfer.v1 in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  // Bus ceiling in this run: validated consume of the same topic, nothing else. The foundation
  // benchmark's consume validates with the zod schema; the tagger validates with FastTransferV1
  // (same verdicts and output, cheaper common case), so the plain consume with that validator is
  // measured too and each tagger run is reported against both.
  const plainConsume = async (
    round: number,
    label: string,
    schema: MessageValidator<unknown>,
    reference?: number,
  ): Promise<number> => {
    const s = await timedConsume(bus, {
      topic: topics.transfers,
      schema,
      expected: N,
      partitions: 4,
    });
    const rate = N / s;
    rows.push({
      round,
      run: label,
      entries: "-",
      "transfers/s": Math.round(rate),
      "% of ceiling": reference ? ((100 * rate) / reference).toFixed(0) : "100",
      "% of fast consume": "-",
      flags: "-",
      "exposure addrs": "-",
      "state MB (est)": "-",
      "rss MB": rssMb(),
    });
    table(rows.slice(-1));
    return rate;
  };

  const variants: { E: number; indirect: boolean; reserve?: boolean }[] = [];
  // Same run without indirect exposure (first: later runs inherit a larger heap from the 10M
  // index): separates screening from the exposure engine.
  if (process.argv.includes("--with-direct-only"))
    variants.push({ E: ENTRY_COUNTS[0] ?? 1_000_000, indirect: false });
  for (const E of ENTRY_COUNTS) variants.push({ E, indirect: true });
  // A/B: the held-outflow ring allocated and made resident before the run (reserveMemory).
  if (process.argv.includes("--with-reserved"))
    variants.push({ E: ENTRY_COUNTS[0] ?? 1_000_000, indirect: true, reserve: true });
  const label = (v: { E: number; indirect: boolean; reserve?: boolean }) =>
    `${v.indirect ? "tagger (direct + indirect)" : "tagger (direct only)"}, ${v.E.toLocaleString()} entries${v.reserve ? ", ring reserved" : ""}`;
  // Diagnostic: transfer stage alone (no exposure follower, no structuring stage).
  const routeOnly = process.argv.includes("--route-only");

  // One index per list size, built once (setup, not timed) and shared by the rounds.
  const indexes = new Map<number, MatcherEntryIndex>();
  const indexOf = (E: number): MatcherEntryIndex => {
    const known = indexes.get(E);
    if (known) return known;
    const rssBefore = rssMb();
    const tIdx = performance.now();
    const index = new MatcherEntryIndex();
    const meta = {
      listId: "bench",
      listVersion: 1,
      records: [
        {
          code: "ETH",
          entityName: "BENCH ENTITY",
          entityId: null,
          programmes: ["CYBER2"],
          category: "sanctioned" as const,
          severity: "severe" as const,
          label: null,
          designatedAt: null,
        },
      ],
    };
    // Shared meta per entity, as the watchlist loader does; addresses 0xa… are listed.
    for (let i = 0; i < E; i++) index.matcher.add("evm", listedAddr(i), meta, 0, null);
    const idxS = (performance.now() - tIdx) / 1000;
    const idxMb = index.matcher.byteSize() / 1024 / 1024;
    console.log(
      `index of ${E.toLocaleString()} entries built in ${idxS.toFixed(1)} s, ${idxMb.toFixed(0)} MB typed arrays, rss ${rssBefore} → ${rssMb()} MB`,
    );
    indexes.set(E, index);
    return index;
  };

  const runTagger = async (
    round: number,
    v: { E: number; indirect: boolean; reserve?: boolean },
    ceiling: number,
    fastCeiling: number,
  ): Promise<number> => {
    const index = indexOf(v.E);
    const group = `bench-tagger-${v.E}-${Date.now()}`;
    const rules = parseRules({
      p2p: { enabled: false },
      indirect: { enabled: v.indirect, maxAddresses: 2_000_000, maxHeldOutflows: HELD },
    });
    const runner = new TaggerRunner({
      bus,
      log: silentLogger(),
      topics,
      groupId: group,
      rules: () => rules,
      suppressions: new Suppressions(),
      history: null,
      index,
      stages: { retro: false, exposure: !routeOnly },
      reserveMemory: v.reserve ?? false,
    });
    const t2 = performance.now();
    await runner.start();
    const startS = (performance.now() - t2) / 1000;
    const progress = setInterval(() => {
      const el = ((performance.now() - t2) / 1000).toFixed(1);
      console.log(
        `  t=${el}s transfers=${runner.counters.transfers} exposureRecords=${runner.counters.exposureRecords}`,
      );
    }, 2_000);
    // Measured to the moment the last transfer was screened and its output published (as the
    // plain consume is measured to its last batch); then every stage is let finish.
    while (runner.counters.transfers < N) await new Promise((r) => setTimeout(r, 5));
    const s = (performance.now() - t2) / 1000;
    await waitLag(bus, [
      [group, topics.transfers],
      ...(routeOnly ? [] : ([[`${group}-exposure`, topics.exposure]] as [string, string][])),
    ]);
    clearInterval(progress);
    console.log(
      `  started (groups joined, watchlist loaded) in ${startS.toFixed(1)} s; total ${s.toFixed(1)} s`,
    );
    const st = runner.engine.stats();
    rows.push({
      round,
      run: label(v),
      entries: v.E.toLocaleString(),
      "transfers/s": Math.round(N / s),
      "% of ceiling": ((100 * N) / s / ceiling).toFixed(0),
      "% of fast consume": ((100 * N) / s / fastCeiling).toFixed(0),
      flags: runner.counters.flags,
      "exposure addrs": st.addresses,
      "state MB (est)": (st.approxBytes / 1024 / 1024).toFixed(0),
      "rss MB": rssMb(),
    });
    table(rows.slice(-1));
    const k = runner.counters;
    console.log(
      `  batches: transfer stage ${k.transferBatches} (mean ${Math.round(k.transfers / Math.max(1, k.transferBatches))}), exposure stage ${k.exposureBatches} (mean ${Math.round(k.exposureRecords / Math.max(1, k.exposureBatches))})`,
    );
    console.log(
      `  exposure topic: ${k.exposureFacts.toLocaleString()} facts followed, ${k.exposureRecords.toLocaleString()} records read by the structuring stage; engine: facts ${st.exposures.toLocaleString()}, outflows held ${st.outflows.toLocaleString()}, evicted ${st.evictedAddresses}`,
    );
    await runner.stop();
    // Next run starts from an empty exposure topic so every run does the same work.
    await bus.deleteTopics([topics.exposure, topics.flags]).catch(() => {});
    await new Promise((r) => setTimeout(r, 2_000));
    await bus.ensureTopics(
      taggerTopicSpecs(topics, { partitions: 4, exposurePartitions: 4, exposureRetentionDays: 1 }),
    );
    for (let i = 0; i < 50; i++) {
      if ((await bus.endOffsets(topics.exposure).catch(() => [])).length > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // The runner's memory (its ring of held outflows: 512 MB outside the heap) goes before the
    // next run, so later rounds do not run beside the garbage of earlier ones.
    const rssStopped = rssMb();
    fullGc();
    console.log(`  rss after stop ${rssStopped} MB, after a full GC ${rssMb()} MB`);
    return N / s / ceiling;
  };

  // Rounds: each measures the ceiling again right before its tagger runs, and each tagger run is
  // compared with its own round's ceiling (one short run of either varies by several per cent on
  // a shared 2-core machine); the summary gives the median and range of the ratios.
  const ratios = new Map<string, number[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`\nround ${round} of ${ROUNDS}`);
    const ceiling = await plainConsume(round, "plain consume (bus ceiling, zod)", TransferV1);
    const fast = await plainConsume(
      round,
      "plain consume (FastTransferV1)",
      FastTransferV1,
      ceiling,
    );
    for (const v of variants) {
      const r = await runTagger(round, v, ceiling, fast);
      ratios.set(label(v), [...(ratios.get(label(v)) ?? []), r]);
    }
  }
  console.log("\nsummary");
  table(rows);
  console.log(`\ntagger as % of the same round's bus ceiling (zod consume), ${ROUNDS} rounds`);
  table(
    [...ratios].map(([run, rs]) => {
      const sorted = [...rs].sort((a, b) => a - b);
      const pct = (x: number) => (100 * x).toFixed(0);
      return {
        run,
        median: pct(percentile(sorted, 50)),
        min: pct(sorted[0] as number),
        max: pct(sorted[sorted.length - 1] as number),
      };
    }),
  );
  await bus.deleteTopics(Object.values(topics)).catch(() => {});
  await bus.close();
} finally {
  await infra.cleanup();
}
