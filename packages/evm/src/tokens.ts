import { errorMessage } from "@chainscreen/errors";
import type { Logger } from "@chainscreen/logger";
import { decodeDecimals, decodeSymbol, type TokenMeta } from "./extract.js";
import { type RpcClient, RpcError, RpcUnsupportedError } from "./rpc.js";

const SYMBOL = "0x95d89b41";
const DECIMALS = "0x313ce567";

/**
 * Token symbol/decimals, fetched once per contract (one JSON-RPC batch for all new contracts of
 * a block range) and cached. Contracts that revert or answer garbage get nulls, which are cached
 * too: metadata never blocks ingestion.
 */
export class TokenMetadataCache {
  private readonly cache = new Map<string, TokenMeta>();

  constructor(
    private readonly rpc: RpcClient,
    private readonly log: Logger,
    private readonly maxEntries = 200_000,
  ) {}

  /** Cached entry, if any. */
  get(contract: string): TokenMeta | undefined {
    return this.cache.get(contract);
  }

  /** Ensures metadata for every contract is cached; returns a map for the given contracts. */
  async resolve(contracts: Iterable<string>): Promise<Map<string, TokenMeta>> {
    const want = [...new Set(contracts)];
    const missing = want.filter((c) => !this.cache.has(c));
    if (missing.length > 0) {
      const reqs = missing.flatMap((to) => [
        { method: "eth_call", params: [{ to, data: SYMBOL }, "latest"] },
        { method: "eth_call", params: [{ to, data: DECIMALS }, "latest"] },
      ]);
      // Each call on its own: a revert (an RPC error) on one token must not fail the others.
      const results = await Promise.all(
        reqs.map((r) =>
          this.rpc
            .call<string | null>(r.method, r.params, (x) => (typeof x === "string" ? x : null))
            .catch((err) => {
              // A revert (non-retryable RPC error) means "no such function": cache null. Anything
              // transient propagates, so a flaky node never leaves a token without metadata for good.
              if (
                (err instanceof RpcError || err instanceof RpcUnsupportedError) &&
                !err.retryable
              ) {
                this.log.debug(
                  { err: errorMessage(err), to: (r.params[0] as { to: string }).to },
                  "token metadata call reverted",
                );
                return null;
              }
              throw err;
            }),
        ),
      );
      if (this.cache.size + missing.length > this.maxEntries) this.cache.clear();
      missing.forEach((c, i) => {
        this.cache.set(c, {
          symbol: decodeSymbol(results[2 * i]),
          decimals: decodeDecimals(results[2 * i + 1]),
        });
      });
    }
    return new Map(want.map((c) => [c, this.cache.get(c) as TokenMeta]));
  }
}
