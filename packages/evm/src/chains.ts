/** Known EVM chains: id and native coin, used as defaults for per-chain configuration. */
export const EVM_CHAINS: Record<string, { chainId: number; nativeSymbol: string }> = {
  ethereum: { chainId: 1, nativeSymbol: "ETH" },
  sepolia: { chainId: 11155111, nativeSymbol: "ETH" },
  bsc: { chainId: 56, nativeSymbol: "BNB" },
  polygon: { chainId: 137, nativeSymbol: "POL" },
  arbitrum: { chainId: 42161, nativeSymbol: "ETH" },
  base: { chainId: 8453, nativeSymbol: "ETH" },
  optimism: { chainId: 10, nativeSymbol: "ETH" },
  anvil: { chainId: 31337, nativeSymbol: "ETH" },
};

/** Per-chain settings shared by the ingest service and the backfill command. */
export interface EvmChainConfig {
  chain: string;
  /** Expected eth_chainId; checked at start so a misrouted URL never ingests another chain. */
  chainId: number;
  rpcUrls: string[];
  nativeSymbol: string;
  traces: "off" | "callTracer" | "parity";
  /** Blocks per JSON-RPC batch group. */
  rpcBlocksPerBatch: number;
  /** Batch groups in flight. */
  concurrency: number;
  rpcTimeoutMs: number;
}
