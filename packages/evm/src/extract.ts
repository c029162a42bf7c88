import { type Asset, type TransferKind, type TransferV1, transferId } from "@chainscreen/schema";
import type { CallFrame, ParityTrace, RpcBlock, RpcLog, RpcReceipt, RpcTx } from "./types.js";
import { addr, bigQty, qty } from "./types.js";

/** keccak256("Transfer(address,address,uint256)"). */
export const TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

/** Token metadata as far as it could be read (null when the contract did not answer sensibly). */
export interface TokenMeta {
  symbol: string | null;
  decimals: number | null;
}

/** Inputs of {@link extractBlock}. */
export interface ExtractInput {
  chain: string;
  source: string;
  block: RpcBlock;
  /**
   * Receipts in transaction order. null = unknown (only for parity checks on fixtures without
   * receipts): every transaction is then taken as successful.
   */
  receipts: RpcReceipt[] | null;
  /** callTracer frames per transaction, or parity traces of the block, when traces are on. */
  traces?:
    | { kind: "callTracer"; frames: CallFrame[] }
    | { kind: "parity"; traces: ParityTrace[] }
    | null;
  /** Token metadata by lowercase contract address (missing = unknown). */
  tokens?: Map<string, TokenMeta>;
  native: { symbol: string; decimals: number };
  observedAt?: number;
}

const ZERO = /^0x0*$/;

/** Builds one confirmed transfer of the block being extracted. */
type MakeTransfer = (
  tx: RpcTx,
  kind: TransferKind,
  index: string,
  from: string,
  to: string | null,
  asset: Asset,
  amount: string,
) => TransferV1;

function succeeded(r: RpcReceipt | undefined): boolean {
  if (!r) return true;
  // Pre-Byzantium receipts have no status (a state root instead): failure is not visible there.
  if (r.status === undefined || r.status === null) return true;
  return qty(r.status, "status") === 1;
}

function feeOf(r: RpcReceipt | undefined): string | null {
  if (!r?.gasUsed || !r.effectiveGasPrice) return null;
  return (BigInt(r.gasUsed) * BigInt(r.effectiveGasPrice)).toString();
}

/**
 * True when a log is an ERC-20 Transfer: the Transfer topic and three words (from, to, amount)
 * spread over topics and data, indexed or not, like ethereum-etl; ERC-721 (4 topics) is not.
 */
export function isTransferLog(log: RpcLog): boolean {
  const t = log.topics;
  if (t.length === 4 || t[0]?.toLowerCase() !== TRANSFER_TOPIC) return false;
  const dataWords = (log.data.length - 2) / 64;
  return Number.isInteger(dataWords) && t.length - 1 + dataWords === 3;
}

/** Decodes an ERC-20 Transfer log (see {@link isTransferLog}); null when it is not one. */
export function decodeTransferLog(log: RpcLog): { from: string; to: string; value: string } | null {
  if (!isTransferLog(log)) return null;
  const t = log.topics;
  const indexed = t.length - 1;
  return {
    from: `0x${transferWord(t, indexed, log.data, 0).slice(-40)}`.toLowerCase(),
    to: `0x${transferWord(t, indexed, log.data, 1).slice(-40)}`.toLowerCase(),
    value: BigInt(transferWord(t, indexed, log.data, 2)).toString(),
  };
}

/** Word i (0x + 64 hex digits) of a Transfer log: the indexed topics first, then the data. */
function transferWord(topics: string[], indexed: number, data: string, i: number): string {
  if (i < indexed) return topics[i + 1] as string;
  // The usual ERC-20 amount is the whole data field.
  if (data.length === 66) return data;
  const at = 2 + (i - indexed) * 64;
  return `0x${data.slice(at, at + 64)}`;
}

/**
 * Turns one block into transfer.v1 events (status confirmed; the follower scopes ids to the block
 * and sets the final status): native value of successful transactions (contract creations go to
 * the created address), ERC-20 Transfer logs of successful transactions, and internal value
 * transfers from traces (reverted frames and their children excluded; delegatecall/callcode/
 * staticcall move no value between accounts).
 */
export function extractBlock(inp: ExtractInput): TransferV1[] {
  const { block, chain } = inp;
  const number = qty(block.number, "number");
  const timestamp = qty(block.timestamp, "timestamp") * 1000;
  const observedAt = inp.observedAt ?? Date.now();
  const nativeAsset: Asset = {
    symbol: inp.native.symbol,
    contract: null,
    decimals: inp.native.decimals,
  };
  const out: TransferV1[] = [];
  const blockHash = block.hash.toLowerCase();
  // Every field written out: `{ ...common, more }` costs ~1 µs per added property in V8 (Node
  // 20, measured), ten times the rest of the extraction per log.
  const transfer: MakeTransfer = (tx, kind, index, from, to, asset, amount) => {
    const txHash = tx.hash.toLowerCase();
    return {
      type: "transfer.v1",
      id: transferId(chain, txHash, kind, index),
      chain,
      kind,
      txHash,
      index,
      blockNumber: number,
      blockHash,
      timestamp,
      from,
      to,
      asset,
      amount,
      status: "confirmed",
      source: inp.source,
      observedAt,
    };
  };

  block.transactions.forEach((tx, i) => {
    const receipt = inp.receipts?.[i];
    if (!succeeded(receipt)) return;
    if (!ZERO.test(tx.value)) {
      const to = tx.to
        ? addr(tx.to, "to")
        : receipt?.contractAddress
          ? addr(receipt.contractAddress, "contractAddress")
          : null;
      const t = transfer(
        tx,
        "native",
        "0",
        addr(tx.from, "from"),
        to,
        nativeAsset,
        bigQty(tx.value, "value"),
      );
      t.fee = feeOf(receipt);
      out.push(t);
    }
    for (const log of receipt?.logs ?? []) {
      if (log.removed) continue;
      const d = decodeTransferLog(log);
      if (!d) continue;
      const contract = log.address.toLowerCase();
      const meta = inp.tokens?.get(contract);
      const logIndex = qty(log.logIndex, "logIndex");
      out.push(
        transfer(
          tx,
          "token",
          String(logIndex),
          d.from,
          d.to,
          {
            symbol: meta?.symbol ?? null,
            contract,
            decimals: meta?.decimals ?? null,
          },
          d.value,
        ),
      );
    }
  });

  const traces = inp.traces;
  if (traces?.kind === "callTracer") {
    traces.frames.forEach((root, i) => {
      const tx = block.transactions[i];
      if (!tx || !succeeded(inp.receipts?.[i]) || root.error) return;
      walkFrames(root.calls ?? [], [], (frame, path) => {
        out.push(
          internal(
            transfer,
            tx,
            path,
            frame.from,
            frame.to ?? null,
            frame.value ?? "0x0",
            nativeAsset,
          ),
        );
      });
    });
  } else if (traces?.kind === "parity") {
    out.push(...parityInternal(traces.traces, block, inp, transfer, nativeAsset));
  }
  return out;
}

const NO_VALUE_MOVE = new Set(["DELEGATECALL", "STATICCALL", "CALLCODE"]);

function walkFrames(
  frames: CallFrame[],
  parent: number[],
  visit: (f: CallFrame, path: number[]) => void,
) {
  frames.forEach((f, i) => {
    const path = [...parent, i];
    // A reverted frame undoes everything below it.
    if (f.error) return;
    const type = f.type.toUpperCase();
    if (!NO_VALUE_MOVE.has(type) && f.value && !ZERO.test(f.value) && f.to) visit(f, path);
    walkFrames(f.calls ?? [], path, visit);
  });
}

function internal(
  transfer: MakeTransfer,
  tx: RpcTx,
  path: number[],
  from: string,
  to: string | null,
  value: string,
  asset: Asset,
): TransferV1 {
  return transfer(
    tx,
    "internal",
    path.join("."),
    addr(from, "trace.from"),
    to ? addr(to, "trace.to") : null,
    asset,
    bigQty(value, "trace.value"),
  );
}

function parityInternal(
  traces: ParityTrace[],
  block: RpcBlock,
  inp: ExtractInput,
  transfer: MakeTransfer,
  asset: Asset,
): TransferV1[] {
  const out: TransferV1[] = [];
  const txByHash = new Map(block.transactions.map((t, i) => [t.hash.toLowerCase(), i]));
  // Trace addresses (per tx) of failed frames: their descendants are reverted too.
  const failed = new Map<string, string[]>();
  for (const t of traces) {
    if (t.error && t.transactionHash) {
      const list = failed.get(t.transactionHash) ?? [];
      list.push(`${t.traceAddress.join(".")}.`);
      failed.set(t.transactionHash, list);
    }
  }
  for (const t of traces) {
    if (!t.transactionHash || t.traceAddress.length === 0 || t.error) continue;
    const i = txByHash.get(t.transactionHash.toLowerCase());
    if (i === undefined) continue;
    const tx = block.transactions[i] as RpcTx;
    if (!succeeded(inp.receipts?.[i])) continue;
    const here = `${t.traceAddress.join(".")}.`;
    if ((failed.get(t.transactionHash) ?? []).some((p) => p === "." || here.startsWith(p)))
      continue;
    let from: string | undefined;
    let to: string | null | undefined;
    let value: string | undefined;
    if (t.type === "call") {
      if (NO_VALUE_MOVE.has((t.action.callType ?? "call").toUpperCase())) continue;
      ({ from, to, value } = t.action);
    } else if (t.type === "create") {
      from = t.action.from;
      to = t.result?.address ?? null;
      value = t.action.value;
    } else if (t.type === "suicide") {
      from = t.action.address;
      to = t.action.refundAddress;
      value = t.action.balance;
    } else continue;
    if (!from || !value || ZERO.test(value) || !to) continue;
    out.push(internal(transfer, tx, t.traceAddress, from, to, value, asset));
  }
  return out;
}

/** Decodes a symbol() answer: ABI string, bytes32, or null for garbage. */
export function decodeSymbol(hex: string | null | undefined): string | null {
  if (!hex || !/^0x[0-9a-fA-F]*$/.test(hex)) return null;
  const data = Buffer.from(hex.slice(2), "hex");
  const clean = (s: string) => {
    const t = s.replace(/\0+$/g, "").replace(/\0/g, "").trim();
    return t.length > 0 && t.length <= 64 && /^[\x20-\x7e]+$/.test(t) ? t : null;
  };
  if (data.length >= 64) {
    const offset = data.readBigUInt64BE(24);
    if (data.subarray(0, 24).every((b) => b === 0) && offset + 32n <= BigInt(data.length)) {
      const o = Number(offset);
      const lenWord = data.subarray(o, o + 32);
      if (lenWord.subarray(0, 24).every((b) => b === 0)) {
        const len = Number(lenWord.readBigUInt64BE(24));
        if (o + 32 + len <= data.length)
          return clean(data.subarray(o + 32, o + 32 + len).toString("latin1"));
      }
    }
  }
  if (data.length === 32) return clean(data.toString("latin1"));
  return null;
}

/** Decodes a decimals() answer: a uint that fits 0..255, else null. */
export function decodeDecimals(hex: string | null | undefined): number | null {
  if (!hex || !/^0x[0-9a-fA-F]+$/.test(hex) || hex.length > 66) return null;
  const v = BigInt(hex);
  return v <= 255n ? Number(v) : null;
}
