/**
 * Brings a freshly started broker to the state of one that has been running: sends `messages`
 * transfer.v1-sized events in transactions of 20,000 to a throwaway 4-partition topic, which
 * creates the transaction log and gets the broker's produce path compiled by its JIT, then
 * deletes the topic. Run as its own process (bench/lib.ts `warmBroker`) so the benchmark's
 * process stays as cold as a freshly started service or CLI.
 * Usage: npx tsx bench/warm-broker.ts <brokers> [messages=100000]
 */
import { KafkaBus } from "@chainscreen/kafka";
import { silentLogger } from "@chainscreen/logger";
import { uniqueName } from "@chainscreen/testing";
import { benchTransfer } from "./lib.js";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
const brokers = process.argv[2];
const messages = Number(process.argv[3] ?? 100_000);
if (!brokers || !Number.isInteger(messages) || messages < 0) {
  console.error("usage: warm-broker.ts <brokers> [messages]");
  process.exit(2);
}
const bus = new KafkaBus(
  { brokers: brokers.split(","), clientId: "bench-warm-broker" },
  silentLogger(),
);
const topic = uniqueName("bench_warmup");
await bus.ensureTopics([{ topic, partitions: 4 }]);
const producer = await bus.producer({ transactionalId: uniqueName("bench_warmup") });
const t0 = performance.now();
for (let s = 0; s < messages; s += 20_000) {
  const n = Math.min(20_000, messages - s);
  await producer.transaction((tx) =>
    tx.send(
      topic,
      Array.from({ length: n }, (_, i) => {
        const ev = benchTransfer(s + i);
        return { key: ev.id, value: ev };
      }),
    ),
  );
}
console.error(
  `[warm-broker] ${messages} messages in ${((performance.now() - t0) / 1000).toFixed(2)} s`,
);
await producer.disconnect();
await bus.deleteTopics([topic]).catch(() => {});
await bus.close();
