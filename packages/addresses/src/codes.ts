import { familyByShape } from "./canonical.js";
import type { Family } from "./families.js";

/**
 * OFAC "Digital Currency Address - <CODE>" codes with a fixed family. ARB and BSC name networks;
 * ETC and BNB are EVM chains. USDT and USDC are decided by address shape (see {@link familyForCode}).
 */
export const OFAC_CODE_FAMILIES: Readonly<Record<string, Family>> = {
  XBT: "bitcoin",
  BTC: "bitcoin",
  ETH: "evm",
  ETC: "evm",
  ARB: "evm",
  BSC: "evm",
  BNB: "evm",
  TRX: "tron",
  LTC: "litecoin",
  BCH: "bitcoin-cash",
  BSV: "bitcoin-sv",
  BTG: "bitcoin-gold",
  DOGE: "dogecoin",
  DASH: "dash",
  ZEC: "zcash",
  XMR: "monero",
  XRP: "xrp",
  SOL: "solana",
  XVG: "verge",
};

/** How a (code, address) pair was assigned a family. */
export interface CodeFamily {
  family: Family;
  /** `code`: fixed by the code; `shape`: decided by the address shape; `none`: could not decide. */
  by: "code" | "shape" | "none";
  /** False for a code this package does not know: such entries are kept and reported. */
  knownCode: boolean;
}

/**
 * Family of an address listed under an OFAC currency code. USDT: `0x…` → evm (ERC-20), `T…` →
 * tron (TRC-20), `1…`/`3…` → bitcoin (Omni). USDC: `0x…` → evm. Unknown codes: by shape when the
 * shape is unambiguous, else `unknown` — never dropped.
 */
export function familyForCode(code: string, address: string): CodeFamily {
  const c = code.trim().toUpperCase();
  const a = address.trim();
  const fixed = OFAC_CODE_FAMILIES[c];
  if (fixed) return { family: fixed, by: "code", knownCode: true };
  if (c === "USDT" || c === "USDC") {
    if (a.startsWith("0x") || a.startsWith("0X"))
      return { family: "evm", by: "shape", knownCode: true };
    if (a.startsWith("T")) return { family: "tron", by: "shape", knownCode: true };
    if (c === "USDT" && (a.startsWith("1") || a.startsWith("3"))) {
      return { family: "bitcoin", by: "shape", knownCode: true };
    }
    const f = familyByShape(a);
    return f
      ? { family: f, by: "shape", knownCode: true }
      : { family: "unknown", by: "none", knownCode: true };
  }
  const f = familyByShape(a);
  return f
    ? { family: f, by: "shape", knownCode: false }
    : { family: "unknown", by: "none", knownCode: false };
}
