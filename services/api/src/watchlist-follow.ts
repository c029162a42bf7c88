import { EXCHANGE_WALLETS_LIST } from "@chainscreen/exchange";
import type { WatchlistEntryV1 } from "@chainscreen/schema";
import { applyWatchlistMessage, type Matcher } from "@chainscreen/watchlist";

const WALLET_KEY_PREFIX = `${EXCHANGE_WALLETS_LIST}|`;

/**
 * Applies one `watchlist.v1` message (value or tombstone) as the API's live follower does.
 * Exchange-wallet entries are service tags for the tagger, not listings: they never reach the
 * screening matcher (an exchange's deposit address must not answer "listed" / "block"); they go
 * to `onWalletTag`, which tells the wallet publisher what is already on the topic.
 */
export function applyFollowedWatchlist(
  matcher: Matcher,
  key: string | null,
  value: WatchlistEntryV1 | null,
  timestampMs: number,
  onWalletTag?: (key: string | null, value: WatchlistEntryV1 | null) => void,
): void {
  const walletTag = value
    ? value.listId === EXCHANGE_WALLETS_LIST
    : (key ?? "").startsWith(WALLET_KEY_PREFIX);
  if (walletTag) {
    onWalletTag?.(key, value);
    return;
  }
  applyWatchlistMessage(matcher, key ?? "", value, timestampMs);
}
