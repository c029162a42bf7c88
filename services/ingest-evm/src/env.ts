import { envBool, envInt, envList, envPort, parseEnv } from "@chainscreen/config";
import { EVM_CHAINS } from "@chainscreen/evm";
import { z } from "zod";

/** Schema of the ingest-evm environment (one chain per process; run one instance per chain). */
export const EnvSchema = z.object({
  /** Kafka bootstrap servers, comma-separated host:port (use 127.0.0.1, not localhost). */
  KAFKA_BROKERS: envList().refine((l) => l.length > 0, "at least one broker is required"),
  /** Kafka client id; default ingest-evm-<chain>. */
  KAFKA_CLIENT_ID: z.string().optional(),
  /** Topic for transfer.v1 events. */
  INGEST_TRANSFERS_TOPIC: z.string().min(1).default("transfer.v1"),
  /** Compacted single-partition checkpoint topic (block records, written in the same transaction). */
  INGEST_BLOCKS_TOPIC: z.string().min(1).default("ingest.blocks"),
  /** Kafka transactional id; must be stable per chain so a restart fences the old instance. */
  INGEST_TRANSACTIONAL_ID: z.string().optional(),
  /** Chain name as in transfer.v1 (ethereum, bsc, polygon, arbitrum, base, optimism, …). */
  EVM_CHAIN: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/),
  /** Expected eth_chainId (decimal); defaults for known chains. Checked against the node at start. */
  EVM_CHAIN_ID: z.coerce.number().int().positive().optional(),
  /** JSON-RPC endpoints in order of preference, comma-separated; http(s):// or ws(s)://. */
  EVM_RPC_URLS: envList().refine((l) => l.length > 0, "at least one RPC URL is required"),
  /** Per-request timeout in ms. */
  EVM_RPC_TIMEOUT_MS: envInt(15_000, 100),
  /** `confirmations`: emit at head − EVM_CONFIRMATIONS; `finalized`: emit up to the finalized block. */
  EVM_FINALITY: z.enum(["confirmations", "finalized"]).default("confirmations"),
  /** Blocks a block needs on top of it before its transfers are emitted as confirmed. */
  EVM_CONFIRMATIONS: envInt(12, 0),
  /** Also emit unconfirmed blocks as `pending` (later confirmed or retracted). */
  EVM_EMIT_PENDING: envBool(false),
  /** First block when no checkpoint exists: a number, or `latest` (the current safe head). */
  EVM_START_BLOCK: z
    .union([z.literal("latest"), z.coerce.number().int().nonnegative()])
    .default("latest"),
  /** Blocks fetched and committed per Kafka transaction while catching up. */
  EVM_BATCH_SIZE: envInt(20, 1),
  /** Blocks per JSON-RPC batch group. */
  EVM_RPC_BLOCKS_PER_BATCH: envInt(10, 1),
  /** JSON-RPC batch groups in flight at once. */
  EVM_CONCURRENCY: envInt(4, 1),
  /** Internal transfers: off, callTracer (debug_traceBlockByNumber) or parity (trace_block). */
  EVM_TRACES: z.enum(["off", "callTracer", "parity"]).default("off"),
  /** Native coin symbol; defaults for known chains, else ETH. */
  EVM_NATIVE_SYMBOL: z.string().min(1).max(16).optional(),
  /** Recent confirmed blocks remembered to detect reorgs and retract their transfers. */
  EVM_REORG_WINDOW: envInt(128, 1),
  /** Poll interval at the head, ms. */
  EVM_POLL_MS: envInt(1_000, 10),
  /** Ops port for /healthz, /readyz, /metrics; 0 picks a free port. */
  OPS_PORT: envPort(9464),
  /** pino level. */
  LOG_LEVEL: z.string().default("info"),
});

/** Parsed environment type. */
export type Env = z.infer<typeof EnvSchema> & { chainId: number; nativeSymbol: string };

/**
 * Parses the environment once; prints every problem and exits 1 when invalid (including an
 * unknown chain without EVM_CHAIN_ID). Chain id and native symbol default from known chains.
 */
export function loadEnv(
  source: Record<string, string | undefined> = process.env,
  exit: (code: number) => never = process.exit,
): Env {
  const e = parseEnv(EnvSchema, source, exit);
  const known = EVM_CHAINS[e.EVM_CHAIN];
  const chainId = e.EVM_CHAIN_ID ?? known?.chainId;
  if (chainId === undefined) {
    process.stderr.write(
      `invalid configuration:\n  EVM_CHAIN_ID: required for unknown chain ${e.EVM_CHAIN}\n`,
    );
    return exit(1);
  }
  return { ...e, chainId, nativeSymbol: e.EVM_NATIVE_SYMBOL ?? known?.nativeSymbol ?? "ETH" };
}
