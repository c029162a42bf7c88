import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tronBase58ToHex } from "@chainscreen/addresses";
import { fixturesDir } from "@chainscreen/testing";
import { type DecodedTransaction, decodeTransaction, encodeTransaction } from "@chainscreen/tron";

// A Tron chain model for the test server: real mainnet block 78861100 with its USDT transaction
// (from ../shared/fixtures/tron/bitquery) plus synthetic blocks. Everything is rendered in the JSON
// shape java-tron's HTTP API (TronGrid) returns with visible=false: 41-prefixed hex addresses,
// bytes as hex, times in ms, default (zero) fields omitted. Synthetic transactions are real
// protobuf encodings, so their txID is sha256(raw_data) exactly as on mainnet.

const sha256 = (s: string | Uint8Array) => createHash("sha256").update(s).digest();

/** JSON object as served. */
export type Json = Record<string, unknown>;

/** One block as the server renders it, with its transaction infos. */
export interface ServedBlock {
  number: number;
  hash: string;
  parentHash: string;
  timestamp: number;
  block: Json;
  infos: Json[];
  /** Pre-rendered bodies (the server answers thousands of requests per second in the bench). */
  blockJson: string;
  infosJson: string;
}

/** A synthetic account: 41-hex address derived from a label. */
export function account(label: string): string {
  return `41${sha256(`account:${label}`).subarray(0, 20).toString("hex")}`;
}

/** 41-hex of a base58 `T…` address. */
export const hexOf = (t: string) => tronBase58ToHex(t);

/** A transaction to put into a synthetic block. */
export type TxSpec =
  | { kind: "trx"; from: string; to: string; amount: number | bigint; failed?: boolean }
  | { kind: "trc10"; from: string; to: string; assetId: string; amount: number | bigint }
  | {
      kind: "trc20";
      from: string;
      token: string;
      to: string;
      amount: bigint;
      /** Reverted: no log, ret REVERT, info result FAILED. */
      failed?: boolean;
    }
  | {
      kind: "call";
      from: string;
      contract: string;
      callValue: number;
      internal: { from: string; to: string; value: number; tokenId?: string; rejected?: boolean }[];
      failed?: boolean;
    };

const TRANSFER_TOPIC = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
const pad32 = (hex: string) => hex.padStart(64, "0");
const strip41 = (h: string) => (h.length === 42 ? h.slice(2) : h);

/** TronGrid JSON of a decoded transaction (what getblockbynum lists under `transactions`). */
export function renderTransaction(d: DecodedTransaction): Json {
  const raw: Json = {
    contract: d.contracts.map((c) => ({
      parameter: { value: c.value ?? {}, type_url: c.typeUrl },
      type: c.type,
      ...(c.permissionId ? { Permission_id: c.permissionId } : {}),
    })),
    ref_block_bytes: d.refBlockBytes,
    ref_block_hash: d.refBlockHash,
    expiration: d.expiration,
  };
  if (d.feeLimit) raw.fee_limit = d.feeLimit;
  raw.timestamp = d.timestamp;
  return {
    ret: d.contractRet.map((r) => ({ contractRet: r })),
    signature: d.signatures,
    txID: d.txID,
    raw_data: raw,
    raw_data_hex: d.rawDataHex,
  };
}

function buildTx(
  spec: TxSpec,
  salt: string,
  timestamp: number,
): { tx: Json; info: (b: ServedBlockBase) => Json } {
  const sig = sha256(`sig:${salt}`);
  const sig65 = Buffer.concat([sig, sha256(sig), Buffer.from([0])]);
  const bytes = (h: string) => Buffer.from(h, "hex");
  let contracts: Parameters<typeof encodeTransaction>[0]["contracts"];
  const failed = "failed" in spec && spec.failed === true;
  switch (spec.kind) {
    case "trx":
      contracts = [
        {
          type: "TransferContract",
          value: {
            owner_address: bytes(spec.from),
            to_address: bytes(spec.to),
            amount: spec.amount,
          },
        },
      ];
      break;
    case "trc10":
      contracts = [
        {
          type: "TransferAssetContract",
          value: {
            asset_name: Buffer.from(spec.assetId, "utf8"),
            owner_address: bytes(spec.from),
            to_address: bytes(spec.to),
            amount: spec.amount,
          },
        },
      ];
      break;
    case "trc20":
      contracts = [
        {
          type: "TriggerSmartContract",
          value: {
            owner_address: bytes(spec.from),
            contract_address: bytes(spec.token),
            data: bytes(`a9059cbb${pad32(strip41(spec.to))}${pad32(spec.amount.toString(16))}`),
          },
        },
      ];
      break;
    case "call":
      contracts = [
        {
          type: "TriggerSmartContract",
          value: {
            owner_address: bytes(spec.from),
            contract_address: bytes(spec.contract),
            call_value: spec.callValue,
            data: bytes("d0e30db0"),
          },
        },
      ];
      break;
  }
  const ret = failed ? (spec.kind === "trx" ? "DEFAULT" : "REVERT") : "SUCCESS";
  const enc = encodeTransaction({
    contracts,
    refBlockBytes: sha256(`ref:${salt}`).subarray(0, 2),
    refBlockHash: sha256(`refh:${salt}`).subarray(0, 8),
    expiration: timestamp + 60_000,
    timestamp: timestamp - 3000,
    feeLimit: spec.kind === "trc20" || spec.kind === "call" ? 100_000_000 : 0,
    signatures: [sig65],
    contractRet: [ret],
  });
  const d = decodeTransaction(enc.bytes);
  const tx = renderTransaction(d);
  const info = (b: ServedBlockBase): Json => {
    const base: Json = {
      id: d.txID,
      blockNumber: b.number,
      blockTimeStamp: b.timestamp,
      contractResult: [""],
    };
    if (spec.kind === "trx" || spec.kind === "trc10") {
      return { ...base, receipt: { net_usage: 268 } };
    }
    const contract = spec.kind === "trc20" ? spec.token : spec.contract;
    const out: Json = {
      ...base,
      fee: 345000,
      contract_address: contract,
      receipt: { energy_usage_total: 64285, net_usage: 345, result: failed ? "REVERT" : "SUCCESS" },
    };
    if (failed) {
      out.result = "FAILED";
      out.resMessage = Buffer.from("REVERT opcode executed").toString("hex");
      return out;
    }
    if (spec.kind === "trc20") {
      out.contractResult = [pad32("1")];
      out.log = [
        {
          address: strip41(spec.token),
          topics: [TRANSFER_TOPIC, pad32(strip41(spec.from)), pad32(strip41(spec.to))],
          data: pad32(spec.amount.toString(16)),
        },
      ];
    } else {
      out.internal_transactions = spec.internal.map((it, i) => ({
        hash: sha256(`itx:${salt}:${i}`).toString("hex"),
        caller_address: it.from,
        transferTo_address: it.to,
        callValueInfo: [
          it.tokenId ? { tokenId: it.tokenId, callValue: it.value } : { callValue: it.value },
        ],
        note: Buffer.from("call").toString("hex"),
        ...(it.rejected ? { rejected: true } : {}),
      }));
    }
    return out;
  };
  return { tx, info };
}

// java-tron prints int64 as bare JSON numbers, also above 2^53; the renderer keeps such amounts as
// strings internally, so unquote them the way the node would print them.
function javaJson(v: unknown): string {
  return JSON.stringify(v).replace(
    /"(amount|call_value|call_token_value|callValue)":"(\d+)"/g,
    '"$1":$2',
  );
}

interface ServedBlockBase {
  number: number;
  timestamp: number;
}

function finish(
  number: number,
  hash: string,
  parentHash: string,
  timestamp: number,
  witness: string,
  txs: Json[],
  infos: Json[],
  extra: { txTrieRoot?: string; witness_signature?: string } = {},
): ServedBlock {
  const block: Json = {
    blockID: hash,
    block_header: {
      raw_data: {
        number,
        txTrieRoot: extra.txTrieRoot ?? sha256(`trie:${hash}`).toString("hex"),
        witness_address: witness,
        parentHash,
        version: 32,
        timestamp,
      },
      witness_signature: extra.witness_signature ?? sha256(`ws:${hash}`).toString("hex").repeat(2),
    },
  };
  // java-tron omits `transactions` for an empty block.
  if (txs.length > 0) block.transactions = txs;
  return {
    number,
    hash,
    parentHash,
    timestamp,
    block,
    infos,
    blockJson: javaJson(block),
    infosJson: javaJson(infos),
  };
}

/** The real mainnet block 78861100 with its one known transaction (the fixture USDT transfer). */
export function fixtureBlock(): ServedBlock {
  const dir = join(fixturesDir, "tron", "bitquery");
  const read = (f: string) => JSON.parse(readFileSync(join(dir, f), "utf8"));
  const [blk] = read("blocks.json") as Json[];
  const txRow = read("transactions.json") as Json;
  const ev = read("events.json") as Json;
  if (!blk) throw new Error("fixture blocks.json is empty");
  const number = blk.Block_Number as number;
  const timestamp = (blk.Block_Time as number) * 1000;
  const d = decodeTransaction(txRow.Transaction_Data as string);
  const topics = JSON.parse(ev.Topics_Hash as string) as string[];
  const info: Json = {
    id: d.txID,
    blockNumber: number,
    blockTimeStamp: timestamp,
    contractResult: [""],
    contract_address: hexOf(txRow.Contract_Address as string),
    receipt: {
      origin_energy_usage: txRow.Transaction_Receipt_OriginEnergyUsage,
      energy_usage_total: txRow.Transaction_Receipt_EnergyUsageTotal,
      net_usage: txRow.Transaction_Receipt_NetUsage,
      result: txRow.Transaction_Receipt_Result,
      energy_penalty_total: txRow.Transaction_Receipt_EnergyPenaltyTotal,
    },
    log: [
      { address: hexOf(ev.LogHeader_Address as string).slice(2), topics, data: ev.LogHeader_Data },
    ],
  };
  return finish(
    number,
    blk.Block_Hash as string,
    blk.Block_ParentHash as string,
    timestamp,
    hexOf(blk.Witness_Address as string),
    [renderTransaction(d)],
    [info],
    {
      txTrieRoot: blk.Block_TxTrieRoot as string,
      witness_signature: blk.Witness_Signature as string,
    },
  );
}

/** Number of the fixture block. */
export const FIXTURE_BLOCK = 78861100;
/** Its time in ms. */
export const FIXTURE_TIME = 1767246213000;

/**
 * A canonical chain of served blocks with a head and a solidified pointer. Blocks are appended with
 * `add`; `reorg(n, …)` replaces block n and everything after it with a different branch.
 */
export class TronTestChain {
  readonly blocks = new Map<number, ServedBlock>();
  /** TRC-10 assets served by getassetissuebyid, by id. */
  readonly assets = new Map<string, { name: string; abbr: string; precision: number }>();
  /** TRC-20 contracts answering decimals()/symbol() via triggerconstantcontract, by 41-hex. */
  readonly contracts = new Map<
    string,
    { symbol: string; decimals: number; bytes32Symbol?: boolean }
  >();
  head = -1;
  solidified = -1;
  private salt = 0;

  constructor(readonly branch = "main") {}

  /** Appends the real fixture block (its parent hash is the real one; a prior block is made to match). */
  addFixture(): ServedBlock {
    const b = fixtureBlock();
    const prev = this.blocks.get(b.number - 1);
    if (prev && prev.hash !== b.parentHash)
      throw new Error("fixture block does not link to the previous block");
    this.put(b);
    return b;
  }

  /** Appends a synthetic block after the current head (or at `number` when the chain is empty). */
  add(txs: TxSpec[], opts: { number?: number; hash?: string; tag?: string } = {}): ServedBlock {
    const number = this.head >= 0 ? this.head + 1 : (opts.number ?? 1);
    const parent = this.blocks.get(number - 1);
    const parentHash =
      parent?.hash ??
      sha256(`parent:${number}`)
        .toString("hex")
        .replace(/^.{16}/, (number - 1).toString(16).padStart(16, "0"));
    // Mainnet produces a block every 3 s; align synthetic times on the fixture block's real time.
    const timestamp = parent
      ? parent.timestamp + 3000
      : FIXTURE_TIME - (FIXTURE_BLOCK - number) * 3000;
    const tag = `${this.branch}:${opts.tag ?? ""}:${number}:${this.salt++}`;
    const built = txs.map((s, i) => buildTx(s, `${tag}:${i}`, timestamp));
    const hash =
      opts.hash ??
      number.toString(16).padStart(16, "0") +
        sha256(`block:${tag}:${parentHash}`).toString("hex").slice(16);
    const base = { number, timestamp };
    const b = finish(
      number,
      hash,
      parentHash,
      timestamp,
      account("witness"),
      built.map((x) => x.tx),
      built.map((x) => x.info(base)),
    );
    this.put(b);
    return b;
  }

  /** Drops block n and everything above (the head moves to n − 1); used before re-adding a branch. */
  reorg(n: number): void {
    if (n <= this.solidified) throw new Error("cannot reorganise a solidified block");
    for (const k of [...this.blocks.keys()]) if (k >= n) this.blocks.delete(k);
    this.head = n - 1;
  }

  /** Marks blocks up to n solidified. */
  solidify(n: number): void {
    this.solidified = Math.min(n, this.head);
  }

  private put(b: ServedBlock): void {
    this.blocks.set(b.number, b);
    this.head = Math.max(this.head, b.number);
  }
}
