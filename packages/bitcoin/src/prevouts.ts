import { open, type RootDatabase } from "lmdb";
import type { ParsedTx } from "./block.js";
import { type BitcoinNetwork, deriveOutput, type ScriptType, ScriptTypes } from "./script.js";

/** What a spent output paid to: its value and derived addresses. */
export interface Prevout {
  /** Satoshi. */
  value: number;
  type: ScriptType;
  /** Derived addresses (empty for nulldata / non-standard). */
  addresses: string[];
}

/** Key of an outpoint: `<txid>:<vout>`. */
export function outpointKey(txid: string, vout: number): string {
  return `${txid}:${vout}`;
}

/** Prevout of output `vout` of a parsed transaction. */
export function prevoutOf(tx: ParsedTx, vout: number, net: BitcoinNetwork): Prevout | undefined {
  const o = tx.outputs[vout];
  if (!o) return undefined;
  const d = deriveOutput(tx.buf, o.scriptOffset, o.scriptLength, net);
  return { value: o.value, type: d.type, addresses: d.addresses };
}

/** A store of outputs seen so far, so later spends can be resolved without asking the node. */
export interface OutpointStore {
  getMany(keys: string[]): Promise<(Prevout | undefined)[]>;
  /** Records created outputs and forgets spent ones, atomically. */
  apply(created: Map<string, Prevout>, spent: string[]): Promise<void>;
  close(): Promise<void>;
}

type Encoded = [number, number, ...string[]];

/**
 * Outpoint index in an embedded LMDB environment (`lmdb` package). Values are msgpack arrays
 * `[sat, typeIndex, ...addresses]`. Spent outpoints are deleted when `pruneSpent` (the
 * default), which keeps the index the size of the UTXO set; a block replayed after a reorg then
 * falls back to getrawtransaction for the outputs it spends.
 */
export class LmdbOutpointStore implements OutpointStore {
  private readonly db: RootDatabase<Encoded, string>;
  constructor(
    path: string,
    private readonly opts: { pruneSpent?: boolean } = {},
  ) {
    this.db = open<Encoded, string>({ path, compression: false });
  }
  async getMany(keys: string[]): Promise<(Prevout | undefined)[]> {
    if (keys.length === 0) return [];
    const vals = await this.db.getMany(keys);
    return vals.map((v) =>
      v === undefined
        ? undefined
        : {
            value: v[0],
            type: ScriptTypes[v[1]] ?? "nonstandard",
            addresses: v.slice(2) as string[],
          },
    );
  }
  async apply(created: Map<string, Prevout>, spent: string[]): Promise<void> {
    const prune = this.opts.pruneSpent ?? true;
    await this.db.transaction(() => {
      for (const [k, p] of created) {
        this.db.put(k, [p.value, ScriptTypes.indexOf(p.type), ...p.addresses]);
      }
      if (prune) for (const k of spent) this.db.remove(k);
    });
  }
  async close(): Promise<void> {
    await this.db.close();
  }
}

/** In-memory outpoint store (tests, short backfills). */
export class MemoryOutpointStore implements OutpointStore {
  readonly map = new Map<string, Prevout>();
  async getMany(keys: string[]): Promise<(Prevout | undefined)[]> {
    return keys.map((k) => this.map.get(k));
  }
  async apply(created: Map<string, Prevout>, spent: string[]): Promise<void> {
    for (const [k, p] of created) this.map.set(k, p);
    for (const k of spent) this.map.delete(k);
  }
  async close(): Promise<void> {}
}

/** Least-recently-used map with a fixed number of entries. */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  constructor(readonly capacity: number) {}
  get(k: K): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: K, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }
  get size(): number {
    return this.map.size;
  }
}
