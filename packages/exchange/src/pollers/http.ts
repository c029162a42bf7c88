import { TransientError, ValidationError } from "@chainscreen/errors";

/** A signed GET request ready to send. */
export interface SignedRequest {
  url: string;
  headers: Record<string, string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * GETs JSON with retries: 429/418 and 5xx wait (Retry-After when given, else exponential backoff)
 * and retry; other 4xx fail at once with the exchange's message (bad key, bad signature).
 * `sign` is called per attempt so timestamps stay fresh.
 */
export async function getJson(
  sign: () => SignedRequest,
  opts: {
    retries?: number;
    timeoutMs?: number;
    baseDelayMs?: number;
    onRateLimited?: (waitMs: number) => void;
  } = {},
): Promise<unknown> {
  const retries = opts.retries ?? 6;
  let delay = opts.baseDelayMs ?? 500;
  for (let attempt = 0; ; attempt++) {
    const req = sign();
    let res: Response;
    try {
      res = await fetch(req.url, {
        headers: req.headers,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
      });
    } catch (err) {
      if (attempt >= retries)
        throw new TransientError(`request failed: ${(err as Error).message}`, { cause: err });
      await sleep(delay);
      delay *= 2;
      continue;
    }
    if (res.status === 429 || res.status === 418 || res.status >= 500) {
      const retryAfter = Number(res.headers.get("retry-after"));
      const wait = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : delay;
      await res.body?.cancel();
      if (attempt >= retries)
        throw new TransientError(`exchange answered ${res.status} after ${retries} retries`);
      if (res.status !== 500) opts.onRateLimited?.(wait);
      await sleep(wait);
      delay *= 2;
      continue;
    }
    const text = await res.text();
    if (!res.ok) {
      throw new ValidationError(
        `exchange rejected the request (${res.status}): ${text.slice(0, 200)}`,
      );
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      if (attempt >= retries) throw new TransientError("exchange answered with malformed JSON");
      await sleep(delay);
      delay *= 2;
    }
  }
}
