import type { KafkaBus, Producer } from "@chainscreen/kafka";
import { TransferV1 } from "@chainscreen/schema";
import { collectTopic, testBus, uniqueName } from "@chainscreen/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type ApiHarness, startHarness } from "./harness.js";
import { CHAINS } from "./seed.js";

// The exchange push API publishes exchange transfer.v1 events on the real broker, and the
// withdrawal-attempt screening answers listed / exposed / clean from the matcher and stored flags.

let h: ApiHarness;
let bus: KafkaBus;
let producer: Producer;
const topic = uniqueName("transfer_v1_exchange");

beforeAll(async () => {
  bus = testBus(inject("kafkaBrokers"));
  await bus.ensureTopics([{ topic, partitions: 2 }]);
  producer = await bus.producer();
  h = await startHarness("exchange", 60, {
    transfers: { publish: (t) => producer.send(topic, [{ key: t.id, value: t }]) },
  });
});
afterAll(async () => {
  await h?.close();
  await producer?.disconnect();
  await bus?.close();
});

const listedEth = () => CHAINS[0]?.listed[0] as string;

describe("POST /v1/exchange/transfers", () => {
  it("publishes valid reports as exchange transfers with the caller's tenant, idempotently", async () => {
    const report = {
      reference: "dep-0001",
      exchange: "acme-exchange",
      direction: "deposit",
      network: "ETH",
      asset: "USDT",
      amount: "1500.5",
      txHash: `0x${"cd".repeat(32)}`,
      counterpartyAddress: listedEth(),
      exchangeAddress: "0x1111111111111111111111111111111111111111",
      time: "2025-02-01T12:00:00Z",
    };
    const r = await h.call("/v1/exchange/transfers", h.keys.bankA, {
      method: "POST",
      body: JSON.stringify({ reports: [report] }),
    });
    expect(r.status, await r.clone().text()).toBe(200);
    const body = (await r.json()) as { accepted: { id: string }[]; rejected: unknown[] };
    expect(body.rejected).toEqual([]);
    const again = (await (
      await h.call("/v1/exchange/transfers", h.keys.bankA, {
        method: "POST",
        body: JSON.stringify({ reports: [report] }),
      })
    ).json()) as { accepted: { id: string }[] };
    expect(again.accepted[0]?.id).toBe(body.accepted[0]?.id);

    const msgs = await collectTopic(bus, topic, { until: (m) => m.length >= 2 });
    const t = TransferV1.parse(msgs[0]?.value);
    expect(t).toMatchObject({
      kind: "exchange_deposit",
      chain: "ethereum",
      from: listedEth(),
      to: "0x1111111111111111111111111111111111111111",
      amount: "1500500000",
      asset: { symbol: "USDT", decimals: 6 },
    });
    expect(t.exchange?.reference).toBe("dep-0001");
    expect(t.exchange?.tenantId).toBeTruthy();
  });

  it("refuses a batch with invalid reports, naming each bad field, and accepts nothing", async () => {
    const before = await bus.messageCount(topic);
    const r = await h.call("/v1/exchange/transfers", h.keys.bankA, {
      method: "POST",
      body: JSON.stringify({
        reports: [
          {
            reference: "ok-1",
            exchange: "x",
            direction: "withdrawal",
            network: "TRX",
            asset: "USDT",
            amount: "5",
            counterpartyAddress: "TDii6vao7xyWg2rKPbCPWVRpSmne8xcqYx",
            time: 1_700_000_000_000,
          },
          {
            reference: "bad-1",
            exchange: "x",
            direction: "sideways",
            network: "TRX",
            asset: "USDT",
            amount: "1.2.3",
            time: "soon",
          },
        ],
      }),
    });
    expect(r.status).toBe(400);
    expect(r.headers.get("content-type")).toMatch(/problem\+json/);
    const p = (await r.json()) as { errors: { field: string }[] };
    const fields = p.errors.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(["reports[1].direction", "reports[1].time"]));
    expect(fields.every((f) => f.startsWith("reports[1]"))).toBe(true);
    expect(await bus.messageCount(topic)).toBe(before);
  });

  it("refuses keys without the permission and requests without a key", async () => {
    const noKey = await h.call("/v1/exchange/transfers", null, {
      method: "POST",
      body: JSON.stringify({ reports: [{}] }),
    });
    expect(noKey.status).toBe(401);
    const analyst = await h.call("/v1/exchange/transfers", h.keys.analyst, {
      method: "POST",
      body: JSON.stringify({ reports: [{}] }),
    });
    expect(analyst.status).toBe(403);
  });
});

describe("POST /v1/exchange/withdrawal-attempts", () => {
  it("answers block for a listed destination, review for an exposed one, allow for a clean one", async () => {
    const attempt = (network: string, address: string) =>
      h.call("/v1/exchange/withdrawal-attempts", h.keys.bankA, {
        method: "POST",
        body: JSON.stringify({ network, address }),
      });

    const listed = (await (
      await attempt("ethereum", listedEth().toUpperCase().replace("0X", "0x"))
    ).json()) as Record<string, unknown>;
    expect(listed).toMatchObject({ decision: "block", listed: true });

    // A receiver of a stored active flag is exposed.
    const exposedTo = h.flags.find(
      (f) =>
        f.transfer.chain === "ethereum" &&
        f.flag.status === "active" &&
        typeof f.transfer.to === "string" &&
        f.transfer.to !== listedEth(),
    )?.transfer.to as string;
    const exposed = (await (await attempt("ETH", exposedTo)).json()) as {
      decision: string;
      exposed: boolean;
      exposure: { flows: number };
    };
    expect(exposed.decision).toBe("review");
    expect(exposed.exposure.flows).toBeGreaterThan(0);

    const clean = (await (
      await attempt("ethereum", "0x2222222222222222222222222222222222222222")
    ).json()) as Record<string, unknown>;
    expect(clean).toMatchObject({
      decision: "allow",
      listed: false,
      exposed: false,
      exposure: null,
    });

    const bad = await attempt("ethereum", "0xnotanaddress");
    expect(bad.status).toBe(400);
    const badNet = await attempt("narnia", "0x2222222222222222222222222222222222222222");
    expect(badNet.status).toBe(400);
  });
});
