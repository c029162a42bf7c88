import { hostname } from "node:os";
import { join } from "node:path";
import {
  BinanceApi,
  type ExchangeApi,
  ExchangePoller,
  ExchangeWalletTags,
  FileCheckpoint,
  followWalletTags,
  KucoinApi,
  OkxApi,
  ReportIngestor,
} from "@chainscreen/exchange";
import { KafkaBus, standardTopics, topicName } from "@chainscreen/kafka";
import { createLogger } from "@chainscreen/logger";
import { counter, Shutdown, startOpsServer } from "@chainscreen/runtime";
import { Topics } from "@chainscreen/schema";
import { env } from "./env.js";

const log = createLogger({ service: "ingest-exchange", level: env.LOG_LEVEL });
const shutdown = new Shutdown(log).install();
const polled = counter("chainscreen_exchange_reports_total", "Exchange reports published", [
  "exchange",
  "result",
]);

const DEFAULT_URLS: Record<string, string> = {
  binance: "https://api.binance.com",
  okx: "https://www.okx.com",
  kucoin: "https://api.kucoin.com",
};

function accountApi(exchange: string, account: string): ExchangeApi {
  const v = (k: string) => process.env[`EXCHANGE_${account.toUpperCase()}_${k}`];
  const apiKey = v("API_KEY");
  const apiSecret = v("API_SECRET");
  if (!apiKey || !apiSecret)
    throw new Error(`EXCHANGE_${account.toUpperCase()}_API_KEY and _API_SECRET are required`);
  const creds = { apiKey, apiSecret, passphrase: v("PASSPHRASE") };
  const url = v("BASE_URL") ?? DEFAULT_URLS[exchange];
  if (!url) throw new Error(`unknown exchange "${exchange}" (binance, okx or kucoin)`);
  if (exchange === "binance") return new BinanceApi(url, creds);
  if (exchange === "okx") return new OkxApi(url, creds);
  return new KucoinApi(url, creds);
}

const bus = new KafkaBus({ brokers: env.KAFKA_BROKERS, clientId: "ingest-exchange" }, log);
await bus.ensureTopics(standardTopics(env.KAFKA_TOPIC_PREFIX));
const producer = await bus.producer();
const topic = topicName(Topics.transfers, env.KAFKA_TOPIC_PREFIX);
// Deposit addresses and hot wallets in the polled history become service tags (watchlist.v1),
// each published once: the follower learns what the compacted topic already holds.
const watchlistTopic = topicName(Topics.watchlist, env.KAFKA_TOPIC_PREFIX);
const wallets = new ExchangeWalletTags(producer, watchlistTopic);
const walletFollower = await followWalletTags(
  bus,
  watchlistTopic,
  wallets,
  `ingest-exchange-wallets-${hostname()}-${process.pid}`,
);

const pollers = env.EXCHANGE_ACCOUNTS.map((spec) => {
  const [exchange = "", account = exchange] = spec.split(":");
  const tenant = process.env[`EXCHANGE_${account.toUpperCase()}_TENANT`];
  const ingestor = new ReportIngestor(producer, topic, `${exchange}-api:${account}`, wallets);
  return new ExchangePoller({
    api: accountApi(exchange, account),
    checkpoint: new FileCheckpoint(join(env.EXCHANGE_DATA_DIR, `${account}.json`)),
    initialFrom: Date.now() - env.EXCHANGE_BACKFILL_DAYS * 86_400_000,
    log: log.child({ exchange, account }),
    onReports: async (reports) => {
      const r = await ingestor.submit(reports, tenant);
      polled.inc({ exchange, result: "accepted" }, r.accepted.length);
      polled.inc({ exchange, result: "rejected" }, r.rejected.length);
      for (const bad of r.rejected.slice(0, 20)) {
        log.warn(
          { exchange, reference: bad.reference, errors: bad.errors },
          "exchange report rejected",
        );
      }
    },
  });
});

let running = true;
let ready = false;
const ops = await startOpsServer({ port: env.OPS_PORT, isReady: () => ready });
const loop = (async () => {
  while (running) {
    for (const p of pollers) {
      try {
        await p.pollOnce();
      } catch (err) {
        log.error({ err }, "exchange poll failed; will retry next interval");
      }
    }
    ready = true;
    for (let i = 0; i < env.EXCHANGE_POLL_INTERVAL_S * 10 && running; i++)
      await new Promise((r) => setTimeout(r, 100));
  }
})();
log.info({ accounts: env.EXCHANGE_ACCOUNTS }, "ingest-exchange started");

// Order: stop polling (intake) → wait for the window in flight → stop following the watchlist →
// close Kafka → ops server.
shutdown
  .add("stop polling", async () => {
    running = false;
    await loop;
  })
  .add("watchlist follower", () => walletFollower.stop())
  .add("close kafka", () => bus.close())
  .add("close ops server", () => ops.close());
