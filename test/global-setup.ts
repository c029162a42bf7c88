import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";
import {
  currentClickHousePid,
  startClickHouse,
  stopClickHouse,
} from "../infra/local/clickhouse.js";
import { type LocalInfra, startLocalInfra } from "../infra/local/index.js";
import { freePort } from "../infra/local/proc.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Kafka bootstrap servers of the test broker, e.g. 127.0.0.1:39092. */
    kafkaBrokers: string;
    /** redis:// URL of the test Redis (tests pick their own db index). */
    redisUrl: string;
    /** Port of the test Redis, for tests that restart it. */
    redisPort: number;
    /** Data dir of the test Redis. */
    redisDataDir: string;
    /** HTTP URL of the embedded ClickHouse (chDB behind ClickHouse's HTTP interface). */
    clickhouseUrl: string;
    /** Read/write user (services, migrations) of the test ClickHouse. */
    clickhouseUser: string;
    clickhousePassword: string;
    /** Read-only analyst user of the test ClickHouse. */
    clickhouseAnalystUser: string;
    clickhouseAnalystPassword: string;
    /** Port and directory of the test ClickHouse, for tests that stop and restart it. */
    clickhousePort: number;
    clickhouseDataDir: string;
  }
}

const root = resolve(import.meta.dirname, "..");

/**
 * Starts Kafka and Redis once per test run on free ports under .data/test-<pid>, unless
 * CHAINSCREEN_TEST_KAFKA_BROKERS / CHAINSCREEN_TEST_REDIS_URL point at running ones
 * (`npm run infra -- up` for fast iteration).
 */
export default async function setup(project: TestProject) {
  // One directory per project: vitest runs this setup once for each project that lists it.
  const dataDir = join(root, ".data", `test-${process.pid}-${project.name}`);
  const log = (m: string) => process.stderr.write(`[infra] ${m}\n`);
  const infra: LocalInfra = await startLocalInfra({
    dataDir,
    kafkaBrokers: process.env.CHAINSCREEN_TEST_KAFKA_BROKERS,
    redisUrl: process.env.CHAINSCREEN_TEST_REDIS_URL,
    redisPersistence: true,
    log,
  });
  project.provide("kafkaBrokers", infra.kafkaBrokers);
  project.provide("redisUrl", infra.redisUrl);
  project.provide("redisPort", infra.redisPort);
  project.provide("redisDataDir", infra.redisDataDir);
  // Embedded ClickHouse: its own process owning the chDB directory (tests isolate by database).
  const clickhouseDataDir = join(dataDir, "clickhouse");
  const clickhousePort = await freePort();
  const ch = await startClickHouse({ port: clickhousePort, dataDir: clickhouseDataDir }, log);
  project.provide("clickhouseUrl", ch.url);
  project.provide("clickhouseUser", ch.users.writer.user);
  project.provide("clickhousePassword", ch.users.writer.password);
  project.provide("clickhouseAnalystUser", ch.users.analyst.user);
  project.provide("clickhouseAnalystPassword", ch.users.analyst.password);
  project.provide("clickhousePort", clickhousePort);
  project.provide("clickhouseDataDir", clickhouseDataDir);
  return async () => {
    // A test may have restarted the server: stop whatever pid currently owns the directory.
    await stopClickHouse(currentClickHousePid(clickhouseDataDir) ?? ch.pid);
    await infra.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
