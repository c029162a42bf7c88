import { type Database, open, type RootDatabase } from "lmdb";
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
  /**
   * Records created outputs and forgets spent ones, atomically. With `height`, a store may keep
   * the spent entries until the block is deep enough that no reorg can replay it.
   */
  apply(created: Map<string, Prevout>, spent: string[], height?: number): Promise<void>;
  close(): Promise<void>;
}

type Encoded = [number, number, ...string[]];

/**
 * Outpoint index in an embedded LMDB environment (`lmdb` package). Values are msgpack arrays
 * `[sat, typeIndex, ...addresses]`. Spent outpoints are deleted, which keeps the index the size
 * of the UTXO set — but not at once when `apply` gets a height: the keys a block spent are kept
 * in a side table and deleted only once the block is `pruneDepth` blocks deep (default 288, more
 * than the follower's reorg window). A block replayed after a reorg therefore still finds the
 * outputs it spends, even on a node without -txindex. A fork block overwrites the list of the
 * orphaned block at its height, so outputs spent only on the orphaned branch stay unspent.
 */
export class LmdbOutpointStore implements OutpointStore {
  private readonly root: RootDatabase<Encoded, string>;
  private readonly spentAt: Database<string[], number>;
  private readonly pruneDepth: number;
  constructor(path: string, opts: { pruneDepth?: number } = {}) {
    this.root = open<Encoded, string>({ path, compression: false, maxDbs: 4 });
    this.spentAt = this.root.openDB<string[], number>({ name: "spent-by-height" });
    this.pruneDepth = Math.max(1, opts.pruneDepth ?? 288);
  }
  async getMany(keys: string[]): Promise<(Prevout | undefined)[]> {
    if (keys.length === 0) return [];
    const vals = await this.root.getMany(keys);
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
  async apply(created: Map<string, Prevout>, spent: string[], height?: number): Promise<void> {
    await this.root.transaction(() => {
      for (const [k, p] of created) {
        this.root.put(k, [p.value, ScriptTypes.indexOf(p.type), ...p.addresses]);
      }
      if (height === undefined) {
        for (const k of spent) this.root.remove(k);
        return;
      }
      this.spentAt.put(height, spent);
      // Blocks now deep enough: their spent outputs can no longer be needed by a replay.
      for (const { key, value } of this.spentAt.getRange({ end: height - this.pruneDepth + 1 })) {
        for (const k of value) this.root.remove(k);
        this.spentAt.remove(key);
      }
    });
  }
  /** Heights whose spent outpoints are still kept (oldest first). */
  pendingHeights(): number[] {
    return [...this.spentAt.getKeys()];
  }
  async close(): Promise<void> {
    await this.root.close();
  }
}

/** In-memory outpoint store (tests, short backfills). */
export class MemoryOutpointStore implements OutpointStore {
  readonly map = new Map<string, Prevout>();
  async getMany(keys: string[]): Promise<(Prevout | undefined)[]> {
    return keys.map((k) => this.map.get(k));
  }
  async apply(created: Map<string, Prevout>, spent: string[], _height?: number): Promise<void> {
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
