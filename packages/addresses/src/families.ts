/**
 * Chain families: chains that share one address space. Every EVM chain (Ethereum, BSC, Polygon,
 * Arbitrum, …) shares the 20-byte account space, so a listed EVM address is listed on all of them.
 */
export const FAMILIES = [
  "evm",
  "bitcoin",
  "tron",
  "litecoin",
  "bitcoin-cash",
  "bitcoin-sv",
  "bitcoin-gold",
  "dogecoin",
  "dash",
  "zcash",
  "monero",
  "xrp",
  "solana",
  "verge",
  "unknown",
] as const;
/** One of {@link FAMILIES}; `unknown` holds entries whose family could not be decided. */
export type Family = (typeof FAMILIES)[number];

/** True when `s` names a family. */
export function isFamily(s: string): s is Family {
  return (FAMILIES as readonly string[]).includes(s);
}

const EVM_CHAINS = [
  "ethereum",
  "eth",
  "mainnet",
  "sepolia",
  "holesky",
  "goerli",
  "bsc",
  "bnb",
  "binance-smart-chain",
  "polygon",
  "matic",
  "arbitrum",
  "arbitrum-one",
  "arbitrum-nova",
  "base",
  "optimism",
  "avalanche",
  "avalanche-c",
  "fantom",
  "gnosis",
  "linea",
  "scroll",
  "zksync",
  "zksync-era",
  "polygon-zkevm",
  "mantle",
  "blast",
  "celo",
  "cronos",
  "moonbeam",
  "ethereum-classic",
  "etc",
  "anvil",
  "hardhat",
  "evm",
];

const CHAIN_TO_FAMILY = new Map<string, Family>([
  ...EVM_CHAINS.map((c) => [c, "evm"] as [string, Family]),
  ["bitcoin", "bitcoin"],
  ["btc", "bitcoin"],
  ["bitcoin-testnet", "bitcoin"],
  ["bitcoin-regtest", "bitcoin"],
  ["tron", "tron"],
  ["trx", "tron"],
  ["litecoin", "litecoin"],
  ["bitcoin-cash", "bitcoin-cash"],
  ["bitcoincash", "bitcoin-cash"],
  ["bitcoin-sv", "bitcoin-sv"],
  ["bitcoin-gold", "bitcoin-gold"],
  ["dogecoin", "dogecoin"],
  ["dash", "dash"],
  ["zcash", "zcash"],
  ["monero", "monero"],
  ["xrp", "xrp"],
  ["ripple", "xrp"],
  ["solana", "solana"],
  ["verge", "verge"],
]);

/**
 * Family of a configured chain name (`ethereum`, `bsc`, `polygon`, … → `evm`; `bitcoin`; `tron`).
 * Family names themselves map to themselves. Returns null for a chain this package does not know,
 * so a caller can report it instead of matching against the wrong address space.
 */
export function chainFamily(chain: string): Family | null {
  const c = chain.trim().toLowerCase();
  const f = CHAIN_TO_FAMILY.get(c);
  if (f) return f;
  return isFamily(c) && c !== "unknown" ? c : null;
}

/** Chain names known to {@link chainFamily}. */
export function knownChains(): string[] {
  return [...CHAIN_TO_FAMILY.keys()];
}
