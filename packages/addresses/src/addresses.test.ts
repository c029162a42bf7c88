import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { address as btcAddress, networks, script } from "bitcoinjs-lib";
import { describe, expect, it } from "vitest";
import {
  type BitcoinNetworkName,
  base58Decode,
  base58Encode,
  bitcoinOutputScript,
  canonicalize,
  chainFamily,
  familyByShape,
  familyForCode,
  InvalidAddressError,
  tronBase58ToHex,
  tronHexToBase58,
  tryCanonicalize,
} from "./index.js";

const fixtures = resolve(import.meta.dirname, "../../../../shared/fixtures");
const lists = join(fixtures, "sanctions/ofac-0xB10C-lists-2024-09-27");

interface AddressFixtures {
  standard: Array<{
    network: string;
    base58check?: string;
    bech32?: string;
    script: string;
  }>;
  invalid: { toOutputScript: Array<{ address: string; network?: unknown; exception: string }> };
}
const btc = JSON.parse(
  readFileSync(join(fixtures, "bitcoin/bitcoinjs-lib/address.json"), "utf8"),
) as AddressFixtures;

const netName = (n: string): BitcoinNetworkName | null =>
  n === "bitcoin" ? "mainnet" : n === "testnet" ? "testnet" : n === "regtest" ? "regtest" : null;

describe("evm", () => {
  const checksummed = "0x01e2919679362dFBC9ee1644Ba9C6da6D6245BB1"; // from the OFAC ETH list
  it("canonical form is lowercase for checksummed, lowercase and uppercase input", () => {
    const lower = checksummed.toLowerCase();
    expect(canonicalize("evm", checksummed)).toBe(lower);
    expect(canonicalize("evm", lower)).toBe(lower);
    expect(canonicalize("evm", `0x${lower.slice(2).toUpperCase()}`)).toBe(lower);
  });
  it("rejects mixed case with a bad EIP-55 checksum", () => {
    const bad = `${checksummed.slice(0, -1)}b`;
    expect(() => canonicalize("evm", bad)).toThrow(InvalidAddressError);
    expect(() => canonicalize("evm", bad)).toThrow(/EIP-55/);
  });
  it("rejects wrong length or missing prefix", () => {
    expect(() => canonicalize("evm", "0x1234")).toThrow(/40 hex/);
    expect(() => canonicalize("evm", checksummed.slice(2))).toThrow(/0x/);
  });
});

describe("bitcoin (bitcoinjs-lib address.json fixtures)", () => {
  const cases = btc.standard.filter((f) => netName(f.network) !== null);
  it("has fixtures to check", () => expect(cases.length).toBeGreaterThan(8));
  it.each(cases.map((f) => [f.base58check ?? f.bech32, f] as const))("round-trips %s", (_, f) => {
    const net = netName(f.network) as BitcoinNetworkName;
    const input = (f.base58check ?? f.bech32) as string;
    const canon = canonicalize("bitcoin", input, { bitcoinNetwork: net });
    expect(canon).toBe(f.base58check ?? (f.bech32 as string).toLowerCase());
    const netObj =
      net === "mainnet"
        ? networks.bitcoin
        : net === "testnet"
          ? networks.testnet
          : networks.regtest;
    const out = bitcoinOutputScript(canon, net);
    expect(script.toASM(out)).toBe(f.script);
    // fromOutputScript needs an ECC library for taproot; encode witness v1 directly instead.
    const back =
      out[0] === 0x51
        ? btcAddress.toBech32(out.subarray(2), 1, netObj.bech32)
        : btcAddress.fromOutputScript(out, netObj);
    expect(back.toLowerCase()).toBe(canon.toLowerCase());
  });
  it("rejects every invalid toOutputScript fixture on its network", () => {
    const plain = btc.invalid.toOutputScript.filter((f) => f.network === undefined);
    expect(plain.length).toBeGreaterThan(5);
    for (const f of plain) {
      expect(tryCanonicalize("bitcoin", f.address).ok, f.address).toBe(false);
    }
  });
  it("rejects a testnet address on mainnet with a clear reason", () => {
    expect(() => canonicalize("bitcoin", "mrCDrCybB6J1vRfbwM5hemdJz73FwDBC8r")).toThrow(/mainnet/);
  });
  it("litecoin fixtures validate as litecoin", () => {
    for (const f of btc.standard.filter((x) => x.network === "litecoin")) {
      const a = (f.base58check ?? f.bech32) as string;
      expect(canonicalize("litecoin", a)).toBe(f.base58check ?? a.toLowerCase());
    }
  });
});

describe("tron", () => {
  // Real pairs from the bitquery USDT-TRC20 fixture (tx e122cba6…).
  const pairs: Array<[string, string]> = [
    ["41db5f3f3a9798f3d1f89b2f12b6acda2fb3c91f80", "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF"],
    ["4129228e5d382b7a2c2a0dbc05e6d6507f4dbb3bbe", "TDii6vao7xyWg2rKPbCPWVRpSmne8xcqYx"],
    ["41a614f803b6fd780986a42c78ec9c7f77e6ded13c", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"],
  ];
  it.each(pairs)("%s <-> %s", (hex, b58) => {
    expect(tronHexToBase58(hex)).toBe(b58);
    expect(tronHexToBase58(hex.slice(2))).toBe(b58); // bare 20 bytes, as in event topics
    expect(tronHexToBase58(`0x${hex.slice(2)}`)).toBe(b58);
    expect(tronBase58ToHex(b58)).toBe(hex);
    expect(canonicalize("tron", b58)).toBe(b58);
    expect(canonicalize("tron", hex)).toBe(b58);
  });
  it("rejects a bad checksum", () => {
    expect(() => canonicalize("tron", "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFG")).toThrow(/checksum/);
  });
});

describe("base58", () => {
  it("encode/decode round-trip with leading zeros", () => {
    const b = Uint8Array.from([0, 0, 1, 2, 255, 128]);
    expect(base58Decode(base58Encode(b))).toEqual(b);
    expect(base58Decode("0OIl")).toBeNull();
  });
});

describe("OFAC codes", () => {
  it("fixed families", () => {
    expect(familyForCode("XBT", "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH").family).toBe("bitcoin");
    for (const c of ["ETH", "ETC", "ARB", "BSC", "BNB"]) {
      expect(familyForCode(c, "0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c").family).toBe("evm");
    }
    expect(familyForCode("TRX", "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre").family).toBe("tron");
  });
  it("USDT by shape", () => {
    expect(familyForCode("USDT", "0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff").family).toBe("evm");
    expect(familyForCode("USDT", "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF").family).toBe("tron");
    expect(familyForCode("USDT", "1CF46Rfbp97absrs7zb7dFfZS6qBXUm9EP").family).toBe("bitcoin");
  });
  it("unknown codes: by unambiguous shape, else unknown; always reported as unknown code", () => {
    const evm = familyForCode("FOO", "0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff");
    expect(evm).toEqual({ family: "evm", by: "shape", knownCode: false });
    expect(familyForCode("FOO", "1CF46Rfbp97absrs7zb7dFfZS6qBXUm9EP")).toEqual({
      family: "unknown",
      by: "none",
      knownCode: false,
    });
    expect(familyByShape("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")).toBe("bitcoin");
  });
  it("every address of the 2024-09-27 per-code lists canonicalises in its family but one", () => {
    let n = 0;
    const invalid: string[] = [];
    for (const file of readdirSync(lists).filter((f) => f.endsWith(".txt"))) {
      const code = (/sanctioned_addresses_(\w+)\.txt/.exec(file) as RegExpExecArray)[1] as string;
      for (const a of readFileSync(join(lists, file), "utf8").split("\n").filter(Boolean)) {
        const { family } = familyForCode(code, a);
        expect(family, `${code} ${a}`).not.toBe("unknown");
        if (!tryCanonicalize(family, a).ok) invalid.push(`${code} ${a}`);
        n++;
      }
    }
    expect(n).toBe(654);
    // OFAC lists one Tron address under XBT; it is a valid Tron address by shape.
    expect(invalid).toEqual(["XBT TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"]);
    expect(familyByShape("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq")).toBe("tron");
  });
});

describe("other families", () => {
  it("solana: 32 bytes of base58 (system program id)", () => {
    expect(canonicalize("solana", "11111111111111111111111111111111")).toBe(
      "11111111111111111111111111111111",
    );
    expect(() => canonicalize("solana", "1111")).toThrow(/32 bytes/);
  });
  it("bitcoin cash: CashAddr checksum, prefix optional, lowercase canonical", () => {
    const a = "qzjv8hrdvz6edu4gkzpnd4w6jc7zf296g5e9kkq4lx"; // from the OFAC BCH list
    expect(canonicalize("bitcoin-cash", `bitcoincash:${a}`)).toBe(a);
    expect(canonicalize("bitcoin-cash", a.toUpperCase())).toBe(a);
    expect(() => canonicalize("bitcoin-cash", `${a.slice(0, -1)}y`)).toThrow(/CashAddr/);
  });
  it("zcash: transparent checked, shielded kept opaque, junk rejected", () => {
    expect(() => canonicalize("zcash", "12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h")).toThrow(/zcash/);
  });
  it("unknown family keeps printable strings only", () => {
    expect(canonicalize("unknown", " abc ")).toBe("abc");
    expect(() => canonicalize("unknown", "a b")).toThrow(/printable/);
  });
});

describe("chainFamily", () => {
  it("maps chains to families", () => {
    for (const c of ["ethereum", "bsc", "polygon", "arbitrum", "base", "optimism", "avalanche"]) {
      expect(chainFamily(c)).toBe("evm");
    }
    expect(chainFamily("bitcoin")).toBe("bitcoin");
    expect(chainFamily("tron")).toBe("tron");
    expect(chainFamily("Ethereum")).toBe("evm");
    expect(chainFamily("nochain")).toBeNull();
  });
});
