import { describe, expect, it } from "vitest";
import { toUnits } from "./value.js";

/** The exact reference: BigInt division, as toUnits does for long amounts. */
function reference(amount: string, decimals: number): number {
  const a = BigInt(amount);
  const scale = 10n ** BigInt(decimals);
  return Number(a / scale) + Number(a % scale) / Number(scale);
}

describe("toUnits", () => {
  it("gives the BigInt result bit for bit on short amounts (the fast path)", () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 20_000; i++) {
      const digits = 1 + rnd(15);
      let amount = String(1 + rnd(9));
      while (amount.length < digits) amount += String(rnd(10));
      const decimals = rnd(23);
      expect(toUnits(amount, decimals)).toBe(reference(amount, decimals));
    }
  });

  it("handles wei-sized amounts and edge values", () => {
    expect(toUnits("10000000000", 6)).toBe(10_000);
    expect(toUnits("9999990000", 6)).toBe(reference("9999990000", 6));
    expect(toUnits("1000000000000000000", 18)).toBe(1);
    expect(toUnits("123456789012345678901234567890", 18)).toBe(
      reference("123456789012345678901234567890", 18),
    );
    expect(toUnits("0", 18)).toBe(0);
    expect(toUnits("5", 0)).toBe(5);
  });
});
