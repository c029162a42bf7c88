import { createHash, hash as oneShotHash } from "node:crypto";

// Round constants of SHA-256 (FIPS 180-4 §4.2.2).
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

// Scratch state reused by every call: the functions below are synchronous and not re-entrant.
const W = new Int32Array(64);
const H = new Int32Array(8);

/** One SHA-256 compression of the 16 words already in W[0..15], starting from IV, into H. */
function compressFromIv(): void {
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15] as number;
    const w2 = W[i - 2] as number;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = ((W[i - 16] as number) + s0 + (W[i - 7] as number) + s1) | 0;
  }
  let a = IV[0] as number;
  let b = IV[1] as number;
  let c = IV[2] as number;
  let d = IV[3] as number;
  let e = IV[4] as number;
  let f = IV[5] as number;
  let g = IV[6] as number;
  let h = IV[7] as number;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + (K[i] as number) + (W[i] as number)) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  H[0] = ((IV[0] as number) + a) | 0;
  H[1] = ((IV[1] as number) + b) | 0;
  H[2] = ((IV[2] as number) + c) | 0;
  H[3] = ((IV[3] as number) + d) | 0;
  H[4] = ((IV[4] as number) + e) | 0;
  H[5] = ((IV[5] as number) + f) | 0;
  H[6] = ((IV[6] as number) + g) | 0;
  H[7] = ((IV[7] as number) + h) | 0;
}

/** Loads `len` (≤ 55) bytes plus SHA-256 padding into W as one block. */
function loadPadded(src: Uint8Array, off: number, len: number): void {
  W.fill(0, 0, 16);
  for (let i = 0; i < len; i++) {
    const wi = i >> 2;
    W[wi] = (W[wi] as number) | ((src[off + i] as number) << (24 - ((i & 3) << 3)));
  }
  const wi = len >> 2;
  W[wi] = (W[wi] as number) | (0x80 << (24 - ((len & 3) << 3)));
  W[15] = len * 8;
}

/**
 * First four bytes of SHA-256(SHA-256(src[off, off+len))) for len ≤ 55, as a big-endian uint32:
 * the base58check checksum. Pure JS on purpose — for 21-byte payloads it is several times
 * faster than two calls into node:crypto, whose per-call overhead dominates for tiny inputs.
 */
export function checksum32(src: Uint8Array, off: number, len: number): number {
  if (len > 55) {
    const d = sha256d(src.subarray(off, off + len));
    return (
      ((d[0] as number) << 24) |
      ((d[1] as number) << 16) |
      ((d[2] as number) << 8) |
      (d[3] as number)
    );
  }
  loadPadded(src, off, len);
  return doubleHashWordsInW();
}

/**
 * Base58check checksum (as {@link checksum32}) of the 21-byte payload `version ‖ src[off, off+20)`,
 * reading the hash in place: the payload of every P2PKH and P2SH address.
 */
export function checksumHash160(version: number, s: Uint8Array, off: number): number {
  // Five full words, then the last hash byte with the 0x80 padding marker.
  W[0] =
    (version << 24) |
    ((s[off] as number) << 16) |
    ((s[off + 1] as number) << 8) |
    (s[off + 2] as number);
  for (let w = 1, p = off + 3; w < 5; w++, p += 4) {
    W[w] =
      ((s[p] as number) << 24) |
      ((s[p + 1] as number) << 16) |
      ((s[p + 2] as number) << 8) |
      (s[p + 3] as number);
  }
  W[5] = ((s[off + 19] as number) << 24) | 0x800000;
  for (let i = 6; i < 15; i++) W[i] = 0;
  W[15] = 21 * 8;
  return doubleHashWordsInW();
}

/**
 * First four bytes (big-endian uint32) of SHA-256(SHA-256(m)) for a one-block message m already
 * padded into W: the first pass, then the second over its 32-byte digest, whose padding fits in
 * the same block.
 */
function doubleHashWordsInW(): number {
  compressFromIv();
  for (let i = 0; i < 8; i++) W[i] = H[i] as number;
  W[8] = 0x80000000;
  for (let i = 9; i < 15; i++) W[i] = 0;
  W[15] = 256;
  compressFromIv();
  return (H[0] as number) >>> 0;
}

/** SHA-256 of a buffer (native). */
export function sha256(data: Uint8Array): Buffer {
  return oneShotHash("sha256", data, "buffer");
}

/** Double SHA-256 of a buffer (native): txids, block hashes, merkle nodes. */
export function sha256d(data: Uint8Array): Buffer {
  return oneShotHash("sha256", oneShotHash("sha256", data, "buffer"), "buffer");
}

/** RIPEMD-160(SHA-256(data)): the hash inside P2PKH/P2WPKH scripts. */
export function hash160(data: Uint8Array): Buffer {
  return createHash("ripemd160")
    .update(oneShotHash("sha256", data, "buffer"))
    .digest();
}

/** Hex of bytes in reverse order: how Bitcoin displays txids and block hashes. */
export function reversedHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).reverse().toString("hex");
}
