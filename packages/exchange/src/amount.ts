/**
 * Converts a decimal amount in display units ("30.401259") to integer base units ("30401259")
 * with exact string arithmetic. Returns an error text when the amount is not a plain
 * non-negative decimal or has more fraction digits than the asset's decimals.
 */
export function toBaseUnits(
  amount: string,
  decimals: number,
): { ok: true; value: string } | { ok: false; error: string } {
  const s = amount.trim();
  const m = /^(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) return { ok: false, error: `"${amount}" is not a non-negative decimal number` };
  const whole = m[1] ?? "0";
  let frac = (m[2] ?? "").replace(/0+$/, "");
  if (frac.length > decimals) {
    return { ok: false, error: `"${amount}" has more than ${decimals} decimal places` };
  }
  frac = frac.padEnd(decimals, "0");
  const digits = `${whole}${frac}`.replace(/^0+(?=\d)/, "");
  return { ok: true, value: digits === "" ? "0" : digits };
}
