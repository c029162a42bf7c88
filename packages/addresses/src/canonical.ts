import { ValidationError } from "@chainscreen/errors";
import { address as btcAddress, type Network, networks } from "bitcoinjs-lib";
import { getAddress } from "ethers";
import {
  BITCOIN_ALPHABET,
  base58CheckDecode,
  base58CheckEncode,
  base58Decode,
  RIPPLE_ALPHABET,
} from "./base58.js";
import { cashAddrPayload } from "./cashaddr.js";
import type { Family } from "./families.js";

/** An address that is not valid for the family it was given with. */
export class InvalidAddressError extends ValidationError {
  constructor(family: Family | string, reason: string) {
    super(`invalid ${family} address: ${reason}`, { context: { family, reason } });
  }
}

/** Bitcoin network whose addresses {@link canonicalize} accepts for the `bitcoin` family. */
export type BitcoinNetworkName = "mainnet" | "testnet" | "regtest";

/** Options of {@link canonicalize}. */
export interface CanonicalizeOptions {
  /** Bitcoin network (default mainnet); testnet/regtest for development chains. */
  bitcoinNetwork?: BitcoinNetworkName;
}

const BTC_NETWORKS: Record<BitcoinNetworkName, Network> = {
  mainnet: networks.bitcoin,
  testnet: networks.testnet,
  regtest: networks.regtest,
};

const EVM_RE = /^0x[0-9a-fA-F]{40}$/;
const HEX40_RE = /^[0-9a-fA-F]{40}$/;
const HEX_RE = /^[0-9a-fA-F]+$/;
const BASE58_RE = /^[1-9A-HJ-NP-Za-km-z]+$/;

/** Canonical EVM form: lowercase `0x` + 40 hex; mixed case must carry a valid EIP-55 checksum. */
export function canonicalEvm(input: string): string {
  const a = input.trim();
  if (!EVM_RE.test(a)) {
    throw new InvalidAddressError("evm", "expected 0x followed by 40 hex digits");
  }
  const body = a.slice(2);
  const mixed = body !== body.toLowerCase() && body !== body.toUpperCase();
  if (mixed) {
    try {
      getAddress(a);
    } catch {
      throw new InvalidAddressError("evm", "mixed-case address fails its EIP-55 checksum");
    }
  }
  return `0x${body.toLowerCase()}`;
}

/** Tron base58check `T…` of a 21-byte hex address (`41…`) or the bare 20-byte EVM-style hex. */
export function tronHexToBase58(hex: string): string {
  let h = hex.trim();
  if (h.startsWith("0x") || h.startsWith("0X")) h = h.slice(2);
  if (HEX40_RE.test(h)) h = `41${h}`;
  if (h.length !== 42 || !h.toLowerCase().startsWith("41") || !HEX_RE.test(h)) {
    throw new InvalidAddressError("tron", "expected 41 followed by 40 hex digits (or 20-byte hex)");
  }
  return base58CheckEncode(Buffer.from(h, "hex"));
}

/** Tron 21-byte hex (`41…`, lowercase) of a base58check `T…` address. */
export function tronBase58ToHex(address: string): string {
  const payload = base58CheckDecode(address.trim());
  if (!payload) throw new InvalidAddressError("tron", "bad base58check encoding or checksum");
  if (payload.length !== 21 || payload[0] !== 0x41) {
    throw new InvalidAddressError("tron", "payload is not 0x41 + 20 bytes");
  }
  return Buffer.from(payload).toString("hex");
}

/** Alias of {@link tronBase58ToHex}: `T…` → `41…` hex. */
export const base58ToHex = tronBase58ToHex;

/** Canonical Tron form: base58check `T…`; `41…` hex and `0x`+20-byte hex are converted. */
export function canonicalTron(input: string): string {
  const a = input.trim();
  if (a.startsWith("T")) {
    tronBase58ToHex(a);
    return a;
  }
  if (HEX_RE.test(a.replace(/^0x/i, ""))) return tronHexToBase58(a);
  throw new InvalidAddressError("tron", "expected T… base58check or 41… hex");
}

// secp256k1 field prime: an x-only key is valid when x < P and x^3 + 7 is a square mod P.
const SECP_P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn;

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  let x = b % m;
  let k = e;
  while (k > 0n) {
    if (k & 1n) r = (r * x) % m;
    x = (x * x) % m;
    k >>= 1n;
  }
  return r;
}

function isXOnlyPoint(x32: Uint8Array): boolean {
  const x = BigInt(`0x${Buffer.from(x32).toString("hex")}`);
  if (x >= SECP_P) return false;
  const y2 = (x * x * x + 7n) % SECP_P;
  return y2 === 0n || modPow(y2, (SECP_P - 1n) / 2n, SECP_P) === 1n;
}

/**
 * Output script of a Bitcoin address (bitcoinjs-lib `address.toOutputScript`). bitcoinjs-lib needs
 * an ECC library only to check taproot keys; that one check (x-only point on secp256k1) is done
 * here instead so no native/ECC dependency is needed.
 */
export function bitcoinOutputScript(
  address: string,
  network: BitcoinNetworkName = "mainnet",
): Uint8Array {
  const net = BTC_NETWORKS[network];
  try {
    return btcAddress.toOutputScript(address, net);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (!reason.includes("ECC")) throw new InvalidAddressError("bitcoin", `${reason} (${network})`);
  }
  const r = btcAddress.fromBech32(address);
  if (r.prefix !== net.bech32 || r.version !== 1 || r.data.length !== 32 || !isXOnlyPoint(r.data)) {
    throw new InvalidAddressError("bitcoin", `not a valid taproot address (${network})`);
  }
  const out = new Uint8Array(34);
  out[0] = 0x51; // OP_1
  out[1] = 0x20; // push 32 bytes
  out.set(r.data, 2);
  return out;
}

/** Canonical Bitcoin form: bech32/bech32m lowercase, base58 unchanged (it is case-sensitive). */
export function canonicalBitcoin(input: string, network: BitcoinNetworkName = "mainnet"): string {
  const a = input.trim();
  bitcoinOutputScript(a, network);
  const lower = a.toLowerCase();
  return lower.startsWith(`${BTC_NETWORKS[network].bech32}1`) ? lower : a;
}

interface Base58Spec {
  /** Accepted version prefixes, as hex of the leading payload bytes. */
  versions: string[];
  /** Payload length after the version. */
  hashLength: number;
}

function checkBase58(family: Family, a: string, spec: Base58Spec, alphabet = BITCOIN_ALPHABET) {
  const payload = base58CheckDecode(a, alphabet);
  if (!payload) throw new InvalidAddressError(family, "bad base58check encoding or checksum");
  const hex = Buffer.from(payload).toString("hex");
  const v = spec.versions.find((p) => hex.startsWith(p));
  if (v === undefined || payload.length !== v.length / 2 + spec.hashLength) {
    throw new InvalidAddressError(family, "unexpected version byte or length");
  }
}

function checkBech32(family: Family, a: string, hrp: string): string {
  let r: ReturnType<typeof btcAddress.fromBech32>;
  try {
    r = btcAddress.fromBech32(a);
  } catch (err) {
    throw new InvalidAddressError(family, err instanceof Error ? err.message : String(err));
  }
  if (r.prefix !== hrp) throw new InvalidAddressError(family, `bech32 prefix is not ${hrp}`);
  return a.toLowerCase();
}

function opaque(family: Family, a: string, re: RegExp, what: string): string {
  if (!re.test(a)) throw new InvalidAddressError(family, `expected ${what}`);
  return a;
}

/**
 * Canonical form of `address` in `family`, or an {@link InvalidAddressError} saying why it is not
 * valid. Families without full validation here (Monero, `unknown`) are kept as opaque strings after
 * a shape check.
 */
export function canonicalize(
  family: Family,
  address: string,
  opts: CanonicalizeOptions = {},
): string {
  const a = address.trim();
  if (a.length === 0) throw new InvalidAddressError(family, "empty");
  if (a.length > 128) throw new InvalidAddressError(family, "longer than 128 characters");
  switch (family) {
    case "evm":
      return canonicalEvm(a);
    case "bitcoin":
      return canonicalBitcoin(a, opts.bitcoinNetwork);
    case "tron":
      return canonicalTron(a);
    case "litecoin":
      if (a.toLowerCase().startsWith("ltc1")) return checkBech32(family, a, "ltc");
      checkBase58(family, a, { versions: ["30", "32", "05"], hashLength: 20 });
      return a;
    case "bitcoin-cash": {
      const cash = cashAddrPayload(a);
      if (cash) return cash;
      if (/^[qp]/i.test(a) || a.toLowerCase().startsWith("bitcoincash:")) {
        throw new InvalidAddressError(family, "bad CashAddr checksum");
      }
      // Legacy base58 P2PKH/P2SH (same versions as Bitcoin).
      checkBase58(family, a, { versions: ["00", "05"], hashLength: 20 });
      return a;
    }
    case "bitcoin-sv":
      checkBase58(family, a, { versions: ["00", "05"], hashLength: 20 });
      return a;
    case "bitcoin-gold":
      if (a.toLowerCase().startsWith("btg1")) return checkBech32(family, a, "btg");
      checkBase58(family, a, { versions: ["26", "17"], hashLength: 20 });
      return a;
    case "dogecoin":
      checkBase58(family, a, { versions: ["1e", "16"], hashLength: 20 });
      return a;
    case "dash":
      checkBase58(family, a, { versions: ["4c", "10"], hashLength: 20 });
      return a;
    case "verge":
      checkBase58(family, a, { versions: ["1e", "21"], hashLength: 20 });
      return a;
    case "zcash":
      // Transparent t1/t3 addresses carry a 2-byte version; shielded ones are kept opaque.
      if (a.startsWith("t")) {
        checkBase58(family, a, { versions: ["1cb8", "1cbd"], hashLength: 20 });
        return a;
      }
      if (a.toLowerCase().startsWith("zs1") || a.toLowerCase().startsWith("u1")) {
        return opaque(family, a.toLowerCase(), /^[a-z0-9]+$/, "a bech32 shielded address");
      }
      // Legacy Sprout shielded addresses: "zc" + base58.
      return opaque(family, a, /^zc[1-9A-HJ-NP-Za-km-z]{93}$/, "a t…, zs1…, u1… or zc… address");
    case "monero":
      // Monero uses a block-wise base58 variant not checked here; kept opaque. OFAC's XMR list
      // also holds a 64-hex value, so hex is accepted too.
      return opaque(
        family,
        a,
        /^([1-9A-HJ-NP-Za-km-z]{95,106}|[0-9a-fA-F]{64})$/,
        "a Monero address",
      );
    case "xrp": {
      const payload = base58CheckDecode(a, RIPPLE_ALPHABET);
      if (!a.startsWith("r") || !payload || payload.length !== 21 || payload[0] !== 0) {
        throw new InvalidAddressError(
          family,
          "expected an r… classic address with a valid checksum",
        );
      }
      return a;
    }
    case "solana": {
      const raw = BASE58_RE.test(a) ? base58Decode(a) : null;
      if (raw?.length !== 32) throw new InvalidAddressError(family, "expected 32 bytes in base58");
      return a;
    }
    case "unknown":
      return opaque(family, a, /^[\x21-\x7e]+$/, "printable characters without spaces");
  }
}

/** Result of {@link tryCanonicalize}. */
export type CanonicalResult = { ok: true; address: string } | { ok: false; error: string };

/** {@link canonicalize} without throwing. */
export function tryCanonicalize(
  family: Family,
  address: string,
  opts?: CanonicalizeOptions,
): CanonicalResult {
  try {
    return { ok: true, address: canonicalize(family, address, opts) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** True when {@link canonicalize} accepts the address. */
export function isValidAddress(
  family: Family,
  address: string,
  opts?: CanonicalizeOptions,
): boolean {
  return tryCanonicalize(family, address, opts).ok;
}

/**
 * Family of an address decided by its shape alone, when that is unambiguous: `0x`+40 hex → evm,
 * valid `T…` base58check with 0x41 → tron, valid Bitcoin mainnet bech32 → bitcoin. Legacy base58
 * `1…`/`3…` is shared by Bitcoin, BCH, BSV and Omni, so it is not decided here (null).
 */
export function familyByShape(address: string): Family | null {
  const a = address.trim();
  if (EVM_RE.test(a)) return isValidAddress("evm", a) ? "evm" : null;
  if (a.startsWith("T") && isValidAddress("tron", a)) return "tron";
  if (a.toLowerCase().startsWith("bc1") && isValidAddress("bitcoin", a)) return "bitcoin";
  return null;
}
