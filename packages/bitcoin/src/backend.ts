import type { Logger } from "@chainscreen/logger";
import { type BitcoinBackend, BitcoinCoreRpc, EsploraClient } from "./clients.js";
import type { Endpoint, RetryPolicy } from "./http.js";

/** How to reach the node(s): Bitcoin Core JSON-RPC or Esplora REST, with failover URLs. */
export interface BackendConfig {
  api: "rpc" | "esplora";
  urls: string[];
  /** RPC Basic-auth credentials (also accepted inside the URLs). */
  username?: string;
  password?: string;
  retry?: Partial<RetryPolicy>;
  log?: Logger;
}

/** Builds the backend of a {@link BackendConfig} (shared by the service and the CLI). */
export function createBackend(c: BackendConfig): BitcoinBackend {
  const eps: Endpoint[] = c.urls.map((url) => ({
    url,
    username: c.username,
    password: c.password,
  }));
  return c.api === "rpc"
    ? new BitcoinCoreRpc(eps, c.retry, c.log)
    : new EsploraClient(eps, c.retry, c.log);
}
