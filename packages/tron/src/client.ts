import { BaseError, isRetryable, TransientError } from "@chainscreen/errors";
import type { Logger } from "@chainscreen/logger";
import { Agent, request } from "undici";
import {
  checkBlock,
  checkTxInfoList,
  parseTronJson,
  ShapeError,
  type TgBlock,
  type TgTxInfo,
} from "./trongrid.js";

/** A response that is not what the Tron HTTP API documents (bad JSON, wrong shape, error body). */
export class TronResponseError extends TransientError {}

/** The node (or all endpoints) refused the request for good, e.g. a rejected API key. */
export class TronRequestError extends BaseError {}

/** Options for {@link TronHttpClient}. */
export interface TronClientOptions {
  /** Base URLs, tried in order with failover, e.g. https://api.trongrid.io. */
  urls: string[];
  /** Sent as the TRON-PRO-API-KEY header (TronGrid's API key). */
  apiKey?: string;
  /** Per-request timeout in ms (default 10 000). */
  timeoutMs?: number;
  /** Attempts per call across all URLs before giving up (default 6). */
  maxAttempts?: number;
  /** First backoff in ms, doubled per attempt with full jitter (default 200). */
  baseDelayMs?: number;
  /** Backoff ceiling in ms (default 10 000); also caps Retry-After. */
  maxDelayMs?: number;
  log?: Logger;
  /** Called on every failed attempt (metrics). */
  onRetry?: (info: { url: string; path: string; attempt: number; error: Error }) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Client for the Tron full-node HTTP API (`/wallet/*`, `/walletsolidity/*`). Retries transient
 * failures (network, timeouts, 408/429/5xx, malformed bodies) with exponential backoff and full
 * jitter, honours Retry-After, and fails over to the next URL after each failed attempt.
 */
export class TronHttpClient {
  private readonly urls: string[];
  private preferred = 0;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly agent: Agent;

  constructor(private readonly opts: TronClientOptions) {
    if (opts.urls.length === 0) throw new TronRequestError("at least one Tron API URL is required");
    this.urls = opts.urls.map((u) => u.replace(/\/+$/, ""));
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxAttempts = opts.maxAttempts ?? 6;
    this.baseDelayMs = opts.baseDelayMs ?? 200;
    this.maxDelayMs = opts.maxDelayMs ?? 10_000;
    this.agent = new Agent({ keepAliveTimeout: 30_000, connections: 32 });
  }

  /** Closes the keep-alive connections. */
  async close(): Promise<void> {
    await this.agent.close();
  }

  /** URL currently preferred (the last one that answered). */
  get currentUrl(): string {
    return this.urls[this.preferred] as string;
  }

  /** Latest block: the tip (`/wallet`) or the latest solidified block (`/walletsolidity`). */
  getNowBlock(solidified: boolean): Promise<TgBlock> {
    const path = `${prefix(solidified)}/getnowblock`;
    return this.call(path, {}, (v) => this.validate(path, checkBlock, v));
  }

  /** Block by number, or null when the node does not have it (yet): the API answers `{}`. */
  async getBlockByNum(num: number, solidified: boolean): Promise<TgBlock | null> {
    const path = `${prefix(solidified)}/getblockbynum`;
    return this.call(path, { num }, (v) =>
      isEmptyObject(v) ? null : this.validate(path, checkBlock, v),
    );
  }

  /** Receipts of every transaction of a block (empty for a block without transactions). */
  getTransactionInfoByBlockNum(num: number, solidified: boolean): Promise<TgTxInfo[]> {
    const path = `${prefix(solidified)}/gettransactioninfobyblocknum`;
    return this.call(path, { num }, (v) => this.validate(path, checkTxInfoList, v));
  }

  /**
   * TRC-10 asset metadata by id (`/wallet/getassetissuebyid`): symbol from `abbr` (hex) and
   * `precision` (omitted by the API when 0). Null when the node does not know the id (`{}`).
   */
  async getAssetIssueById(id: string): Promise<{ symbol: string | null; decimals: number } | null> {
    const path = "/wallet/getassetissuebyid";
    return this.call(path, { value: id }, (v) => {
      if (isEmptyObject(v)) return null;
      const o = v as Record<string, unknown>;
      const precision = o.precision ?? 0;
      if (
        typeof precision !== "number" ||
        !Number.isInteger(precision) ||
        precision < 0 ||
        precision > 255
      ) {
        throw new TronResponseError("malformed Tron API response", {
          context: { path, issue: "precision" },
        });
      }
      const abbr = typeof o.abbr === "string" && /^[0-9a-fA-F]+$/.test(o.abbr) ? o.abbr : null;
      const symbol = abbr ? Buffer.from(abbr, "hex").toString("utf8").slice(0, 64) : null;
      return { symbol, decimals: precision };
    });
  }

  /**
   * Runs a view function with `/wallet/triggerconstantcontract` (no transaction is broadcast) and
   * returns its ABI-encoded result as hex, or null when the call reverted or the contract does not
   * exist. `contract` is 41-hex; `selector` e.g. `decimals()`.
   */
  async callConstant(contract: string, selector: string): Promise<string | null> {
    const path = "/wallet/triggerconstantcontract";
    const body = {
      owner_address: ZERO_OWNER,
      contract_address: contract,
      function_selector: selector,
      parameter: "",
    };
    return this.call(path, body, (v) => {
      const o = v as { result?: { result?: boolean }; constant_result?: unknown };
      if (!o || typeof o !== "object") {
        throw new TronResponseError("malformed Tron API response", {
          context: { path, issue: "not an object" },
        });
      }
      if (o.result?.result !== true) return null;
      const r = Array.isArray(o.constant_result) ? o.constant_result[0] : undefined;
      if (typeof r !== "string" || !/^[0-9a-fA-F]*$/.test(r)) return null;
      return r.length > 0 ? r : null;
    });
  }

  private validate<T>(path: string, check: (v: unknown) => T, body: unknown): T {
    try {
      return check(body);
    } catch (err) {
      if (!(err instanceof ShapeError)) throw err;
      // Report where the shape is wrong, never the payload itself.
      throw new TronResponseError("malformed Tron API response", {
        context: { path, issue: err.message },
      });
    }
  }

  // One API call with retries and failover; `parse` validates inside the loop so that a malformed
  // body is retried like any other transient failure.
  private async call<T>(
    path: string,
    body: Record<string, unknown>,
    parse: (v: unknown) => T,
  ): Promise<T> {
    let lastErr: Error | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const idx = (this.preferred + attempt - 1) % this.urls.length;
      const base = this.urls[idx] as string;
      let retryAfterMs: number | undefined;
      try {
        // undici.request rather than fetch: a block answer is ~0.5 MB and fetch's WHATWG stream
        // layer costs several ms of CPU per block at backfill rates.
        const res = await request(base + path, {
          method: "POST",
          dispatcher: this.agent,
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            ...(this.opts.apiKey ? { "TRON-PRO-API-KEY": this.opts.apiKey } : {}),
          },
          body: JSON.stringify(body),
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        const text = await res.body.text();
        if (res.statusCode < 200 || res.statusCode > 299) {
          const ra = Number(res.headers["retry-after"]);
          if (Number.isFinite(ra) && ra > 0) retryAfterMs = ra * 1000;
          const status = res.statusCode;
          const transient = status === 408 || status === 429 || status >= 500;
          const ctx = { path, status, host: hostOf(base) };
          throw transient
            ? new TransientError("Tron API request failed", { context: ctx })
            : new TronRequestError("Tron API rejected the request", { context: ctx });
        }
        let parsed: unknown;
        try {
          parsed = parseTronJson(text);
        } catch (err) {
          throw new TronResponseError("Tron API response is not JSON", {
            context: { path, host: hostOf(base), bytes: text.length },
            cause: err,
          });
        }
        // java-tron reports failures as 200 with {"Error": "..."}.
        if (parsed && typeof parsed === "object" && "Error" in parsed) {
          throw new TronResponseError("Tron API returned an error body", {
            context: {
              path,
              host: hostOf(base),
              error: String((parsed as { Error: unknown }).Error).slice(0, 200),
            },
          });
        }
        const out = parse(parsed);
        this.preferred = idx;
        return out;
      } catch (err) {
        const e =
          err instanceof BaseError
            ? err
            : new TransientError("Tron API unreachable", {
                context: { path, host: hostOf(base), reason: (err as Error).name },
                cause: err,
              });
        lastErr = e;
        this.opts.onRetry?.({ url: base, path, attempt, error: e });
        this.opts.log?.warn(
          { path, host: hostOf(base), attempt, err: e.message, context: e.context },
          "tron api attempt failed",
        );
        // A non-retryable answer from one endpoint may still be fine on another; give up only when
        // every URL has refused.
        if (!isRetryable(e) && attempt >= this.urls.length) throw e;
        if (attempt < this.maxAttempts) {
          const exp = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
          const jitter = Math.random() * exp;
          await sleep(Math.min(this.maxDelayMs, Math.max(jitter, retryAfterMs ?? 0)));
        }
      }
    }
    throw lastErr ?? new TransientError("Tron API call failed");
  }
}

// Any account can run a constant call; the zero account avoids needing a real one.
const ZERO_OWNER = `41${"00".repeat(20)}`;

function prefix(solidified: boolean): string {
  return solidified ? "/walletsolidity" : "/wallet";
}

function isEmptyObject(v: unknown): boolean {
  return !!v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "invalid-url";
  }
}
