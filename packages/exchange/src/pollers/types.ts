import type { ExchangeReport } from "../report.js";

/** API credentials of an exchange account. */
export interface Credentials {
  apiKey: string;
  apiSecret: string;
  /** OKX and KuCoin passphrase. */
  passphrase?: string;
}

/** A page of normalized history and where the next page starts. */
export interface HistoryPage {
  reports: ExchangeReport[];
  /** Opaque cursor for the next page of the same window, or null when the window is done. */
  next: string | null;
}

/** One exchange's deposit and withdrawal history API. */
export interface ExchangeApi {
  readonly exchange: string;
  /**
   * Completed deposits or withdrawals with time in [startMs, endMs), one page at a time;
   * `cursor` is null for the first page.
   */
  history(
    kind: "deposit" | "withdrawal",
    startMs: number,
    endMs: number,
    cursor: string | null,
  ): Promise<HistoryPage>;
  /** Longest window one request may span (exchange limit). */
  readonly maxWindowMs: number;
}
