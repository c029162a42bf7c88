import { bitcoinOutputScript, canonicalBitcoin } from "@chainscreen/addresses";
import * as bitcoin from "bitcoinjs-lib";
import { describe, expect, it } from "vitest";
import { parseBlock } from "./block.js";
import { deriveOutput, Networks } from "./script.js";
import { block413567, readJson } from "./test-fixtures.js";

// Derived addresses are already in @chainscreen/addresses' canonical form, and they round-trip:
// canonical address → output script (packages/addresses) → address (ours).

const NET = { bitcoin: "mainnet", testnet: "testnet", regtest: "regtest" } as const;

describe("derived addresses round-trip through @chainscreen/addresses", () => {
  it("bitcoinjs-lib address.json (bitcoin, testnet, regtest)", () => {
    const fx = readJson<{ standard: { network: string; script: string }[] }>(
      "bitcoinjs-lib/address.json",
    );
    let n = 0;
    for (const f of fx.standard) {
      const name = f.network as keyof typeof NET;
      if (!(name in NET)) continue;
      const script = bitcoin.script.fromASM(f.script);
      const [addr] = deriveOutput(script, 0, script.length, Networks[name]).addresses;
      if (!addr) throw new Error(`no address for ${f.script}`);
      expect(canonicalBitcoin(addr, NET[name])).toBe(addr);
      expect(Buffer.from(bitcoinOutputScript(addr, NET[name])).equals(Buffer.from(script))).toBe(
        true,
      );
      n++;
    }
    expect(n).toBe(14);
  });

  it("every address-bearing output of block 413567", () => {
    const b = parseBlock(block413567());
    let n = 0;
    for (const tx of b.txs) {
      for (const o of tx.outputs) {
        const d = deriveOutput(tx.buf, o.scriptOffset, o.scriptLength, Networks.bitcoin);
        if (d.type === "p2pk" || d.type === "multisig" || d.addresses.length === 0) continue;
        const addr = d.addresses[0] as string;
        expect(canonicalBitcoin(addr)).toBe(addr);
        const script = tx.buf.subarray(o.scriptOffset, o.scriptOffset + o.scriptLength);
        expect(Buffer.from(bitcoinOutputScript(addr)).equals(Buffer.from(script))).toBe(true);
        n++;
      }
    }
    expect(n).toBe(3578);
  });
});
