import type { TransferV1 } from "@chainscreen/schema";

/** A block as the follower sees it: number, hash, parent hash and time (unix ms). */
export interface BlockRef {
  number: number;
  hash: string;
  parentHash: string;
  timestamp: number;
}

/** A block with every transfer it contains (status "confirmed"; the follower sets the final status). */
export interface ChainBlock {
  ref: BlockRef;
  transfers: TransferV1[];
}

/**
 * Where blocks come from (EVM JSON-RPC, Bitcoin Core, Tron). Implementations validate what the
 * node returns (a block with the wrong number or hash is an error, never data) and retry
 * transient failures themselves; anything they throw is retried by the follower with backoff.
 */
export interface BlockSource {
  /** Chain name as in transfer.v1, e.g. ethereum. */
  readonly chain: string;
  /** Which node/endpoint set this is, for logs and the transfer `source` field. */
  readonly name: string;
  /** Number of the newest block the node knows. */
  head(): Promise<number>;
  /** Header of the canonical block at height n (cheap; used to find fork points). */
  header(n: number): Promise<BlockRef>;
  /** Canonical block n with its transfers. */
  block(n: number): Promise<ChainBlock>;
  /** Blocks from..to inclusive in ascending order (batched fetch); falls back to block() when absent. */
  blocks?(from: number, to: number): Promise<ChainBlock[]>;
  /**
   * Optional source-specific safe head (e.g. the EVM `finalized` tag). When present and the
   * follower is configured to use it, confirmations are ignored.
   */
  safeHead?(): Promise<number>;
}

/** One block the follower has emitted and still remembers (the reorg window). */
export interface BlockRecord {
  ref: BlockRef;
  status: "pending" | "confirmed";
  /** The transfers exactly as emitted (status pending or confirmed). */
  transfers: TransferV1[];
}

/** What one atomic commit writes: transfer events plus block-record upserts and deletions. */
export interface Commit {
  events: TransferV1[];
  put: BlockRecord[];
  /** Block numbers whose records are deleted (left the window, or orphaned by a reorg). */
  remove: number[];
}

/**
 * Durable output of the follower. `commit` must be atomic: the events and the block records are
 * visible together or not at all, so a crash can neither skip nor duplicate a block.
 */
export interface IngestStore {
  /** Remembered blocks of a chain, ascending and contiguous (empty on first start). */
  restore(chain: string): Promise<BlockRecord[]>;
  commit(chain: string, c: Commit): Promise<void>;
  close(): Promise<void>;
}
