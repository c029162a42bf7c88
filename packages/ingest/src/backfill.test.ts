import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { batchPlan } from "./backfill.js";

describe("batchPlan", () => {
  it("starts small and doubles up to the batch size", () => {
    expect(batchPlan(100, 1099, 200).map((b) => b.end - b.start + 1)).toEqual([
      25, 50, 100, 200, 200, 200, 200, 25,
    ]);
    expect(batchPlan(5, 5, 200)).toEqual([{ start: 5, end: 5 }]);
    expect(batchPlan(0, 9, 1).map((b) => b.start)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("covers the range in order, without gap or overlap, no batch above the size", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 1, max: 500 }),
        (from, len, size) => {
          const plan = batchPlan(from, from + len, size);
          expect(plan[0]?.start).toBe(from);
          expect(plan.at(-1)?.end).toBe(from + len);
          plan.forEach((b, i) => {
            expect(b.end).toBeGreaterThanOrEqual(b.start);
            expect(b.end - b.start + 1).toBeLessThanOrEqual(size);
            if (i > 0) expect(b.start).toBe((plan[i - 1]?.end as number) + 1);
          });
        },
      ),
    );
  });
});
