import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseBlock, parseTransaction } from "@chainscreen/bitcoin";
import type { BitcoinTestChain } from "./chain.js";

// A local HTTP server that answers like Bitcoin Core's JSON-RPC (POST /) and like Esplora's REST
// API (GET /blocks/tip/height, /block-height/:h, /block/:hash/header|raw, /tx/:txid/hex), from a
// BitcoinTestChain of recorded blocks. Faults can be queued per RPC method or REST path.

/** Kinds of injected failure. */
export type FaultKind =
  | "500" // HTTP 500 with a non-JSON body
  | "503"
  | "warmup" // RPC error -28 "Loading block index…" (retryable on Core)
  | "malformed-hex" // hex with a non-hex character
  | "truncated" // a raw block / hex cut in half
  | "garbage" // 200 with a body that is not JSON
  | "reset"; // connection destroyed without an answer

/** A queued fault: applies to the next `times` requests for `target` (RPC method, or part of a REST path). */
export interface Fault {
  target: string;
  kind: FaultKind;
  times: number;
}

/** Options of {@link startBitcoinTestServer}. */
export interface BitcoinTestServerOptions {
  chain: BitcoinTestChain;
  /** Basic-auth credentials the RPC requires (401 without them, as Core does). */
  rpcAuth?: { username: string; password: string };
  /** Reported by getnetworkinfo; getblock verbosity 3 has prevouts only from 230000 (Core 23). */
  coreVersion?: number;
}

/** A running test node. */
export interface BitcoinTestServer {
  url: string;
  /** Base URL of the Esplora API (same server, /esplora prefix… served at the root too). */
  esploraUrl: string;
  chain: BitcoinTestChain;
  /** Requests served, by RPC method or REST route. */
  requests: Map<string, number>;
  fault(f: Fault): void;
  close(): Promise<void>;
}

class RpcFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Starts the server on 127.0.0.1 and a free port. */
export async function startBitcoinTestServer(
  opts: BitcoinTestServerOptions,
): Promise<BitcoinTestServer> {
  const chain = opts.chain;
  const coreVersion = opts.coreVersion ?? 260000;
  const faults: Fault[] = [];
  const requests = new Map<string, number>();
  const count = (k: string) => requests.set(k, (requests.get(k) ?? 0) + 1);

  /** RPC faults match the method exactly; REST faults match any part of the path. */
  const takeFault = (target: string, exact: boolean): FaultKind | undefined => {
    const f = faults.find(
      (x) => x.times > 0 && (exact ? target === x.target : target.includes(x.target)),
    );
    if (!f) return undefined;
    f.times--;
    return f.kind;
  };

  const blockByHash = (hash: unknown) => {
    const b = typeof hash === "string" ? chain.byHash.get(hash) : undefined;
    if (!b) throw new RpcFailure(-5, "Block not found");
    return b;
  };

  const btc = (sat: number) => sat / 1e8;

  /** getblock verbosity 2/3 JSON built from the raw block (Core's field names). */
  const verbose = (raw: Buffer, height: number, verbosity: number) => {
    const p = parseBlock(raw);
    const prevouts = verbosity >= 3 && coreVersion >= 230000;
    let off = 80 + (p.txs.length < 0xfd ? 1 : 3);
    const tx = p.txs.map((t) => {
      const hex = raw.subarray(off, off + t.size).toString("hex");
      off += t.size;
      return {
        txid: t.txid,
        hash: t.txid,
        size: t.size,
        vin: t.inputs.map((inp) => {
          if (t.coinbase) return { coinbase: "", sequence: 4294967295 };
          const vin: Record<string, unknown> = { txid: inp.prevTxid, vout: inp.prevVout };
          if (prevouts) {
            const src = chain.txs.get(inp.prevTxid);
            const o = src ? parseTransaction(src) : undefined;
            const out = o?.outputs[inp.prevVout];
            if (!o || !out) throw new RpcFailure(-1, "test node: spent output not recorded");
            vin.prevout = {
              generated: o.coinbase,
              value: btc(out.value),
              scriptPubKey: {
                hex: Buffer.from(
                  o.buf.subarray(out.scriptOffset, out.scriptOffset + out.scriptLength),
                ).toString("hex"),
              },
            };
          }
          return vin;
        }),
        vout: t.outputs.map((o, n) => ({
          value: btc(o.value),
          n,
          scriptPubKey: {
            hex: Buffer.from(
              t.buf.subarray(o.scriptOffset, o.scriptOffset + o.scriptLength),
            ).toString("hex"),
          },
        })),
        hex,
      };
    });
    const h = p.header;
    const out: Record<string, unknown> = {
      hash: h.hash,
      confirmations: chain.tip - height + 1,
      height,
      version: h.version,
      merkleroot: h.merkleRoot,
      time: h.time,
      nonce: h.nonce,
      bits: h.bits.toString(16).padStart(8, "0"),
      nTx: p.txs.length,
      tx,
    };
    if (!/^0+$/.test(h.prevHash)) out.previousblockhash = h.prevHash;
    return out;
  };

  const rpc = (method: string, params: unknown[]): unknown => {
    switch (method) {
      case "getblockcount":
        return chain.tip;
      case "getbestblockhash":
        return chain.at(chain.tip)?.hash;
      case "getnetworkinfo":
        return { version: coreVersion, subversion: `/Satoshi:${coreVersion / 10000}.0.0/` };
      case "getblockhash": {
        const h = params[0];
        const b = typeof h === "number" ? chain.at(h) : undefined;
        if (!b) throw new RpcFailure(-8, "Block height out of range");
        return b.hash;
      }
      case "getblockheader": {
        const b = blockByHash(params[0]);
        if (params[1] === false) return b.raw.subarray(0, 80).toString("hex");
        const v = verbose(b.raw, b.height, 1);
        delete v.tx;
        return v;
      }
      case "getblock": {
        const b = blockByHash(params[0]);
        const verbosity = params[1] === undefined ? 1 : Number(params[1]);
        if (verbosity === 0) return b.raw.toString("hex");
        if (verbosity >= 2) return verbose(b.raw, b.height, verbosity);
        const v = verbose(b.raw, b.height, 2);
        v.tx = (v.tx as { txid: string }[]).map((t) => t.txid);
        return v;
      }
      case "getrawtransaction": {
        const t = typeof params[0] === "string" ? chain.txs.get(params[0]) : undefined;
        if (!t)
          throw new RpcFailure(
            -5,
            "No such mempool or blockchain transaction. Use gettransaction for wallet transactions.",
          );
        if (!params[1]) return t.toString("hex");
        return { txid: params[0], hex: t.toString("hex") };
      }
      default:
        throw new RpcFailure(-32601, "Method not found");
    }
  };

  /** Applies a data fault to a successful result. */
  const corrupt = (kind: FaultKind | undefined, result: unknown): unknown => {
    if (typeof result !== "string") return result;
    if (kind === "malformed-hex") return `${result.slice(0, 100)}zz${result.slice(102)}`;
    if (kind === "truncated") return result.slice(0, Math.floor(result.length / 4) * 2);
    return result;
  };

  const send = (
    res: ServerResponse,
    status: number,
    body: string | Buffer,
    type = "application/json",
  ) => {
    res.writeHead(status, { "content-type": type });
    res.end(body);
  };

  /** Transport-level faults shared by RPC and REST; true when the request was answered. */
  const transportFault = (res: ServerResponse, kind: FaultKind | undefined): boolean => {
    if (kind === "reset") {
      res.socket?.destroy();
      return true;
    }
    if (kind === "500" || kind === "503") {
      send(res, Number(kind), "Internal failure", "text/plain");
      return true;
    }
    if (kind === "garbage") {
      send(res, 200, "<html>proxy error</html>", "text/html");
      return true;
    }
    return false;
  };

  const handleRpc = async (req: IncomingMessage, res: ServerResponse) => {
    if (opts.rpcAuth) {
      const want = `Basic ${Buffer.from(`${opts.rpcAuth.username}:${opts.rpcAuth.password}`).toString("base64")}`;
      if (req.headers.authorization !== want) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="jsonrpc"' });
        res.end();
        return;
      }
    }
    const body = JSON.parse(await readBody(req)) as {
      id: unknown;
      method: string;
      params?: unknown[];
    };
    count(body.method);
    const kind = takeFault(body.method, true);
    if (transportFault(res, kind)) return;
    try {
      if (kind === "warmup") throw new RpcFailure(-28, "Loading block index…");
      const result = corrupt(kind, rpc(body.method, body.params ?? []));
      send(res, 200, JSON.stringify({ result, error: null, id: body.id }));
    } catch (err) {
      if (!(err instanceof RpcFailure)) throw err;
      // Core answers RPC errors with HTTP 500 (404 for unknown methods) and the error in the body.
      const status = err.code === -32601 ? 404 : 500;
      send(
        res,
        status,
        JSON.stringify({
          result: null,
          error: { code: err.code, message: err.message },
          id: body.id,
        }),
      );
    }
  };

  const handleRest = (path: string, res: ServerResponse) => {
    const route = path
      .replace(/[0-9a-f]{64}/, ":hash")
      .replace(/\/block-height\/\d+/, "/block-height/:h");
    count(route);
    const kind = takeFault(path, false);
    if (transportFault(res, kind)) return;
    const text = (s: string) => send(res, 200, corrupt(kind, s) as string, "text/plain");
    if (path === "/blocks/tip/height") return text(String(chain.tip));
    if (path === "/blocks/tip/hash") return text(chain.at(chain.tip)?.hash ?? "");
    const mh = path.match(/^\/block-height\/(\d+)$/);
    if (mh) {
      const b = chain.at(Number(mh[1]));
      return b ? text(b.hash) : send(res, 404, "Block not found", "text/plain");
    }
    const mb = path.match(/^\/block\/([0-9a-f]{64})\/(header|raw)$/);
    if (mb) {
      const b = chain.byHash.get(mb[1] as string);
      if (!b) return send(res, 404, "Block not found", "text/plain");
      if (mb[2] === "header") return text(b.raw.subarray(0, 80).toString("hex"));
      const raw = kind === "truncated" ? b.raw.subarray(0, b.raw.length >> 1) : b.raw;
      return send(res, 200, raw, "application/octet-stream");
    }
    const mt = path.match(/^\/tx\/([0-9a-f]{64})\/hex$/);
    if (mt) {
      const t = chain.txs.get(mt[1] as string);
      return t ? text(t.toString("hex")) : send(res, 404, "Transaction not found", "text/plain");
    }
    send(res, 404, "Not found", "text/plain");
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const work =
      req.method === "POST" && url.pathname === "/"
        ? handleRpc(req, res)
        : Promise.resolve(handleRest(url.pathname.replace(/^\/esplora/, ""), res));
    work.catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, String(err), "text/plain");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    esploraUrl: `${url}/esplora`,
    chain,
    requests,
    fault: (f) => faults.push({ ...f }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
