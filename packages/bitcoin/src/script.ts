import { ECDH } from "node:crypto";
import { base58checkHash160 } from "./base58.js";
import { segwitAddress } from "./bech32.js";
import { hash160 } from "./hash.js";

/** Address parameters of a Bitcoin network. */
export interface BitcoinNetwork {
  readonly name: string;
  /** Base58 version byte of P2PKH addresses. */
  readonly pubKeyHash: number;
  /** Base58 version byte of P2SH addresses. */
  readonly scriptHash: number;
  /** Human-readable part of segwit addresses. */
  readonly bech32: string;
}

/** Address parameters of mainnet, testnet and regtest (same values as bitcoinjs-lib's networks). */
export const Networks = {
  bitcoin: { name: "bitcoin", pubKeyHash: 0x00, scriptHash: 0x05, bech32: "bc" },
  testnet: { name: "testnet", pubKeyHash: 0x6f, scriptHash: 0xc4, bech32: "tb" },
  regtest: { name: "regtest", pubKeyHash: 0x6f, scriptHash: 0xc4, bech32: "bcrt" },
} as const satisfies Record<string, BitcoinNetwork>;

/** Output script types, by byte pattern. */
export const ScriptTypes = [
  "p2pkh",
  "p2sh",
  "p2wpkh",
  "p2wsh",
  "p2tr",
  "witness_unknown",
  "p2pk",
  "multisig",
  "nulldata",
  "nonstandard",
] as const;
/** One of {@link ScriptTypes}. */
export type ScriptType = (typeof ScriptTypes)[number];

const OP_0 = 0x00;
const OP_1 = 0x51;
const OP_16 = 0x60;
const OP_RETURN = 0x6a;
const OP_DUP = 0x76;
const OP_EQUAL = 0x87;
const OP_EQUALVERIFY = 0x88;
const OP_HASH160 = 0xa9;
const OP_CHECKSIG = 0xac;
const OP_CHECKMULTISIG = 0xae;

/**
 * Length a public key must have given its first byte (Bitcoin Core's CPubKey::ValidSize):
 * 33 for compressed (02/03), 65 for uncompressed and hybrid (04/06/07), 0 otherwise.
 */
function pubkeyLength(header: number): number {
  if (header === 2 || header === 3) return 33;
  if (header === 4 || header === 6 || header === 7) return 65;
  return 0;
}

const xOnlyScratch = Buffer.alloc(33, 2);

/**
 * True when the 32 bytes at `off` are the x coordinate of a secp256k1 point (x < p and x³+7 a
 * square mod p), checked natively by decompressing `02‖x`. bitcoinjs-lib (with an ECC library)
 * gives no address for a P2TR output whose key fails this; Bitcoin Core does, but such an output
 * is unspendable. About 25 µs, paid only for P2TR outputs.
 */
export function isXOnlyPoint(s: Uint8Array, off: number): boolean {
  xOnlyScratch.set(s.subarray(off, off + 32), 1);
  try {
    ECDH.convertKey(xOnlyScratch, "secp256k1", undefined, undefined, "compressed");
    return true;
  } catch {
    return false;
  }
}

/**
 * Classifies an output script `s[off, off+len)` by its byte pattern, without allocating.
 * Patterns follow Bitcoin Core's Solver; witness programs follow bitcoinjs-lib's
 * `address.fromOutputScript` (v0 only with 20/32-byte programs, v1 only with a 32-byte valid
 * x-only key, v2–16
 * with 2–40 bytes; other witness-looking scripts are non-standard).
 */
export function classifyScript(s: Uint8Array, off: number, len: number): ScriptType {
  const b0 = s[off];
  if (b0 === undefined || len === 0) return "nonstandard";
  switch (len) {
    case 25:
      if (
        b0 === OP_DUP &&
        s[off + 1] === OP_HASH160 &&
        s[off + 2] === 0x14 &&
        s[off + 23] === OP_EQUALVERIFY &&
        s[off + 24] === OP_CHECKSIG
      )
        return "p2pkh";
      break;
    case 23:
      if (b0 === OP_HASH160 && s[off + 1] === 0x14 && s[off + 22] === OP_EQUAL) return "p2sh";
      break;
    case 22:
      if (b0 === OP_0 && s[off + 1] === 0x14) return "p2wpkh";
      break;
    case 34:
      if (s[off + 1] === 0x20) {
        if (b0 === OP_0) return "p2wsh";
        if (b0 === OP_1) return isXOnlyPoint(s, off + 2) ? "p2tr" : "nonstandard";
      }
      break;
    case 35:
      if (b0 === 33 && s[off + 34] === OP_CHECKSIG && pubkeyLength(s[off + 1] as number) === 33)
        return "p2pk";
      break;
    case 67:
      if (b0 === 65 && s[off + 66] === OP_CHECKSIG && pubkeyLength(s[off + 1] as number) === 65)
        return "p2pk";
      break;
  }
  if (b0 === OP_RETURN) return "nulldata";
  // Future witness versions: OP_2..OP_16 followed by one direct push of 2–40 bytes.
  if (b0 > OP_1 && b0 <= OP_16 && len >= 4 && len <= 42 && s[off + 1] === len - 2)
    return "witness_unknown";
  if (
    b0 >= OP_1 &&
    b0 <= OP_16 &&
    s[off + len - 1] === OP_CHECKMULTISIG &&
    multisigKeys(s, off, len) > 0
  )
    return "multisig";
  return "nonstandard";
}

/**
 * Number of keys of a bare multisig script (`OP_m <key>… OP_n OP_CHECKMULTISIG`, 1 ≤ m ≤ n ≤ 16,
 * every key a direct push of a validly sized public key), or 0 when the script is not one.
 */
export function multisigKeys(s: Uint8Array, off: number, len: number): number {
  const end = off + len;
  const m = (s[off] as number) - OP_1 + 1;
  let p = off + 1;
  let keys = 0;
  while (p < end - 2) {
    const push = s[p] as number;
    if (push !== 33 && push !== 65) break;
    if (pubkeyLength(s[p + 1] as number) !== push || p + 1 + push > end - 2) return 0;
    p += 1 + push;
    keys++;
  }
  if (p !== end - 2) return 0;
  const n = (s[p] as number) - OP_1 + 1;
  if (n < 1 || n > 16 || n !== keys || m > n) return 0;
  return keys;
}

/** What an output pays to. */
export interface OutputAddresses {
  type: ScriptType;
  /**
   * Addresses: one for p2pkh/p2sh/segwit, the key's P2PKH address for p2pk, every key's P2PKH
   * address for bare multisig, none for nulldata and non-standard scripts.
   */
  addresses: string[];
  /** Public keys (hex) of p2pk and bare multisig outputs, kept beside their P2PKH addresses. */
  pubkeys?: string[];
}

const NONE: string[] = [];

/**
 * Address of a single-address output script (p2pkh, p2sh, p2wpkh, p2wsh, p2tr, witness_unknown)
 * given its type, encoded once; null for other types. Equal to bitcoinjs-lib's
 * `address.fromOutputScript` on the same script.
 */
export function encodeAddress(
  type: ScriptType,
  s: Uint8Array,
  off: number,
  len: number,
  net: BitcoinNetwork,
): string | null {
  switch (type) {
    case "p2pkh":
      return base58checkHash160(net.pubKeyHash, s, off + 3);
    case "p2sh":
      return base58checkHash160(net.scriptHash, s, off + 2);
    case "p2wpkh":
    case "p2wsh":
      return segwitAddress(net.bech32, 0, s, off + 2, len - 2);
    case "p2tr":
      return segwitAddress(net.bech32, 1, s, off + 2, 32);
    case "witness_unknown":
      return segwitAddress(net.bech32, (s[off] as number) - 0x50, s, off + 2, len - 2);
    default:
      return null;
  }
}

/** P2PKH address of a public key, as Bitcoin Core reports the address of a P2PK output. */
export function pubkeyToP2pkh(pubkey: Uint8Array, net: BitcoinNetwork): string {
  return base58checkHash160(net.pubKeyHash, hash160(pubkey), 0);
}

/** Classifies an output script and derives its addresses (see {@link OutputAddresses}). */
export function deriveOutput(
  s: Uint8Array,
  off: number,
  len: number,
  net: BitcoinNetwork,
): OutputAddresses {
  const type = classifyScript(s, off, len);
  switch (type) {
    case "nulldata":
    case "nonstandard":
      return { type, addresses: NONE };
    case "p2pk": {
      const key = s.subarray(off + 1, off + len - 1);
      return {
        type,
        addresses: [pubkeyToP2pkh(key, net)],
        pubkeys: [Buffer.from(key).toString("hex")],
      };
    }
    case "multisig": {
      const addresses: string[] = [];
      const pubkeys: string[] = [];
      let p = off + 1;
      const n = multisigKeys(s, off, len);
      for (let k = 0; k < n; k++) {
        const push = s[p] as number;
        const key = s.subarray(p + 1, p + 1 + push);
        addresses.push(pubkeyToP2pkh(key, net));
        pubkeys.push(Buffer.from(key).toString("hex"));
        p += 1 + push;
      }
      return { type, addresses, pubkeys };
    }
    default:
      return { type, addresses: [encodeAddress(type, s, off, len, net) as string] };
  }
}
