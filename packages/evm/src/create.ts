import { BaseError } from "@chainscreen/errors";
import type { Logger } from "@chainscreen/logger";
import type { EvmChainConfig } from "./chains.js";
import { RpcClient } from "./rpc.js";
import { EvmBlockSource } from "./source.js";
import { qty } from "./types.js";

/** Builds the RPC client and block source of a chain and checks the node's chain id. */
export async function createEvmSource(
  cfg: EvmChainConfig,
  log: Logger,
): Promise<{ rpc: RpcClient; source: EvmBlockSource }> {
  const rpc = new RpcClient({ urls: cfg.rpcUrls, log, timeoutMs: cfg.rpcTimeoutMs });
  const id = await rpc.call("eth_chainId", [], (r) => qty(r, "chainId"));
  if (id !== cfg.chainId) {
    await rpc.close();
    throw new BaseError("RPC endpoint serves another chain", {
      context: { chain: cfg.chain, expected: cfg.chainId, got: id },
    });
  }
  const source = new EvmBlockSource({
    chain: cfg.chain,
    rpc,
    log,
    nativeSymbol: cfg.nativeSymbol,
    traces: cfg.traces,
    rpcBlocksPerBatch: cfg.rpcBlocksPerBatch,
    concurrency: cfg.concurrency,
  });
  return { rpc, source };
}
