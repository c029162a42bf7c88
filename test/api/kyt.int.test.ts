import type { KafkaBus, Producer } from "@chainscreen/kafka";
import { TransferV1 } from "@chainscreen/schema";
import { collectTopic, testBus, uniqueName } from "@chainscreen/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type ApiHarness, startHarness } from "./harness.js";
import { CHAINS } from "./seed.js";

// The KYT-shaped register-transfer endpoint produces exchange transfer.v1 events on the real broker.

let h: ApiHarness;
let bus: KafkaBus;
let producer: Producer;
const topic = uniqueName("transfer_v1_kyt");

beforeAll(async () => {
  bus = testBus(inject("kafkaBrokers"));
  await bus.ensureTopics([{ topic, partitions: 2 }]);
  producer = await bus.producer();
  h = await startHarness("kyt", 0, {
    transfers: { publish: (t) => producer.send(topic, [{ key: t.id, value: t }]) },
  });
});
afterAll(async () => {
  await h?.close();
  await producer?.disconnect();
});

describe("POST /v2/users/{userId}/transfers", () => {
  it("registers received and sent transfers as exchange events, idempotently", async () => {
    const listed = CHAINS[0]?.listed[0] as string;
    const tx = `0x${"ab".repeat(32)}`;
    const body = {
      network: "Ethereum",
      asset: "ETH",
      transferReference: `${tx}:${listed}`,
      direction: "sent",
      transferTimestamp: "2024-05-01T10:00:00",
      assetAmount: "1.25",
      assetPrice: 3000,
    };
    const r = await h.call("/v2/users/customer-42/transfers", h.keys.bankA, {
      method: "POST",
      body: JSON.stringify(body),
    });
    expect(r.status, await r.clone().text()).toBe(202);
    const b = (await r.json()) as Record<string, unknown>;
    expect(b).toMatchObject({
      asset: "ETH",
      network: "Ethereum",
      transferReference: body.transferReference,
      tx,
      idx: null,
      assetAmount: 1.25,
      usdAmount: 3750,
      outputAddress: listed,
    });
    // Same registration again: same event id.
    const again = (await (
      await h.call("/v2/users/customer-42/transfers", h.keys.bankA, {
        method: "POST",
        body: JSON.stringify(body),
      })
    ).json()) as { externalId: string };
    expect(again.externalId).toBe(b.externalId);
    const utxo = await h.call("/v2/users/customer-7/transfers", h.keys.bankA, {
      method: "POST",
      body: JSON.stringify({
        network: "Bitcoin",
        asset: "BTC",
        transferReference: `${"cd".repeat(32)}:1`,
        direction: "received",
        outputAddress: CHAINS[2]?.listed[0],
        assetAmount: 0.5,
      }),
    });
    expect(utxo.status).toBe(202);

    const msgs = await collectTopic(bus, topic, { until: (m) => m.length >= 3, timeoutMs: 30_000 });
    expect(msgs.length).toBe(3);
    const events = msgs.map((m) => TransferV1.parse(m.value));
    const sent = events.find((e) => e.kind === "exchange_withdrawal");
    expect(sent).toMatchObject({
      chain: "ethereum",
      txHash: tx,
      to: listed,
      amount: "1250000000000000000",
      timestamp: Date.UTC(2024, 4, 1, 10),
      exchange: {
        name: "bank-a",
        tenantId: "bank-a",
        customerRef: "customer-42",
        reference: body.transferReference,
      },
    });
    const received = events.find((e) => e.kind === "exchange_deposit");
    expect(received).toMatchObject({
      chain: "bitcoin",
      index: "1",
      amount: "50000000",
      to: CHAINS[2]?.listed[0],
    });
  });

  it.each([
    [
      { network: "Narnia", asset: "X", transferReference: "a:b", direction: "sent" },
      /network "Narnia" is not supported/,
    ],
    [
      { network: "Ethereum", asset: "ETH", transferReference: "nocolon", direction: "sent" },
      /transferReference must be/,
    ],
    [
      { network: "Ethereum", asset: "ETH", transferReference: "0xab:0x123", direction: "sent" },
      /invalid evm address/,
    ],
    [
      {
        network: "Ethereum",
        asset: "ETH",
        transferReference: "0xab:0x0000000000000000000000000000000000000001",
        direction: "sideways",
      },
      /direction/,
    ],
    [
      {
        network: "Ethereum",
        asset: "ETH",
        transferReference: "0xab:0x0000000000000000000000000000000000000001",
        direction: "sent",
        assetAmount: "1.0000000000000000001",
      },
      /at most 18 decimals/,
    ],
    [{ asset: "ETH", transferReference: "x:y", direction: "sent" }, /network/],
  ])("400 for %j", async (body, re) => {
    const r = await h.call("/v2/users/u/transfers", h.keys.bankA, {
      method: "POST",
      body: JSON.stringify(body),
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { detail: string }).detail).toMatch(re);
  });
});
