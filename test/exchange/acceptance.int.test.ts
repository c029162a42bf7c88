import { ClickHouseAlertsStore } from "@chainscreen/alerts";
import {
  EXCHANGE_WALLETS_LIST,
  ExchangeWalletTags,
  exchangeTransferId,
} from "@chainscreen/exchange";
import { topicName } from "@chainscreen/kafka";
import { AlertV1, Topics } from "@chainscreen/schema";
import { uniqueName, waitFor } from "@chainscreen/testing";
import { verify, WebhookHeaders } from "@chainscreen/webhook-verify";
import { afterAll, describe, expect, inject, it } from "vitest";
import { startTestAlerter, testSettings } from "../alerts/harness.js";
import { Receiver } from "../alerts/receiver.js";
import { startHarness } from "../api/harness.js";
import {
  active,
  freshTopics,
  loadOfacFixture,
  publishWatchlist,
  readAllFlags,
  startTagger,
  waitIdle,
  watchlistMessage,
} from "../tagger/harness.js";

// Acceptance (issue 10): "A deposit report whose counterparty is on the OFAC fixture lists
// produces a flag and, for a subscribed tenant, an alert; a clean one does not." Everything is
// the real thing: the API's push endpoint publishes to Kafka, the tagger screens against the
// 2024-09-27 OFAC lists, the alerter matches subscriptions stored in ClickHouse and delivers
// through BullMQ on Redis to local webhook receivers, whose signatures are checked with
// @chainscreen/webhook-verify.

const TENANT = "acme-exchange";
const DEPOSIT_ADDRESS = "TDii6vao7xyWg2rKPbCPWVRpSmne8xcqYx"; // acme's deposit address
const CLEAN = "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF"; // fixture Tron sender, on no list

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  while (closers.length) await closers.pop()?.();
});

describe("acceptance: exchange deposit reports → flags → alerts", () => {
  it("a deposit from an OFAC-listed address is flagged and alerted to the subscribed tenant; a clean one is neither", async () => {
    const brokers = inject("kafkaBrokers");
    const { bus, topics, prefix } = await freshTopics(brokers);
    closers.push(() => bus.close());
    const alertsTopic = topicName(Topics.alerts, prefix);
    await bus.ensureTopics([{ topic: alertsTopic, partitions: 2 }]);

    // Every address of the OFAC fixture lists is on the watchlist topic.
    const ofac = loadOfacFixture();
    await publishWatchlist(
      bus,
      topics.watchlist,
      ofac.map((e) => watchlistMessage(e.family, e.address, { code: e.codes[0] ?? null })),
    );
    const listed = ofac.find((e) => e.family === "tron")?.address;
    if (!listed) throw new Error("no Tron address in the OFAC fixture");
    expect(ofac.some((e) => e.address === CLEAN || e.address === DEPOSIT_ADDRESS)).toBe(false);

    // The API with its push endpoint wired to Kafka (transfers and exchange-wallet tags).
    const producer = await bus.producer();
    closers.push(() => producer.disconnect());
    const wallets = new ExchangeWalletTags(producer, topics.watchlist);
    const h = await startHarness("exchange_acceptance", 0, (stack) => ({
      transfers: { publish: (t) => producer.send(topics.transfers, [{ key: t.id, value: t }]) },
      exchangeWallets: wallets,
      alerts: {
        store: new ClickHouseAlertsStore(stack.writer),
        ssrf: { allow: ["loopback"], allowHttp: true },
      },
    }));
    closers.push(() => h.close());
    const acmeKey = await h.newKey("bank", TENANT);

    // The exchange subscribes to flags on its deposit address (both deposits go there); another
    // bank watches the clean deposit's sender.
    const acmeHook = await new Receiver().start();
    const otherHook = await new Receiver().start();
    closers.push(
      () => acmeHook.stop(),
      () => otherHook.stop(),
    );
    const subscribe = async (key: string, url: string, addresses: string[]) => {
      const r = await h.call("/v1/subscriptions", key, {
        method: "POST",
        body: JSON.stringify({ url, filters: { addresses } }),
      });
      expect(r.status, await r.clone().text()).toBe(201);
      return (await r.json()) as { subscription: { id: string }; secret: string };
    };
    const acmeSub = await subscribe(acmeKey, acmeHook.url, [DEPOSIT_ADDRESS]);
    await subscribe(h.keys.bankB, otherHook.url, [CLEAN]);

    // Tagger and alerter, as the services run them.
    const taggerGroup = uniqueName("tagger");
    const tagger = await startTagger(brokers, topics, {
      groupId: taggerGroup,
      rules: { p2p: { enabled: false } },
    });
    closers.push(() => tagger.stop());
    const alerterGroup = uniqueName("alerter");
    const alerter = await startTestAlerter(
      inject("redisUrl"),
      new ClickHouseAlertsStore(h.stack.writer),
      testSettings(),
      {
        kafka: {
          bus,
          flagsTopic: topics.flags,
          alertsTopic,
          deadLetterTopic: topics.deadLetter,
          groupId: alerterGroup,
        },
      },
    );
    closers.push(() => alerter.stop());

    // The exchange reports two deposits into its deposit address through the push API.
    const deposit = (reference: string, from: string) => ({
      reference,
      exchange: TENANT,
      direction: "deposit",
      network: "USDT-TRC20",
      asset: "USDT",
      amount: "2500",
      txHash: reference.padStart(64, "0"),
      counterpartyAddress: from,
      exchangeAddress: DEPOSIT_ADDRESS,
      customerRef: `customer-of-${reference}`,
      time: "2024-10-02T09:30:00Z",
    });
    const pushReports = () =>
      h.call("/v1/exchange/transfers", acmeKey, {
        method: "POST",
        body: JSON.stringify({
          reports: [deposit("dep-listed", listed), deposit("dep-clean", CLEAN)],
        }),
      });
    const push = await pushReports();
    expect(push.status, await push.clone().text()).toBe(200);
    const dirtyId = exchangeTransferId("tron", TENANT, "dep-listed");
    const cleanId = exchangeTransferId("tron", TENANT, "dep-clean");
    expect(
      ((await push.json()) as { accepted: { id: string }[] }).accepted.map((a) => a.id),
    ).toEqual([dirtyId, cleanId]);
    // The deposit address became a service tag on the way (once, however often it is reported).
    expect(wallets.has({ family: "tron", address: DEPOSIT_ADDRESS })).toBe(true);
    // A resubmission (the exchange retrying) changes nothing downstream: same transfer ids.
    expect((await pushReports()).status).toBe(200);
    expect(wallets.published).toBe(1);
    expect((await bus.messageCount(topics.watchlist)) - ofac.length, EXCHANGE_WALLETS_LIST).toBe(1);

    // The subscribed tenant receives one signed alert about the listed deposit.
    await waitFor(() => acmeHook.delivered.length >= 1, {
      timeoutMs: 120_000,
      message: "no alert delivered to the subscribed tenant",
    });
    const req = acmeHook.requests.find(
      (r) => String(r.headers[WebhookHeaders.eventId]) === acmeHook.delivered[0],
    );
    if (!req) throw new Error("delivered request not recorded");
    const signature = req.headers[WebhookHeaders.signature] as string;
    expect(verify(req.body, signature, acmeSub.secret).ok).toBe(true);
    expect(verify(`${req.body} `, signature, acmeSub.secret).ok).toBe(false);
    const alert = AlertV1.parse(JSON.parse(req.body));
    expect(alert).toMatchObject({
      tenantId: TENANT,
      subscriptionId: acmeSub.subscription.id,
      status: "active",
      exposure: "direct",
      address: listed,
      counterparty: DEPOSIT_ADDRESS,
      transfer: { id: dirtyId, chain: "tron", from: [listed], to: DEPOSIT_ADDRESS },
      matchedAddresses: [DEPOSIT_ADDRESS],
    });
    expect(alert.entries.map((e) => [e.listId, e.address])).toEqual([["ofac-sdn", listed]]);

    // The clean deposit: once the tagger has screened everything and the alerter has consumed
    // every flag, there is no flag for it, hence no alert; the listed one has exactly one flag.
    await waitIdle(bus, topics, taggerGroup);
    const flags = active(await readAllFlags(bus, topics.flags));
    expect(flags.map((f) => f.transferId)).toEqual([dirtyId]);
    expect(flags[0]).toMatchObject({ rule: { kind: "direct" }, sides: ["from"], address: listed });
    await waitFor(async () => (await bus.lag(alerterGroup, topics.flags)) === 0, {
      timeoutMs: 60_000,
      message: "alerter did not consume every flag",
    });
    // Receivers de-duplicate on the event id (retries and replays reuse it).
    expect(new Set(acmeHook.delivered)).toEqual(new Set([alert.id]));
    expect(otherHook.requests).toEqual([]);
    // The tenant's alert history (ClickHouse, through the API) holds that one alert.
    const history = (await (await h.call("/v1/alerts", acmeKey)).json()) as { items: AlertV1[] };
    expect(history.items.map((a) => a.transfer.id)).toEqual([dirtyId]);
  });
});
