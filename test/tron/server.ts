import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TronTestChain } from "./chain.js";

// A local HTTP server that answers like a Tron full node / TronGrid: POST (or GET with a query) on
// /wallet/getnowblock, /wallet/getblockbynum, /wallet/gettransactioninfobyblocknum and the
// /walletsolidity equivalents. /walletsolidity only knows blocks up to the chain's solidified
// pointer; unknown blocks answer `{}` as java-tron does. Faults can be injected per path.

/** Kinds of injected failure. */
export type FaultKind =
  | "429" // rate limited, with Retry-After: 0
  | "503"
  | "garbage" // 200 with a body that is not JSON
  | "truncated" // 200 with JSON cut in the middle
  | "wrong-shape" // 200 with valid JSON of the wrong shape
  | "error-body" // 200 with {"Error": "..."} as java-tron reports failures
  | "reset" // connection destroyed without an answer
  | "bad-txid"; // the real answer with one byte of a raw_data_hex changed (txID no longer matches)

/** A queued fault: applies to the next `times` requests whose path contains `path`. */
export interface Fault {
  path: string;
  kind: FaultKind;
  times: number;
}

/** Options of {@link startTronTestServer}. */
export interface TronTestServerOptions {
  chain: TronTestChain;
  /** When set, requests without this TRON-PRO-API-KEY header get 401. */
  apiKey?: string;
}

/** A running test server. */
export interface TronTestServer {
  url: string;
  chain: TronTestChain;
  /** Requests served, by path. */
  requests: Map<string, number>;
  /** API key header of the last request. */
  lastApiKey: string | undefined;
  fault(f: Fault): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Starts the server on 127.0.0.1 and a free port. */
export async function startTronTestServer(opts: TronTestServerOptions): Promise<TronTestServer> {
  const faults: Fault[] = [];
  const requests = new Map<string, number>();
  const state: TronTestServer = {
    url: "",
    chain: opts.chain,
    requests,
    lastApiKey: undefined,
    fault: (f) => faults.push({ ...f }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const send = (
    res: ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(body);
  };

  // The block a path asks for, with the first transaction's raw_data_hex altered.
  const corrupt = (num: number): string => {
    const b = opts.chain.blocks.get(num);
    if (!b) return "{}";
    const copy = JSON.parse(b.blockJson) as { transactions?: { raw_data_hex: string }[] };
    const tx = copy.transactions?.[0];
    if (tx)
      tx.raw_data_hex = `${tx.raw_data_hex.slice(0, -2)}${tx.raw_data_hex.endsWith("00") ? "01" : "00"}`;
    return JSON.stringify(copy);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname;
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const key = req.headers["tron-pro-api-key"];
    state.lastApiKey = Array.isArray(key) ? key[0] : key;
    const text = req.method === "POST" ? await readBody(req) : "";
    if (opts.apiKey && state.lastApiKey !== opts.apiKey) {
      return send(res, 401, JSON.stringify({ Error: "ApiKey not exists" }));
    }
    const fault = faults.find((f) => path.includes(f.path) && f.times > 0);
    if (fault?.kind === "bad-txid") {
      fault.times--;
      return send(res, 200, corrupt(Number((JSON.parse(text || "{}") as { num?: unknown }).num)));
    }
    if (fault) {
      fault.times--;
      switch (fault.kind) {
        case "429":
          return send(res, 429, '{"Error":"rate limited"}', { "retry-after": "0" });
        case "503":
          return send(res, 503, "Service Unavailable");
        case "garbage":
          return send(res, 200, "<html>upstream error</html>");
        case "truncated":
          return send(res, 200, '{"blockID":"00000000');
        case "wrong-shape":
          return send(res, 200, JSON.stringify({ blockID: 42, block_header: "nope" }));
        case "error-body":
          return send(
            res,
            200,
            JSON.stringify({ Error: "class java.lang.NullPointerException : null" }),
          );
        case "reset":
          req.socket.destroy();
          return;
        default:
          break;
      }
    }
    let params: Record<string, unknown> = {};
    if (text) {
      try {
        params = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return send(res, 400, JSON.stringify({ Error: "invalid json" }));
      }
    }
    for (const [k, v] of url.searchParams) params[k] = v;
    const solid = path.startsWith("/walletsolidity/");
    const chain = opts.chain;
    const top = solid ? chain.solidified : chain.head;
    const method = path.slice(path.lastIndexOf("/") + 1);
    const num = Number(params.num);
    const get = (n: number) => (Number.isInteger(n) && n <= top ? chain.blocks.get(n) : undefined);
    if (!path.startsWith("/wallet/") && !solid) return send(res, 404, "");
    switch (method) {
      case "getnowblock": {
        const b = chain.blocks.get(top);
        return send(res, 200, b ? b.blockJson : "{}");
      }
      case "getblockbynum": {
        const b = get(num);
        return send(res, 200, b ? b.blockJson : "{}");
      }
      case "getassetissuebyid": {
        const id = String(params.value ?? "");
        const a = chain.assets.get(id);
        if (!a) return send(res, 200, "{}");
        const hexOf = (x: string) => Buffer.from(x, "utf8").toString("hex");
        return send(
          res,
          200,
          JSON.stringify({
            owner_address: `41${"00".repeat(20)}`,
            name: hexOf(a.name),
            abbr: hexOf(a.abbr),
            total_supply: 990000000000000000,
            ...(a.precision ? { precision: a.precision } : {}),
            id,
          }),
        );
      }
      case "triggerconstantcontract": {
        const c = chain.contracts.get(String(params.contract_address ?? "").toLowerCase());
        if (!c) {
          return send(
            res,
            200,
            JSON.stringify({
              result: {
                code: "CONTRACT_VALIDATE_ERROR",
                message: Buffer.from("No contract or not a smart contract").toString("hex"),
              },
            }),
          );
        }
        const word = (n: number | bigint) => n.toString(16).padStart(64, "0");
        const sym = Buffer.from(c.symbol, "utf8");
        let out: string;
        if (params.function_selector === "decimals()") out = word(c.decimals);
        else if (params.function_selector === "symbol()") {
          out = c.bytes32Symbol
            ? sym.toString("hex").padEnd(64, "0")
            : word(32) + word(sym.length) + sym.toString("hex").padEnd(64, "0");
        } else
          return send(
            res,
            200,
            JSON.stringify({ result: { result: true }, constant_result: [""] }),
          );
        return send(
          res,
          200,
          JSON.stringify({ result: { result: true }, energy_used: 300, constant_result: [out] }),
        );
      }
      case "gettransactioninfobyblocknum": {
        const b = get(num);
        // java-tron answers an empty list for a block it has no receipts for.
        return send(res, 200, b ? b.infosJson : "[]");
      }
      default:
        return send(res, 404, "");
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => send(res, 500, JSON.stringify({ Error: String(err) })));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
