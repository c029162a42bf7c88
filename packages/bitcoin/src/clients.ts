import { BaseError, TransientError, ValidationError } from "@chainscreen/errors";
import type { Logger } from "@chainscreen/logger";
import { hexToBytes } from "./block.js";
import {
  type Endpoint,
  Endpoints,
  HttpStatusError,
  httpFetch,
  type RetryPolicy,
  readBody,
} from "./http.js";
import type { VerboseBlock } from "./verbose.js";

/** A JSON-RPC error answer from Bitcoin Core. */
export class RpcError extends BaseError {
  constructor(
    readonly code: number,
    message: string,
    method: string,
  ) {
    // -5 (not found), -8 (bad parameter / height out of range), -32601/-32602 (unknown method or
    // params) will not change on retry; anything else (e.g. -28 warming up) may.
    const permanent = code === -5 || code === -8 || code === -32601 || code === -32602;
    super(`bitcoin rpc ${method} failed: ${message} (code ${code})`, {
      retryable: !permanent,
      context: { code, method },
    });
  }
}

/** The node does not have the requested block or transaction (not retryable). */
export class NotFoundError extends BaseError {
  constructor(what: string, context: Record<string, unknown>) {
    super(`bitcoin node: ${what} not found`, { retryable: false, context });
  }
}

/** True for "no such block / transaction" answers from either API. */
export function isNotFound(err: unknown): boolean {
  return err instanceof NotFoundError || (err instanceof RpcError && err.code === -5);
}

/** What a source needs from a node, whatever its API. */
export interface BitcoinBackend {
  /** Endpoint set description for logs / the transfer `source` field. */
  readonly label: string;
  tipHeight(): Promise<number>;
  blockHash(height: number): Promise<string>;
  /** The 80-byte header. */
  header(hash: string): Promise<Buffer>;
  /** The serialized block. */
  rawBlock(hash: string): Promise<Buffer>;
  /** The serialized transaction (needs -txindex on Core for non-wallet, confirmed txs). */
  rawTransaction(txid: string): Promise<Buffer>;
  /** Verbose block with input prevouts (Core ≥ 23 `getblock <hash> 3`), when supported. */
  verboseBlock?(hash: string): Promise<VerboseBlock>;
  /** Whether verboseBlock returns prevouts on this node. */
  supportsPrevouts?(): Promise<boolean>;
}

const HASH_RE = /^[0-9a-f]{64}$/;

function checkHash(h: unknown, what: string): string {
  if (typeof h !== "string" || !HASH_RE.test(h)) {
    throw new ValidationError(`malformed bitcoin data: ${what} is not a 64-hex hash`);
  }
  return h;
}

/** Bitcoin Core JSON-RPC client with Basic auth, failover and backoff. */
export class BitcoinCoreRpc implements BitcoinBackend {
  private readonly eps: Endpoints;
  private id = 0;
  private prevoutSupport: Promise<boolean> | undefined;

  constructor(endpoints: (Endpoint | string)[], retry: Partial<RetryPolicy> = {}, log?: Logger) {
    this.eps = new Endpoints(endpoints, retry, log);
  }

  get label(): string {
    return `bitcoind:${this.eps.labels.join(",")}`;
  }

  /** One JSON-RPC call (retried and failed over as described on {@link Endpoints}). */
  call<T>(method: string, params: unknown[] = []): Promise<T> {
    return this.eps.run(method, async (ep, signal) => {
      const body = JSON.stringify({ jsonrpc: "1.0", id: ++this.id, method, params });
      const res = await httpFetch(ep, "/", signal, {
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
      });
      const text = (await readBody(res, ep)).toString("utf8");
      // Core answers RPC errors with HTTP 500/404 and a JSON body: read the body first.
      let parsed: { result?: T; error?: { code: number; message: string } | null } | undefined;
      try {
        parsed = JSON.parse(text);
      } catch {
        if (!res.ok) throw new HttpStatusError(res.status, ep.label);
        throw new TransientError("bitcoin rpc answer is not JSON", {
          context: { method, endpoint: ep.label },
        });
      }
      if (parsed?.error) throw new RpcError(parsed.error.code, parsed.error.message, method);
      if (!res.ok) throw new HttpStatusError(res.status, ep.label);
      if (!parsed || !("result" in parsed)) {
        throw new TransientError("bitcoin rpc answer has no result", {
          context: { method, endpoint: ep.label },
        });
      }
      return parsed.result as T;
    });
  }

  async tipHeight(): Promise<number> {
    const n = await this.call<number>("getblockcount");
    if (!Number.isInteger(n) || n < 0)
      throw new ValidationError("malformed bitcoin data: getblockcount");
    return n;
  }
  async blockHash(height: number): Promise<string> {
    return checkHash(await this.call("getblockhash", [height]), "getblockhash result");
  }
  async header(hash: string): Promise<Buffer> {
    const hex = await this.call<string>("getblockheader", [hash, false]);
    if (typeof hex !== "string")
      throw new ValidationError("malformed bitcoin data: getblockheader");
    return hexToBytes(hex, "block header hex");
  }
  async rawBlock(hash: string): Promise<Buffer> {
    const hex = await this.call<string>("getblock", [hash, 0]);
    if (typeof hex !== "string")
      throw new ValidationError("malformed bitcoin data: getblock is not hex");
    return hexToBytes(hex, "block hex");
  }
  async rawTransaction(txid: string): Promise<Buffer> {
    const hex = await this.call<string>("getrawtransaction", [txid, false]);
    if (typeof hex !== "string")
      throw new ValidationError("malformed bitcoin data: getrawtransaction");
    return hexToBytes(hex, "transaction hex");
  }
  verboseBlock(hash: string): Promise<VerboseBlock> {
    return this.call<VerboseBlock>("getblock", [hash, 3]);
  }
  /** getblock verbosity 3 (prevouts) exists from Bitcoin Core 23.0 (version 230000). */
  supportsPrevouts(): Promise<boolean> {
    this.prevoutSupport ??= this.call<{ version: number }>("getnetworkinfo").then(
      (i) => typeof i?.version === "number" && i.version >= 230000,
      (err) => {
        this.prevoutSupport = undefined;
        throw err;
      },
    );
    return this.prevoutSupport;
  }
}

/** Esplora REST client (Blockstream/mempool.space API shape) with failover and backoff. */
export class EsploraClient implements BitcoinBackend {
  private readonly eps: Endpoints;

  constructor(endpoints: (Endpoint | string)[], retry: Partial<RetryPolicy> = {}, log?: Logger) {
    this.eps = new Endpoints(endpoints, retry, log);
  }

  get label(): string {
    return `esplora:${this.eps.labels.join(",")}`;
  }

  private get(path: string): Promise<Buffer> {
    return this.eps.run(`GET ${path.replace(/[0-9a-f]{64}/, ":hash")}`, async (ep, signal) => {
      const res = await httpFetch(ep, path, signal);
      const body = await readBody(res, ep);
      if (
        res.status === 404 ||
        (res.status === 400 && /not found|invalid/i.test(body.toString("utf8", 0, 200)))
      ) {
        throw new NotFoundError("esplora resource", {
          path: path.replace(/[0-9a-f]{64}/, ":hash"),
          status: res.status,
        });
      }
      if (!res.ok) throw new HttpStatusError(res.status, ep.label);
      return body;
    });
  }

  async tipHeight(): Promise<number> {
    const t = (await this.get("/blocks/tip/height")).toString("utf8").trim();
    const n = Number(t);
    if (!/^\d+$/.test(t) || !Number.isSafeInteger(n))
      throw new ValidationError("malformed bitcoin data: tip height");
    return n;
  }
  async blockHash(height: number): Promise<string> {
    return checkHash(
      (await this.get(`/block-height/${height}`)).toString("utf8").trim(),
      "block-height result",
    );
  }
  async header(hash: string): Promise<Buffer> {
    return hexToBytes(
      (await this.get(`/block/${hash}/header`)).toString("utf8").trim(),
      "block header hex",
    );
  }
  rawBlock(hash: string): Promise<Buffer> {
    return this.get(`/block/${hash}/raw`);
  }
  async rawTransaction(txid: string): Promise<Buffer> {
    return hexToBytes(
      (await this.get(`/tx/${txid}/hex`)).toString("utf8").trim(),
      "transaction hex",
    );
  }
}
