import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { consume, type KafkaBus } from "@chainscreen/kafka";
import { type MessageValidator, transferId } from "@chainscreen/schema";
import { type LocalInfra, repoRoot, startLocalInfra } from "../infra/local/index.js";

/** Starts Kafka and Redis for a benchmark (or reuses CHAINSCREEN_BENCH_* ones). */
export async function benchInfra(name: string): Promise<LocalInfra & { cleanup(): Promise<void> }> {
  const dataDir = join(repoRoot, ".data", `bench-${name}-${process.pid}`);
  const infra = await startLocalInfra({
    dataDir,
    kafkaBrokers: process.env.CHAINSCREEN_BENCH_KAFKA_BROKERS,
    redisUrl: process.env.CHAINSCREEN_BENCH_REDIS_URL,
    log: (m) => console.error(`[infra] ${m}`),
  });
  return {
    ...infra,
    async cleanup() {
      await infra.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Warms a freshly started broker from a separate process (bench/warm-broker.ts): the state of a
 * broker that has been running, while the benchmark's own process stays cold. On 2 cores a fresh
 * broker spent 0.3–0.5 s more CPU on its first 100,000 transactional events than a warm one (its
 * JIT compiling), and its first 20,000-event transaction took 0.4–0.7 s instead of 0.2 s; a
 * benchmark of a service would otherwise count that as the service's.
 */
export function warmBroker(brokers: string, messages = 100_000): void {
  const r = spawnSync(
    "npx",
    ["tsx", join(import.meta.dirname, "warm-broker.ts"), brokers, String(messages)],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  if (r.status !== 0) throw new Error(`bench/warm-broker.ts exited with ${r.status ?? r.signal}`);
}

/**
 * The bus ceiling's consume half: reads `expected` messages of `topic` from the start with the
 * project's consume() (parse + `schema` validation, nothing else done with them), in a new group.
 * Seconds from the start of consume() (group join included) to the batch that reached
 * `expected`; the consumer is stopped afterwards.
 */
export async function timedConsume(
  bus: KafkaBus,
  o: { topic: string; schema: MessageValidator<unknown>; expected: number; partitions: number },
): Promise<number> {
  let seen = 0;
  let reached: () => void = () => {};
  const done = new Promise<void>((r) => {
    reached = r;
  });
  const t0 = performance.now();
  const c = await consume(bus, {
    groupId: `bench-consume-${o.topic}-${Date.now()}`,
    topics: [o.topic],
    schema: o.schema,
    fromBeginning: true,
    partitionsConsumedConcurrently: o.partitions,
    maxBytesPerPartition: 8 * 1024 * 1024,
    handleBatch: async (msgs) => {
      seen += msgs.length;
      if (seen >= o.expected) reached();
    },
  });
  await done;
  const s = (performance.now() - t0) / 1000;
  await c.stop();
  return s;
}

/** Percentile of a sorted array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/**
 * CPU seconds (user + system, all threads) a process has used so far, from /proc (Linux); null
 * when it cannot be read (no such process, another OS).
 */
export function cpuSeconds(pid: number | null | undefined): number | null {
  if (!pid) return null;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th,
    // in clock ticks (USER_HZ, 100 on Linux).
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

/** Resident set size in MB. */
export function rssMb(): number {
  return Math.round(process.memoryUsage().rss / 1024 / 1024);
}

/** Prints an aligned table. */
export function table(rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0] as object);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padStart(width[i] ?? 0)).join("  ");
  console.log(line(cols));
  for (const r of rows) console.log(line(cols.map((c) => String(r[c]))));
}

/**
 * The i-th generated USDT token transfer.v1 (~580 bytes of JSON), shared by the benches. Parties
 * and times default to the bus and store benches' (two fixed address pools, 1 ms apart); the
 * tagger and pipeline benches choose their own.
 */
export function benchTransfer(
  i: number,
  o: { from?: string; to?: string; timestamp?: number; observedAt?: number } = {},
) {
  const txHash = `0x${i.toString(16).padStart(64, "0")}`;
  return {
    type: "transfer.v1",
    id: transferId("ethereum", txHash, "token", 3),
    chain: "ethereum",
    kind: "token",
    txHash,
    index: "3",
    blockNumber: 19_000_000 + (i >> 7),
    blockHash: null,
    timestamp: o.timestamp ?? 1_700_000_000_000 + i,
    from: o.from ?? `0x${(i % 100_003).toString(16).padStart(40, "a")}`,
    to: o.to ?? `0x${(i % 99_991).toString(16).padStart(40, "b")}`,
    asset: { symbol: "USDT", contract: "0xdac17f958d2ee523a2206206994597c13d831ec7", decimals: 6 },
    amount: String(1_000_000 + i),
    status: "confirmed",
    source: "bench",
    observedAt: o.observedAt ?? 1_700_000_000_000,
  } as const;
}
