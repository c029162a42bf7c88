import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BinanceApi,
  type ExchangeApi,
  ExchangePoller,
  type ExchangeReport,
  FileCheckpoint,
  KucoinApi,
  OkxApi,
  reportToTransfer,
} from "@chainscreen/exchange";
import { silentLogger } from "@chainscreen/logger";
import { afterEach, describe, expect, it, onTestFinished } from "vitest";
import {
  type FakeExchange,
  type FakeRecord,
  fakeBinance,
  fakeKucoin,
  fakeOkx,
  KEY,
  PASSPHRASE,
  SECRET,
} from "./exchange-servers.js";

const T0 = Date.parse("2025-03-01T00:00:00Z");
const HOUR = 3600_000;

function records(n: number): FakeRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `r${i}`,
    kind: i % 3 === 0 ? "withdrawal" : "deposit",
    coin: "USDT",
    network: { binance: "TRX", okx: "USDT-TRC20", kucoin: "trc20" },
    amount: `${i + 1}.5`,
    address: i % 2 ? "TDii6vao7xyWg2rKPbCPWVRpSmne8xcqYx" : "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF",
    from: "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF",
    txId: i.toString(16).padStart(64, "0"),
    time: T0 + i * 60_000,
  }));
}

const servers: FakeExchange[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

const creds = { apiKey: KEY, apiSecret: SECRET, passphrase: PASSPHRASE };
const cases: [
  string,
  (r: FakeRecord[]) => Promise<FakeExchange>,
  (url: string, now: () => number) => ExchangeApi,
][] = [
  ["binance", fakeBinance, (url, now) => new BinanceApi(url, creds, now)],
  ["okx", fakeOkx, (url, now) => new OkxApi(url, creds, now)],
  ["kucoin", fakeKucoin, (url, now) => new KucoinApi(url, creds, now)],
];

describe.each(cases)(
  "%s history poller against a server in the documented format",
  (name, fake, makeApi) => {
    it("pages through history with valid signatures, survives rate limits, resumes from its checkpoint without duplicates", async () => {
      // 1,500 records over 25 hours: several pages and (for KuCoin's 24 h limit) several windows.
      const all = records(1500);
      const server = await fake(all);
      servers.push(server);
      const dir = mkdtempSync(join(tmpdir(), `poll-${name}-`));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      let now = T0 + 12 * HOUR;
      const got: ExchangeReport[] = [];
      const poller = () =>
        new ExchangePoller({
          api: makeApi(server.url, () => now),
          checkpoint: new FileCheckpoint(join(dir, "cp.json")),
          initialFrom: T0 - HOUR,
          settleMs: 0,
          onReports: async (r) => {
            got.push(...r);
          },
          log: silentLogger(),
          now: () => now,
        });

      server.rateLimitNext(2);
      await poller().pollOnce();
      const firstRun = got.length;
      expect(firstRun).toBeGreaterThan(0);
      expect(firstRun).toBeLessThan(all.length);
      expect(server.requests.filter((r) => r.signatureOk).length).toBeGreaterThan(1);
      expect(server.requests.filter((r) => !r.signatureOk)).toHaveLength(2); // the two 429s

      // A new process later: resumes from the checkpoint file.
      now = T0 + 30 * HOUR;
      await poller().pollOnce();
      const refs = got.map((r) => r.reference);
      expect(new Set(refs).size).toBe(refs.length);
      expect(refs.length).toBe(all.length);

      // Every report maps to a valid transfer with the right direction and amount.
      for (const r of got) {
        const t = reportToTransfer(r, { source: name });
        expect(t.ok, JSON.stringify(r)).toBe(true);
      }
      const w = got.find((r) => r.direction === "withdrawal");
      const rec = all.find((x) => w?.reference.endsWith(`-${x.id}`));
      expect(w?.counterpartyAddress).toBe(rec?.address);
      expect(w?.amount).toBe(rec?.amount);
    });

    it("fails clearly on a wrong secret", async () => {
      const server = await fake(records(5));
      servers.push(server);
      const now = () => T0 + 2 * HOUR;
      const api = makeApi(server.url, now);
      const bad =
        name === "binance"
          ? new BinanceApi(server.url, { ...creds, apiSecret: "wrong" }, now)
          : name === "okx"
            ? new OkxApi(server.url, { ...creds, apiSecret: "wrong" }, now)
            : new KucoinApi(server.url, { ...creds, apiSecret: "wrong" }, now);
      await expect(bad.history("deposit", T0, T0 + HOUR, null)).rejects.toThrow(
        /rejected the request \(401\)/,
      );
      const page = await api.history("deposit", T0, T0 + HOUR, null);
      expect(page.reports.length).toBeGreaterThan(0);
    });
  },
);
