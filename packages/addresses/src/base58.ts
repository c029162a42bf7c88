import { createHash } from "node:crypto";

/** Bitcoin's base58 alphabet (also Tron, Litecoin, Dash, Zcash, Solana…). */
export const BITCOIN_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
/** The XRP Ledger's base58 alphabet. */
export const RIPPLE_ALPHABET = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz";

const decodeTables = new Map<string, Int8Array>();

function table(alphabet: string): Int8Array {
  let t = decodeTables.get(alphabet);
  if (!t) {
    t = new Int8Array(128).fill(-1);
    for (let i = 0; i < alphabet.length; i++) t[alphabet.charCodeAt(i)] = i;
    decodeTables.set(alphabet, t);
  }
  return t;
}

/** Decodes base58 text; null when a character is outside the alphabet. */
export function base58Decode(s: string, alphabet = BITCOIN_ALPHABET): Uint8Array | null {
  const t = table(alphabet);
  const zeroChar = alphabet[0];
  let zeros = 0;
  while (zeros < s.length && s[zeros] === zeroChar) zeros++;
  // Big-endian base-256 digits, grown as needed (log(58)/log(256) ≈ 0.733 bytes per char).
  const size = Math.ceil((s.length - zeros) * 0.733) + 1;
  const b256 = new Uint8Array(size);
  let length = 0;
  for (let i = zeros; i < s.length; i++) {
    const code = s.charCodeAt(i);
    const v = code < 128 ? (t[code] ?? -1) : -1;
    if (v < 0) return null;
    let carry = v;
    let j = 0;
    for (let k = size - 1; (carry !== 0 || j < length) && k >= 0; k--, j++) {
      carry += 58 * (b256[k] ?? 0);
      b256[k] = carry % 256;
      carry = Math.floor(carry / 256);
    }
    length = j;
  }
  let start = size - length;
  while (start < size && b256[start] === 0) start++;
  const out = new Uint8Array(zeros + (size - start));
  out.set(b256.subarray(start), zeros);
  return out;
}

/** Encodes bytes as base58 text. */
export function base58Encode(bytes: Uint8Array, alphabet = BITCOIN_ALPHABET): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  const size = Math.ceil((bytes.length - zeros) * 1.38) + 1;
  const b58 = new Uint8Array(size);
  let length = 0;
  for (let i = zeros; i < bytes.length; i++) {
    let carry = bytes[i] ?? 0;
    let j = 0;
    for (let k = size - 1; (carry !== 0 || j < length) && k >= 0; k--, j++) {
      carry += 256 * (b58[k] ?? 0);
      b58[k] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    length = j;
  }
  let start = size - length;
  while (start < size && b58[start] === 0) start++;
  let out = (alphabet[0] ?? "1").repeat(zeros);
  for (let i = start; i < size; i++) out += alphabet[b58[i] ?? 0];
  return out;
}

function sha256d(b: Uint8Array): Buffer {
  return createHash("sha256").update(createHash("sha256").update(b).digest()).digest();
}

/** Decodes base58check (4-byte double-SHA-256 checksum); null when malformed or the checksum fails. */
export function base58CheckDecode(s: string, alphabet = BITCOIN_ALPHABET): Uint8Array | null {
  const raw = base58Decode(s, alphabet);
  if (!raw || raw.length < 5) return null;
  const payload = raw.subarray(0, raw.length - 4);
  const sum = sha256d(payload);
  for (let i = 0; i < 4; i++) if (sum[i] !== raw[payload.length + i]) return null;
  return payload;
}

/** Encodes a payload as base58check. */
export function base58CheckEncode(payload: Uint8Array, alphabet = BITCOIN_ALPHABET): string {
  const out = new Uint8Array(payload.length + 4);
  out.set(payload);
  out.set(sha256d(payload).subarray(0, 4), payload.length);
  return base58Encode(out, alphabet);
}
