import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Faults the proxy can inject into answers from the upstream node. */
export type FaultKind =
  | "http500"
  | "http429"
  | "rpcError"
  | "timeout"
  | "truncate"
  | "wrongBlock"
  | "garbageReceipts";

/** A JSON-RPC proxy in front of a real node that injects faults on demand. */
export interface FaultProxy {
  url: string;
  /** Faults still to inject, consumed in order (one per HTTP request that matches). */
  queue: { kind: FaultKind; method?: string }[];
  /** When set, every matching request gets this fault with the given probability. */
  random: { kinds: FaultKind[]; probability: number } | null;
  /** Count of injected faults by kind. */
  injected: Record<string, number>;
  requests: number;
  /** Added latency per request (slows an ingester down so it can be killed mid-range). */
  delayMs: number;
  close(): Promise<void>;
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

type Req = { id: number; method: string; params: unknown[] };

/**
 * Starts a proxy to `upstream`. Faults: HTTP 500/429, a JSON-RPC error, a hang longer than any
 * client timeout, a response cut in half, a block of another height (the request is forwarded
 * for n+1 and answered under the original id), receipts of another block.
 */
export async function startFaultProxy(upstream: string, hangMs = 5_000): Promise<FaultProxy> {
  const state: FaultProxy = {
    url: "",
    queue: [],
    random: null,
    injected: {},
    requests: 0,
    delayMs: 0,
    close: async () => {},
  };
  const pending = new Set<NodeJS.Timeout>();
  const forward = async (payload: unknown) => {
    const r = await fetch(upstream, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    });
    return r.text();
  };
  const server: Server = createServer(async (req, res) => {
    state.requests++;
    const text = await body(req);
    if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
    const json = JSON.parse(text) as Req | Req[];
    const reqs = Array.isArray(json) ? json : [json];
    const methods = new Set(reqs.map((r) => r.method));
    let fault: FaultKind | null = null;
    const qi = state.queue.findIndex((f) => !f.method || methods.has(f.method));
    if (qi >= 0) {
      fault = (state.queue[qi] as { kind: FaultKind }).kind;
      state.queue.splice(qi, 1);
    } else if (state.random && Math.random() < state.random.probability) {
      const k = state.random.kinds;
      fault = k[Math.floor(Math.random() * k.length)] as FaultKind;
    }
    if (fault === "wrongBlock" && !methods.has("eth_getBlockByNumber")) fault = null;
    if (fault === "garbageReceipts" && !methods.has("eth_getBlockReceipts")) fault = null;
    if (fault) state.injected[fault] = (state.injected[fault] ?? 0) + 1;
    try {
      switch (fault) {
        case "http500":
          res.writeHead(500).end("internal error");
          return;
        case "http429":
          res.writeHead(429, { "retry-after": "0" }).end("rate limited");
          return;
        case "rpcError": {
          const out = reqs.map((r) => ({
            jsonrpc: "2.0",
            id: r.id,
            error: { code: -32603, message: "injected failure" },
          }));
          res
            .writeHead(200, { "content-type": "application/json" })
            .end(JSON.stringify(Array.isArray(json) ? out : out[0]));
          return;
        }
        case "timeout": {
          const t = setTimeout(() => {
            pending.delete(t);
            res.destroy();
          }, hangMs);
          pending.add(t);
          return;
        }
        case "truncate": {
          const full = await forward(json);
          res
            .writeHead(200, { "content-type": "application/json" })
            .end(full.slice(0, Math.floor(full.length / 2)));
          return;
        }
        case "wrongBlock": {
          const shifted = reqs.map((r) =>
            r.method === "eth_getBlockByNumber" &&
            typeof r.params[0] === "string" &&
            r.params[0].startsWith("0x")
              ? {
                  ...r,
                  params: [
                    `0x${(Number.parseInt(r.params[0], 16) + 1).toString(16)}`,
                    ...r.params.slice(1),
                  ],
                }
              : r,
          );
          const full = await forward(Array.isArray(json) ? shifted : shifted[0]);
          res.writeHead(200, { "content-type": "application/json" }).end(full);
          return;
        }
        case "garbageReceipts": {
          const shifted = reqs.map((r) =>
            r.method === "eth_getBlockReceipts" && typeof r.params[0] === "string"
              ? {
                  ...r,
                  params: [`0x${Math.max(0, Number.parseInt(r.params[0], 16) - 1).toString(16)}`],
                }
              : r,
          );
          const full = await forward(Array.isArray(json) ? shifted : shifted[0]);
          res.writeHead(200, { "content-type": "application/json" }).end(full);
          return;
        }
        default: {
          const full = await forward(json);
          res.writeHead(200, { "content-type": "application/json" }).end(full);
        }
      }
    } catch {
      res.writeHead(502).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((r) => {
      for (const t of pending) clearTimeout(t);
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}
