import { RpcResponseError } from "./rpc.js";

/** Transaction fields the extractor needs (JSON-RPC shape, quantities as hex). */
export interface RpcTx {
  hash: string;
  from: string;
  to: string | null;
  value: string;
  type?: string;
  transactionIndex: string;
}

/** Block with full transactions. */
export interface RpcBlock {
  number: string;
  hash: string;
  parentHash: string;
  timestamp: string;
  transactions: RpcTx[];
}

/** Log as in receipts and eth_getLogs. */
export interface RpcLog {
  address: string;
  topics: string[];
  data: string;
  logIndex: string;
  transactionHash: string;
  blockHash?: string;
  blockNumber?: string;
  removed?: boolean;
}

/** Receipt fields the extractor needs. */
export interface RpcReceipt {
  transactionHash: string;
  blockHash: string;
  blockNumber: string;
  status?: string | null;
  contractAddress?: string | null;
  gasUsed?: string;
  effectiveGasPrice?: string;
  logs: RpcLog[];
}

/** geth callTracer frame. */
export interface CallFrame {
  type: string;
  from: string;
  to?: string;
  value?: string;
  error?: string;
  calls?: CallFrame[];
}

/** Parity/OpenEthereum/Erigon trace_block entry. */
export interface ParityTrace {
  type: string;
  action: {
    callType?: string;
    from?: string;
    to?: string;
    value?: string;
    address?: string;
    refundAddress?: string;
    balance?: string;
  };
  result?: { address?: string } | null;
  error?: string;
  traceAddress: number[];
  transactionHash: string | null;
  transactionPosition?: number | null;
}

const HEX = /^0x[0-9a-fA-F]*$/;
const HASH = /^0x[0-9a-fA-F]{64}$/;
const ADDR = /^0x[0-9a-fA-F]{40}$/;

function fail(message: string, context?: Record<string, unknown>): never {
  throw new RpcResponseError(message, context);
}

/** Parses a hex quantity; throws on anything else. */
export function qty(v: unknown, field: string): number {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v !== "string" || !HEX.test(v) || v === "0x") fail("invalid quantity", { field });
  const n = Number.parseInt(v, 16);
  if (!Number.isSafeInteger(n)) fail("quantity out of range", { field });
  return n;
}

/** Hex quantity as a decimal string (wei amounts exceed 2^53). */
export function bigQty(v: unknown, field: string): string {
  if (typeof v !== "string" || !HEX.test(v) || v === "0x") fail("invalid quantity", { field });
  return BigInt(v).toString();
}

function isHash(v: unknown): v is string {
  return typeof v === "string" && HASH.test(v);
}

/** Address in canonical lowercase form, or throws. */
export function addr(v: unknown, field: string): string {
  if (typeof v !== "string" || !ADDR.test(v)) fail("invalid address", { field });
  return v.toLowerCase();
}

/** Validates a block (with or without full txs) against the height that was asked for. */
export function checkBlock(n: number, full: boolean) {
  return (r: unknown): RpcBlock => {
    if (r === null) fail("block not found (node behind?)", { block: n });
    if (typeof r !== "object") fail("block is not an object", { block: n });
    const b = r as Record<string, unknown>;
    const got = qty(b.number, "number");
    if (got !== n) fail("node returned a different block number", { asked: n, got });
    if (!isHash(b.hash) || !isHash(b.parentHash))
      fail("block hash missing or malformed", { block: n });
    qty(b.timestamp, "timestamp");
    if (!Array.isArray(b.transactions)) fail("block transactions missing", { block: n });
    if (full) {
      b.transactions.forEach((t: unknown, i: number) => {
        if (!t || typeof t !== "object")
          fail("transaction is not an object (asked for full txs)", { block: n, i });
        const tx = t as Record<string, unknown>;
        if (!isHash(tx.hash)) fail("transaction hash malformed", { block: n, i });
        addr(tx.from, "from");
        if (tx.to !== null && tx.to !== undefined) addr(tx.to, "to");
        bigQty(tx.value, "value");
        if (qty(tx.transactionIndex, "transactionIndex") !== i)
          fail("transaction index out of order", { block: n, i });
      });
    }
    return b as unknown as RpcBlock;
  };
}

/** Validates one receipt against its transaction and block. */
export function checkReceipt(tx: RpcTx, block: RpcBlock, r: unknown): RpcReceipt {
  if (r === null || typeof r !== "object") fail("receipt missing", { tx: tx.hash });
  const rc = r as Record<string, unknown>;
  if (rc.transactionHash !== tx.hash) fail("receipt for another transaction", { tx: tx.hash });
  if (rc.blockHash !== block.hash)
    fail("receipt from another block (reorg during fetch?)", { tx: tx.hash });
  if (!Array.isArray(rc.logs)) fail("receipt logs missing", { tx: tx.hash });
  for (const l of rc.logs as unknown[]) checkLog(l);
  return rc as unknown as RpcReceipt;
}

/** Validates all receipts of a block (eth_getBlockReceipts answer). */
export function checkBlockReceipts(block: RpcBlock) {
  return (r: unknown): RpcReceipt[] => {
    if (!Array.isArray(r)) fail("block receipts are not an array", { block: block.number });
    if (r.length !== block.transactions.length) {
      fail("receipt count differs from transaction count", {
        block: block.number,
        receipts: r.length,
      });
    }
    return r.map((x, i) => checkReceipt(block.transactions[i] as RpcTx, block, x));
  };
}

/** Validates a log's shape. */
export function checkLog(l: unknown): RpcLog {
  if (!l || typeof l !== "object") fail("log is not an object");
  const log = l as Record<string, unknown>;
  addr(log.address, "log.address");
  if (!Array.isArray(log.topics) || !log.topics.every((t) => isHash(t)))
    fail("log topics malformed");
  if (typeof log.data !== "string" || !HEX.test(log.data)) fail("log data malformed");
  qty(log.logIndex, "logIndex");
  return log as unknown as RpcLog;
}

/** Validates a debug_traceBlockByNumber(callTracer) answer: one frame per transaction. */
export function checkCallTraces(block: RpcBlock) {
  return (r: unknown): CallFrame[] => {
    if (!Array.isArray(r)) fail("traces are not an array", { block: block.number });
    if (r.length !== block.transactions.length)
      fail("trace count differs from transaction count", { block: block.number });
    return r.map((x, i) => {
      const e = x as { result?: unknown; txHash?: unknown; error?: unknown };
      if (e && typeof e.txHash === "string" && e.txHash !== block.transactions[i]?.hash) {
        fail("trace for another transaction", { block: block.number, i });
      }
      if (!e || typeof e !== "object" || !e.result || typeof e.result !== "object") {
        fail("trace result missing", {
          block: block.number,
          i,
          error: typeof e?.error === "string" ? e.error : undefined,
        });
      }
      return e.result as CallFrame;
    });
  };
}

/** Validates a trace_block answer. */
export function checkParityTraces(block: RpcBlock) {
  return (r: unknown): ParityTrace[] => {
    if (!Array.isArray(r)) fail("traces are not an array", { block: block.number });
    for (const t of r) {
      if (!t || typeof t !== "object" || !Array.isArray((t as ParityTrace).traceAddress)) {
        fail("trace entry malformed", { block: block.number });
      }
      const bh = (t as { blockHash?: unknown }).blockHash;
      if (typeof bh === "string" && bh !== block.hash)
        fail("trace from another block", { block: block.number });
    }
    return r as ParityTrace[];
  };
}
