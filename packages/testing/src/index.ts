import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { KafkaBus } from "@chainscreen/kafka";
import { type Logger, silentLogger } from "@chainscreen/logger";

/** Absolute path of the shared public fixtures (../shared/fixtures next to the repo). */
export const fixturesDir = resolve(
  import.meta.dirname,
  "..",
  "..",
  "..",
  "..",
  "shared",
  "fixtures",
);

/** Repository root. */
export const repoRoot = resolve(import.meta.dirname, "..", "..", "..");

/** A name unique to this run, safe for topics, groups and databases: `<prefix>_<8 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix.replace(/[^a-zA-Z0-9_]/g, "_")}_${randomBytes(4).toString("hex")}`;
}

/** A bus on the given brokers (tests pass inject("kafkaBrokers")). */
export function testBus(
  brokers: string,
  clientId = uniqueName("test"),
  log: Logger = silentLogger(),
): KafkaBus {
  return new KafkaBus({ brokers: brokers.split(","), clientId }, log);
}

/** Polls `fn` until it returns a truthy value; throws the last error or a timeout. */
export async function waitFor<T>(
  fn: () => Promise<T> | T,
  opts: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
  throw new Error(
    `${opts.message ?? "condition not met"} within ${opts.timeoutMs ?? 30_000} ms${last ? `: ${String(last)}` : ""}`,
  );
}

/**
 * Reads a topic from the beginning with a throwaway consumer group until `until(messages)` is
 * true or the timeout passes; returns the raw decoded messages (value parsed as JSON or null).
 */
export async function collectTopic(
  bus: KafkaBus,
  topic: string,
  opts: { until: (msgs: CollectedMessage[]) => boolean; timeoutMs?: number },
): Promise<CollectedMessage[]> {
  const out: CollectedMessage[] = [];
  const consumer = bus.kafka.consumer({ groupId: uniqueName("collect"), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        let value: unknown = null;
        if (m.value) {
          const s = m.value.toString("utf8");
          try {
            value = JSON.parse(s);
          } catch {
            value = s;
          }
        }
        out.push({
          partition: batch.partition,
          offset: m.offset,
          key: m.key?.toString("utf8") ?? null,
          value,
        });
      }
      if (opts.until(out)) resolveDone();
    },
  });
  const timeout = opts.timeoutMs ?? 60_000;
  const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeout).unref());
  if (!opts.until(out)) await Promise.race([done, timer]);
  await consumer.disconnect();
  return out;
}

/**
 * Reads at least `count` messages back from the start of `topic`, then reads it once more waiting
 * a few seconds for anything beyond `count`: `total` is what that second read saw, so a duplicate
 * (or any extra message) shows as `total > count`.
 */
export async function readBack(
  bus: KafkaBus,
  topic: string,
  count: number,
): Promise<{ msgs: CollectedMessage[]; total: number }> {
  const msgs = await collectTopic(bus, topic, {
    until: (m) => m.length >= count,
    timeoutMs: 60_000,
  });
  const again = await collectTopic(bus, topic, {
    until: (m) => m.length > count,
    timeoutMs: 4_000,
  });
  return { msgs, total: again.length };
}

/** A message read by {@link collectTopic}. */
export interface CollectedMessage {
  partition: number;
  offset: string;
  key: string | null;
  value: unknown;
}
