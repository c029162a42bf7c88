/** Retry schedule of webhook deliveries. */
export interface RetryPolicy {
  /** Total attempts including the first (default 20: about 10 hours with the defaults below). */
  attempts: number;
  /** Delay before the first retry (ms); doubles per attempt. */
  baseDelayMs: number;
  /** Cap of one delay (ms). */
  maxDelayMs: number;
  /** Fraction of each delay that is randomised (0 … 1): spreads retries after an outage. */
  jitter: number;
}

/** Defaults: 5 s, 10 s, 20 s … capped at 1 h, 20 attempts: retries for roughly 10 hours. */
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 20,
  baseDelayMs: 5_000,
  maxDelayMs: 3_600_000,
  jitter: 0.5,
};

/**
 * Delay before retry number `attemptsMade` (1 after the first failure): exponential, capped, with
 * the top `jitter` fraction drawn uniformly so receivers recovering from an outage are not hit by
 * every retry at the same instant.
 */
export function retryDelayMs(attemptsMade: number, p: RetryPolicy, random = Math.random): number {
  const exp = p.baseDelayMs * 2 ** Math.max(0, attemptsMade - 1);
  const capped = Math.min(p.maxDelayMs, exp);
  return Math.round(capped * (1 - p.jitter) + capped * p.jitter * random());
}

/** Sum of the longest possible delays: how long a delivery is retried at most (ms). */
export function maxRetryWindowMs(p: RetryPolicy): number {
  let total = 0;
  for (let n = 1; n < p.attempts; n++) total += retryDelayMs(n, p, () => 1);
  return total;
}
