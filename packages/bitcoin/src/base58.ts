import { checksumHash160 } from "./hash.js";

const ALPHABET_CODES = Array.from(
  "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",
  (c) => c.charCodeAt(0),
);

// 58^4 < 2^24, so a remainder times 2^24 plus a 24-bit limb stays below 2^48: exact in a double.
const D = 58 * 58 * 58 * 58;
const LIMB = 16777216;
const INV_D = 1 / D;

// Scratch buffers (synchronous, single-threaded use).
const payload = new Uint8Array(25);
const limbs = new Float64Array(9);
/** Output characters, written from the end (least significant digit first). */
const out = new Array<number>(40).fill(49);
/** One reusable array per address length, so building the string allocates only the string. */
const bySize = Array.from({ length: 41 }, (_, n) => new Array<number>(n).fill(49));

/**
 * Base58check address of a 20-byte hash with a one-byte version (P2PKH 0x00, P2SH 0x05 on
 * mainnet), read from `src[off, off+20)`. Equal to bs58check.encode([version, ...hash]).
 */
export function base58checkHash160(version: number, src: Uint8Array, off: number): string {
  const ck = checksumHash160(version, src, off);
  payload[0] = version;
  for (let i = 0; i < 20; i++) payload[i + 1] = src[off + i] as number;
  payload[21] = ck >>> 24;
  payload[22] = (ck >>> 16) & 0xff;
  payload[23] = (ck >>> 8) & 0xff;
  payload[24] = ck & 0xff;

  // 200 bits as nine base-2^24 limbs, most significant first (the first limb holds 8 bits).
  limbs[0] = version;
  for (let l = 1, p = 1; l < 9; l++, p += 3) {
    limbs[l] =
      ((payload[p] as number) << 16) |
      ((payload[p + 1] as number) << 8) |
      (payload[p + 2] as number);
  }
  let start = 0;
  while (start < 9 && limbs[start] === 0) start++;
  // Repeated division by 58^4 yields four base58 digits per pass, least significant first.
  let pos = 40;
  while (start < 9) {
    let rem = 0;
    for (let l = start; l < 9; l++) {
      const cur = rem * LIMB + (limbs[l] as number);
      // Multiplying by the reciprocal is much faster than dividing; the estimate is off by at
      // most one (cur < 2^48), which the two corrections fix.
      let q = Math.floor(cur * INV_D);
      rem = cur - q * D;
      if (rem < 0) {
        q--;
        rem += D;
      } else if (rem >= D) {
        q++;
        rem -= D;
      }
      limbs[l] = q;
    }
    while (start < 9 && limbs[start] === 0) start++;
    const q1 = (rem / 58) | 0;
    out[--pos] = ALPHABET_CODES[rem - q1 * 58] as number;
    const q2 = (q1 / 58) | 0;
    out[--pos] = ALPHABET_CODES[q1 - q2 * 58] as number;
    const q3 = (q2 / 58) | 0;
    out[--pos] = ALPHABET_CODES[q2 - q3 * 58] as number;
    out[--pos] = ALPHABET_CODES[q3] as number;
  }
  // The last pass may emit zero digits ('1') above the number's top: drop them, then write one
  // '1' per leading zero byte of the payload.
  while (pos < 40 && out[pos] === 49) pos++;
  for (let i = 0; i < 25 && payload[i] === 0; i++) out[--pos] = 49;
  const len = 40 - pos;
  const dst = bySize[len] as number[];
  for (let i = 0; i < len; i++) dst[i] = out[pos + i] as number;
  return String.fromCharCode.apply(null, dst);
}
