import { BaseError, errorMessage } from "@chainscreen/errors";
import type { Logger } from "@chainscreen/logger";
import { counter, histogram } from "@chainscreen/runtime";
import { WebSocket } from "undici";

/** One JSON-RPC request. */
export interface RpcRequest {
  method: string;
  params: unknown[];
}

/** The node answered with a JSON-RPC error object. */
export class RpcError extends BaseError {
  constructor(
    message: string,
    readonly code: number,
    opts: { retryable: boolean; context?: Record<string, unknown> },
  ) {
    super(message, opts);
  }
}

/** The node does not implement a method (-32601 or a "not supported" message): never retried. */
export class RpcUnsupportedError extends RpcError {}

/** A response that is not what was asked for (truncated, wrong shape, wrong block): retried elsewhere. */
export class RpcResponseError extends BaseError {
  constructor(message: string, context?: Record<string, unknown>, cause?: unknown) {
    super(message, { retryable: true, context, cause });
  }
}

/** Transport failure (connection, timeout, HTTP status). */
export class RpcTransportError extends BaseError {
  constructor(
    message: string,
    readonly status: number | null,
    readonly retryAfterMs: number | null,
    context?: Record<string, unknown>,
    cause?: unknown,
  ) {
    super(message, { retryable: true, context, cause });
  }
}

/** Options of {@link RpcClient}. */
export interface RpcClientOptions {
  /** Endpoints in order of preference; http(s):// or ws(s)://. */
  urls: string[];
  log: Logger;
  /** Per-request timeout (default 15,000 ms). */
  timeoutMs?: number;
  /** Attempts per call over all endpoints before giving up (default 8). */
  maxAttempts?: number;
  /** First back-off delay; doubles per failed round over all endpoints (default 250 ms). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Requests per JSON-RPC batch (default 100); larger batches are split. */
  maxBatch?: number;
  /** How long a failed endpoint is skipped before it is preferred again (default 30,000 ms). */
  cooldownMs?: number;
  /** Extra headers for HTTP endpoints (API keys); never logged. */
  headers?: Record<string, string>;
}

interface Transport {
  readonly label: string;
  send(body: string, ids: number[], timeoutMs: number): Promise<string>;
  close(): Promise<void>;
}

function labelOf(url: string): string {
  // Endpoints may carry API keys in the path or query: log scheme, host and port only.
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "invalid-url";
  }
}

class HttpTransport implements Transport {
  readonly label: string;
  constructor(
    private readonly url: string,
    private readonly headers: Record<string, string>,
  ) {
    this.label = labelOf(url);
  }
  async send(body: string, _ids: number[], timeoutMs: number): Promise<string> {
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...this.headers },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new RpcTransportError(
        `request failed: ${errorMessage(err)}`,
        null,
        null,
        { endpoint: this.label },
        err,
      );
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new RpcTransportError(
        `reading response failed: ${errorMessage(err)}`,
        res.status,
        null,
        {
          endpoint: this.label,
        },
      );
    }
    if (res.status !== 200) {
      const ra = res.headers.get("retry-after");
      const retryAfterMs = ra && /^\d+$/.test(ra) ? Number(ra) * 1000 : null;
      throw new RpcTransportError(`HTTP ${res.status}`, res.status, retryAfterMs, {
        endpoint: this.label,
      });
    }
    return text;
  }
  async close() {}
}

class WsTransport implements Transport {
  readonly label: string;
  private ws: WebSocket | null = null;
  private opening: Promise<WebSocket> | null = null;
  private readonly waiting = new Map<number, (text: string | Error) => void>();

  constructor(private readonly url: string) {
    this.label = labelOf(url);
  }

  private open(timeoutMs: number): Promise<WebSocket> {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return Promise.resolve(this.ws);
    if (this.opening) return this.opening;
    this.opening = new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(this.url);
      const timer = setTimeout(() => {
        ws.close();
        reject(
          new RpcTransportError("websocket connect timeout", null, null, { endpoint: this.label }),
        );
      }, timeoutMs);
      ws.addEventListener("open", () => {
        clearTimeout(timer);
        this.ws = ws;
        resolve(ws);
      });
      ws.addEventListener("error", () => {
        clearTimeout(timer);
        reject(new RpcTransportError("websocket error", null, null, { endpoint: this.label }));
      });
      ws.addEventListener("close", () => {
        if (this.ws === ws) this.ws = null;
        for (const [, cb] of this.waiting)
          cb(new RpcTransportError("websocket closed", null, null, { endpoint: this.label }));
        this.waiting.clear();
      });
      ws.addEventListener("message", (ev) => this.onMessage(String(ev.data)));
    }).finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private onMessage(text: string) {
    // Route by the id of the answer (or of the first answer of a batch). A message that is not
    // JSON cannot be routed: the request it belonged to times out and is retried.
    let id = Number.NaN;
    try {
      const j = JSON.parse(text) as { id?: unknown } | { id?: unknown }[];
      const first = Array.isArray(j) ? j[0] : j;
      if (first && typeof first.id === "number") id = first.id;
    } catch {
      return;
    }
    const cb = this.waiting.get(id);
    if (cb) cb(text);
  }

  async send(body: string, ids: number[], timeoutMs: number): Promise<string> {
    const ws = await this.open(timeoutMs);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        for (const id of ids) this.waiting.delete(id);
        reject(
          new RpcTransportError("websocket request timeout", null, null, { endpoint: this.label }),
        );
      }, timeoutMs);
      const cb = (r: string | Error) => {
        clearTimeout(timer);
        for (const id of ids) this.waiting.delete(id);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      for (const id of ids) this.waiting.set(id, cb);
      ws.send(body);
    });
  }

  async close() {
    this.ws?.close();
    this.ws = null;
  }
}

const rpcRequests = () =>
  counter("chainscreen_evm_rpc_requests_total", "JSON-RPC HTTP/WS round trips", [
    "endpoint",
    "outcome",
  ]);
const rpcSeconds = () =>
  histogram("chainscreen_evm_rpc_seconds", "JSON-RPC round-trip time", ["endpoint"]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Envelope {
  id?: unknown;
  result?: unknown;
  error?: { code?: unknown; message?: unknown };
}

function isUnsupported(code: number, message: string): boolean {
  return (
    code === -32601 ||
    /method not found|not supported|does not exist|not available|unsupported/i.test(message)
  );
}

/**
 * JSON-RPC client over several endpoints: batches, per-request timeouts, validation of the
 * envelope (truncated or mismatched answers are errors, never data), failover to the next
 * endpoint and exponential back-off with jitter (honouring Retry-After on 429).
 */
export class RpcClient {
  private readonly transports: Transport[];
  /** Per endpoint: skipped until this time (ms) after a failure. */
  private readonly downUntil: number[];
  private lastUsed = 0;
  private nextId = 1;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly maxBatch: number;

  constructor(private readonly opts: RpcClientOptions) {
    if (opts.urls.length === 0) throw new BaseError("at least one RPC URL is required");
    this.transports = opts.urls.map((u) =>
      /^wss?:\/\//i.test(u) ? new WsTransport(u) : new HttpTransport(u, opts.headers ?? {}),
    );
    this.downUntil = this.transports.map(() => 0);
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.maxAttempts = opts.maxAttempts ?? 8;
    this.maxBatch = opts.maxBatch ?? 100;
  }

  /** Labels (scheme://host:port) of the endpoints, for logs. */
  get endpoints(): string[] {
    return this.transports.map((t) => t.label);
  }

  /** One call; `check` validates the result and throws RpcResponseError when it is wrong. */
  async call<T = unknown>(
    method: string,
    params: unknown[],
    check?: (r: unknown) => T,
  ): Promise<T> {
    const [r] = await this.batch([{ method, params }], check ? [check] : undefined);
    return r as T;
  }

  /**
   * Several calls; results in request order. The whole group is retried (on the next endpoint)
   * when any answer is missing, malformed, a retryable error, or fails its `checks[i]`.
   */
  async batch(reqs: RpcRequest[], checks?: ((r: unknown) => unknown)[]): Promise<unknown[]> {
    const out: unknown[] = [];
    for (let i = 0; i < reqs.length; i += this.maxBatch) {
      const part = await this.batchOnce(
        reqs.slice(i, i + this.maxBatch),
        checks?.slice(i, i + this.maxBatch),
      );
      out.push(...part);
    }
    return out;
  }

  private async batchOnce(
    reqs: RpcRequest[],
    checks?: ((r: unknown) => unknown)[],
  ): Promise<unknown[]> {
    let lastErr: unknown;
    const backoff = this.opts.backoffMs ?? 250;
    const maxBackoff = this.opts.maxBackoffMs ?? 10_000;
    const cooldown = this.opts.cooldownMs ?? 30_000;
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      // Endpoints in configured order, healthy ones first: the primary is preferred again once
      // its cool-down after a failure has passed.
      const now = Date.now();
      const order = this.transports
        .map((_, i) => i)
        .sort(
          (a, b) =>
            Number((this.downUntil[a] as number) > now) -
              Number((this.downUntil[b] as number) > now) || a - b,
        );
      const idx = order[attempt % order.length] as number;
      const t = this.transports[idx] as Transport;
      try {
        const res = await this.roundTrip(t, reqs, checks);
        this.downUntil[idx] = 0;
        if (idx !== this.lastUsed) {
          this.opts.log.info({ endpoint: t.label }, "rpc endpoint switch");
          this.lastUsed = idx;
        }
        return res;
      } catch (err) {
        if (err instanceof RpcUnsupportedError) throw err;
        if (err instanceof RpcError && !err.retryable) throw err;
        lastErr = err;
        this.downUntil[idx] = Date.now() + cooldown;
        const ctx = err instanceof BaseError ? err.context : undefined;
        this.opts.log.warn(
          {
            endpoint: t.label,
            attempt: attempt + 1,
            method: reqs[0]?.method,
            count: reqs.length,
            err: errorMessage(err),
            ...ctx,
          },
          "rpc request failed",
        );
        // Back off once per full round over the endpoints; 429 waits as long as asked.
        const round = Math.floor(attempt / this.transports.length);
        const endOfRound = (attempt + 1) % this.transports.length === 0;
        const ra = err instanceof RpcTransportError ? err.retryAfterMs : null;
        if (endOfRound || ra !== null) {
          const base = Math.min(maxBackoff, backoff * 2 ** round);
          await sleep(Math.max(ra ?? 0, base * (0.5 + Math.random() / 2)));
        }
      }
    }
    throw new BaseError("rpc failed on every endpoint", {
      retryable: true,
      cause: lastErr,
      context: { method: reqs[0]?.method, attempts: this.maxAttempts, last: errorMessage(lastErr) },
    });
  }

  private async roundTrip(
    t: Transport,
    reqs: RpcRequest[],
    checks?: ((r: unknown) => unknown)[],
  ): Promise<unknown[]> {
    const ids = reqs.map(() => this.nextId++);
    const single = reqs.length === 1;
    const payload = reqs.map((r, i) => ({
      jsonrpc: "2.0",
      id: ids[i],
      method: r.method,
      params: r.params,
    }));
    const body = JSON.stringify(single ? payload[0] : payload);
    const t0 = performance.now();
    let text: string;
    try {
      text = await t.send(body, ids, this.timeoutMs);
    } catch (err) {
      rpcRequests().inc({ endpoint: t.label, outcome: "transport_error" });
      throw err;
    } finally {
      rpcSeconds().observe({ endpoint: t.label }, (performance.now() - t0) / 1000);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      rpcRequests().inc({ endpoint: t.label, outcome: "invalid_json" });
      throw new RpcResponseError(
        "response is not valid JSON (truncated?)",
        { endpoint: t.label, bytes: text.length },
        err,
      );
    }
    const list: Envelope[] = Array.isArray(json) ? json : [json as Envelope];
    const byId = new Map<number, Envelope>();
    for (const e of list)
      if (e && typeof e === "object" && typeof e.id === "number") byId.set(e.id, e);
    const results: unknown[] = [];
    for (let i = 0; i < reqs.length; i++) {
      const req = reqs[i] as RpcRequest;
      const e = byId.get(ids[i] as number);
      if (!e) {
        // A single error envelope without id (e.g. rate limit on the whole batch).
        const only = list.length === 1 ? list[0] : undefined;
        if (only?.error) this.throwRpcError(t, req, only.error);
        rpcRequests().inc({ endpoint: t.label, outcome: "missing_answer" });
        throw new RpcResponseError("answer missing from JSON-RPC response", {
          endpoint: t.label,
          method: req.method,
        });
      }
      if (e.error) this.throwRpcError(t, req, e.error);
      if (!("result" in e)) {
        throw new RpcResponseError("JSON-RPC answer without result", {
          endpoint: t.label,
          method: req.method,
        });
      }
      const check = checks?.[i];
      try {
        results.push(check ? check(e.result) : e.result);
      } catch (err) {
        rpcRequests().inc({ endpoint: t.label, outcome: "invalid_result" });
        if (err instanceof RpcResponseError) {
          throw new RpcResponseError(err.message, {
            ...err.context,
            endpoint: t.label,
            method: req.method,
          });
        }
        throw new RpcResponseError(
          `invalid result: ${errorMessage(err)}`,
          { endpoint: t.label, method: req.method },
          err,
        );
      }
    }
    rpcRequests().inc({ endpoint: t.label, outcome: "ok" });
    return results;
  }

  private throwRpcError(
    t: Transport,
    req: RpcRequest,
    error: { code?: unknown; message?: unknown },
  ): never {
    const code = typeof error.code === "number" ? error.code : 0;
    const message =
      typeof error.message === "string" ? error.message.slice(0, 200) : "unknown error";
    rpcRequests().inc({ endpoint: t.label, outcome: "rpc_error" });
    const context = { endpoint: t.label, method: req.method, code, rpcMessage: message };
    if (isUnsupported(code, message)) {
      throw new RpcUnsupportedError(`method not supported: ${req.method}`, code, {
        retryable: false,
        context,
      });
    }
    if (code === 3 || /execution reverted|revert|invalid opcode|invalid jump/i.test(message)) {
      // The call itself fails deterministically (e.g. symbol() on a non-token): no retry helps.
      throw new RpcError(`call reverted: ${req.method}`, code, { retryable: false, context });
    }
    // Everything else (rate limits -32005/429, "header not found" from a lagging node, internal
    // errors) may pass on another endpoint or later.
    throw new RpcError(`rpc error ${code}: ${message}`, code, { retryable: true, context });
  }

  /** Closes WebSocket connections. */
  async close(): Promise<void> {
    await Promise.all(this.transports.map((t) => t.close()));
  }
}
