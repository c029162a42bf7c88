import { familyByShape, tryCanonicalize } from "@chainscreen/addresses";

/**
 * Canonical form of a watched address as tenants type it (flags already carry canonical
 * addresses): EVM lower-case, Tron/bech32 via @chainscreen/addresses; shapes that are ambiguous
 * across chains (legacy base58) are kept as given.
 */
export function addressKey(address: string): string {
  const a = address.trim();
  const fam = familyByShape(a);
  if (fam) {
    const r = tryCanonicalize(fam, a);
    if (r.ok) return r.address;
  }
  return /^0x[0-9a-fA-F]{40}$/.test(a) ? a.toLowerCase() : a;
}
