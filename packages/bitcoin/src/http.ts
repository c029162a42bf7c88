import {
  BaseError,
  errorMessage,
  isRetryable,
  TransientError,
  ValidationError,
} from "@chainscreen/errors";
import type { Logger } from "@chainscreen/logger";

/** One node endpoint. Credentials in the URL (`http://user:pass@host:8332`) become Basic auth. */
export interface Endpoint {
  url: string;
  username?: string;
  password?: string;
  /** Extra headers, e.g. an API key for a hosted Esplora. */
  headers?: Record<string, string>;
}

/** Retry and timeout policy of a client. */
export interface RetryPolicy {
  /** Attempts per call across all endpoints (≥ 1). */
  attempts: number;
  /** First backoff delay, doubled per attempt, with ±50% jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Per-request timeout. */
  timeoutMs: number;
}

/** Defaults: 5 attempts, 200 ms → 5 s backoff, 30 s timeout. */
export const defaultRetry: RetryPolicy = {
  attempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  timeoutMs: 30_000,
};

interface Prepared {
  url: string;
  /** Host only, for logs and errors (never credentials). */
  label: string;
  headers: Record<string, string>;
}

function prepare(ep: Endpoint | string): Prepared {
  const e = typeof ep === "string" ? { url: ep } : ep;
  const u = new URL(e.url);
  const username = e.username ?? decodeURIComponent(u.username);
  const password = e.password ?? decodeURIComponent(u.password);
  u.username = "";
  u.password = "";
  const headers: Record<string, string> = { ...e.headers };
  if (username || password) {
    headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  }
  return { url: u.toString().replace(/\/$/, ""), label: u.host, headers };
}

/** An HTTP error answer from a node. */
export class HttpStatusError extends BaseError {
  constructor(
    readonly status: number,
    endpoint: string,
  ) {
    // 5xx, 429 and 408 may pass; 401/403 (bad credentials) and other 4xx will not.
    super(`node answered HTTP ${status}`, {
      retryable: status >= 500 || status === 429 || status === 408,
      context: { status, endpoint },
    });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `fn` against a list of endpoints with failover and exponential backoff: a retryable
 * failure moves to the next endpoint; a non-retryable one is thrown at once. After the last
 * attempt the error is rethrown as a retryable TransientError naming the operation, so the
 * caller (the follower) can try again later without crashing.
 */
export class Endpoints {
  private readonly list: Prepared[];
  private current = 0;
  readonly retry: RetryPolicy;

  constructor(
    endpoints: (Endpoint | string)[],
    retry: Partial<RetryPolicy> = {},
    private readonly log?: Logger,
  ) {
    if (endpoints.length === 0) throw new ValidationError("no endpoint configured");
    this.list = endpoints.map(prepare);
    this.retry = { ...defaultRetry, ...retry };
  }

  /** Host names (no credentials). */
  get labels(): string[] {
    return this.list.map((e) => e.label);
  }

  async run<T>(op: string, fn: (ep: Prepared, signal: AbortSignal) => Promise<T>): Promise<T> {
    const { attempts, baseDelayMs, maxDelayMs, timeoutMs } = this.retry;
    let last: unknown;
    for (let a = 0; a < attempts; a++) {
      const ep = this.list[this.current % this.list.length] as Prepared;
      try {
        return await fn(ep, AbortSignal.timeout(timeoutMs));
      } catch (err) {
        last = err;
        if (!isRetryable(err)) throw err;
        this.log?.warn(
          { op, endpoint: ep.label, attempt: a + 1, err: errorMessage(err) },
          "bitcoin node call failed",
        );
        // Fail over: the next attempt goes to the next endpoint.
        this.current = (this.current + 1) % this.list.length;
        if (a + 1 < attempts) {
          const d = Math.min(maxDelayMs, baseDelayMs * 2 ** a);
          await sleep(d * (0.5 + Math.random() / 2));
        }
      }
    }
    throw new TransientError(
      `bitcoin node call failed after ${attempts} attempts: ${op}: ${errorMessage(last)}`,
      {
        cause: last,
        context: { op, attempts, endpoints: this.labels },
      },
    );
  }
}

/** fetch with the endpoint's headers; network failures and timeouts become TransientErrors. */
export async function httpFetch(
  ep: Prepared,
  path: string,
  signal: AbortSignal,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(ep.url + path, {
      method: init.method ?? "GET",
      body: init.body,
      headers: { ...ep.headers, ...init.headers },
      signal,
    });
  } catch (err) {
    throw new TransientError(`cannot reach bitcoin node: ${errorMessage(err)}`, {
      cause: err,
      context: { endpoint: ep.label },
    });
  }
  return res;
}

/** Reads a body fully; a connection cut mid-body becomes a TransientError. */
export async function readBody(res: Response, ep: Prepared): Promise<Buffer> {
  try {
    return Buffer.from(await res.arrayBuffer());
  } catch (err) {
    throw new TransientError(`bitcoin node response cut off: ${errorMessage(err)}`, {
      cause: err,
      context: { endpoint: ep.label },
    });
  }
}
