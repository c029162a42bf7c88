import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collectTopic, testBus, uniqueName } from "@chainscreen/testing";
import { afterAll, afterEach, describe, expect, inject, it, onTestFinished, vi } from "vitest";
import { buildProgram } from "./program.js";

const bus = testBus(inject("kafkaBrokers"));
afterAll(() => bus.close());
afterEach(() => {
  vi.restoreAllMocks();
});

const HEADER =
  "reference,exchange,direction,network,asset,amount,txHash,counterpartyAddress,exchangeAddress,customerRef,time";
const OUTSIDE = "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF";
const HOT_WALLET = "TDii6vao7xyWg2rKPbCPWVRpSmne8xcqYx";

/** Runs `chainscreen import exchange` in-process; returns what it printed. */
async function runImport(args: string[]): Promise<string> {
  const out: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => {
    out.push(a.join(" "));
  });
  const program = await buildProgram();
  await program.parseAsync(["import", "exchange", ...args], { from: "user" });
  return out.join("\n");
}

describe("chainscreen import exchange", () => {
  it("publishes the rows as transfer.v1 and the exchange's wallet once as a service tag", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-import-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "history.csv");
    writeFileSync(
      file,
      [
        HEADER,
        `r1,binance,deposit,TRX,USDT,10.5,${"a".repeat(64)},${OUTSIDE},${HOT_WALLET},c1,2024-05-01T00:00:00Z`,
        `r2,binance,deposit,TRX,USDT,1,${"b".repeat(64)},${OUTSIDE},${HOT_WALLET},c2,2024-05-02T00:00:00Z`,
        "r3,binance,deposit,TRX,USDT,not-a-number,,,,c3,2024-05-03T00:00:00Z",
        "",
      ].join("\n"),
    );
    const prefix = uniqueName("cliimport");
    const printed = await runImport([
      file,
      "--tenant",
      "acme",
      "--brokers",
      inject("kafkaBrokers"),
      "--topic-prefix",
      prefix,
    ]);
    expect(printed).toContain("rows 3, accepted 2, rejected 1, exchange wallets tagged 1");
    expect(printed).toMatch(/line 4: amount: /);

    const transfers = await collectTopic(bus, `${prefix}.transfer.v1`, {
      until: (m) => m.length >= 2,
    });
    expect(transfers.map((m) => (m.value as { kind: string }).kind)).toEqual([
      "exchange_deposit",
      "exchange_deposit",
    ]);
    const tags = await collectTopic(bus, `${prefix}.watchlist.v1`, { until: (m) => m.length >= 1 });
    expect(tags).toHaveLength(1);
    expect(tags[0]?.key).toBe(`exchange-wallets|tron|${HOT_WALLET}`);
    expect(tags[0]?.value).toMatchObject({
      listId: "exchange-wallets",
      category: "exchange",
      address: HOT_WALLET,
      entityName: "binance",
    });

    // Opting out publishes transfers only.
    const prefix2 = uniqueName("cliimport");
    const printed2 = await runImport([
      file,
      "--brokers",
      inject("kafkaBrokers"),
      "--topic-prefix",
      prefix2,
      "--no-wallet-tags",
    ]);
    expect(printed2).toContain("rows 3, accepted 2, rejected 1");
    expect(printed2).not.toContain("wallets tagged");
    const none = await collectTopic(bus, `${prefix2}.watchlist.v1`, {
      until: (m) => m.length >= 1,
      timeoutMs: 3_000,
    });
    expect(none).toHaveLength(0);
  });
});
