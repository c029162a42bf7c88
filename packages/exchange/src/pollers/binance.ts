import { createHmac } from "node:crypto";
import { ValidationError } from "@chainscreen/errors";
import type { ExchangeReport } from "../report.js";
import { getJson } from "./http.js";
import type { Credentials, ExchangeApi, HistoryPage } from "./types.js";

/** Binance SIGNED endpoints: hex HMAC-SHA256 of the query string, key in X-MBX-APIKEY. */
export function binanceSign(query: string, secret: string): string {
  return createHmac("sha256", secret).update(query).digest("hex");
}

interface BinanceDeposit {
  id?: string;
  amount: string;
  coin: string;
  network: string;
  status: number;
  address: string;
  txId: string;
  insertTime: number;
}
interface BinanceWithdrawal {
  id: string;
  amount: string;
  coin: string;
  network: string;
  status: number;
  address: string;
  txId?: string;
  applyTime: string;
}

const PAGE = 1000;

/**
 * Binance capital history: GET /sapi/v1/capital/deposit/hisrec and
 * /sapi/v1/capital/withdraw/history with startTime, endTime, offset, limit, timestamp,
 * recvWindow and signature. Deposit status 1 = success, withdrawal status 6 = completed.
 * A deposit's `address` is the user's deposit address at Binance (the exchange side); a
 * withdrawal's is the destination (the counterparty).
 */
export class BinanceApi implements ExchangeApi {
  readonly exchange = "binance";
  readonly maxWindowMs = 90 * 24 * 3600 * 1000;

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
    const offset = cursor ? Number(cursor) : 0;
    const path =
      kind === "deposit" ? "/sapi/v1/capital/deposit/hisrec" : "/sapi/v1/capital/withdraw/history";
    const body = await getJson(() => {
      const params = new URLSearchParams({
        startTime: String(startMs),
        endTime: String(endMs - 1),
        offset: String(offset),
        limit: String(PAGE),
        recvWindow: "10000",
        timestamp: String(this.now()),
      });
      const q = params.toString();
      return {
        url: `${this.baseUrl}${path}?${q}&signature=${binanceSign(q, this.creds.apiSecret)}`,
        headers: { "X-MBX-APIKEY": this.creds.apiKey },
      };
    });
    if (!Array.isArray(body)) throw new ValidationError("binance: expected an array of records");
    const reports: ExchangeReport[] = [];
    if (kind === "deposit") {
      for (const d of body as BinanceDeposit[]) {
        if (d.status !== 1) continue;
        reports.push({
          reference: `binance-dep-${d.id ?? d.txId}`,
          exchange: "binance",
          direction: "deposit",
          network: d.network,
          asset: d.coin,
          amount: d.amount,
          txHash: d.txId || null,
          exchangeAddress: d.address,
          time: d.insertTime,
        });
      }
    } else {
      for (const w of body as BinanceWithdrawal[]) {
        if (w.status !== 6) continue;
        reports.push({
          reference: `binance-wd-${w.id}`,
          exchange: "binance",
          direction: "withdrawal",
          network: w.network,
          asset: w.coin,
          amount: w.amount,
          txHash: w.txId || null,
          counterpartyAddress: w.address,
          // applyTime is "YYYY-MM-DD HH:mm:ss" in UTC.
          time: `${w.applyTime.replace(" ", "T")}Z`,
        });
      }
    }
    return { reports, next: body.length === PAGE ? String(offset + PAGE) : null };
  }
}
