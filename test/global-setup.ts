import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { type LocalInfra, startLocalInfra } from "../infra/local/index.js";

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
  }
}

const root = resolve(import.meta.dirname, "..");

/**
 * Starts Kafka and Redis once per test run on free ports under .data/test-<pid>, unless
 * CHAINSCREEN_TEST_KAFKA_BROKERS / CHAINSCREEN_TEST_REDIS_URL point at running ones
 * (`npm run infra -- up` for fast iteration).
 */
export default async function setup(project: TestProject) {
  const dataDir = join(root, ".data", `test-${process.pid}`);
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
  return async () => {
    await infra.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
