import { createHmac } from "node:crypto";
import { ValidationError } from "@chainscreen/errors";
import type { ExchangeReport } from "../report.js";
import { getJson } from "./http.js";
import type { Credentials, ExchangeApi, HistoryPage } from "./types.js";

/** KuCoin: base64 HMAC-SHA256 over timestamp + method + endpoint(+query) + body. */
export function kucoinSign(
  timestamp: string,
  method: string,
  endpoint: string,
  body: string,
  secret: string,
): string {
  return createHmac("sha256", secret)
    .update(`${timestamp}${method}${endpoint}${body}`)
    .digest("base64");
}

/** KuCoin API key version 2 sends the passphrase HMAC'd with the secret, base64. */
export function kucoinPassphrase(passphrase: string, secret: string): string {
  return createHmac("sha256", secret).update(passphrase).digest("base64");
}

interface KucoinItem {
  id?: string;
  address: string;
  amount: string;
  currency: string;
  chain?: string;
  walletTxId?: string;
  isInner?: boolean;
  status: string;
  createdAt: number;
}

const PAGE = 100;

/**
 * KuCoin history: GET /api/v1/deposits and /api/v1/withdrawals with startAt, endAt, status,
 * currentPage, pageSize; headers KC-API-KEY, KC-API-SIGN, KC-API-TIMESTAMP (ms),
 * KC-API-PASSPHRASE, KC-API-KEY-VERSION 2. Success code "200000"; `walletTxId` may carry
 * "<txid>@<suffix>".
 */
export class KucoinApi implements ExchangeApi {
  readonly exchange = "kucoin";
  readonly maxWindowMs = 24 * 3600 * 1000;

  constructor(
    private readonly baseUrl: string,
    private readonly creds: Credentials,
    private readonly now: () => number = Date.now,
  ) {}

  async history(
    kind: "deposit" | "withdrawal",
    startMs: number,
    endMs: number,
    cursor: string | null,
  ): Promise<HistoryPage> {
    const page = cursor ? Number(cursor) : 1;
    const path = kind === "deposit" ? "/api/v1/deposits" : "/api/v1/withdrawals";
    const params = new URLSearchParams({
      status: "SUCCESS",
      startAt: String(startMs),
      endAt: String(endMs - 1),
      currentPage: String(page),
      pageSize: String(PAGE),
    });
    const endpoint = `${path}?${params.toString()}`;
    const body = (await getJson(() => {
      const ts = String(this.now());
      return {
        url: `${this.baseUrl}${endpoint}`,
        headers: {
          "KC-API-KEY": this.creds.apiKey,
          "KC-API-SIGN": kucoinSign(ts, "GET", endpoint, "", this.creds.apiSecret),
          "KC-API-TIMESTAMP": ts,
          "KC-API-PASSPHRASE": kucoinPassphrase(this.creds.passphrase ?? "", this.creds.apiSecret),
          "KC-API-KEY-VERSION": "2",
        },
      };
    })) as {
      code?: string;
      msg?: string;
      data?: { currentPage: number; totalPage: number; items: KucoinItem[] };
    };
    if (body.code !== "200000" || !body.data || !Array.isArray(body.data.items)) {
      throw new ValidationError(`kucoin: error code ${body.code ?? "?"}: ${body.msg ?? "no data"}`);
    }
    const reports: ExchangeReport[] = [];
    for (const it of body.data.items) {
      if (it.status !== "SUCCESS" || it.isInner) continue;
      const tx = it.walletTxId ? (it.walletTxId.split("@")[0] ?? null) : null;
      const deposit = kind === "deposit";
      reports.push({
        reference: `kucoin-${deposit ? "dep" : "wd"}-${it.id ?? it.walletTxId ?? `${it.createdAt}-${it.address}`}`,
        exchange: "kucoin",
        direction: kind,
        network: it.chain ?? it.currency,
        asset: it.currency,
        amount: it.amount,
        txHash: tx,
        counterpartyAddress: deposit ? null : it.address,
        exchangeAddress: deposit ? it.address : null,
        time: it.createdAt,
      });
    }
    const next = body.data.currentPage < body.data.totalPage ? String(page + 1) : null;
    return { reports, next };
  }
}
