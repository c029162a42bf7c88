// Segwit address encoding (BIP-173 bech32 for witness v0, BIP-350 bech32m for v1+), specialised
// for encoding straight from script bytes without intermediate arrays.

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const CHARSET_CODES = Array.from(CHARSET, (c) => c.charCodeAt(0));
const BECH32_CONST = 1;
const BECH32M_CONST = 0x2bc830a3;

function polymodStep(pre: number): number {
  const b = pre >>> 25;
  return (
    (((pre & 0x1ffffff) << 5) ^
      (-((b >> 0) & 1) & 0x3b6a57b2) ^
      (-((b >> 1) & 1) & 0x26508e6d) ^
      (-((b >> 2) & 1) & 0x1ea119fa) ^
      (-((b >> 3) & 1) & 0x3d4233dd) ^
      (-((b >> 4) & 1) & 0x2a1462b3)) >>>
    0
  );
}

/** Checksum state after the human-readable part, per prefix (bc, tb, bcrt…). */
const hrpState = new Map<string, number>();
function prefixChk(hrp: string): number {
  let chk = hrpState.get(hrp);
  if (chk !== undefined) return chk;
  chk = 1;
  for (let i = 0; i < hrp.length; i++) chk = polymodStep(chk) ^ (hrp.charCodeAt(i) >> 5);
  chk = polymodStep(chk);
  for (let i = 0; i < hrp.length; i++) chk = polymodStep(chk) ^ (hrp.charCodeAt(i) & 0x1f);
  hrpState.set(hrp, chk);
  return chk;
}

const words = new Array<number>(80).fill(0);
const chars = new Array<number>(100).fill(0);
/** One reusable array per address length, so building the string allocates only the string. */
const bySize = Array.from({ length: 101 }, (_, n) => new Array<number>(n).fill(0));

/**
 * Segwit address for witness version `version` (0–16) and program `src[off, off+len)`
 * (2–40 bytes). Equal to bitcoinjs-lib's toBech32(program, version, hrp).
 */
export function segwitAddress(
  hrp: string,
  version: number,
  src: Uint8Array,
  off: number,
  len: number,
): string {
  // 8-bit program → 5-bit words, padded (bech32 `toWords`).
  let n = 0;
  words[n++] = version;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < len; i++) {
    acc = ((acc << 8) | (src[off + i] as number)) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      words[n++] = (acc >>> bits) & 31;
    }
  }
  if (bits > 0) words[n++] = (acc << (5 - bits)) & 31;

  let chk = prefixChk(hrp);
  let c = 0;
  for (let i = 0; i < hrp.length; i++) chars[c++] = hrp.charCodeAt(i);
  chars[c++] = 49; // '1' separator
  for (let i = 0; i < n; i++) {
    const w = words[i] as number;
    chk = polymodStep(chk) ^ w;
    chars[c++] = CHARSET_CODES[w] as number;
  }
  for (let i = 0; i < 6; i++) chk = polymodStep(chk);
  chk ^= version === 0 ? BECH32_CONST : BECH32M_CONST;
  for (let i = 0; i < 6; i++) chars[c++] = CHARSET_CODES[(chk >>> (5 * (5 - i))) & 31] as number;
  const dst = bySize[c] as number[];
  for (let i = 0; i < c; i++) dst[i] = chars[i] as number;
  return String.fromCharCode.apply(null, dst);
}
