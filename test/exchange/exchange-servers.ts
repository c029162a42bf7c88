/**
 * Local HTTP servers that answer the deposit/withdrawal history endpoints of Binance, OKX and
 * KuCoin in each exchange's documented response format, check each request's signature the way
 * the exchange documents it, paginate, and answer 429 on demand. The pollers under test do not
 * know they are talking to a test server.
 */
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A history record the servers know, in neutral form. */
export interface FakeRecord {
  id: string;
  kind: "deposit" | "withdrawal";
  coin: string;
  network: { binance: string; okx: string; kucoin: string };
  amount: string;
  address: string;
  from?: string;
  txId: string;
  time: number;
}

/** A running fake exchange. */
export interface FakeExchange {
  url: string;
  /** Every request seen: path, query and whether its signature verified. */
  requests: {
    path: string;
    query: URLSearchParams;
    signatureOk: boolean;
    headers: IncomingMessage["headers"];
  }[];
  /** Answer the next N requests with 429. */
  rateLimitNext(n: number): void;
  close(): Promise<void>;
}

export const SECRET = "test-secret";
export const KEY = "test-key";
export const PASSPHRASE = "test-pass";

async function start(
  handler: (req: IncomingMessage, url: URL, res: ServerResponse) => boolean,
): Promise<FakeExchange> {
  const requests: FakeExchange["requests"] = [];
  let limited = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (limited > 0) {
      limited--;
      requests.push({
        path: url.pathname,
        query: url.searchParams,
        signatureOk: false,
        headers: req.headers,
      });
      res.writeHead(429, { "retry-after": "0", "content-type": "application/json" });
      res.end('{"code":-1003,"msg":"Too many requests"}');
      return;
    }
    const ok = handler(req, url, res);
    requests.push({
      path: url.pathname,
      query: url.searchParams,
      signatureOk: ok,
      headers: req.headers,
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    rateLimitNext: (n) => {
      limited = n;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** Binance: /sapi/v1/capital/deposit/hisrec and /sapi/v1/capital/withdraw/history. */
export function fakeBinance(records: FakeRecord[]): Promise<FakeExchange> {
  return start((req, url, res) => {
    const raw = (req.url ?? "").split("?")[1] ?? "";
    const sigAt = raw.lastIndexOf("&signature=");
    const signed = raw.slice(0, sigAt);
    const sig = raw.slice(sigAt + "&signature=".length);
    const expected = createHmac("sha256", SECRET).update(signed).digest("hex");
    if (req.headers["x-mbx-apikey"] !== KEY || sig !== expected) {
      json(res, 401, { code: -1022, msg: "Signature for this request is not valid." });
      return false;
    }
    const q = url.searchParams;
    const kind = url.pathname.endsWith("/deposit/hisrec") ? "deposit" : "withdrawal";
    const start = Number(q.get("startTime"));
    const end = Number(q.get("endTime"));
    const rows = records
      .filter((r) => r.kind === kind && r.time >= start && r.time <= end)
      .sort((a, b) => b.time - a.time)
      .slice(Number(q.get("offset")), Number(q.get("offset")) + Number(q.get("limit")));
    json(
      res,
      200,
      rows.map((r) =>
        kind === "deposit"
          ? {
              id: r.id,
              amount: r.amount,
              coin: r.coin,
              network: r.network.binance,
              status: 1,
              address: r.address,
              addressTag: "",
              txId: r.txId,
              insertTime: r.time,
              transferType: 0,
              confirmTimes: "12/12",
              walletType: 0,
            }
          : {
              id: r.id,
              amount: r.amount,
              transactionFee: "1",
              coin: r.coin,
              status: 6,
              address: r.address,
              txId: r.txId,
              applyTime: new Date(r.time).toISOString().replace("T", " ").slice(0, 19),
              network: r.network.binance,
              transferType: 0,
              walletType: 0,
            },
      ),
    );
    return true;
  });
}

/** OKX: /api/v5/asset/deposit-history and /api/v5/asset/withdrawal-history. */
export function fakeOkx(records: FakeRecord[]): Promise<FakeExchange> {
  return start((req, url, res) => {
    const ts = String(req.headers["ok-access-timestamp"] ?? "");
    const expected = createHmac("sha256", SECRET)
      .update(`${ts}GET${req.url ?? ""}`)
      .digest("base64");
    if (
      req.headers["ok-access-key"] !== KEY ||
      req.headers["ok-access-sign"] !== expected ||
      req.headers["ok-access-passphrase"] !== PASSPHRASE
    ) {
      json(res, 401, { code: "50113", msg: "Invalid Sign", data: [] });
      return false;
    }
    const q = url.searchParams;
    const kind = url.pathname.endsWith("deposit-history") ? "deposit" : "withdrawal";
    const after = Number(q.get("after"));
    const before = Number(q.get("before") ?? 0);
    const rows = records
      .filter((r) => r.kind === kind && r.time < after && r.time > before)
      .sort((a, b) => b.time - a.time)
      .slice(0, Number(q.get("limit") ?? 100));
    json(res, 200, {
      code: "0",
      msg: "",
      data: rows.map((r) => ({
        ccy: r.coin,
        chain: r.network.okx,
        amt: r.amount,
        from: kind === "deposit" ? (r.from ?? "") : "",
        to: r.address,
        txId: r.txId,
        ts: String(r.time),
        state: "2",
        ...(kind === "deposit" ? { depId: r.id } : { wdId: r.id, fee: "0.1" }),
      })),
    });
    return true;
  });
}

/** KuCoin: /api/v1/deposits and /api/v1/withdrawals. */
export function fakeKucoin(records: FakeRecord[]): Promise<FakeExchange> {
  return start((req, url, res) => {
    const ts = String(req.headers["kc-api-timestamp"] ?? "");
    const expected = createHmac("sha256", SECRET)
      .update(`${ts}GET${req.url ?? ""}`)
      .digest("base64");
    const pass = createHmac("sha256", SECRET).update(PASSPHRASE).digest("base64");
    if (
      req.headers["kc-api-key"] !== KEY ||
      req.headers["kc-api-sign"] !== expected ||
      req.headers["kc-api-passphrase"] !== pass ||
      req.headers["kc-api-key-version"] !== "2"
    ) {
      json(res, 401, { code: "400005", msg: "Invalid KC-API-SIGN" });
      return false;
    }
    const q = url.searchParams;
    const kind = url.pathname.endsWith("/deposits") ? "deposit" : "withdrawal";
    const start = Number(q.get("startAt"));
    const end = Number(q.get("endAt"));
    const page = Number(q.get("currentPage"));
    const size = Number(q.get("pageSize"));
    const all = records
      .filter((r) => r.kind === kind && r.time >= start && r.time <= end)
      .sort((a, b) => b.time - a.time);
    json(res, 200, {
      code: "200000",
      data: {
        currentPage: page,
        pageSize: size,
        totalNum: all.length,
        totalPage: Math.max(1, Math.ceil(all.length / size)),
        items: all.slice((page - 1) * size, page * size).map((r) => ({
          id: r.id,
          address: r.address,
          memo: "",
          amount: r.amount,
          fee: "0",
          currency: r.coin,
          chain: r.network.kucoin,
          isInner: false,
          walletTxId: `${r.txId}@1`,
          status: "SUCCESS",
          remark: "",
          createdAt: r.time,
          updatedAt: r.time,
        })),
      },
    });
    return true;
  });
}
