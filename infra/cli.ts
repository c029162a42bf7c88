/**
 * Local infrastructure for development: `npm run infra -- up|down|status`.
 *
 * up      starts Kafka (KRaft) and Redis under .data/dev and records their pids; prints the
 *         CHAINSCREEN_TEST_* exports that make integration tests reuse them.
 * down    stops what `up` started.
 * status  shows what is running.
 *
 * Environment: KAFKA_PORT (default 9092), REDIS_PORT (default 6379), CHAINSCREEN_DATA_DIR
 * (default .data/dev).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { canConnect, pidAlive, repoRoot, startLocalInfra, stopPid } from "./local/index.js";

const dataDir = process.env.CHAINSCREEN_DATA_DIR ?? join(repoRoot, ".data", "dev");
const stateFile = join(dataDir, "infra.json");

interface State {
  kafkaBrokers: string;
  redisUrl: string;
  kafkaPid: number | null;
  redisPid: number | null;
}

function readState(): State | null {
  if (!existsSync(stateFile)) return null;
  return JSON.parse(readFileSync(stateFile, "utf8")) as State;
}

async function up(): Promise<void> {
  const prev = readState();
  if (prev?.kafkaPid && pidAlive(prev.kafkaPid)) {
    console.log("already running:");
    await status();
    return;
  }
  mkdirSync(dataDir, { recursive: true });
  const infra = await startLocalInfra({
    dataDir,
    kafkaPort: Number(process.env.KAFKA_PORT ?? 9092),
    redisPort: Number(process.env.REDIS_PORT ?? 6379),
    redisPersistence: true,
    log: (m) => console.log(`[infra] ${m}`),
  });
  const state: State = {
    kafkaBrokers: infra.kafkaBrokers,
    redisUrl: infra.redisUrl,
    kafkaPid: infra.kafkaPid,
    redisPid: infra.redisPid,
  };
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  console.log(`Kafka  ${state.kafkaBrokers}  (pid ${state.kafkaPid})`);
  console.log(`Redis  ${state.redisUrl}  (pid ${state.redisPid})`);
  console.log("\nTo reuse them in integration tests:");
  console.log(`  export CHAINSCREEN_TEST_KAFKA_BROKERS=${state.kafkaBrokers}`);
  console.log(`  export CHAINSCREEN_TEST_REDIS_URL=${state.redisUrl}`);
}

async function down(): Promise<void> {
  const s = readState();
  if (!s) {
    console.log("nothing recorded as running");
    return;
  }
  await Promise.all([
    s.kafkaPid ? stopPid(s.kafkaPid, 20_000) : undefined,
    s.redisPid ? stopPid(s.redisPid, 10_000) : undefined,
  ]);
  rmSync(stateFile, { force: true });
  console.log("stopped");
}

async function status(): Promise<void> {
  const s = readState();
  if (!s) {
    console.log("not running (npm run infra -- up)");
    return;
  }
  const port = (u: string) => Number(u.split(":").pop());
  const kafkaUp = await canConnect(port(s.kafkaBrokers));
  const redisUp = await canConnect(Number(new URL(s.redisUrl).port));
  console.log(`Kafka  ${s.kafkaBrokers}  ${kafkaUp ? "up" : "DOWN"}  pid ${s.kafkaPid}`);
  console.log(`Redis  ${s.redisUrl}  ${redisUp ? "up" : "DOWN"}  pid ${s.redisPid}`);
}

const cmd = process.argv[2];
const commands: Record<string, () => Promise<void>> = { up, down, status };
const fn = cmd ? commands[cmd] : undefined;
if (!fn) {
  console.error("usage: npm run infra -- up|down|status");
  process.exit(2);
}
fn().catch((err: unknown) => {
  console.error(`infra ${cmd} failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
