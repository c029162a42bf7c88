/**
 * The bus ceiling: produce, consume and round-trip throughput of ~300-byte transfer.v1 JSON
 * events through the real broker, with the project's own KafkaBus / consume() (validation
 * included), for a few client settings. Later pipeline benchmarks compare with these figures.
 *
 *   npm run bench -- kafka [--messages 1000000]
 */
import { performance } from "node:perf_hooks";
import { KafkaBus } from "@chainscreen/kafka";
import { silentLogger } from "@chainscreen/logger";
import { TransferV1 } from "@chainscreen/schema";
import { benchInfra, benchTransfer, rssMb, table, timedConsume } from "./lib.js";

const argN = process.argv.indexOf("--messages");
const N = argN > 0 ? Number(process.argv[argN + 1]) : 1_000_000;

interface Variant {
  name: string;
  partitions: number;
  chunk: number;
  compression: "none" | "gzip";
  idempotent: boolean;
  validate: boolean;
}

async function runVariant(brokers: string, v: Variant) {
  const bus = new KafkaBus({ brokers: [brokers], clientId: `bench-${v.name}` }, silentLogger());
  const topic = `bench.kafka.${v.name}.${Date.now()}`;
  await bus.ensureTopics([{ topic, partitions: v.partitions }]);
  const values = Array.from({ length: N }, (_, i) => {
    const e = benchTransfer(i);
    return { key: e.id, value: JSON.stringify(e) };
  });
  const bytes = values.reduce((s, m) => s + m.value.length, 0);

  // Produce: several sends in flight (one per partition-sized slice) to keep the broker busy.
  const producer = await bus.producer({
    idempotent: v.idempotent,
    compression: v.compression,
    chunkSize: v.chunk,
  });
  const t0 = performance.now();
  const lanes = 4;
  const per = Math.ceil(N / lanes);
  await Promise.all(
    Array.from({ length: lanes }, (_, l) =>
      producer.send(topic, values.slice(l * per, (l + 1) * per)),
    ),
  );
  const produceS = (performance.now() - t0) / 1000;
  await producer.disconnect();

  // Consume with validation (the real consumer path) from the beginning.
  const consumeS = await timedConsume(bus, {
    topic,
    schema: v.validate ? TransferV1 : (TransferV1.passthrough() as never),
    expected: N,
    partitions: v.partitions,
  });
  await bus.deleteTopics([topic]).catch(() => {});
  await bus.close();
  const mb = bytes / 1024 / 1024;
  return {
    variant: v.name,
    partitions: v.partitions,
    "produce msg/s": Math.round(N / produceS),
    "produce MB/s": (mb / produceS).toFixed(1),
    "consume msg/s": Math.round(N / consumeS),
    "consume MB/s": (mb / consumeS).toFixed(1),
    "round-trip msg/s": Math.round(N / (produceS + consumeS)),
    "rss MB": rssMb(),
  };
}

const infra = await benchInfra("kafka");
try {
  console.log(
    `bus ceiling: ${N.toLocaleString()} transfer.v1 events of ~${JSON.stringify(benchTransfer(1)).length} bytes\n`,
  );
  const variants: Variant[] = [
    {
      name: "p1-chunk1k",
      partitions: 1,
      chunk: 1_000,
      compression: "none",
      idempotent: true,
      validate: true,
    },
    {
      name: "p4-chunk5k",
      partitions: 4,
      chunk: 5_000,
      compression: "none",
      idempotent: true,
      validate: true,
    },
    {
      name: "p8-chunk10k",
      partitions: 8,
      chunk: 10_000,
      compression: "none",
      idempotent: true,
      validate: true,
    },
    {
      name: "p4-chunk5k-gzip",
      partitions: 4,
      chunk: 5_000,
      compression: "gzip",
      idempotent: true,
      validate: true,
    },
    {
      name: "p4-chunk5k-noidem",
      partitions: 4,
      chunk: 5_000,
      compression: "none",
      idempotent: false,
      validate: true,
    },
  ];
  const only = process.env.BENCH_VARIANT;
  const rows = [];
  for (const v of variants.filter((x) => !only || x.name === only)) {
    rows.push(await runVariant(infra.kafkaBrokers, v));
    table(rows.slice(-1));
  }
  console.log("\nsummary");
  table(rows);
} finally {
  await infra.cleanup();
}
