import { hash } from "node:crypto";
import { ValidationError } from "@chainscreen/errors";
import protobuf from "protobufjs/light.js";

// Minimal subset of Tron's published protobuf definitions (core/Tron.proto and
// core/contract/{balance,asset_issue,smart}_contract.proto of tronprotocol/protocol): only the
// messages needed to read a signed transaction and the three value-moving contracts. Field numbers
// and enum values are the published ones; fields not listed here are skipped by the decoder and
// never re-encoded, so this subset must not be used to re-serialise third-party transactions
// (the transaction id is always computed over the original raw_data bytes, see decodeTransaction).

/** The three value-moving contract types this package decodes. */
export const DECODED_CONTRACTS = [
  "TransferContract",
  "TransferAssetContract",
  "TriggerSmartContract",
] as const;
/** Name of a contract type this package decodes. */
export type DecodedContractName = (typeof DECODED_CONTRACTS)[number];

/** A field of a contract parameter message: name, protobuf type, field number. */
type ParamField = readonly [name: string, type: "bytes" | "int64", id: number];

// Parameter messages of the value-moving contracts, one table for the descriptor and the decoder.
// Fields are listed in the order TronGrid prints them, which is the key order of a decoded
// parameter; the wire order follows the field numbers.
const PARAM_FIELDS: Record<DecodedContractName, readonly ParamField[]> = {
  TransferContract: [
    ["amount", "int64", 3],
    ["owner_address", "bytes", 1],
    ["to_address", "bytes", 2],
  ],
  TransferAssetContract: [
    ["amount", "int64", 4],
    ["asset_name", "bytes", 1],
    ["owner_address", "bytes", 2],
    ["to_address", "bytes", 3],
  ],
  TriggerSmartContract: [
    ["data", "bytes", 4],
    ["owner_address", "bytes", 1],
    ["contract_address", "bytes", 2],
    ["call_value", "int64", 3],
    ["call_token_value", "int64", 5],
    ["token_id", "int64", 6],
  ],
};

const descriptor = {
  nested: {
    protocol: {
      nested: {
        // Wire-identical to google.protobuf.Any; named locally so protobufjs applies no Any magic.
        AnyValue: {
          fields: { type_url: { type: "string", id: 1 }, value: { type: "bytes", id: 2 } },
        },
        Transaction: {
          fields: {
            raw_data: { type: "raw", id: 1 },
            signature: { rule: "repeated", type: "bytes", id: 2 },
            ret: { rule: "repeated", type: "Result", id: 5 },
          },
          nested: {
            Contract: {
              fields: {
                type: { type: "ContractType", id: 1 },
                parameter: { type: "AnyValue", id: 2 },
                provider: { type: "bytes", id: 3 },
                ContractName: { type: "bytes", id: 4 },
                Permission_id: { type: "int32", id: 5 },
              },
              nested: {
                ContractType: {
                  values: {
                    AccountCreateContract: 0,
                    TransferContract: 1,
                    TransferAssetContract: 2,
                    VoteAssetContract: 3,
                    VoteWitnessContract: 4,
                    WitnessCreateContract: 5,
                    AssetIssueContract: 6,
                    WitnessUpdateContract: 8,
                    ParticipateAssetIssueContract: 9,
                    AccountUpdateContract: 10,
                    FreezeBalanceContract: 11,
                    UnfreezeBalanceContract: 12,
                    WithdrawBalanceContract: 13,
                    UnfreezeAssetContract: 14,
                    UpdateAssetContract: 15,
                    ProposalCreateContract: 16,
                    ProposalApproveContract: 17,
                    ProposalDeleteContract: 18,
                    SetAccountIdContract: 19,
                    CustomContract: 20,
                    CreateSmartContract: 30,
                    TriggerSmartContract: 31,
                    GetContract: 32,
                    UpdateSettingContract: 33,
                    ExchangeCreateContract: 41,
                    ExchangeInjectContract: 42,
                    ExchangeWithdrawContract: 43,
                    ExchangeTransactionContract: 44,
                    UpdateEnergyLimitContract: 45,
                    AccountPermissionUpdateContract: 46,
                    ClearABIContract: 48,
                    UpdateBrokerageContract: 49,
                    ShieldedTransferContract: 51,
                    MarketSellAssetContract: 52,
                    MarketCancelOrderContract: 53,
                    FreezeBalanceV2Contract: 54,
                    UnfreezeBalanceV2Contract: 55,
                    WithdrawExpireUnfreezeContract: 56,
                    DelegateResourceContract: 57,
                    UnDelegateResourceContract: 58,
                    CancelAllUnfreezeV2Contract: 59,
                  },
                },
              },
            },
            Result: {
              fields: {
                fee: { type: "int64", id: 1 },
                ret: { type: "code", id: 2 },
                contractRet: { type: "contractResult", id: 3 },
              },
              nested: {
                code: { values: { SUCESS: 0, FAILED: 1 } },
                contractResult: {
                  values: {
                    DEFAULT: 0,
                    SUCCESS: 1,
                    REVERT: 2,
                    BAD_JUMP_DESTINATION: 3,
                    OUT_OF_MEMORY: 4,
                    PRECOMPILED_CONTRACT: 5,
                    STACK_TOO_SMALL: 6,
                    STACK_TOO_LARGE: 7,
                    ILLEGAL_OPERATION: 8,
                    STACK_OVERFLOW: 9,
                    OUT_OF_ENERGY: 10,
                    OUT_OF_TIME: 11,
                    JVM_STACK_OVER_FLOW: 12,
                    UNKNOWN: 13,
                    TRANSFER_FAILED: 14,
                    INVALID_CODE: 15,
                  },
                },
              },
            },
            raw: {
              fields: {
                ref_block_bytes: { type: "bytes", id: 1 },
                ref_block_num: { type: "int64", id: 3 },
                ref_block_hash: { type: "bytes", id: 4 },
                expiration: { type: "int64", id: 8 },
                data: { type: "bytes", id: 10 },
                contract: { rule: "repeated", type: "Contract", id: 11 },
                scripts: { type: "bytes", id: 12 },
                timestamp: { type: "int64", id: 14 },
                fee_limit: { type: "int64", id: 18 },
              },
            },
          },
        },
        // The value-moving contracts' parameter messages, from the table above.
        ...Object.fromEntries(
          Object.entries(PARAM_FIELDS).map(([name, fields]) => [
            name,
            { fields: Object.fromEntries(fields.map(([f, type, id]) => [f, { type, id }])) },
          ]),
        ),
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);
const T = {
  Transaction: root.lookupType("protocol.Transaction"),
  raw: root.lookupType("protocol.Transaction.raw"),
};
const Param = Object.fromEntries(
  DECODED_CONTRACTS.map((name) => [name, root.lookupType(`protocol.${name}`)]),
) as Record<DecodedContractName, protobuf.Type>;
const isDecoded = (type: string): type is DecodedContractName =>
  (DECODED_CONTRACTS as readonly string[]).includes(type);
const ContractType = root.lookupEnum("protocol.Transaction.Contract.ContractType");
const ContractResult = root.lookupEnum("protocol.Transaction.Result.contractResult");

/** A contract parameter as TronGrid renders it (visible=false): bytes as hex, int64 as numbers. */
export type ContractValue = Record<string, string | number>;

/** One contract of a decoded transaction. */
export interface DecodedContract {
  /** ContractType name, or `Unknown<n>` for a value outside the published enum. */
  type: string;
  typeUrl: string;
  /** Decoded parameter for the three value-moving types; null for every other type. */
  value: ContractValue | null;
  /** Parameter bytes as hex (always present, also for types not decoded here). */
  valueHex: string;
  permissionId: number;
}

/** A signed Tron transaction decoded from its protobuf bytes. */
export interface DecodedTransaction {
  /** sha256 over the original raw_data bytes, lowercase hex. */
  txID: string;
  rawDataHex: string;
  refBlockBytes: string;
  refBlockHash: string;
  /** Milliseconds since epoch (Tron stores ms). */
  expiration: number;
  timestamp: number;
  feeLimit: number;
  dataHex: string;
  contracts: DecodedContract[];
  signatures: string[];
  /** contractRet names of the `ret` entries (empty for unsigned or unexecuted transactions). */
  contractRet: string[];
}

// protobufjs yields Long objects for int64 when the `long` package is present, numbers otherwise.
interface LongLike {
  toString(): string;
  toNumber(): number;
}
function int64(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === "number") return v;
  const n = (v as LongLike).toNumber();
  if (!Number.isSafeInteger(n)) {
    throw new ValidationError("int64 outside the safe integer range", {
      context: { value: (v as LongLike).toString() },
    });
  }
  return n;
}
function int64Str(v: unknown): string {
  if (v === undefined || v === null) return "0";
  return typeof v === "number" ? String(v) : (v as LongLike).toString();
}
function hex(b: unknown): string {
  return b instanceof Uint8Array ? Buffer.from(b).toString("hex") : "";
}

/** sha256 of the raw_data bytes, i.e. the transaction id, lowercase hex. */
export function txIdOf(rawData: Uint8Array): string {
  // crypto.hash (Node ≥ 20.12) is the one-shot form: no Hash object per transaction.
  return hash("sha256", rawData, "hex");
}

// Returns the exact bytes of field 1 (raw_data) of a serialised Transaction. The id is defined over
// these bytes as signed, so they must not be re-encoded (re-encoding drops unknown fields).
function rawDataBytes(tx: Uint8Array): Uint8Array {
  const r = protobuf.Reader.create(tx);
  let found: Uint8Array | undefined;
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) found = r.bytes();
    else r.skipType(wire);
  }
  if (!found) throw new ValidationError("transaction has no raw_data");
  return found;
}

function decodeParameter(type: string, value: Uint8Array): ContractValue | null {
  if (!isDecoded(type)) return null;
  // Large int64 amounts stay exact as decimal strings; TronGrid prints them as JSON numbers.
  const num = (v: unknown): number | string => {
    const s = int64Str(v);
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : s;
  };
  const m = Param[type].decode(value) as unknown as Record<string, unknown>;
  const out: ContractValue = {};
  for (const [name, kind] of PARAM_FIELDS[type]) {
    const v = kind === "int64" ? num(m[name]) : hex(m[name]);
    // proto3 JSON omits default values, as TronGrid does.
    if (v !== "" && v !== 0 && v !== "0") out[name] = v;
  }
  return out;
}

/** Decodes a signed (or unsigned) Tron transaction from protobuf bytes or hex. */
export function decodeTransaction(input: Uint8Array | string): DecodedTransaction {
  const bytes = typeof input === "string" ? Buffer.from(input, "hex") : input;
  let raw: Uint8Array;
  let tx: Record<string, unknown>;
  let rd: Record<string, unknown>;
  try {
    raw = rawDataBytes(bytes);
    tx = T.Transaction.decode(bytes) as unknown as Record<string, unknown>;
    rd = T.raw.decode(raw) as unknown as Record<string, unknown>;
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError("transaction protobuf does not decode", { cause: err });
  }
  const contracts = ((rd.contract as Record<string, unknown>[] | undefined) ?? []).map((c) => {
    const typeNum = (c.type as number | undefined) ?? 0;
    const type = ContractType.valuesById[typeNum] ?? `Unknown${typeNum}`;
    const param = (c.parameter as Record<string, unknown> | undefined) ?? {};
    const value = (param.value as Uint8Array | undefined) ?? new Uint8Array();
    return {
      type,
      typeUrl: (param.type_url as string | undefined) ?? "",
      value: decodeParameter(type, value),
      valueHex: hex(value),
      permissionId: (c.Permission_id as number | undefined) ?? 0,
    };
  });
  const ret = (tx.ret as Record<string, unknown>[] | undefined) ?? [];
  return {
    txID: txIdOf(raw),
    rawDataHex: hex(raw),
    refBlockBytes: hex(rd.ref_block_bytes),
    refBlockHash: hex(rd.ref_block_hash),
    expiration: int64(rd.expiration),
    timestamp: int64(rd.timestamp),
    feeLimit: int64(rd.fee_limit),
    dataHex: hex(rd.data),
    contracts,
    signatures: ((tx.signature as Uint8Array[] | undefined) ?? []).map(hex),
    contractRet: ret.map(
      (r) => ContractResult.valuesById[(r.contractRet as number | undefined) ?? 0] ?? "UNKNOWN",
    ),
  };
}

/** Input for {@link encodeTransaction}: one value-moving contract per entry. */
export interface TransactionInput {
  contracts: { type: DecodedContractName; value: Record<string, Uint8Array | number | bigint> }[];
  refBlockBytes: Uint8Array;
  refBlockHash: Uint8Array;
  expiration: number;
  timestamp: number;
  feeLimit?: number;
  signatures: Uint8Array[];
  /** contractRet name per contract, e.g. SUCCESS or REVERT. */
  contractRet: string[];
}

function toLongish(v: Uint8Array | number | bigint): Uint8Array | number | string {
  return typeof v === "bigint" ? v.toString() : v;
}

/**
 * Serialises a transaction with the subset above (used to build synthetic test blocks whose ids and
 * raw_data_hex are consistent the same way mainnet's are). Returns the full bytes and the raw_data bytes.
 */
export function encodeTransaction(input: TransactionInput): { bytes: Uint8Array; raw: Uint8Array } {
  const contract = input.contracts.map((c) => {
    const Type = Param[c.type];
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(c.value)) fields[k] = toLongish(v);
    const value = Type.encode(Type.fromObject(fields)).finish();
    return {
      type: ContractType.values[c.type],
      parameter: { type_url: `type.googleapis.com/protocol.${c.type}`, value },
    };
  });
  const rawMsg = T.raw.fromObject({
    ref_block_bytes: input.refBlockBytes,
    ref_block_hash: input.refBlockHash,
    expiration: input.expiration,
    timestamp: input.timestamp,
    fee_limit: input.feeLimit ?? 0,
    contract,
  });
  const raw = T.raw.encode(rawMsg).finish();
  const tx = T.Transaction.fromObject({
    raw_data: rawMsg,
    signature: input.signatures,
    ret: input.contractRet.map((name) => ({ contractRet: ContractResult.values[name] ?? 0 })),
  });
  return { bytes: T.Transaction.encode(tx).finish(), raw };
}
