import { reportToTransfer } from "@chainscreen/exchange";
import type { TransferV1 } from "@chainscreen/schema";
import { uniqueName } from "@chainscreen/testing";
import { describe, expect, inject, it } from "vitest";
import {
  active,
  freshTopics,
  loadOfacFixture,
  publishTransfers,
  publishWatchlist,
  readAllFlags,
  startTagger,
  waitIdle,
  watchlistMessage,
} from "../tagger/harness.js";

// An exchange deposit whose sender is on the 2024-09-27 OFAC lists is screened like an on-chain
// transfer: the tagger flags it; a clean deposit is not flagged.

function deposit(reference: string, counterparty: string): TransferV1 {
  const r = reportToTransfer(
    {
      reference,
      exchange: "acme-exchange",
      direction: "deposit",
      network: "TRX",
      asset: "USDT",
      amount: "2500",
      txHash: reference.padStart(64, "0"),
      counterpartyAddress: counterparty,
      exchangeAddress: "TDii6vao7xyWg2rKPbCPWVRpSmne8xcqYx",
      time: Date.UTC(2024, 9, 2),
    },
    { tenantId: "acme", source: "test" },
  );
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.transfer;
}

describe("exchange deposits through the tagger", () => {
  it("flags a deposit from an OFAC-listed Tron address and not a clean one", async () => {
    const { bus, topics } = await freshTopics(inject("kafkaBrokers"));
    const tron = loadOfacFixture().filter((e) => e.family === "tron");
    expect(tron.length).toBeGreaterThan(0);
    await publishWatchlist(
      bus,
      topics.watchlist,
      tron.map((e) => watchlistMessage(e.family, e.address, { code: e.codes[0] ?? null })),
    );
    const listed = tron[0]?.address as string;
    const dirty = deposit("dep-listed", listed);
    const clean = deposit("dep-clean", "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF");
    const groupId = uniqueName("tagger");
    const tagger = await startTagger(inject("kafkaBrokers"), topics, { groupId });
    try {
      await publishTransfers(bus, topics.transfers, [dirty, clean]);
      await waitIdle(bus, topics, groupId);
      const flags = active(await readAllFlags(bus, topics.flags));
      const byTransfer = new Map(flags.map((f) => [f.transfer.id, f]));
      const f = byTransfer.get(dirty.id);
      expect(f, "deposit from a listed address is flagged").toBeDefined();
      expect(f?.exposure).toBe("direct");
      expect(f?.sides).toContain("from");
      expect(f?.transfer.kind).toBe("exchange_deposit");
      expect(byTransfer.has(clean.id)).toBe(false);
    } finally {
      await tagger.stop();
      await bus.close();
    }
  });
});
