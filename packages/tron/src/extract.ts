import { TransientError, ValidationError } from "@chainscreen/errors";
import { type TransferKind, type TransferV1, transferId } from "@chainscreen/schema";
import { tronAddress } from "./address.js";
import type { BlockRef, ChainBlock } from "./block-source.js";
import { txIdOf } from "./proto.js";
import { type TokenInfo, type TokenRegistry, TRX } from "./tokens.js";
import type { TgBlock, TgContract, TgTransaction, TgTxInfo } from "./trongrid.js";

/** keccak256("Transfer(address,address,uint256)"), the ERC-20/TRC-20 Transfer event topic. */
export const TRANSFER_TOPIC = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
const ZERO_ADDR_HEX = "0".repeat(40);

/** Options for {@link extractBlock}. */
export interface ExtractOptions {
  tokens: TokenRegistry;
  /** Endpoint or node that served the block (goes into `source`). */
  source: string;
  /** Clock for `observedAt` (ms). */
  now?: () => number;
  /** Recompute every txID as sha256(raw_data_hex) and reject the block on mismatch. */
  verifyTxIds?: boolean;
}

/** Reads the block reference (number, hash, parent, ms time) of a TronGrid block. */
export function blockRefOf(block: TgBlock): BlockRef {
  const raw = block.block_header.raw_data;
  // The first 8 bytes of a Tron block id are its number; use them when the header omits it (genesis).
  const number = raw.number ?? Number.parseInt(block.blockID.slice(0, 16), 16);
  return {
    number,
    hash: block.blockID.toLowerCase(),
    parentHash: (raw.parentHash ?? "0".repeat(64)).toLowerCase(),
    timestamp: raw.timestamp ?? 0,
  };
}

function uint(v: unknown): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === "string" && /^\d+$/.test(v)) return BigInt(v);
  if (v === undefined) return 0n;
  throw new ValidationError("expected a non-negative integer amount");
}

function addr(v: unknown, what: string): string {
  if (typeof v !== "string") throw new ValidationError("missing address", { context: { what } });
  return tronAddress(v);
}

function hexToUtf8(h: string): string {
  return Buffer.from(h, "hex").toString("utf8");
}

type Asset = { contract: string | null } & TokenInfo;
interface TxBase {
  txHash: string;
  fee: string;
  ref: BlockRef;
  source: string;
  observedAt: number;
}

function emit(
  out: TransferV1[],
  b: TxBase,
  kind: TransferKind,
  index: string,
  from: string,
  to: string,
  amount: bigint,
  asset: Asset,
): void {
  if (amount <= 0n) return;
  out.push({
    type: "transfer.v1",
    id: transferId("tron", b.txHash, kind, index),
    chain: "tron",
    kind,
    txHash: b.txHash,
    index,
    blockNumber: b.ref.number,
    blockHash: b.ref.hash,
    timestamp: b.ref.timestamp,
    from,
    to,
    asset: { symbol: asset.symbol, contract: asset.contract, decimals: asset.decimals },
    amount: amount.toString(),
    fee: b.fee,
    status: "confirmed",
    source: b.source,
    observedAt: b.observedAt,
  });
}

/** True when a transaction executed successfully (failed ones move no value and are skipped). */
export function succeeded(tx: TgTransaction, info: TgTxInfo | undefined): boolean {
  const ret = tx.ret?.[0]?.contractRet;
  if (ret !== undefined && ret !== "SUCCESS") return false;
  if (info?.result === "FAILED") return false;
  const receipt = info?.receipt?.result;
  return receipt === undefined || receipt === "SUCCESS";
}

/**
 * Turns a block from getblockbynum plus its gettransactioninfobyblocknum entries into transfer.v1
 * events: TRX (TransferContract, TriggerSmartContract call_value), TRC-10 (TransferAssetContract,
 * call_token_value), TRC-20 Transfer logs and internal transactions with value. Failed transactions
 * yield nothing. Index scheme inside a transaction (unique per kind):
 *   native   `<contract index>`          token TRC-10 `trc10:<contract index>`
 *   token    `<log index>` (TRC-20)      internal `<internal tx index>:<callValueInfo index>`
 */
export function extractBlock(block: TgBlock, infos: TgTxInfo[], opts: ExtractOptions): ChainBlock {
  const ref = blockRefOf(block);
  const txs = block.transactions ?? [];
  const infoById = new Map<string, TgTxInfo>();
  for (const i of infos) infoById.set(i.id.toLowerCase(), i);
  // Both calls must describe the same block: a mismatch means the node answered from different
  // forks (a reorg between the two requests) or is still indexing — retry, never emit half a block.
  if (infos.length !== txs.length) {
    throw new TransientError("transaction infos do not match block", {
      context: { block: ref.number, txs: txs.length, infos: infos.length },
    });
  }
  const observedAt = (opts.now ?? Date.now)();
  const out: TransferV1[] = [];
  for (const tx of txs) {
    const txHash = tx.txID.toLowerCase();
    if (opts.verifyTxIds && txIdOf(Buffer.from(tx.raw_data_hex, "hex")) !== txHash) {
      throw new ValidationError("txID is not sha256(raw_data)", {
        context: { block: ref.number, txID: txHash },
      });
    }
    const info = infoById.get(txHash);
    if (!info) {
      throw new TransientError("transaction info missing for transaction", {
        context: { block: ref.number, txID: txHash },
      });
    }
    if (!succeeded(tx, info)) continue;
    const fee = info.fee === undefined ? "0" : uint(info.fee).toString();
    const base: TxBase = { txHash, fee, ref, source: opts.source, observedAt };
    tx.raw_data.contract.forEach((c: TgContract, ci: number) => {
      const v = c.parameter.value;
      switch (c.type) {
        case "TransferContract":
          emit(
            out,
            base,
            "native",
            String(ci),
            addr(v.owner_address, "owner"),
            addr(v.to_address, "to"),
            uint(v.amount),
            {
              contract: null,
              ...TRX,
            },
          );
          break;
        case "TransferAssetContract": {
          // asset_name is the hex of the asset id string (e.g. "1002000") since same-name assets were
          // allowed; very old transactions carry the asset's name instead.
          const id = hexToUtf8(String(v.asset_name ?? ""));
          emit(
            out,
            base,
            "token",
            `trc10:${ci}`,
            addr(v.owner_address, "owner"),
            addr(v.to_address, "to"),
            uint(v.amount),
            {
              contract: id,
              ...opts.tokens.trc10Info(id),
            },
          );
          break;
        }
        case "TriggerSmartContract": {
          const from = addr(v.owner_address, "owner");
          const to = addr(v.contract_address, "contract");
          emit(out, base, "native", String(ci), from, to, uint(v.call_value), {
            contract: null,
            ...TRX,
          });
          if (v.token_id !== undefined) {
            const id = uint(v.token_id).toString();
            emit(out, base, "token", `trc10:${ci}`, from, to, uint(v.call_token_value), {
              contract: id,
              ...opts.tokens.trc10Info(id),
            });
          }
          break;
        }
        default:
          break;
      }
    });
    (info.log ?? []).forEach((log, li) => {
      const t = log.topics;
      // ERC-721-style Transfer has 4 topics (tokenId indexed): not a fungible amount, skip.
      if (t?.length !== 3 || t[0]?.toLowerCase() !== TRANSFER_TOPIC) return;
      const data = log.data ?? "";
      if (data.length !== 64 || !log.address) return;
      const fromHex = (t[1] ?? "").slice(-40);
      const toHex = (t[2] ?? "").slice(-40);
      if (fromHex.length !== 40 || toHex.length !== 40) return;
      const contract = tronAddress(log.address);
      // Mints and burns move value from/to the zero account; keep them with the zero address.
      emit(
        out,
        base,
        "token",
        String(li),
        tronAddress(fromHex),
        tronAddress(toHex),
        BigInt(`0x${data}`),
        {
          contract,
          ...opts.tokens.trc20Info(contract),
        },
      );
    });
    (info.internal_transactions ?? []).forEach((itx, ii) => {
      if (itx.rejected) return;
      (itx.callValueInfo ?? []).forEach((cv, j) => {
        const amount = uint(cv.callValue);
        const from = addr(itx.caller_address, "caller");
        const to = addr(itx.transferTo_address, "transferTo");
        const asset = cv.tokenId
          ? { contract: cv.tokenId, ...opts.tokens.trc10Info(cv.tokenId) }
          : { contract: null, ...TRX };
        emit(out, base, "internal", `${ii}:${j}`, from, to, amount, asset);
      });
    });
  }
  return { ref, transfers: out };
}

/** The zero account (mint/burn counterparty) in canonical form. */
export const TRON_ZERO_ADDRESS = tronAddress(ZERO_ADDR_HEX);
