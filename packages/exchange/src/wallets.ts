import { createHash } from "node:crypto";
import { chainFamily } from "@chainscreen/addresses";
import { type ConsumerHandle, consume, type KafkaBus, type Producer } from "@chainscreen/kafka";
import { type TransferV1, WatchlistEntryV1, watchlistKey } from "@chainscreen/schema";

/**
 * List id of the exchange wallets learned from exchange reports. Its entries are service tags
 * for the tagger (category {@link EXCHANGE_WALLET_CATEGORY}), not risk listings: screening
 * answers (API) leave this list out.
 */
export const EXCHANGE_WALLETS_LIST = "exchange-wallets";

/** Category of exchange-wallet entries; one of the tagger's default `serviceCategories`. */
export const EXCHANGE_WALLET_CATEGORY = "exchange";

/** An exchange's own wallet (deposit address or hot wallet) named by a report. */
export interface ExchangeWallet {
  family: string;
  /** Canonical address (reports are canonicalised by {@link reportToTransfer}). */
  address: string;
  /** Exchange or bank name as reported (lower case). */
  exchange: string;
  /** Tenant that reported it: who vouches for the tag. */
  tenantId: string | null;
}

/**
 * The exchange's own wallet named by a reported transfer (`exchange.exchangeAddress` of an
 * exchange_deposit / exchange_withdrawal), or null when the report names none.
 */
export function reportedWallet(t: TransferV1): ExchangeWallet | null {
  const x = t.exchange;
  if (!x?.exchangeAddress) return null;
  if (t.kind !== "exchange_deposit" && t.kind !== "exchange_withdrawal") return null;
  const family = chainFamily(t.chain);
  if (!family) return null;
  return { family, address: x.exchangeAddress, exchange: x.name, tenantId: x.tenantId ?? null };
}

/** Kafka key of a wallet's entry on the compacted watchlist topic. */
export function walletKey(w: Pick<ExchangeWallet, "family" | "address">): string {
  return watchlistKey(EXCHANGE_WALLETS_LIST, w.family, w.address);
}

/**
 * The `watchlist.v1` state of a wallet. The list is append-only and has no versions of its own:
 * `listVersion` is 1 and `listHash` hashes the entry's content. `listedFrom` is null: the
 * address was the exchange's before the report said so (the on-chain deposit precedes the
 * report), so it is a service for every transfer the tagger screens.
 */
export function walletEntry(w: ExchangeWallet, now: number): WatchlistEntryV1 {
  const label = `${w.exchange} wallet${w.tenantId ? `, reported by tenant ${w.tenantId}` : ""}`;
  return WatchlistEntryV1.parse({
    type: "watchlist.v1",
    listId: EXCHANGE_WALLETS_LIST,
    listVersion: 1,
    listHash: createHash("sha256")
      .update(`${EXCHANGE_WALLETS_LIST}\n${w.family}\n${w.address}\n${w.exchange}\n${w.tenantId}`)
      .digest("hex"),
    family: w.family,
    address: w.address,
    code: null,
    entityName: w.exchange,
    programmes: [],
    category: EXCHANGE_WALLET_CATEGORY,
    severity: "low",
    records: [
      {
        code: null,
        entityName: w.exchange,
        entityId: w.tenantId,
        programmes: [],
        category: EXCHANGE_WALLET_CATEGORY,
        severity: "low",
        label,
        designatedAt: null,
      },
    ],
    listedFrom: null,
    listedUntil: null,
    publishedAt: now,
  });
}

/** Options of {@link ExchangeWalletTags}. */
export interface ExchangeWalletTagsOptions {
  /**
   * Wallet keys remembered as published (least recently seen forgotten first). Forgetting only
   * costs one more publication of that wallet (idempotent on the compacted topic), so this bounds
   * memory, not correctness.
   */
  maxKnown?: number;
  /** Clock (ms) for `publishedAt`. */
  now?: () => number;
}

/**
 * Publishes the exchange wallets named by reported transfers as service tags on the compacted
 * `watchlist.v1` topic (list {@link EXCHANGE_WALLETS_LIST}, keyed list|family|address like every
 * watchlist entry), each wallet once: wallets already on the topic — learned through
 * {@link observe} from a follower of the topic (see {@link followWalletTags}) or published by this
 * instance — are not published again. The first report of a wallet decides its attribution.
 */
export class ExchangeWalletTags {
  private readonly known = new Map<string, true>();
  private readonly maxKnown: number;
  private readonly now: () => number;
  /** Wallets published by this instance. */
  published = 0;

  constructor(
    private readonly producer: Pick<Producer, "send">,
    private readonly topic: string,
    opts: ExchangeWalletTagsOptions = {},
  ) {
    this.maxKnown = opts.maxKnown ?? 1_000_000;
    this.now = opts.now ?? Date.now;
  }

  /** Number of wallet keys currently remembered. */
  get knownCount(): number {
    return this.known.size;
  }

  /** Whether a wallet is known to be on the topic already. */
  has(w: Pick<ExchangeWallet, "family" | "address">): boolean {
    return this.known.has(walletKey(w));
  }

  /**
   * Learns from one message of the watchlist topic: an entry of the exchange-wallet list is
   * known; its tombstone (an operator removing a wrong tag) forgets it, so a later report tags
   * the wallet again. Other lists are ignored.
   */
  observe(key: string | null, value: WatchlistEntryV1 | null): void {
    if (value !== null) {
      if (value.listId === EXCHANGE_WALLETS_LIST) this.remember(walletKey(value));
      return;
    }
    if (key?.startsWith(`${EXCHANGE_WALLETS_LIST}|`)) this.known.delete(key);
  }

  /**
   * Publishes the wallets of `transfers` that are not known yet (each once, even when several
   * transfers name it) and resolves when the broker acknowledged them; returns how many were
   * sent. Concurrent calls never publish the same wallet twice; a failed send forgets its
   * wallets again so that the caller's retry publishes them.
   */
  async tag(transfers: readonly TransferV1[]): Promise<number> {
    const fresh = new Map<string, WatchlistEntryV1>();
    const now = this.now();
    for (const t of transfers) {
      const w = reportedWallet(t);
      if (!w) continue;
      const key = walletKey(w);
      if (fresh.has(key)) continue;
      if (this.known.has(key)) {
        this.remember(key); // recently seen: keep it away from the eviction end
        continue;
      }
      fresh.set(key, walletEntry(w, now));
    }
    if (fresh.size === 0) return 0;
    // Marked before sending so a concurrent call does not publish them a second time.
    for (const k of fresh.keys()) this.remember(k);
    try {
      await this.producer.send(
        this.topic,
        [...fresh].map(([key, value]) => ({ key, value })),
      );
    } catch (err) {
      for (const k of fresh.keys()) this.known.delete(k);
      throw err;
    }
    this.published += fresh.size;
    return fresh.size;
  }

  private remember(key: string): void {
    this.known.delete(key);
    this.known.set(key, true);
    if (this.known.size > this.maxKnown) {
      const oldest = this.known.keys().next();
      if (!oldest.done) this.known.delete(oldest.value);
    }
  }
}

/**
 * Follows the whole compacted watchlist topic from its start (a consumer group of its own per
 * process, like every watchlist follower) and feeds each message to `tags.observe`, so wallets
 * published before a restart or by another instance are not published again. Until the follower
 * has caught up, a wallet may be published once more, which the compacted topic absorbs.
 */
export function followWalletTags(
  bus: KafkaBus,
  topic: string,
  tags: ExchangeWalletTags,
  groupId: string,
): Promise<ConsumerHandle> {
  return consume(bus, {
    groupId,
    topics: [topic],
    schema: WatchlistEntryV1.nullable(),
    allowTombstones: true,
    fromBeginning: true,
    handleBatch: async (messages) => {
      for (const m of messages) tags.observe(m.key, m.value);
    },
  });
}
