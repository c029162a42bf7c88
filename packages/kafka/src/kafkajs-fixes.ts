import { createRequire } from "node:module";
import { decodeRecordV0 } from "./fetch-decoding.js";
import { encodeProduceV3, type ProduceV3Args } from "./produce-encoding.js";

/**
 * Replacements for three kafkajs 2.2.4 internals (two on the producer's path, one on the
 * consumer's), installed when this module is first evaluated. It must run before kafkajs loads
 * (bus.ts imports it first): kafkajs' modules take references to their dependencies when they are
 * loaded, so the replacements are put into Node's module cache first.
 *
 * - Grouping a send's messages by partition: kafkajs copies the partition's array for every
 *   message (`[...current, message]`), quadratic in the messages per partition of one send: a
 *   5,000-message send to 4 partitions copies ~3 million array slots (8 ms).
 * - Encoding the Produce request: see produce-encoding.ts. Compressed sends keep kafkajs' encoder
 *   (it compresses the records; the codecs are kafkajs').
 * - Decoding each fetched record: see fetch-decoding.ts.
 *
 * If kafkajs was loaded before this module (or its file layout differs), nothing is replaced and
 * `kafkajsFixes` says so; kafkajs then works as shipped, only slower.
 */

type GroupInput<M> = {
  topic: string;
  partitionMetadata: unknown[];
  messages: M[];
  partitioner: (args: { topic: string; partitionMetadata: unknown[]; message: M }) => number;
};

/** kafkajs' groupMessagesPerPartition contract (partition → its messages in send order), O(n). */
export function groupByPartition<M>({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: GroupInput<M>): Record<number, M[]> {
  const out: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return out;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = out[partition];
    if (list) list.push(message);
    else out[partition] = [message];
  }
  return out;
}

type ProduceRequest = { encode: () => Promise<unknown> } & Record<string, unknown>;
type ProduceV3 = (args: ProduceV3Args & { compression?: number }) => ProduceRequest;

/**
 * Which replacements are in place, and kafkajs' own Produce v3 request builder (kept for the
 * compressed path and for tests). Process-wide: a test runner may evaluate this module again in a
 * fresh module graph after kafkajs (cached by Node) was patched by the first evaluation.
 */
interface FixState {
  groupByPartition: boolean;
  produceEncoding: boolean;
  recordDecoding: boolean;
  originalProduceV3: ProduceV3 | null;
  originalRecordDecoder: typeof decodeRecordV0 | null;
}
const STATE = Symbol.for("chainscreen.kafkajs-fixes");
const slots = globalThis as { [STATE]?: FixState };
slots[STATE] ??= {
  groupByPartition: false,
  produceEncoding: false,
  recordDecoding: false,
  originalProduceV3: null,
  originalRecordDecoder: null,
};
const state = slots[STATE];

const require = createRequire(import.meta.url);
const resolve = (p: string): string | null => {
  try {
    return require.resolve(p);
  } catch {
    return null;
  }
};
const main = resolve("kafkajs");
const groupPath = resolve("kafkajs/src/producer/groupMessagesPerPartition.js");
const v3Path = resolve("kafkajs/src/protocol/requests/produce/v3/request.js");
const encoderPath = resolve("kafkajs/src/protocol/encoder.js");
const recordDecoderPath = resolve("kafkajs/src/protocol/recordBatch/record/v0/decoder.js");
/**
 * Loads the kafkajs module at `path` and replaces its exports (a function) in Node's module cache
 * with `make(original)`, so modules loaded later get the replacement. Returns the original, or
 * null when the module does not export a function (nothing replaced).
 */
function replaceExports<F extends (...args: never[]) => unknown>(
  path: string,
  make: (original: F) => F,
): F | null {
  const original: unknown = require(path);
  const mod = require.cache[path];
  if (!mod || typeof original !== "function") return null;
  mod.exports = make(original as F);
  return original as F;
}

// `.loaded`, not presence: Node's ESM loader puts a CommonJS module into the cache (unevaluated)
// while linking the importing modules, before any of them runs.
if (
  main &&
  groupPath &&
  v3Path &&
  encoderPath &&
  recordDecoderPath &&
  !require.cache[main]?.loaded
) {
  state.originalRecordDecoder = replaceExports(recordDecoderPath, () => decodeRecordV0);
  state.recordDecoding = state.originalRecordDecoder !== null;
  state.groupByPartition = replaceExports(groupPath, () => groupByPartition) !== null;
  const Encoder = require(encoderPath) as new (size: number) => { buf: Buffer; offset: number };
  state.originalProduceV3 = replaceExports<ProduceV3>(v3Path, (original) => (args) => {
    const request = original(args);
    if (args.compression) return request; // 0 / undefined: none
    request.encode = async () => {
      const body = encodeProduceV3(args);
      // kafkajs' request framing takes an Encoder (it reads .buf and .buffer).
      const e = new Encoder(0);
      e.buf = body;
      e.offset = body.length;
      return e;
    };
    return request;
  });
  state.produceEncoding = state.originalProduceV3 !== null;
} else {
  if (v3Path && !state.originalProduceV3) state.originalProduceV3 = require(v3Path) as ProduceV3;
  if (recordDecoderPath && !state.originalRecordDecoder)
    state.originalRecordDecoder = require(recordDecoderPath) as typeof decodeRecordV0;
}

/** Which replacements are in place. */
export const kafkajsFixes: {
  readonly groupByPartition: boolean;
  readonly produceEncoding: boolean;
  readonly recordDecoding: boolean;
} = state;

/** kafkajs' own Produce v3 request builder. */
export const kafkajsProduceV3 = state.originalProduceV3;

/** kafkajs' own record decoder. */
export const kafkajsRecordDecoder = state.originalRecordDecoder;
