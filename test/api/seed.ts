import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { canonicalize, tronHexToBase58 } from "@chainscreen/addresses";
import { type FlagV1, flagHash, flagId, type TransferV1, transferId } from "@chainscreen/schema";
import { Store } from "@chainscreen/store";
import { fixturesDir } from "@chainscreen/testing";
import type { ClickHouseClient } from "@clickhouse/client";
import { address as btcAddress } from "bitcoinjs-lib";

/**
 * Known data for the API tests: flags (as the tagger would emit them) and their transfers, built
 * deterministically so every filter's expected answer can be computed in the test from `flags`.
 * Listed addresses are real ones from the OFAC fixture lists (2024-09-27).
 */

const LISTS = join(fixturesDir, "sanctions", "ofac-0xB10C-lists-2024-09-27");
const firstLines = (code: string, n: number) =>
  readFileSync(join(LISTS, `sanctioned_addresses_${code}.txt`), "utf8")
    .split("\n")
    .map((s) => s.trim())
    .filter(Boolean)
    .slice(0, n);

const h = (s: string) => createHash("sha256").update(s).digest();

/** A deterministic valid address of a family. */
export function syntheticAddress(family: "evm" | "tron" | "bitcoin", seed: string): string {
  const b = h(`${family}:${seed}`).subarray(0, 20);
  if (family === "evm") return `0x${b.toString("hex")}`;
  if (family === "tron") return tronHexToBase58(`41${b.toString("hex")}`);
  return btcAddress.toBech32(b, 0, "bc");
}

export const ENTITIES = [
  { name: "GARANTEX EUROPE OU", programmes: ["RUSSIA-EO14024", "CYBER2"] },
  { name: "LAZARUS GROUP", programmes: ["DPRK3"] },
  { name: "SUEX OTC, S.R.O.", programmes: ["CYBER2"] },
] as const;

export const CHAINS = [
  {
    chain: "ethereum",
    family: "evm" as const,
    listed: firstLines("ETH", 3).map((a) => canonicalize("evm", a)),
    assets: [
      { symbol: "ETH", contract: null, decimals: 18, usd: 3000 },
      {
        symbol: "USDT",
        contract: "0xdac17f958d2ee523a2206206994597c13d831ec7",
        decimals: 6,
        usd: 1,
      },
    ],
  },
  {
    chain: "tron",
    family: "tron" as const,
    listed: firstLines("TRX", 3).map((a) => canonicalize("tron", a)),
    assets: [
      { symbol: "USDT", contract: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", decimals: 6, usd: 1 },
      { symbol: "TRX", contract: null, decimals: 6, usd: 0.1 },
    ],
  },
  {
    chain: "bitcoin",
    family: "bitcoin" as const,
    listed: firstLines("XBT", 3).map((a) => canonicalize("bitcoin", a)),
    assets: [{ symbol: "BTC", contract: null, decimals: 8, usd: 60_000 }],
  },
];

/** Counterparties per chain (7 each). */
export const COUNTERPARTIES: Record<string, string[]> = Object.fromEntries(
  CHAINS.map((c) => [
    c.chain,
    Array.from({ length: 7 }, (_, i) => syntheticAddress(c.family, `cp${i}`)),
  ]),
);

export const SEVERITIES = ["low", "medium", "high", "severe"] as const;
export const T0 = Date.UTC(2024, 0, 1);
const HOUR = 3_600_000;

/** One exposure summary of the address page (`GET /v1/addresses/{chain}/{address}`), as served. */
export interface AddressPageExposure {
  exposure: string;
  minHops: number;
  flows: number;
  valueUsd: number;
  sources: string[];
  entities: string[];
  firstSeen: string;
  lastSeen: string;
}

/** What the tests need to know about each seeded flag. */
export interface SeededFlag {
  flag: FlagV1;
  transfer: TransferV1;
  exchange: string;
}

/** Builds `n` flags (and their transfers) deterministically. */
export function buildFlags(n: number): SeededFlag[] {
  const out: SeededFlag[] = [];
  for (let i = 0; i < n; i++) {
    const c = CHAINS[i % 3] as (typeof CHAINS)[number];
    const asset = c.assets[Math.floor(i / 3) % c.assets.length] as (typeof c.assets)[number];
    const li = Math.floor(i / 9) % 3;
    const listed = c.listed[li] as string;
    const cp = COUNTERPARTIES[c.chain]?.[i % 7] as string;
    const ent = ENTITIES[li] as (typeof ENTITIES)[number];
    const indirect = i % 4 === 0;
    const hops = indirect ? 1 + (i % 8 === 0 ? 1 : 0) : 0;
    // Indirect: the sender is exposed (it received funds from the listed source within `hops`
    // transfers); mid1 received straight from the source, mid2 from mid1.
    const mid1 = syntheticAddress(c.family, `mid1-${i % 5}`);
    const mid2 = syntheticAddress(c.family, `mid2-${i % 5}`);
    const exposed = hops === 2 ? mid2 : mid1;
    const outgoing = i % 2 === 0; // listed → counterparty (else counterparty → listed)
    const from = indirect ? exposed : outgoing ? listed : cp;
    const to = indirect ? cp : outgoing ? cp : listed;
    const units = BigInt(((i * 7919) % 1000) + 1);
    const amount = (units * 10n ** BigInt(asset.decimals)) / 10n; // 0.1 … 100 asset units
    const ts = T0 + i * 6 * HOUR;
    const exchange = i % 6 === 0 ? "binance" : i % 6 === 1 ? "okx" : "";
    const kind = exchange
      ? outgoing
        ? "exchange_withdrawal"
        : "exchange_deposit"
      : asset.contract
        ? "token"
        : c.family === "bitcoin"
          ? "utxo"
          : "native";
    const txHash = h(`tx${i}`).toString("hex");
    const tid = transferId(c.chain, txHash, kind as TransferV1["kind"], i);
    const transfer: TransferV1 = {
      type: "transfer.v1",
      id: tid,
      chain: c.chain,
      kind: kind as TransferV1["kind"],
      txHash,
      index: String(i),
      blockNumber: 1_000_000 + i,
      blockHash: h(`block${i}`).toString("hex"),
      timestamp: ts,
      from,
      to,
      asset: { symbol: asset.symbol, contract: asset.contract, decimals: asset.decimals },
      amount: amount.toString(),
      fee: null,
      status: "confirmed",
      source: "seed",
      observedAt: ts + 1000,
      ...(exchange ? { exchange: { name: exchange, reference: `ref-${i}` } } : {}),
    };
    const lists = i % 9 === 0 ? ["ofac-sdn", "custom-mixers"] : ["ofac-sdn"];
    const ruleId = indirect ? "indirect-sanctioned" : "direct-sanctioned";
    const sides: ("from" | "to")[] = indirect ? ["from"] : outgoing ? ["from"] : ["to"];
    const entries = lists.map((listId) => ({
      listId,
      listVersion: "1",
      family: c.family,
      address: listed,
      entityName: ent.name,
      programmes: listId === "ofac-sdn" ? [...ent.programmes] : [],
      category: listId === "ofac-sdn" ? "sanctioned" : "mixer",
      listedFrom: Date.UTC(2022, 3, 5),
      listedUntil: null,
      listedAt: Date.UTC(2022, 3, 5),
      listedAtTransferTime: true,
    }));
    const path = indirect
      ? [
          { address: listed, hop: 0, viaTransferId: null, amount: null, timestamp: null },
          {
            address: mid1,
            hop: 1,
            viaTransferId: `seed:hop1:${i}`,
            amount: amount.toString(),
            timestamp: ts - 2 * HOUR,
          },
          ...(hops === 2
            ? [
                {
                  address: mid2,
                  hop: 2,
                  viaTransferId: `seed:hop2:${i}`,
                  amount: amount.toString(),
                  timestamp: ts - HOUR,
                },
              ]
            : []),
        ]
      : [{ address: listed, hop: 0, viaTransferId: null, amount: null, timestamp: null }];
    const usd = (Number(units) / 10) * asset.usd;
    const flag: FlagV1 = {
      type: "flag.v1",
      id: flagId(tid, ruleId, sides, listed),
      transferId: tid,
      transfer: {
        id: tid,
        chain: c.chain,
        kind: transfer.kind,
        txHash,
        index: String(i),
        blockNumber: transfer.blockNumber,
        blockHash: transfer.blockHash,
        timestamp: ts,
        from: [from],
        inputs: null,
        to,
        asset: transfer.asset,
        amount: transfer.amount,
        status: "confirmed",
        source: "seed",
        ...(transfer.exchange ? { exchange: transfer.exchange } : {}),
      },
      rule: { id: ruleId, kind: indirect ? "indirect" : "direct", configVersion: "seed" },
      severity: SEVERITIES[(i + Math.floor(i / 4)) % 4] as FlagV1["severity"],
      sides,
      address: indirect ? exposed : listed,
      family: c.family,
      counterparty: cp,
      entries,
      listedAtTransferTime: true,
      exposure: indirect ? "indirect" : "direct",
      hops,
      weight: indirect ? 0.5 : 1,
      path,
      valueUsd: usd.toFixed(2),
      evidence: [],
      incidentId: flagHash("incident", String(i)),
      retro: i % 5 === 0,
      listedAt: i % 5 === 0 ? Date.UTC(2022, 3, 5) : null,
      status: i % 50 === 7 ? "retracted" : "active",
      createdAt: ts + 5_000,
    };
    out.push({ flag, transfer, exchange });
  }
  return out;
}

/** Inserts the flags and their transfers (plus unflagged transfers around counterparties). */
export async function seed(ch: ClickHouseClient, flags: SeededFlag[]): Promise<void> {
  const store = new Store(ch);
  await store.insertTransfers(flags.map((f) => ({ value: f.transfer })));
  await store.insertFlags(flags.map((f) => ({ value: f.flag })));
}
