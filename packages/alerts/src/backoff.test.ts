import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY, maxRetryWindowMs, retryDelayMs } from "./backoff.js";

describe("retry backoff", () => {
  it("doubles from the base delay and caps", () => {
    const p = { attempts: 10, baseDelayMs: 1000, maxDelayMs: 5000, jitter: 0 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, p))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  it("jitter stays within [1 - jitter, 1] of the delay", () => {
    const p = { attempts: 10, baseDelayMs: 1000, maxDelayMs: 60_000, jitter: 0.5 };
    expect(retryDelayMs(3, p, () => 0)).toBe(2000);
    expect(retryDelayMs(3, p, () => 1)).toBe(4000);
    for (let i = 0; i < 100; i++) {
      const d = retryDelayMs(3, p);
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThanOrEqual(4000);
    }
  });

  it("defaults retry for hours", () => {
    const hours = maxRetryWindowMs(DEFAULT_RETRY) / 3_600_000;
    expect(hours).toBeGreaterThan(8);
    expect(hours).toBeLessThan(12);
  });
});
