import { TransientError } from "@chainscreen/errors";
import { type TransferV1, transferId, type UtxoInput } from "@chainscreen/schema";
import type { ParsedBlock, ParsedTx } from "./block.js";
import {
  type LruCache,
  type OutpointStore,
  outpointKey,
  type Prevout,
  prevoutOf,
} from "./prevouts.js";
import {
  type BitcoinNetwork,
  deriveOutput,
  type OutputAddresses,
  type ScriptType,
} from "./script.js";

/** The native asset of a transfer: BTC, 8 decimals. */
export const BTC_ASSET = { symbol: "BTC", contract: null, decimals: 8 } as const;

/** Output count and value (sat) of one script type. */
export interface TypeStats {
  outputs: number;
  value: number;
}

/** What a block contained, for metrics and checks. */
export interface BlockStats {
  txs: number;
  outputs: number;
  /** Outputs with at least one address. */
  addressedOutputs: number;
  /** Sum of every output's value, sat. */
  outputValue: number;
  byType: Partial<Record<ScriptType, TypeStats>>;
  /** Inputs whose spent output could not be resolved (best-effort mode only). */
  unresolvedInputs: number;
}

/** Every output of every transaction of a block, derived once. */
export function deriveBlockOutputs(block: ParsedBlock, net: BitcoinNetwork): OutputAddresses[][] {
  const out: OutputAddresses[][] = new Array(block.txs.length);
  for (let t = 0; t < block.txs.length; t++) {
    const tx = block.txs[t] as ParsedTx;
    const d: OutputAddresses[] = new Array(tx.outputs.length);
    for (let o = 0; o < tx.outputs.length; o++) {
      const x = tx.outputs[o] as ParsedTx["outputs"][number];
      d[o] = deriveOutput(tx.buf, x.scriptOffset, x.scriptLength, net);
    }
    out[t] = d;
  }
  return out;
}

/**
 * Fetches a transaction by id (getrawtransaction or Esplora /tx/:txid/hex), parsed; undefined
 * when the node does not have it (e.g. Core without -txindex).
 */
export type FetchTransaction = (txid: string) => Promise<ParsedTx | undefined>;

/** Where input prevouts come from, in order of preference. */
export interface InputResolution {
  /** Prevouts the node gave with the block (getblock verbosity 3), by outpoint key. */
  given?: Map<string, Prevout>;
  /** Embedded outpoint index filled as blocks are processed. */
  store?: OutpointStore;
  /** Fallback for misses; results cached in `txCache`. */
  fetchTx?: FetchTransaction;
  txCache?: LruCache<string, ParsedTx>;
  /** Parallel fetches for misses. */
  fetchConcurrency?: number;
  net: BitcoinNetwork;
  /** When false, unresolved inputs are left out of `from` and the fee is null instead of failing. */
  strict?: boolean;
}

/** Resolved prevouts of a block, by tx index then input index (coinbase: empty). */
export interface ResolvedInputs {
  prevouts: (Prevout | undefined)[][];
  /** Outputs this block created, by outpoint key (to record in the index). */
  created: Map<string, Prevout>;
  /** Outpoints this block spent. */
  spent: string[];
  fetched: number;
  fromStore: number;
}

/** Resolves the spent output of every input of a block; see {@link InputResolution}. */
export async function resolveInputs(
  block: ParsedBlock,
  derived: OutputAddresses[][],
  res: InputResolution,
): Promise<ResolvedInputs> {
  const created = new Map<string, Prevout>();
  for (let t = 0; t < block.txs.length; t++) {
    const tx = block.txs[t] as ParsedTx;
    const d = derived[t] as OutputAddresses[];
    for (let o = 0; o < tx.outputs.length; o++) {
      const od = d[o] as OutputAddresses;
      created.set(outpointKey(tx.txid, o), {
        value: (tx.outputs[o] as ParsedTx["outputs"][number]).value,
        type: od.type,
        addresses: od.addresses,
      });
    }
  }
  const prevouts: (Prevout | undefined)[][] = new Array(block.txs.length);
  const spent: string[] = [];
  const missing: { t: number; i: number; key: string }[] = [];
  for (let t = 0; t < block.txs.length; t++) {
    const tx = block.txs[t] as ParsedTx;
    const row: (Prevout | undefined)[] = new Array(tx.coinbase ? 0 : tx.inputs.length);
    prevouts[t] = row;
    if (tx.coinbase) continue;
    for (let i = 0; i < tx.inputs.length; i++) {
      const inp = tx.inputs[i] as ParsedTx["inputs"][number];
      const key = outpointKey(inp.prevTxid, inp.prevVout);
      spent.push(key);
      const p = res.given?.get(key) ?? created.get(key);
      if (p) row[i] = p;
      else missing.push({ t, i, key });
    }
  }
  let fromStore = 0;
  let stillMissing = missing;
  if (res.store && missing.length > 0) {
    const vals = await res.store.getMany(missing.map((m) => m.key));
    stillMissing = [];
    for (let k = 0; k < missing.length; k++) {
      const m = missing[k] as (typeof missing)[number];
      const v = vals[k];
      if (v) {
        (prevouts[m.t] as (Prevout | undefined)[])[m.i] = v;
        fromStore++;
      } else stillMissing.push(m);
    }
  }
  let fetched = 0;
  if (res.fetchTx && stillMissing.length > 0) {
    const fetchTx = res.fetchTx;
    const txids = [
      ...new Set(
        stillMissing.map((m) => (block.txs[m.t] as ParsedTx).inputs[m.i]?.prevTxid as string),
      ),
    ];
    const got = new Map<string, ParsedTx>();
    const queue = txids.filter((id) => {
      const c = res.txCache?.get(id);
      if (c) got.set(id, c);
      return !c;
    });
    const workers = Array.from(
      { length: Math.min(res.fetchConcurrency ?? 8, queue.length) },
      async () => {
        for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
          const tx = await fetchTx(id);
          if (!tx) {
            if (res.strict ?? true) {
              throw new TransientError(
                "cannot resolve spent output of an input: node does not have the transaction",
                {
                  context: { txid: id },
                },
              );
            }
            continue;
          }
          if (tx.txid !== id) {
            throw new TransientError("fetched transaction has a different txid", {
              context: { txid: id },
            });
          }
          res.txCache?.set(id, tx);
          got.set(id, tx);
          fetched++;
        }
      },
    );
    await Promise.all(workers);
    for (const m of stillMissing) {
      const inp = (block.txs[m.t] as ParsedTx).inputs[m.i] as ParsedTx["inputs"][number];
      const tx = got.get(inp.prevTxid);
      const p = tx ? prevoutOf(tx, inp.prevVout, res.net) : undefined;
      if (p) (prevouts[m.t] as (Prevout | undefined)[])[m.i] = p;
    }
  }
  if (res.strict ?? true) {
    for (const m of stillMissing) {
      if (!(prevouts[m.t] as (Prevout | undefined)[])[m.i]) {
        throw new TransientError("cannot resolve spent output of an input", {
          context: { outpoint: m.key, unresolved: stillMissing.length },
        });
      }
    }
  }
  return { prevouts, created, spent, fetched, fromStore };
}

/** Inputs as `transfer.v1` `from` entries (a bare-multisig prevout gives one entry per key). */
function fromEntries(prevouts: (Prevout | undefined)[]): {
  from: UtxoInput[];
  total: number;
  complete: boolean;
} {
  const from: UtxoInput[] = [];
  let total = 0;
  let complete = true;
  for (const p of prevouts) {
    if (!p) {
      complete = false;
      continue;
    }
    total += p.value;
    const value = String(p.value);
    if (p.addresses.length === 0) from.push({ address: null, value });
    else for (const a of p.addresses) from.push({ address: a, value });
  }
  return { from, total, complete };
}

/** Identity of the block a set of transfers came from. */
export interface BlockContext {
  chain: string;
  height: number;
  source: string;
  observedAt: number;
}

/**
 * `transfer.v1` events of a block: one per addressed output (bare multisig: one per key, index
 * `<vout>.<k>`), kind `utxo`, `from` = the transaction's inputs, fee = inputs − outputs
 * (coinbase: `from` [] and fee 0). Also returns per-script-type output counts and values.
 */
export function blockTransfers(
  block: ParsedBlock,
  derived: OutputAddresses[][],
  prevouts: (Prevout | undefined)[][],
  ctx: BlockContext,
): { transfers: TransferV1[]; stats: BlockStats } {
  const stats: BlockStats = {
    txs: block.txs.length,
    outputs: 0,
    addressedOutputs: 0,
    outputValue: 0,
    byType: {},
    unresolvedInputs: 0,
  };
  const transfers: TransferV1[] = [];
  const timestamp = block.header.time * 1000;
  for (let t = 0; t < block.txs.length; t++) {
    const tx = block.txs[t] as ParsedTx;
    const d = derived[t] as OutputAddresses[];
    let outTotal = 0;
    for (const o of tx.outputs) outTotal += o.value;
    let from: UtxoInput[] = [];
    let fee: string | null = "0";
    if (!tx.coinbase) {
      const f = fromEntries(prevouts[t] ?? []);
      from = f.from;
      if (!f.complete)
        stats.unresolvedInputs += tx.inputs.length - (prevouts[t] ?? []).filter(Boolean).length;
      fee = f.complete ? String(f.total - outTotal) : null;
    }
    for (let o = 0; o < tx.outputs.length; o++) {
      const out = tx.outputs[o] as ParsedTx["outputs"][number];
      const od = d[o] as OutputAddresses;
      stats.outputs++;
      stats.outputValue += out.value;
      const ts = stats.byType[od.type] ?? { outputs: 0, value: 0 };
      ts.outputs++;
      ts.value += out.value;
      stats.byType[od.type] = ts;
      if (od.addresses.length === 0) continue;
      stats.addressedOutputs++;
      const multi = od.type === "multisig";
      for (let k = 0; k < od.addresses.length; k++) {
        const index = multi ? `${o}.${k}` : String(o);
        transfers.push({
          type: "transfer.v1",
          id: transferId(ctx.chain, tx.txid, "utxo", index),
          chain: ctx.chain,
          kind: "utxo",
          txHash: tx.txid,
          index,
          blockNumber: ctx.height,
          blockHash: block.header.hash,
          timestamp,
          from,
          to: od.addresses[k] as string,
          asset: { ...BTC_ASSET },
          amount: String(out.value),
          fee,
          status: "confirmed",
          source: ctx.source,
          observedAt: ctx.observedAt,
        });
      }
    }
  }
  return { transfers, stats };
}
