import { tronHexToBase58 as toBase58 } from "@chainscreen/addresses";

// Addresses repeat heavily inside a block (the USDT contract, exchange hot wallets) and base58check
// costs two SHA-256 plus a base conversion, so recent conversions are cached (bounded).
const CACHE_MAX = 50_000;
const cache = new Map<string, string>();

/**
 * Canonical `T…` of a Tron hex address: 21 bytes with the 0x41 prefix (as the HTTP API returns
 * them) or the bare 20 bytes that event topics and log addresses carry. Cached.
 */
export function tronAddress(hex: string): string {
  const hit = cache.get(hex);
  if (hit !== undefined) return hit;
  const out = toBase58(hex);
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(hex, out);
  return out;
}
