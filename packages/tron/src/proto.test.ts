import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fixturesDir } from "@chainscreen/testing";
import { describe, expect, it } from "vitest";
import { tronAddress } from "./address.js";
import { decodeTransaction, encodeTransaction, txIdOf } from "./proto.js";

const tx = JSON.parse(
  readFileSync(join(fixturesDir, "tron", "bitquery", "transactions.json"), "utf8"),
) as {
  Transaction_Data: string;
  Transaction_Hash: string;
  Transaction_Expiration: number;
  Transaction_Timestamp: number;
  Transaction_Signatures: string;
};

describe("decodeTransaction (mainnet fixture e122cba6…)", () => {
  const d = decodeTransaction(tx.Transaction_Data);

  it("computes the transaction id as sha256 of the original raw_data bytes", () => {
    expect(d.txID).toBe("e122cba603b48ee234807f91859a04dbc4728f1b215d5c9c05385733bca674bc");
    expect(d.txID).toBe(tx.Transaction_Hash);
    expect(txIdOf(Buffer.from(d.rawDataHex, "hex"))).toBe(d.txID);
  });

  it("decodes the TriggerSmartContract call to USDT transfer(to, 30401259)", () => {
    expect(d.contracts).toHaveLength(1);
    const c = d.contracts[0];
    expect(c?.type).toBe("TriggerSmartContract");
    expect(c?.typeUrl).toBe("type.googleapis.com/protocol.TriggerSmartContract");
    const v = c?.value ?? {};
    expect(tronAddress(String(v.owner_address))).toBe("TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF");
    expect(tronAddress(String(v.contract_address))).toBe("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
    const data = String(v.data);
    expect(data.slice(0, 8)).toBe("a9059cbb");
    expect(tronAddress(data.slice(8 + 24, 8 + 64))).toBe("TDii6vao7xyWg2rKPbCPWVRpSmne8xcqYx");
    expect(BigInt(`0x${data.slice(72)}`)).toBe(30401259n);
    expect(v.call_value).toBeUndefined();
  });

  it("reads times, fee limit, signature and the SUCCESS result", () => {
    expect(Math.floor(d.expiration / 1000)).toBe(tx.Transaction_Expiration);
    expect(Math.floor(d.timestamp / 1000)).toBe(tx.Transaction_Timestamp);
    expect(d.feeLimit).toBe(100_000_000); // 100 TRX in sun
    expect(d.signatures).toEqual(JSON.parse(tx.Transaction_Signatures));
    expect(d.contractRet).toEqual(["SUCCESS"]);
  });

  it("rejects bytes that are not a transaction", () => {
    expect(() => decodeTransaction("ffffffff")).toThrow(/does not decode|raw_data/);
    expect(() => decodeTransaction("")).toThrow(/raw_data/);
  });
});

describe("encodeTransaction", () => {
  it("round-trips TRX and TRC-10 contracts and keeps int64 amounts above 2^53 exact", () => {
    const owner = Buffer.from(`41${"11".repeat(20)}`, "hex");
    const to = Buffer.from(`41${"22".repeat(20)}`, "hex");
    const { bytes, raw } = encodeTransaction({
      contracts: [
        {
          type: "TransferContract",
          value: { owner_address: owner, to_address: to, amount: 1_000_000 },
        },
        {
          type: "TransferAssetContract",
          value: {
            asset_name: Buffer.from("1002000"),
            owner_address: owner,
            to_address: to,
            amount: 2n ** 60n,
          },
        },
      ],
      refBlockBytes: Buffer.from("abcd", "hex"),
      refBlockHash: Buffer.alloc(8, 1),
      expiration: 1_767_246_552_000,
      timestamp: 1_767_246_195_175,
      signatures: [Buffer.alloc(65, 7)],
      contractRet: ["SUCCESS"],
    });
    const d = decodeTransaction(bytes);
    expect(d.txID).toBe(txIdOf(raw));
    expect(d.contracts.map((c) => c.type)).toEqual(["TransferContract", "TransferAssetContract"]);
    expect(d.contracts[0]?.value).toMatchObject({
      amount: 1_000_000,
      to_address: to.toString("hex"),
    });
    expect(d.contracts[1]?.value?.amount).toBe((2n ** 60n).toString());
    expect(Buffer.from(String(d.contracts[1]?.value?.asset_name), "hex").toString()).toBe(
      "1002000",
    );
  });
});
