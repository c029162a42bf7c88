import { createHmac } from "node:crypto";
import { ValidationError } from "@chainscreen/errors";
import type { ExchangeReport } from "../report.js";
import { getJson } from "./http.js";
import type { Credentials, ExchangeApi, HistoryPage } from "./types.js";

/** OKX v5: base64 HMAC-SHA256 over timestamp + method + requestPath(+query) + body. */
export function okxSign(
  timestamp: string,
  method: string,
  requestPath: string,
  body: string,
  secret: string,
): string {
  return createHmac("sha256", secret)
    .update(`${timestamp}${method}${requestPath}${body}`)
    .digest("base64");
}

interface OkxRecord {
  ccy: string;
  chain: string;
  amt: string;
  from?: string;
  to?: string;
  txId?: string;
  ts: string;
  state: string;
  depId?: string;
  wdId?: string;
}

const PAGE = 100;

/**
 * OKX funding history: GET /api/v5/asset/deposit-history and /api/v5/asset/withdrawal-history
 * (newest first, `after` = records earlier than this ms timestamp, limit 100). Headers
 * OK-ACCESS-KEY, OK-ACCESS-SIGN, OK-ACCESS-TIMESTAMP (ISO), OK-ACCESS-PASSPHRASE. Deposit state
 * "2" = credited, withdrawal state "2" = success; `chain` is "<CCY>-<network>".
 */
export class OkxApi implements ExchangeApi {
  readonly exchange = "okx";
  readonly maxWindowMs = 30 * 24 * 3600 * 1000;

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
    const path =
      kind === "deposit" ? "/api/v5/asset/deposit-history" : "/api/v5/asset/withdrawal-history";
    const after = cursor ?? String(endMs);
    const params = new URLSearchParams({ after, before: String(startMs - 1), limit: String(PAGE) });
    const requestPath = `${path}?${params.toString()}`;
    const body = (await getJson(() => {
      const ts = new Date(this.now()).toISOString();
      return {
        url: `${this.baseUrl}${requestPath}`,
        headers: {
          "OK-ACCESS-KEY": this.creds.apiKey,
          "OK-ACCESS-SIGN": okxSign(ts, "GET", requestPath, "", this.creds.apiSecret),
          "OK-ACCESS-TIMESTAMP": ts,
          "OK-ACCESS-PASSPHRASE": this.creds.passphrase ?? "",
        },
      };
    })) as { code?: string; msg?: string; data?: OkxRecord[] };
    if (body.code !== "0" || !Array.isArray(body.data)) {
      throw new ValidationError(`okx: error code ${body.code ?? "?"}: ${body.msg ?? "no data"}`);
    }
    const reports: ExchangeReport[] = [];
    let oldest = Number.POSITIVE_INFINITY;
    for (const r of body.data) {
      const ts = Number(r.ts);
      oldest = Math.min(oldest, ts);
      if (r.state !== "2" || ts < startMs || ts >= endMs) continue;
      const deposit = kind === "deposit";
      reports.push({
        reference: deposit ? `okx-dep-${r.depId}` : `okx-wd-${r.wdId}`,
        exchange: "okx",
        direction: kind,
        network: r.chain,
        asset: r.ccy,
        amount: r.amt,
        txHash: r.txId || null,
        counterpartyAddress: deposit ? r.from || null : r.to || null,
        exchangeAddress: deposit ? r.to || null : null,
        time: ts,
      });
    }
    const next = body.data.length === PAGE && oldest > startMs ? String(oldest) : null;
    return { reports, next };
  }
}
