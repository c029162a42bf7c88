import type { Asset } from "@chainscreen/schema";
import type { RulesConfig } from "./rules.js";

/** Default decimals of native coins when a transfer does not say (UTXO: satoshi; EVM: wei). */
const NATIVE_DECIMALS: Record<string, number> = { bitcoin: 8, litecoin: 8, tron: 6, evm: 18 };

/**
 * Values a transfer in USD: stablecoins 1:1, other assets through the price table (by
 * `chain:contract`, then by symbol). Returns null when the asset has no price or unknown
 * decimals. Base units are scaled with BigInt first so wei-sized amounts keep their precision
 * where it matters (thresholds are compared on the resulting float).
 */
export function valueUsd(
  prices: RulesConfig["prices"],
  chain: string,
  family: string,
  asset: Asset,
  amount: string,
): number | null {
  const symbol = asset.symbol?.toUpperCase() ?? null;
  let price: number | undefined;
  if (asset.contract) price = prices.usd[`${chain}:${asset.contract}`];
  if (price === undefined && symbol !== null) {
    if (stablecoinSet(prices).has(symbol)) price = 1;
    else price = prices.usd[symbol] ?? prices.usd[asset.symbol ?? ""];
  }
  if (price === undefined) return null;
  const decimals =
    asset.decimals ?? (asset.contract === null ? NATIVE_DECIMALS[family] : undefined);
  if (decimals === undefined) return null;
  return toUnits(amount, decimals) * price;
}

const stablecoinSets = new WeakMap<RulesConfig["prices"], Set<string>>();
/** The configured stablecoin symbols, upper-cased, once per (reloaded) price table. */
function stablecoinSet(prices: RulesConfig["prices"]): Set<string> {
  let set = stablecoinSets.get(prices);
  if (!set) {
    set = new Set(prices.stablecoins.map((s) => s.toUpperCase()));
    stablecoinSets.set(prices, set);
  }
  return set;
}

/** Powers of ten that doubles hold exactly (10^0 … 10^22). */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** Integer base units (decimal string) → whole units as a float. */
export function toUnits(amount: string, decimals: number): number {
  if (decimals === 0) return Number(amount);
  const pow = POW10[decimals];
  // Up to 15 digits the amount is an exact double, and so are `% pow` and the exact division
  // below: the same result as the BigInt path, without allocating BigInts.
  if (amount.length <= 15 && pow !== undefined) {
    const n = Number(amount);
    const frac = n % pow;
    return (n - frac) / pow + frac / pow;
  }
  const a = BigInt(amount);
  const scale = 10n ** BigInt(decimals);
  const whole = a / scale;
  const frac = a % scale;
  return Number(whole) + Number(frac) / Number(scale);
}

/** USD value as a decimal string with cents, for `flag.valueUsd`. */
export function formatUsd(v: number | null): string | null {
  if (v === null || !Number.isFinite(v)) return null;
  return v.toFixed(2);
}
