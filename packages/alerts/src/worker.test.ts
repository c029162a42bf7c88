import { describe, expect, it } from "vitest";
import { isRetryableStatus } from "./worker.js";

describe("delivery outcome by HTTP status", () => {
  it("retries 408, 429 and 5xx; other 4xx are final", () => {
    for (const s of [408, 429, 500, 502, 503, 504]) expect(isRetryableStatus(s)).toBe(true);
    for (const s of [400, 401, 403, 404, 405, 409, 410, 413, 422])
      expect(isRetryableStatus(s)).toBe(false);
  });
});
