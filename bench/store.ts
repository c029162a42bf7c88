/**
 * The ClickHouse store on the embedded engine (chDB behind ClickHouse's HTTP interface):
 *
 * 1. Sink throughput: transfer.v1 events pre-loaded into the real broker, drained by the
 *    project's consume() + StoreSink (validation, encoding, JSONCompactEachRow inserts with dedup
 *    tokens) into `transfers` (and its address MV) over HTTP — rows/s, with partitions processed
 *    one at a time or in parallel, by one or two consumers (services/sink: 2 consumers × 2).
 * 2. Query latency on a large table: `--rows` transfers (default 10M) generated inside the engine
 *    with INSERT … SELECT FROM numbers(), plus flags; then p50/p95 of address-history and
 *    flagged-flow queries through @clickhouse/client, as the API runs them.
 *
 *   npm run bench -- store [--messages 500000] [--rows 10000000] [--queries 200]
 */
import { rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { consume, KafkaBus } from "@chainscreen/kafka";
import { silentLogger } from "@chainscreen/logger";
import { createStoreClient, migrate, Store, StoreSink, transfersTarget } from "@chainscreen/store";
import { startClickHouse, stopClickHouse } from "../infra/local/clickhouse.js";
import { freePort, repoRoot } from "../infra/local/index.js";
import { benchInfra, benchTransfer, cpuSeconds, percentile, rssMb, table } from "./lib.js";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const MESSAGES = arg("messages", 500_000);
const ROWS = arg("rows", 10_000_000);
const QUERIES = arg("queries", 200);
const ADDRESSES = 1_000_003; // distinct addresses in the generated table (≈ 20 flows each)

const addr = (expr: string) => `concat('0x', leftPad(lower(hex(${expr})), 40, '0'))`;

async function main() {
  const infra = await benchInfra("store");
  const chDir = join(repoRoot, ".data", `bench-store-ch-${process.pid}`);
  const ch = await startClickHouse({ port: await freePort(), dataDir: chDir }, (m) =>
    console.error(`[infra] ${m}`),
  );
  const cfg = {
    url: ch.url,
    username: ch.users.writer.user,
    password: ch.users.writer.password,
    database: "bench",
    requestTimeoutMs: 1_800_000,
  };
  const client = createStoreClient(cfg);
  try {
    await migrate(cfg, { maxVersion: 99 });
    const store = new Store(client);

    // ---- 1. sink throughput -------------------------------------------------------------
    const bus = new KafkaBus(
      { brokers: [infra.kafkaBrokers], clientId: "bench-store" },
      silentLogger(),
    );
    const topic = `bench.store.${Date.now()}`;
    await bus.ensureTopics([{ topic, partitions: 4 }]);
    const producer = await bus.producer({ chunkSize: 10_000 });
    for (let i = 0; i < MESSAGES; i += 50_000) {
      const batch = [];
      for (let j = i; j < Math.min(MESSAGES, i + 50_000); j++) {
        const e = benchTransfer(j);
        batch.push({ key: e.id, value: e });
      }
      await producer.send(topic, batch);
    }
    await producer.disconnect();
    console.error(`[bench] ${MESSAGES} events in ${topic}`);

    const rows: Record<string, string | number>[] = [];
    // CPU seconds so far of the sink (this process), the embedded engine and the broker.
    const cpuNow = () => {
      const u = process.cpuUsage();
      return [
        (u.user + u.system) / 1e6,
        cpuSeconds(ch.pid) ?? Number.NaN,
        cpuSeconds(infra.kafkaPid) ?? Number.NaN,
      ];
    };
    // [consumers in the group sharing one StoreSink, partitions each processes in parallel];
    // services/sink runs SINK_CONSUMERS × SINK_PARTITIONS_IN_PARALLEL, by default 2 × 2.
    const variants: Array<[number, number]> = [
      [1, 1],
      [1, 4],
      [2, 2],
    ];
    for (const [consumers, concurrency] of MESSAGES > 0 ? variants : []) {
      await client.command({ query: "TRUNCATE TABLE transfers" });
      await client.command({ query: "TRUNCATE TABLE transfers_by_address" });
      const sink = new StoreSink(store, transfersTarget, silentLogger(), 50_000);
      let stored = 0;
      let batches = 0;
      let done: () => void = () => {};
      const finished = new Promise<void>((r) => {
        done = r;
      });
      const groupId = `bench-store-${consumers}-${concurrency}-${Date.now()}`;
      const cpu0 = cpuNow();
      const t0 = performance.now();
      const handles = [];
      for (let i = 0; i < consumers; i++) {
        handles.push(
          await consume(bus, {
            groupId,
            topics: [topic],
            schema: transfersTarget.schema, // what services/sink validates with
            fromBeginning: true,
            maxBytesPerPartition: 16 * 1024 * 1024,
            partitionsConsumedConcurrently: concurrency,
            handleBatch: async (msgs) => {
              await sink.handleBatch(msgs);
              stored += msgs.length;
              batches++;
              if (stored >= MESSAGES) done();
            },
          }),
        );
      }
      await finished;
      const secs = (performance.now() - t0) / 1000;
      const cpu = cpuNow().map((c, i) => (c - (cpu0[i] ?? 0)) * (1e6 / MESSAGES));
      for (const h of handles) await h.stop();
      const [r] = await (
        await client.query({ query: "SELECT count() AS c FROM transfers", format: "JSONEachRow" })
      ).json<{ c: string }>();
      rows.push({
        consumers,
        partitionsInParallel: concurrency,
        events: MESSAGES,
        stored: Number(r?.c),
        seconds: secs.toFixed(1),
        "rows/s": Math.round(MESSAGES / secs),
        rowsPerInsert: Math.round(MESSAGES / Math.max(1, batches)),
        "sink µs/row": cpu[0]?.toFixed(1) ?? "",
        "engine µs/row": cpu[1]?.toFixed(1) ?? "",
        "broker µs/row": cpu[2]?.toFixed(1) ?? "",
        rssMb: rssMb(),
        load1m: loadavg()[0]?.toFixed(1) ?? "",
      });
    }
    console.log(
      "\nSink: real broker → consume() + StoreSink → embedded ClickHouse (transfers + address MV)" +
        "\n(µs/row: CPU time of each process during the run ÷ events; the engine's includes the merges it ran)",
    );
    table(rows);
    await bus.close();

    // ---- 2. query latency on a large table -------------------------------------------------
    await client.command({ query: "TRUNCATE TABLE transfers" });
    await client.command({ query: "TRUNCATE TABLE transfers_by_address" });
    const t1 = performance.now();
    // Generated inside the engine: ~1M addresses, one year of timestamps, three assets.
    for (let start = 0; start < ROWS; start += 2_000_000) {
      const n = Math.min(2_000_000, ROWS - start);
      await client.command({
        query: `INSERT INTO transfers (id, chain, kind, tx_hash, position, block_number, ts, senders, to_address,
                  asset, asset_contract, asset_decimals, amount, status, source, observed_at, version)
                SELECT concat('ethereum:', toString(number)) AS id, 'ethereum', 'token',
                       concat('0x', lower(hex(cityHash64(number)))), '0', 19000000 + intDiv(number, 150),
                       fromUnixTimestamp64Milli(toInt64(1704067200000 + number * 3000), 'UTC'),
                       [${addr(`(number * 7) % ${ADDRESSES}`)}], ${addr(`(number * 13 + 5) % ${ADDRESSES}`)},
                       ['USDT', 'ETH', 'USDC'][1 + number % 3], '', 6,
                       toUInt256(number % 100000) * 1000000, 'confirmed', 'bench',
                       fromUnixTimestamp64Milli(toInt64(1704067200000 + number * 3000), 'UTC'), 1
                FROM numbers(${start}, ${n})`,
      });
      console.error(`[bench] generated ${start + n}/${ROWS} transfers`);
    }
    const nFlags = Math.max(1000, Math.floor(ROWS / 100));
    await client.command({
      query: `INSERT INTO flags (id, transfer_id, incident_id, chain, kind, tx_hash, ts, senders, to_address, asset,
                asset_contract, amount, rule_id, rule_kind, rule_config_version, severity, sides, address, family,
                exposure, hops, entity_names, programmes, list_ids, categories, entries, path, evidence,
                listed_at_transfer_time, retro, status, created_at, version)
              SELECT lower(hex(MD5(toString(number)))), concat('ethereum:', toString(number * 100)),
                     lower(hex(MD5(concat('i', toString(number % 5000))))), 'ethereum', 'token',
                     concat('0x', lower(hex(cityHash64(number * 100)))),
                     fromUnixTimestamp64Milli(toInt64(1704067200000 + number * 300000), 'UTC'),
                     [${addr(`(number * 700) % ${ADDRESSES}`)}], ${addr(`(number * 1300 + 5) % ${ADDRESSES}`)},
                     'USDT', '', toUInt256(number % 1000) * 1000000, 'direct-sanctioned', 'direct', 'v1',
                     ['low', 'medium', 'high', 'severe'][1 + number % 4], ['to'], ${addr(`number % 997`)}, 'evm',
                     if(number % 3 = 0, 'indirect', 'direct'), if(number % 3 = 0, 2, 0),
                     [['GARANTEX', 'LAZARUS GROUP', 'SUEX', 'HYDRA'][1 + number % 4]], ['CYBER2'], ['ofac-sdn'],
                     ['sanctioned'], '[]', '[]', [], true, number % 10 = 0, 'active',
                     fromUnixTimestamp64Milli(toInt64(1704067200000 + number * 300000), 'UTC'), 1
              FROM numbers(${nFlags})`,
    });
    const genSecs = (performance.now() - t1) / 1000;
    await client.command({ query: "OPTIMIZE TABLE transfers_by_address FINAL" }).catch(() => {});
    const counts = await (
      await client.query({
        query: `SELECT (SELECT count() FROM transfers) AS transfers, (SELECT count() FROM transfers_by_address) AS by_address,
                       (SELECT count() FROM flags) AS flags`,
        format: "JSONEachRow",
      })
    ).json<{ transfers: string; by_address: string; flags: string }>();
    console.error(`[bench] generated in ${genSecs.toFixed(1)} s: ${JSON.stringify(counts[0])}`);

    const time = async (fn: () => Promise<unknown>) => {
      const t = performance.now();
      await fn();
      return performance.now() - t;
    };
    const stats = (name: string, ms: number[], extra: string) => {
      const s = [...ms].sort((a, b) => a - b);
      return {
        query: name,
        runs: s.length,
        p50ms: percentile(s, 50).toFixed(1),
        p95ms: percentile(s, 95).toFixed(1),
        maxMs: (s[s.length - 1] ?? 0).toFixed(1),
        rows: extra,
      };
    };
    const addrHex = (k: number) => `0x${k.toString(16).padStart(40, "0")}`;
    const ah: number[] = [];
    let ahRows = 0;
    for (let i = 0; i < QUERIES; i++) {
      const k = (i * 7919 + 17) % ADDRESSES;
      ah.push(
        await time(async () => {
          ahRows += (await store.addressHistory(addrHex(k), { limit: 1000 })).length;
        }),
      );
    }
    const ff: number[] = [];
    let ffRows = 0;
    const yearStart = 1704067200000;
    for (let i = 0; i < QUERIES; i++) {
      const from = yearStart + (i % 300) * 86_400_000;
      ff.push(
        await time(async () => {
          ffRows += (
            await store.flaggedFlows({
              fromMs: from,
              toMs: from + 30 * 86_400_000,
              minSeverity: "high",
              limit: 100,
            })
          ).length;
        }),
      );
    }
    const fe: number[] = [];
    let feRows = 0;
    for (let i = 0; i < QUERIES; i++) {
      const from = yearStart + (i % 300) * 86_400_000;
      fe.push(
        await time(async () => {
          feRows += (
            await store.flaggedFlows({
              fromMs: from,
              toMs: from + 90 * 86_400_000,
              entity: "GARANTEX",
              limit: 100,
            })
          ).length;
        }),
      );
    }
    console.log(
      `\nQueries through @clickhouse/client on ${counts[0]?.transfers} transfers (${counts[0]?.by_address} address rows, ${counts[0]?.flags} flags)`,
    );
    table([
      stats(
        "address history (both sides, FINAL, ≤1000)",
        ah,
        `${(ahRows / QUERIES).toFixed(1)}/query`,
      ),
      stats(
        "flagged flows, 30 days, severity ≥ high (≤100)",
        ff,
        `${(ffRows / QUERIES).toFixed(1)}/query`,
      ),
      stats(
        "flagged flows, 90 days, entity = GARANTEX (≤100)",
        fe,
        `${(feRows / QUERIES).toFixed(1)}/query`,
      ),
    ]);
    console.log(
      `generation: ${ROWS} transfers + ${nFlags} flags in ${genSecs.toFixed(1)} s (INSERT … SELECT FROM numbers())`,
    );
  } finally {
    await client.close();
    await stopClickHouse(ch.pid);
    rmSync(chDir, { recursive: true, force: true });
    await infra.cleanup();
  }
}

await main();
