import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { onPath, pidAlive, run, spawnDaemon, stopPid, tail, waitForPort } from "./proc.js";

const kafkaDir = resolve(fileURLToPath(new URL("../kafka/", import.meta.url)));

/** Where the broker lives and listens. */
export interface KafkaOptions {
  /** PLAINTEXT listener port used by clients. */
  port: number;
  /** KRaft controller listener port. */
  controllerPort: number;
  /** Storage, config and log directory; formatted on first start. */
  dataDir: string;
  /** Directory holding the broker's runtime jars (resolved from Maven Central when empty). */
  libDir: string;
  /** JVM max heap, e.g. "512m". */
  heap?: string;
  /** Extra server.properties lines (tuning in benchmarks). */
  extraProperties?: Record<string, string | number>;
}

/** Copies the Kafka broker classpath from Maven Central (cached in ~/.m2) into libDir once. */
export function ensureKafkaJars(libDir: string, log: (m: string) => void = () => {}): void {
  if (existsSync(libDir) && readdirSync(libDir).some((f) => f.startsWith("kafka_2.13-"))) return;
  if (!onPath("mvn")) throw new Error("Maven (mvn) is required to obtain the Kafka broker jars");
  if (!onPath("java")) throw new Error("Java 17+ is required to run the Kafka broker");
  log(`resolving Apache Kafka jars from Maven Central into ${libDir} (first run only)`);
  mkdirSync(libDir, { recursive: true });
  run("mvn", [
    "-B",
    "-q",
    "-f",
    join(kafkaDir, "pom.xml"),
    "dependency:copy-dependencies",
    "-DincludeScope=runtime",
    `-DoutputDirectory=${libDir}`,
  ]);
}

function clusterId(): string {
  // KRaft wants a 16-byte UUID in URL-safe base64 without padding (22 chars). An id starting
  // with "-" would be read by StorageTool as an option, so draw again in that case.
  for (;;) {
    const id = randomBytes(16).toString("base64url").slice(0, 22);
    if (!id.startsWith("-")) return id;
  }
}

function writeConfig(opts: KafkaOptions): string {
  const props: Record<string, string | number> = {
    "process.roles": "broker,controller",
    "node.id": 1,
    "controller.quorum.voters": `1@127.0.0.1:${opts.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${opts.port},CONTROLLER://127.0.0.1:${opts.controllerPort}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${opts.port}`,
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "log.dirs": join(opts.dataDir, "data"),
    "num.partitions": 4,
    // Single node: every internal topic must fit on one replica or consumer groups never form.
    "offsets.topic.replication.factor": 1,
    "offsets.topic.num.partitions": 8,
    "transaction.state.log.replication.factor": 1,
    "transaction.state.log.min.isr": 1,
    // Created when the first transactional producer starts; with Kafka's default of 50 partitions
    // that start took ~650 ms on a fresh broker here, with 8 ~360 ms.
    "transaction.state.log.num.partitions": 8,
    "share.coordinator.state.topic.replication.factor": 1,
    "share.coordinator.state.topic.min.isr": 1,
    "group.initial.rebalance.delay.ms": 0,
    "auto.create.topics.enable": "true",
    "log.retention.hours": 168,
    "log.segment.bytes": 256 * 1024 * 1024,
    "message.max.bytes": 8 * 1024 * 1024,
    ...opts.extraProperties,
  };
  const file = join(opts.dataDir, "server.properties");
  writeFileSync(
    file,
    `${Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n")}\n`,
  );
  return file;
}

/** A started broker: where to reach it and how to stop it. */
export interface RunningKafka {
  brokers: string;
  pid: number;
  logFile: string;
}

/**
 * JVM flags of the local broker. Chosen for one machine with few cores shared with the
 * services, measured on 2 cores with 100,000 transactional 600-byte events (bench/evm.ts): with
 * G1 the broker spent 2.2 s of CPU on a fresh JVM and 1.45 s warm, half of it in G1's
 * concurrent threads and a quarter in C2 compiling; the parallel collector (a fixed heap, no
 * concurrent work) and the C1 compiler alone brought that to 0.9 s fresh and 0.4–0.6 s warm,
 * with the request handlers no slower. `CHAINSCREEN_KAFKA_JVM_OPTS`, when set, replaces the
 * collector and compiler flags (the heap stays), e.g. `-XX:+UseG1GC` for a long-running broker
 * with cores to spare.
 */
export function jvmOptions(
  heap: string,
  tuning = process.env.CHAINSCREEN_KAFKA_JVM_OPTS,
): string[] {
  const flags = tuning?.trim()
    ? tuning.trim().split(/\s+/)
    : ["-XX:+UseParallelGC", "-XX:TieredStopAtLevel=1"];
  return [`-Xms${heap}`, `-Xmx${heap}`, ...flags];
}

/** Formats storage when needed and starts a single-node KRaft broker; resolves once it accepts connections. */
export async function startKafka(
  opts: KafkaOptions,
  log: (m: string) => void = () => {},
): Promise<RunningKafka> {
  ensureKafkaJars(opts.libDir, log);
  mkdirSync(opts.dataDir, { recursive: true });
  const config = writeConfig(opts);
  const cp = `${opts.libDir}/*`;
  const log4j = `-Dlog4j2.configurationFile=${join(kafkaDir, "log4j2.properties")}`;
  if (!existsSync(join(opts.dataDir, "data", "meta.properties"))) {
    run("java", [
      log4j,
      "-cp",
      cp,
      "kafka.tools.StorageTool",
      "format",
      "-t",
      clusterId(),
      "-c",
      config,
      "--ignore-formatted",
    ]);
  }
  const logFile = join(opts.dataDir, "kafka.log");
  const heap = opts.heap ?? "512m";
  const child = spawnDaemon(
    "java",
    [...jvmOptions(heap), "-Djava.awt.headless=true", log4j, "-cp", cp, "kafka.Kafka", config],
    logFile,
  );
  const pid = child.pid ?? 0;
  log(`starting Kafka on 127.0.0.1:${opts.port} (pid ${pid})`);
  try {
    // The PLAINTEXT port opens only once the broker is unfenced, so a connect means ready.
    await waitForPort(opts.port, 120_000, () => pidAlive(pid));
  } catch (err) {
    await stopPid(pid, 2000);
    throw new Error(`Kafka failed to start: ${(err as Error).message}\n${tail(logFile)}`);
  }
  return { brokers: `127.0.0.1:${opts.port}`, pid, logFile };
}

/** Stops a broker: SIGTERM for a controlled shutdown, SIGKILL after the grace period. */
export async function stopKafka(pid: number, graceMs = 20_000): Promise<void> {
  await stopPid(pid, graceMs);
}
