// Test-only helpers that read the shared public fixtures (never copied into the repo).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fixturesDir } from "@chainscreen/testing";

/** ../shared/fixtures/bitcoin */
export const btcFixtures = join(fixturesDir, "bitcoin");

/** Reads a JSON fixture under ../shared/fixtures/bitcoin. */
export function readJson<T = unknown>(rel: string): T {
  return JSON.parse(readFileSync(join(btcFixtures, rel), "utf8")) as T;
}

/** Reads a JSON-lines fixture. */
export function readJsonLines<T = unknown>(rel: string): T[] {
  return readFileSync(join(btcFixtures, rel), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

/** Mainnet block 413567, raw. */
export function block413567(): Buffer {
  return readFileSync(join(btcFixtures, "block413567", "block413567.raw"));
}

const P = 2n ** 256n - 2n ** 32n - 977n;
function modpow(b: bigint, e: bigint, m: bigint): bigint {
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

/**
 * Independent (BigInt, Euler's criterion) x-only point check, given to bitcoinjs-lib as its ECC
 * library so its P2TR validation can be compared with ours. Only isXOnlyPoint is used by
 * address.fromOutputScript.
 */
export const bigintEcc = {
  isXOnlyPoint(x: Uint8Array): boolean {
    if (x.length !== 32) return false;
    const v = BigInt(`0x${Buffer.from(x).toString("hex")}`);
    if (v === 0n || v >= P) return false;
    const y2 = (v * v * v + 7n) % P;
    return y2 === 0n || modpow(y2, (P - 1n) / 2n, P) === 1n;
  },
};
