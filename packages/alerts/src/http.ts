import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import type { ResolvedTarget } from "./ssrf.js";

/** Result of one webhook POST; the response body is drained up to a limit and never kept. */
export interface PostResult {
  /** HTTP status, or null when no response arrived. */
  status: number | null;
  latencyMs: number;
  /** Constant failure reason when status is null or the response was cut. */
  error: string | null;
  /** `Retry-After` of a 429/503 answer in ms (seconds form only), else null. */
  retryAfterMs?: number | null;
}

/** Parses a `Retry-After` header given in seconds; HTTP dates are ignored (null). */
export function parseRetryAfter(value: string | string[] | undefined): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v || !/^\d{1,7}$/.test(v.trim())) return null;
  return Number(v.trim()) * 1000;
}

/** Options for {@link postJson}. */
export interface PostOptions {
  timeoutMs: number;
  /** Bytes of response body read before the connection is dropped. */
  maxResponseBytes: number;
  agents?: { http: http.Agent; https: https.Agent };
}

/** Keep-alive agents shared by every delivery (connections are reused per origin). */
export function createAgents(maxSockets = 256): { http: http.Agent; https: https.Agent } {
  return {
    http: new http.Agent({ keepAlive: true, maxSockets }),
    https: new https.Agent({ keepAlive: true, maxSockets }),
  };
}

/**
 * POSTs `body` to a checked target. The connection goes to `target.address` (pinned via a
 * `lookup` that ignores DNS), while Host and TLS SNI/certificate checks use the URL's host name.
 * `AbortSignal.timeout` bounds the whole exchange including the body read.
 */
export function postJson(
  target: ResolvedTarget,
  body: string,
  headers: Record<string, string>,
  opts: PostOptions,
): Promise<PostResult> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
  const pinned: LookupFunction = (_host, options, cb) => {
    if (options.all) cb(null, [{ address: target.address, family: target.family }]);
    else cb(null, target.address, target.family);
  };
  const isHttps = target.url.protocol === "https:";
  const agent = isHttps ? opts.agents?.https : opts.agents?.http;
  const payload = Buffer.from(body, "utf8");
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    const done = (r: PostResult) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    const req = (isHttps ? https : http).request(
      target.url,
      {
        method: "POST",
        lookup: pinned,
        agent,
        signal: AbortSignal.timeout(opts.timeoutMs),
        headers: {
          ...headers,
          "content-type": "application/json",
          "content-length": String(payload.length),
          "user-agent": "chainscreen-webhooks/1",
        },
      },
      (res) => {
        const status = res.statusCode ?? null;
        const retryAfterMs = parseRetryAfter(res.headers["retry-after"]);
        const finish = (error: string | null) =>
          done({ status, latencyMs: elapsed(), error, retryAfterMs });
        let read = 0;
        res.on("data", (chunk: Buffer) => {
          read += chunk.length;
          if (read > opts.maxResponseBytes) {
            // Enough: the status is what counts; drop the connection instead of reading on.
            finish("response too large");
            res.destroy();
          }
        });
        res.on("end", () => finish(null));
        res.on("error", () => finish("response aborted"));
        res.on("close", () => finish(null));
      },
    );
    req.on("error", (err: NodeJS.ErrnoException) => {
      const reason =
        err.name === "AbortError" || err.name === "TimeoutError"
          ? "timeout"
          : (err.code ?? "request failed");
      done({ status: null, latencyMs: elapsed(), error: reason });
    });
    req.end(payload);
  });
}
