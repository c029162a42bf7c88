// Bitcoin Cash CashAddr checksum (a BCH code over GF(32), 40-bit polymod). Facts from the CashAddr
// specification: charset below, generator constants below, checksum = 8 characters, the prefix
// ("bitcoincash") is expanded as the low 5 bits of each character followed by a 0 separator.

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATORS = [0x98f2bc8e61n, 0x79b76d99e2n, 0xf33e5fb3c4n, 0xae2eabe2a8n, 0x1e4f43e470n];

function polymod(values: number[]): bigint {
  let c = 1n;
  for (const d of values) {
    const c0 = c >> 35n;
    c = ((c & 0x07ffffffffn) << 5n) ^ BigInt(d);
    for (let i = 0; i < 5; i++) {
      const g = GENERATORS[i];
      if (g !== undefined && (c0 >> BigInt(i)) & 1n) c ^= g;
    }
  }
  return c ^ 1n;
}

/**
 * Checks a CashAddr address (`bitcoincash:q…` or the bare `q…`/`p…` payload, single case).
 * Returns the lowercase payload without prefix when valid, null otherwise.
 */
export function cashAddrPayload(address: string, prefix = "bitcoincash"): string | null {
  if (address !== address.toLowerCase() && address !== address.toUpperCase()) return null;
  const a = address.toLowerCase();
  const body = a.startsWith(`${prefix}:`) ? a.slice(prefix.length + 1) : a;
  if (body.length < 9 || !/^[qp]/.test(body)) return null;
  const data: number[] = [];
  for (const ch of body) {
    const v = CHARSET.indexOf(ch);
    if (v < 0) return null;
    data.push(v);
  }
  const pre = [...prefix].map((ch) => ch.charCodeAt(0) & 0x1f);
  return polymod([...pre, 0, ...data]) === 0n ? body : null;
}
