import { readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

/**
 * Key of a recorded response, built like ethereum-etl's tests name their files
 * (`web3_response.<method>_<params joined by _>.json`, lower-cased, dict keys sorted).
 */
export function recordingKey(method: string, params: unknown[]): string {
  const str = (p: unknown): string => {
    if (Array.isArray(p)) return p.map(str).join("_");
    if (p !== null && typeof p === "object") {
      return Object.keys(p)
        .sort()
        .map((k) => `${k}_${str((p as Record<string, unknown>)[k])}`)
        .join("_");
    }
    return String(p).toLowerCase();
  };
  return `${method}_${params.map(str).join("_")}`.toLowerCase();
}

/** A JSON-RPC server answering only with responses recorded from Ethereum mainnet. */
export interface ReplayServer {
  url: string;
  /** Keys that were asked for but not recorded (for diagnosing tests). */
  misses: string[];
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/**
 * Serves the `web3_response.*.json` files of the given directories. A method that was never
 * recorded answers -32601 (like a node without it, e.g. eth_getBlockReceipts on these old
 * recordings); a recorded method with other params answers -32000. `eth_blockNumber` answers the
 * number of a recorded `eth_getBlockByNumber(latest)` when one exists.
 */
export async function startReplayServer(dirs: string[]): Promise<ReplayServer> {
  const recorded = new Map<string, unknown>();
  const methods = new Set<string>();
  for (const dir of dirs) {
    for (const f of readdirSync(dir)) {
      const m = /^web3_response\.(.+)\.json$/.exec(f);
      if (!m?.[1]) continue;
      const env = JSON.parse(readFileSync(join(dir, f), "utf8")) as { result: unknown };
      const key = m[1].toLowerCase();
      recorded.set(key, env.result);
      // File names are `<method>_<params>`; method names contain one "_" (eth_call, trace_block).
      methods.add(key.split("_").slice(0, 2).join("_"));
    }
  }
  const latest = recorded.get("eth_getblockbynumber_latest_false") as
    | { number?: string }
    | undefined;
  if (latest?.number) {
    recorded.set("eth_blocknumber_", latest.number);
    methods.add("eth_blocknumber");
  }
  const misses: string[] = [];
  const answer = (r: { id?: unknown; method?: unknown; params?: unknown }) => {
    const method = String(r.method);
    const key = recordingKey(method, Array.isArray(r.params) ? r.params : []);
    if (recorded.has(key)) return { jsonrpc: "2.0", id: r.id, result: recorded.get(key) };
    misses.push(key);
    const known = methods.has(method.toLowerCase());
    return known
      ? { jsonrpc: "2.0", id: r.id, error: { code: -32000, message: "not recorded" } }
      : {
          jsonrpc: "2.0",
          id: r.id,
          error: { code: -32601, message: `the method ${method} does not exist/is not available` },
        };
  };
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const out = Array.isArray(json) ? json.map(answer) : answer(json as Record<string, unknown>);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    misses,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
