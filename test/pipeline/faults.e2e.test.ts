// Fault-injection suite, part 1, on one pipeline run (faults in sequence, each followed by a full
// reconciliation of the whole chain so far): clean baseline → kill -9 of every service in turn
// mid-stream → embedded ClickHouse down → malformed burst on every input topic and the push API.
import { DeadLetterV1, Topics } from "@chainscreen/schema";
import { collectTopic } from "@chainscreen/testing";
import { describe, expect, it } from "vitest";
import { sleep } from "../../infra/local/proc.js";
import { outage, SERVICES } from "./harness.js";
import { expectClean, usePipeline } from "./suite.js";

const p = usePipeline();

describe("pipeline under faults", () => {
  it("clean baseline: chain, store, flags and webhooks agree", async () => {
    await p.traffic(6);
    const r = await p.reconcile();
    expectClean(p, r, "baseline");
    // Beside the reference tagger: every transfer touching a listed address has a direct flag.
    const direct = await p.directFlagGaps();
    expect(direct.listedTransfers).toBeGreaterThan(0);
    expect(direct.missing).toEqual([]);
    expect(p.unexpectedExits()).toEqual([]);
  });

  it("kill -9 of each service in turn mid-stream, restarted by the supervisor", async () => {
    for (const name of SERVICES) {
      const traffic = p.traffic(3);
      await sleep(1_500);
      await p.kill9(name);
      await traffic;
    }
    const r = await p.reconcile();
    expectClean(p, r, "kill -9 each service");
    expect(p.unexpectedExits()).toEqual([]);
    expect(p.intendedExits).toEqual([...SERVICES]);
  });

  it(`embedded ClickHouse down for ${outage(10, 60)} s during traffic`, async () => {
    const traffic = p.traffic(4);
    await sleep(1_000);
    // kill -9: no graceful flush; the engine's directory is reopened by the restarted server.
    process.kill(p.ch.pid, "SIGKILL");
    await sleep(outage(10_000, 60_000));
    await p.startClickHouse();
    await traffic;
    const r = await p.reconcile();
    expectClean(p, r, "clickhouse down");
    expect(p.unexpectedExits()).toEqual([]);
  });

  it("malformed burst on every input topic goes to dead letters; malformed push reports get 4xx", async () => {
    const inputs = [Topics.transfers, Topics.flags, Topics.watchlist].map((t) => p.topic(t));
    const producer = await p.bus.producer();
    const bad = (topic: string, i: number) => {
      switch (i % 4) {
        case 0:
          return Buffer.from(`not json {${i}`);
        case 1:
          return Buffer.from(JSON.stringify({ type: "something.v9", i }));
        case 2:
          return Buffer.from(
            JSON.stringify({ type: topic.endsWith("flag.v1") ? "flag.v1" : "transfer.v1", id: "" }),
          );
        default:
          return Buffer.from([0xff, 0xfe, 0x00, i & 0xff]);
      }
    };
    const keys = new Map<string, string[]>();
    for (const topic of inputs) {
      const ks = Array.from({ length: 20 }, (_, i) => `malformed-${i}`);
      keys.set(topic, ks);
      await producer.send(
        topic,
        ks.map((key, i) => ({ key, value: bad(topic, i) as never })),
      );
    }
    // Traffic keeps flowing around the burst: a bad message never stops a consumer.
    await p.traffic(3);

    // Push API: malformed reports are answered 4xx and never reach the bus.
    const url = `http://127.0.0.1:${p.apiPort}/v2/users/u1/transfers`;
    const bodies = [
      "{not json",
      JSON.stringify({}),
      JSON.stringify({ network: "Ethereum", asset: 5 }),
      JSON.stringify({
        network: "Ethereum",
        asset: "ETH",
        transferReference: "x",
        direction: "sideways",
      }),
    ];
    for (const body of bodies) {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${p.apiKey}` },
        body,
      });
      expect(res.status, body).toBeGreaterThanOrEqual(400);
      expect(res.status, body).toBeLessThan(500);
    }

    const r = await p.reconcile();
    expectClean(p, r, "malformed burst");

    // Dead letters: every malformed message, from every consumer group that reads its topic.
    const consumers: Record<string, number> = {
      [p.topic(Topics.transfers)]: 2, // sink, tagger
      [p.topic(Topics.flags)]: 2, // sink, alerter
      [p.topic(Topics.watchlist)]: 1, // tagger's watchlist follower (re-read after each restart)
    };
    const want = (msgs: { value: unknown }[]) => {
      const seen = new Map<string, Set<string>>();
      for (const m of msgs) {
        const d = DeadLetterV1.safeParse(m.value);
        if (!d.success || !d.data.key) continue;
        const k = `${d.data.sourceTopic}|${d.data.key}`;
        const s = seen.get(k) ?? new Set();
        s.add(d.data.consumerGroup.replace(/-watchlist-[0-9a-f]+$/, "-watchlist"));
        seen.set(k, s);
      }
      return seen;
    };
    const complete = (seen: Map<string, Set<string>>) =>
      [...keys].every(([topic, ks]) =>
        ks.every((k) => (seen.get(`${topic}|${k}`)?.size ?? 0) >= (consumers[topic] ?? 1)),
      );
    const dlq = await collectTopic(p.bus, p.topic(Topics.deadLetter), {
      until: (m) => complete(want(m)),
      timeoutMs: 120_000,
    });
    const seen = want(dlq);
    const missing = [...keys].flatMap(([topic, ks]) =>
      ks
        .filter((k) => (seen.get(`${topic}|${k}`)?.size ?? 0) < (consumers[topic] ?? 1))
        .map((k) => `${topic}|${k}|${[...(seen.get(`${topic}|${k}`) ?? [])].join(",")}`),
    );
    expect(missing).toEqual([]);
    expect(p.unexpectedExits()).toEqual([]);
  });
});
