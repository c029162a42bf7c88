/**
 * Network names as exchanges write them (Binance `ETH`, `TRX`, `BSC`; OKX `USDT-TRC20`;
 * KuCoin `trc20`, `eth`; KYT `Ethereum`, `Tron`) mapped to Chainscreen chain names.
 */
const ALIASES: Record<string, string> = {
  eth: "ethereum",
  ethereum: "ethereum",
  erc20: "ethereum",
  trx: "tron",
  tron: "tron",
  trc20: "tron",
  btc: "bitcoin",
  bitcoin: "bitcoin",
  bsc: "bsc",
  bep20: "bsc",
  "bnb smart chain": "bsc",
  "bnb smart chain (bep20)": "bsc",
  matic: "polygon",
  polygon: "polygon",
  arbitrum: "arbitrum",
  arbitrumone: "arbitrum",
  "arbitrum one": "arbitrum",
  arb: "arbitrum",
  base: "base",
  optimism: "optimism",
  op: "optimism",
  ltc: "litecoin",
  litecoin: "litecoin",
};

/** Chain name for an exchange's network label, or null when unknown. */
export function chainForNetwork(network: string): string | null {
  const n = network.trim().toLowerCase();
  if (ALIASES[n]) return ALIASES[n] ?? null;
  // OKX writes "<CCY>-<network>", e.g. USDT-TRC20, ETH-ERC20, BTC-Bitcoin, USDC-Arbitrum One.
  const dash = n.indexOf("-");
  if (dash > 0) return ALIASES[n.slice(dash + 1)] ?? null;
  return null;
}

/** Decimals of well-known assets per chain (display units → base units). */
const DECIMALS: Record<string, number> = {
  "ethereum:ETH": 18,
  "ethereum:USDT": 6,
  "ethereum:USDC": 6,
  "ethereum:DAI": 18,
  "tron:TRX": 6,
  "tron:USDT": 6,
  "tron:USDC": 6,
  "bitcoin:BTC": 8,
  "bsc:BNB": 18,
  "bsc:USDT": 18,
  "bsc:USDC": 18,
  "polygon:MATIC": 18,
  "polygon:POL": 18,
  "polygon:USDT": 6,
  "polygon:USDC": 6,
  "arbitrum:ETH": 18,
  "arbitrum:USDT": 6,
  "arbitrum:USDC": 6,
  "base:ETH": 18,
  "base:USDC": 6,
  "optimism:ETH": 18,
  "optimism:USDT": 6,
  "optimism:USDC": 6,
  "litecoin:LTC": 8,
};

/** Token contracts of well-known assets (canonical form). */
const CONTRACTS: Record<string, string> = {
  "ethereum:USDT": "0xdac17f958d2ee523a2206206994597c13d831ec7",
  "ethereum:USDC": "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
  "tron:USDT": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
  "tron:USDC": "TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8",
};

/** Decimals of a known asset on a chain, or null. */
export function knownDecimals(chain: string, symbol: string): number | null {
  return DECIMALS[`${chain}:${symbol.toUpperCase()}`] ?? null;
}

/** Contract of a known token on a chain; null for native coins and unknown tokens. */
export function knownContract(chain: string, symbol: string): string | null {
  return CONTRACTS[`${chain}:${symbol.toUpperCase()}`] ?? null;
}
