/** What the pipeline knows about an asset: symbol and decimals (null when unknown). */
export interface TokenInfo {
  symbol: string | null;
  decimals: number | null;
}

/** Native TRX: amounts in sun, 1 TRX = 10^6 sun. */
export const TRX: TokenInfo = { symbol: "TRX", decimals: 6 };

/** USDT-TRC20 (Tether USD on Tron). */
export const USDT_TRC20 = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";

// Well-known TRC-20 contracts. Decimals are what the contracts' decimals() return.
const KNOWN_TRC20: Record<string, TokenInfo> = {
  [USDT_TRC20]: { symbol: "USDT", decimals: 6 },
  TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8: { symbol: "USDC", decimals: 6 },
};

/**
 * Token metadata table and cache. TRC-20 tokens are keyed by contract (`T…`), TRC-10 tokens by
 * their numeric asset id. Unknown tokens yield nulls (amounts stay exact in base units anyway);
 * callers may `set` what they resolve elsewhere (e.g. getassetissuebyid precision).
 */
export class TokenRegistry {
  private readonly trc20 = new Map<string, TokenInfo>(Object.entries(KNOWN_TRC20));
  private readonly trc10 = new Map<string, TokenInfo>();

  /** Metadata of a TRC-20 contract (null fields when unknown). */
  trc20Info(contract: string): TokenInfo {
    return this.trc20.get(contract) ?? { symbol: null, decimals: null };
  }

  /** Metadata of a TRC-10 asset id (null fields when unknown). */
  trc10Info(assetId: string): TokenInfo {
    return this.trc10.get(assetId) ?? { symbol: null, decimals: null };
  }

  /** True when the TRC-20 contract has an entry (also a negative one). */
  hasTrc20(contract: string): boolean {
    return this.trc20.has(contract);
  }

  /** True when the TRC-10 id has metadata. */
  hasTrc10(assetId: string): boolean {
    return this.trc10.has(assetId);
  }

  /** Records metadata of a TRC-20 contract. */
  setTrc20(contract: string, info: TokenInfo): void {
    this.trc20.set(contract, info);
  }

  /** Records metadata of a TRC-10 asset id. */
  setTrc10(assetId: string, info: TokenInfo): void {
    this.trc10.set(assetId, info);
  }
}
