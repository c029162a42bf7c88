import { createHash } from "node:crypto";
import { chainFamily, tryCanonicalize } from "@chainscreen/addresses";
import { canonicalTxHash } from "@chainscreen/exchange";
import { type TransferV1, TransferV1 as TransferV1Schema, transferId } from "@chainscreen/schema";
import type { FastifyInstance } from "fastify";
import { badRequest, HttpProblem } from "../problem.js";
import { normalizeAddress } from "../screening.js";
import { problemResponses } from "./schemas.js";

/** Sends transfer.v1 events into the pipeline (Kafka in production). */
export interface TransferPublisher {
  publish(t: TransferV1): Promise<void>;
}

/** Publishes the exchange wallets named by reported transfers as service tags (see @chainscreen/exchange). */
export interface WalletTagger {
  tag(transfers: readonly TransferV1[]): Promise<number>;
}

/**
 * KYT `network` names → chain names used in transfer.v1. KYT spells networks with a capital
 * (Bitcoin, Ethereum, Tron, …); matching is case-insensitive.
 */
export const KYT_NETWORKS: Record<string, string> = {
  bitcoin: "bitcoin",
  ethereum: "ethereum",
  tron: "tron",
  binance_smart_chain: "bsc",
  bsc: "bsc",
  polygon: "polygon",
  arbitrum: "arbitrum",
  optimism: "optimism",
  avalanche: "avalanche",
  base: "base",
  litecoin: "litecoin",
  bitcoin_cash: "bitcoin-cash",
  dogecoin: "dogecoin",
};

/** Decimals of common assets per chain, to turn KYT's `assetAmount` (asset units) into base units. */
const DECIMALS: Record<string, number> = {
  "bitcoin:BTC": 8,
  "ethereum:ETH": 18,
  "ethereum:USDT": 6,
  "ethereum:USDC": 6,
  "tron:TRX": 6,
  "tron:USDT": 6,
  "tron:USDC": 6,
  "bsc:BNB": 18,
  "bsc:USDT": 18,
  "polygon:POL": 18,
  "polygon:USDT": 6,
  "litecoin:LTC": 8,
  "dogecoin:DOGE": 8,
  "bitcoin-cash:BCH": 8,
};

/** "1.5" with 8 decimals → "150000000"; null when the amount has more decimals than allowed. */
export function toBaseUnits(amount: string, decimals: number): string | null {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(amount.trim());
  if (!m) return null;
  const int = m[1] ?? "0";
  const frac = m[2] ?? "";
  if (frac.length > decimals) return null;
  const s = `${int}${frac.padEnd(decimals, "0")}`.replace(/^0+(?=\d)/, "");
  return s;
}

interface KytBody {
  network: string;
  asset: string;
  transferReference: string;
  direction: "received" | "sent";
  transferTimestamp?: string;
  assetAmount?: number | string;
  outputAddress?: string;
  assetPrice?: number;
  assetDenomination?: string;
}

/**
 * Drop-in endpoints:
 * - GET /api/v1/address/{address}: Chainalysis' free sanctions API shape.
 * - POST /v2/users/{userId}/transfers: Chainalysis KYT's register-transfer shape, turned into an
 *   exchange transfer.v1 (deposit for `received`, withdrawal for `sent`).
 */
export async function compatRoutes(app: FastifyInstance): Promise<void> {
  const { watchlist } = app.deps;

  app.get<{ Params: { address: string } }>(
    "/api/v1/address/:address",
    {
      config: { permission: "screen" },
      schema: {
        tags: ["compatibility"],
        summary: "Chainalysis free sanctions API compatible lookup",
        description:
          "Same path, header (`X-API-Key`) and response shape as Chainalysis' free sanctions screening API: " +
          "`{identifications: [{category, name, description, url}]}`, an empty array when the address is not listed. " +
          "The chain is inferred from the address shape (0x… EVM on every EVM chain, T… Tron, bc1…/1…/3… Bitcoin). " +
          "Differences: our lists (OFAC SDN and any custom list loaded) are the source; `name` is " +
          "`SANCTIONS: <list> <entity> <listed date> <address>`; an unrecognisable address is a 400 problem, where " +
          "Chainalysis answers an empty array.",
        params: {
          type: "object",
          properties: { address: { type: "string", minLength: 1, maxLength: 128 } },
          required: ["address"],
        },
        response: {
          200: {
            type: "object",
            properties: {
              identifications: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    category: { type: "string" },
                    name: { type: "string" },
                    description: { type: "string" },
                    url: { type: "string" },
                  },
                },
              },
            },
          },
          ...problemResponses(400, 401, 403, 429),
        },
      },
    },
    async (req) => {
      const n = normalizeAddress(undefined, req.params.address);
      if (!n.ok) throw badRequest(n.error, [{ field: "address", message: n.error }]);
      const matches = watchlist.lookup(n.family, n.address, Date.now());
      req.auditRows = matches.length;
      return {
        identifications: matches.map((m) => ({
          category: m.category === null || m.category === "sanctioned" ? "sanctions" : m.category,
          name: [
            "SANCTIONS:",
            m.list.toUpperCase().replaceAll("-", " "),
            m.entity ?? "",
            m.listedFrom ? new Date(m.listedFrom).toISOString().slice(0, 10) : "",
            req.params.address,
          ]
            .filter(Boolean)
            .join(" "),
          description: [
            m.entity ? `${m.entity}` : "Listed address",
            m.programmes.length ? `programmes: ${m.programmes.join(", ")}` : "",
            m.listVersion ? `list version ${m.listVersion}` : "",
          ]
            .filter(Boolean)
            .join("; "),
          url: m.url ?? "",
        })),
      };
    },
  );

  app.post<{ Params: { userId: string }; Body: KytBody }>(
    "/v2/users/:userId/transfers",
    {
      config: { permission: "transfers:register" },
      schema: {
        tags: ["compatibility"],
        summary: "Chainalysis KYT compatible register-transfer: feeds the exchange events path",
        description:
          "Accepts KYT's v2 request body (`network`, `asset`, `transferReference`, `direction`, optional " +
          "`transferTimestamp`, `assetAmount`, `outputAddress`, `assetPrice`, `assetDenomination`). " +
          "`transferReference` is `<txhash>:<address>` (account chains) or `<txhash>:<outputIndex>` (UTXO). " +
          "It becomes a transfer.v1 of kind exchange_deposit (received) or exchange_withdrawal (sent) on the " +
          "transfers topic with the caller's tenant as exchange, `userId` as customer reference and the " +
          "reference as idempotency key (same reference twice → same transfer id). The response mirrors " +
          "KYT's fields (`updatedAt`, `asset`, `network`, `transferReference`, `tx`, `idx`, `usdAmount`, " +
          "`assetAmount`, `timestamp`, `outputAddress`, `externalId`) with 202. Not compatible: alerts and " +
          "exposure are not returned on GET /v2/transfers/{externalId} (use flags/alerts); amounts need a " +
          "known asset (decimals) to be stored in base units, otherwise 0 with the original kept in the source field.",
        params: {
          type: "object",
          properties: { userId: { type: "string", minLength: 1, maxLength: 256 } },
          required: ["userId"],
        },
        body: {
          type: "object",
          additionalProperties: false,
          required: ["network", "asset", "transferReference", "direction"],
          properties: {
            network: { type: "string", minLength: 1, maxLength: 64 },
            asset: { type: "string", minLength: 1, maxLength: 64 },
            transferReference: { type: "string", minLength: 3, maxLength: 300 },
            direction: { type: "string", enum: ["received", "sent"] },
            transferTimestamp: { type: "string", maxLength: 64 },
            // String first: with type coercion a decimal string must not be turned into a (rounded) number.
            assetAmount: {
              anyOf: [
                { type: "string", maxLength: 80 },
                { type: "number", minimum: 0 },
              ],
            },
            outputAddress: { type: "string", maxLength: 128 },
            assetPrice: { type: "number", minimum: 0 },
            assetDenomination: { type: "string", maxLength: 16 },
          },
        },
        response: {
          202: {
            type: "object",
            properties: {
              updatedAt: { type: "string", nullable: true },
              asset: { type: "string" },
              network: { type: "string" },
              transferReference: { type: "string" },
              tx: { type: "string" },
              idx: { type: "integer", nullable: true },
              usdAmount: { type: "number", nullable: true },
              assetAmount: { type: "number", nullable: true },
              timestamp: { type: "string", nullable: true },
              outputAddress: { type: "string", nullable: true },
              externalId: { type: "string" },
            },
          },
          ...problemResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async (req, reply) => {
      const p = req.principal;
      const pub = app.deps.transfers;
      if (!p) throw badRequest("no principal");
      if (!pub)
        throw new HttpProblem(
          503,
          "unavailable",
          "transfer registration is not configured on this server",
        );
      const b = req.body;
      const chain = KYT_NETWORKS[b.network.trim().toLowerCase().replaceAll(" ", "_")];
      if (!chain) {
        throw badRequest(
          `network "${b.network}" is not supported; one of ${Object.keys(KYT_NETWORKS).join(", ")}`,
          [{ field: "network", message: "unsupported" }],
        );
      }
      const family = chainFamily(chain);
      const sep = b.transferReference.lastIndexOf(":");
      if (sep <= 0 || sep === b.transferReference.length - 1) {
        throw badRequest("transferReference must be <txhash>:<address> or <txhash>:<outputIndex>", [
          { field: "transferReference", message: "malformed" },
        ]);
      }
      // Stored as the chain ingesters store hashes, so the registration joins the chain's record.
      const tx = canonicalTxHash(family, b.transferReference.slice(0, sep));
      const tail = b.transferReference.slice(sep + 1).trim();
      const idx = /^\d{1,9}$/.test(tail) ? Number(tail) : null;
      let address: string | null = null;
      const rawAddress = idx === null ? tail : (b.outputAddress ?? null);
      if (rawAddress !== null && family) {
        const n = tryCanonicalize(family, rawAddress);
        if (!n.ok) {
          throw badRequest(
            `address in ${idx === null ? "transferReference" : "outputAddress"}: ${n.error}`,
            [{ field: idx === null ? "transferReference" : "outputAddress", message: n.error }],
          );
        }
        address = n.address;
      } else if (rawAddress !== null) {
        const n = normalizeAddress(chain, rawAddress);
        address = n.ok ? n.address : rawAddress;
      }
      let ts = Date.now();
      if (b.transferTimestamp !== undefined) {
        const t = Date.parse(
          b.transferTimestamp.endsWith("Z") || /[+-]\d\d:?\d\d$/.test(b.transferTimestamp)
            ? b.transferTimestamp
            : `${b.transferTimestamp}Z`,
        );
        if (!Number.isFinite(t)) {
          throw badRequest("transferTimestamp must be ISO 8601 (UTC assumed without offset)", [
            { field: "transferTimestamp", message: "not a time" },
          ]);
        }
        ts = t;
      }
      const symbol = b.asset.trim().toUpperCase();
      const decimals = DECIMALS[`${chain}:${symbol}`] ?? null;
      let amount = "0";
      if (b.assetAmount !== undefined) {
        if (decimals === null) {
          amount = "0";
        } else {
          const a = toBaseUnits(String(b.assetAmount), decimals);
          if (a === null) {
            throw badRequest(
              `assetAmount must be a non-negative number with at most ${decimals} decimals`,
              [{ field: "assetAmount", message: "invalid" }],
            );
          }
          amount = a;
        }
      }
      const kind = b.direction === "received" ? "exchange_deposit" : "exchange_withdrawal";
      // Idempotent on (tenant, user, reference): the same registration twice is the same event.
      const ref = createHash("sha256")
        .update(`${p.tenantId}\n${req.params.userId}\n${b.transferReference}`)
        .digest("hex")
        .slice(0, 32);
      const t: TransferV1 = {
        type: "transfer.v1",
        id: transferId(chain, tx, kind, ref),
        chain,
        kind,
        txHash: tx,
        index: idx === null ? "0" : String(idx),
        blockNumber: null,
        blockHash: null,
        timestamp: ts,
        // KYT names only the customer's side; the on-chain counterparty is joined later from chain data.
        from: null,
        to: address,
        asset: { symbol, contract: null, decimals },
        amount,
        fee: null,
        status: "confirmed",
        source: `kyt-api:${p.tenantId}${decimals === null && b.assetAmount !== undefined ? `:assetAmount=${String(b.assetAmount)}` : ""}`,
        observedAt: Date.now(),
        exchange: {
          name: p.tenantId,
          tenantId: p.tenantId,
          reference: b.transferReference,
          customerRef: req.params.userId,
          exchangeAddress: b.direction === "received" ? address : null,
        },
      };
      const parsed = TransferV1Schema.safeParse(t);
      if (!parsed.success) {
        throw badRequest(
          `transfer is invalid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
        );
      }
      await app.deps.exchangeWallets?.tag([parsed.data]);
      await pub.publish(parsed.data);
      req.auditAction = "transfer.register";
      req.auditRows = 1;
      return reply.code(202).send({
        updatedAt: null,
        asset: b.asset,
        network: b.network,
        transferReference: b.transferReference,
        tx,
        idx,
        usdAmount:
          b.assetPrice !== undefined && b.assetAmount !== undefined
            ? Number(b.assetAmount) * b.assetPrice
            : null,
        assetAmount: b.assetAmount === undefined ? null : Number(b.assetAmount),
        timestamp: b.transferTimestamp ?? null,
        outputAddress: address,
        externalId: t.id,
      });
    },
  );
}
