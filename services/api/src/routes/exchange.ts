import { chainForNetwork, reportToTransfer } from "@chainscreen/exchange";
import type { TransferV1 } from "@chainscreen/schema";
import type { FastifyInstance } from "fastify";
import { badRequest, HttpProblem } from "../problem.js";
import { normalizeAddress } from "../screening.js";
import { matchOut } from "./addresses.js";
import { MatchSchema, problemResponses } from "./schemas.js";

interface ReportsBody {
  reports: unknown[];
  /** Accept nothing when any report is invalid (default true). */
  atomic?: boolean;
}

interface AttemptBody {
  network: string;
  address: string;
  asset?: string;
  amount?: string;
}

const ReportSchema = {
  type: "object",
  description:
    "A deposit or withdrawal: reference (idempotency key), exchange, direction (deposit|withdrawal), " +
    "network, asset, amount (display units), txHash, counterpartyAddress, exchangeAddress, customerRef, " +
    "time (ISO 8601 or Unix ms), assetContract and decimals for unknown assets. Validated item by item.",
};

/**
 * Exchange and bank push API: report deposits/withdrawals (published as transfer.v1 of kind
 * exchange_deposit / exchange_withdrawal, screened and stored like on-chain transfers), and ask
 * before sending whether a withdrawal destination is listed or exposed.
 */
export async function exchangeRoutes(app: FastifyInstance): Promise<void> {
  const { watchlist, ch } = app.deps;

  app.post<{ Body: ReportsBody }>(
    "/v1/exchange/transfers",
    {
      config: { permission: "transfers:register" },
      schema: {
        tags: ["exchange"],
        summary: "Report deposits and withdrawals (single or batched, idempotent on reference)",
        description:
          "Each report is validated; with `atomic` (default) a batch with any invalid report is refused " +
          "as a whole (400 naming every bad field of every failing item), otherwise valid reports are " +
          "accepted and the invalid ones listed. Resubmitting a reference is a no-op downstream: the " +
          "transfer id depends only on (tenant, reference).",
        body: {
          type: "object",
          additionalProperties: false,
          required: ["reports"],
          properties: {
            reports: { type: "array", minItems: 1, maxItems: 10_000, items: ReportSchema },
            atomic: { type: "boolean", default: true },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              accepted: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    index: { type: "integer" },
                    id: { type: "string" },
                    reference: { type: "string" },
                  },
                },
              },
              rejected: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    index: { type: "integer" },
                    errors: {
                      type: "array",
                      items: {
                        type: "object",
                        properties: { field: { type: "string" }, message: { type: "string" } },
                      },
                    },
                  },
                },
              },
            },
          },
          ...problemResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async (req) => {
      const p = req.principal;
      if (!p) throw badRequest("no principal");
      const pub = app.deps.transfers;
      if (!pub)
        throw new HttpProblem(
          503,
          "unavailable",
          "transfer registration is not configured on this server",
        );
      const accepted: { index: number; id: string; reference: string }[] = [];
      const rejected: { index: number; errors: { field: string; message: string }[] }[] = [];
      const transfers: TransferV1[] = [];
      req.body.reports.forEach((r, index) => {
        const out = reportToTransfer(r, { tenantId: p.tenantId, source: `push:${p.keyId}` });
        if (out.ok) {
          transfers.push(out.transfer);
          accepted.push({
            index,
            id: out.transfer.id,
            reference: out.transfer.exchange?.reference ?? "",
          });
        } else {
          rejected.push({ index, errors: out.errors });
        }
      });
      if (rejected.length > 0 && req.body.atomic !== false) {
        throw badRequest(
          `${rejected.length} of ${req.body.reports.length} reports are invalid; nothing was accepted`,
          rejected.flatMap((r) =>
            r.errors.map((e) => ({ field: `reports[${r.index}].${e.field}`, message: e.message })),
          ),
        );
      }
      // Wallet tags first (each wallet once): the tagger then usually knows the exchange's
      // addresses are services before it screens the on-chain flows into them.
      await app.deps.exchangeWallets?.tag(transfers);
      for (const t of transfers) await pub.publish(t);
      return { accepted, rejected };
    },
  );

  app.post<{ Body: AttemptBody }>(
    "/v1/exchange/withdrawal-attempts",
    {
      config: { permission: "screen" },
      schema: {
        tags: ["exchange"],
        summary: "Screen a withdrawal destination before sending: listed, exposed or clean",
        description:
          "Answers synchronously. `listed`: the address is on an active list entry now. `exposed`: the " +
          "address received flagged funds (direct or indirect exposure, from stored active flags), with " +
          "the lowest hop count and the sources. `decision`: block (listed), review (exposed) or allow.",
        body: {
          type: "object",
          additionalProperties: false,
          required: ["network", "address"],
          properties: {
            network: { type: "string", minLength: 1, maxLength: 64 },
            address: { type: "string", minLength: 1, maxLength: 128 },
            asset: { type: "string", maxLength: 32 },
            amount: { type: "string", maxLength: 64 },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              address: { type: "string" },
              chain: { type: "string" },
              decision: { type: "string", enum: ["block", "review", "allow"] },
              listed: { type: "boolean" },
              matches: { type: "array", items: MatchSchema },
              exposed: { type: "boolean" },
              exposure: {
                type: "object",
                nullable: true,
                properties: {
                  minHops: { type: "integer" },
                  flows: { type: "integer" },
                  entities: { type: "array", items: { type: "string" } },
                },
              },
            },
          },
          ...problemResponses(400, 401, 403, 429),
        },
      },
    },
    async (req) => {
      // Same network vocabulary as reports (ETH, TRX, USDT-TRC20, …).
      const chain = chainForNetwork(req.body.network);
      if (!chain)
        throw badRequest(`unknown network "${req.body.network}"`, [
          { field: "network", message: "unknown" },
        ]);
      const n = normalizeAddress(chain, req.body.address);
      if (!n.ok) throw badRequest(n.error, [{ field: "address", message: n.error }]);
      const matches = watchlist.lookup(n.family, n.address, Date.now());
      const rs = await ch.query({
        query: `SELECT count() AS flows, min(ifNull(hops, 0)) AS min_hops, groupUniqArrayArray(entity_names) AS entities
                FROM flags FINAL
                WHERE to_address = {a:String} AND status = 'active'`,
        query_params: { a: n.address },
        format: "JSONEachRow",
      });
      const row = (
        (await rs.json()) as {
          flows: string | number;
          min_hops: string | number;
          entities: string[];
        }[]
      )[0];
      const flows = Number(row?.flows ?? 0);
      const listed = matches.length > 0;
      return {
        address: n.address,
        chain,
        decision: listed ? "block" : flows > 0 ? "review" : "allow",
        listed,
        matches: matches.map(matchOut),
        exposed: flows > 0,
        exposure:
          flows > 0
            ? { minHops: Number(row?.min_hops ?? 0) + 1, flows, entities: row?.entities ?? [] }
            : null,
      };
    },
  );
}
