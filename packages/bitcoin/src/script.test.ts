import { randomBytes } from "node:crypto";
import { bech32, bech32m } from "bech32";
import * as bitcoin from "bitcoinjs-lib";
import bs58check from "bs58check";
import { describe, expect, it } from "vitest";
import { base58checkHash160 } from "./base58.js";
import { segwitAddress } from "./bech32.js";
import { type BitcoinNetwork, classifyScript, deriveOutput, Networks } from "./script.js";
import { bigintEcc, readJson } from "./test-fixtures.js";

bitcoin.initEccLib(bigintEcc as unknown as Parameters<typeof bitcoin.initEccLib>[0], {
  DANGER_DO_NOT_VERIFY_ECCLIB: true,
});

interface AddrFixtures {
  standard: { network: string; script: string; base58check?: string; bech32?: string }[];
  invalid: { fromOutputScript: { script: string; exception: string }[] };
}
const fx = readJson<AddrFixtures>("bitcoinjs-lib/address.json");
const nets: Record<string, BitcoinNetwork> = { ...Networks };

describe("address derivation against bitcoinjs-lib address.json", () => {
  const standard = fx.standard.filter((f) => nets[f.network]);
  it("covers the fixtures of bitcoin, testnet and regtest", () => {
    expect(standard.length).toBe(14); // 2 litecoin entries have no network here
  });
  for (const f of standard) {
    it(`${f.network} ${f.script.slice(0, 40)}`, () => {
      const script = bitcoin.script.fromASM(f.script);
      const net = nets[f.network] as BitcoinNetwork;
      const d = deriveOutput(script, 0, script.length, net);
      const expected = f.base58check ?? (f.bech32 as string).toLowerCase();
      expect(d.addresses).toEqual([expected]);
      // Round trip: the address decodes back to the same script.
      const bnet = (bitcoin.networks as Record<string, bitcoin.Network>)[
        f.network === "bitcoin" ? "bitcoin" : f.network
      ];
      expect(Buffer.from(bitcoin.address.toOutputScript(expected, bnet)).toString("hex")).toBe(
        Buffer.from(script).toString("hex"),
      );
    });
  }
  for (const f of fx.invalid.fromOutputScript) {
    it(`no address for ${f.script.slice(0, 40)}`, () => {
      const script = bitcoin.script.fromASM(f.script);
      const d = deriveOutput(script, 0, script.length, Networks.bitcoin);
      const t = classifyScript(script, 0, script.length);
      // bitcoinjs gives no address; P2PK and bare multisig get each key's P2PKH address here.
      if (t === "p2pk" || t === "multisig") {
        const keys =
          bitcoin.script
            .decompile(script)
            ?.filter((c): c is Uint8Array => c instanceof Uint8Array) ?? [];
        expect(d.addresses).toEqual(
          keys.map((pubkey) => bitcoin.payments.p2pkh({ pubkey }).address),
        );
      } else {
        expect(["nulldata", "nonstandard"]).toContain(t);
        expect(d.addresses).toEqual([]);
      }
      expect(() => bitcoin.address.fromOutputScript(script)).toThrow(/has no matching Address/);
    });
  }
});

describe("encoders against bs58check and bech32", () => {
  it("base58check of random hashes, including leading zero bytes", () => {
    for (let i = 0; i < 3000; i++) {
      const h = randomBytes(20);
      if (i % 5 === 0) h.fill(0, 0, i % 21);
      const v = [0x00, 0x05, 0x6f, 0xc4][i % 4] as number;
      expect(base58checkHash160(v, h, 0)).toBe(bs58check.encode(Uint8Array.from([v, ...h])));
    }
  });
  it("bech32 / bech32m of random programs and versions", () => {
    for (let i = 0; i < 2000; i++) {
      const version = i % 17;
      const len = version === 0 ? (i % 2 ? 20 : 32) : 2 + (i % 39);
      const prog = randomBytes(len);
      const enc = version === 0 ? bech32 : bech32m;
      const hrp = ["bc", "tb", "bcrt"][i % 3] as string;
      expect(segwitAddress(hrp, version, prog, 0, len)).toBe(
        enc.encode(hrp, [version, ...enc.toWords(prog)]),
      );
    }
  });
});

describe("classification edge cases", () => {
  const cls = (hex: string) => {
    const b = Buffer.from(hex, "hex");
    return classifyScript(b, 0, b.length);
  };
  it("P2PK needs a validly sized key", () => {
    expect(cls(`21${"02".padEnd(66, "1")}ac`)).toBe("p2pk");
    expect(cls(`21${"04".padEnd(66, "1")}ac`)).toBe("nonstandard");
    expect(cls(`41${"04".padEnd(130, "1")}ac`)).toBe("p2pk");
    expect(cls(`41${"05".padEnd(130, "1")}ac`)).toBe("nonstandard");
  });
  it("bare multisig needs m ≤ n = number of keys", () => {
    const k = `21${"03".padEnd(66, "a")}`;
    expect(cls(`51${k}${k}52ae`)).toBe("multisig");
    expect(cls(`53${k}${k}52ae`)).toBe("nonstandard");
    expect(cls(`51${k}${k}53ae`)).toBe("nonstandard");
    expect(cls(`51${k}52ae`)).toBe("nonstandard");
  });
  it("empty and OP_RETURN scripts", () => {
    expect(cls("")).toBe("nonstandard");
    expect(cls("6a")).toBe("nulldata");
    expect(cls("6a0401020304")).toBe("nulldata");
  });
});
