/** JSON schemas shared by routes (they become OpenAPI components through @fastify/swagger). */

const str = { type: "string" } as const;
const strs = { type: "array", items: { type: "string" } } as const;

/** A flagged flow as returned by the API. */
export const FlowSchema = {
  type: "object",
  properties: {
    id: str,
    transferId: str,
    flaggedAt: { type: "string", format: "date-time" },
    timestamp: { type: "string", format: "date-time" },
    chain: str,
    txHash: str,
    kind: str,
    from: str,
    to: str,
    listedAddress: { type: "string", description: "The listed address the exposure comes from" },
    counterparty: { type: "string", description: "The exposed (non-listed) side" },
    asset: str,
    assetContract: { type: "string", nullable: true },
    amount: { type: "string", description: "Integer base units" },
    valueUsd: { type: "number" },
    exposure: { type: "string", enum: ["direct", "indirect"] },
    hops: { type: "integer" },
    severity: { type: "string", enum: ["low", "medium", "high", "severe"] },
    retro: { type: "boolean" },
    entities: strs,
    programmes: strs,
    lists: strs,
    exchange: { type: "string", nullable: true },
    status: str,
  },
} as const;

/** An exchange's report linked to an on-chain transfer (see exchange-links.ts). */
export const ExchangeLinkSchema = {
  type: "object",
  properties: {
    exchange: str,
    tenantId: { type: "string", description: "Tenant that reported it" },
    direction: { type: "string", enum: ["deposit", "withdrawal"] },
    reference: { type: "string", description: "The reporter's reference" },
    customerRef: { type: "string", nullable: true },
    exchangeAddress: { type: "string", description: "The exchange's wallet, as reported" },
    counterparty: { type: "string", description: "The outside address, as reported" },
    counterpartyOnChain: {
      type: "boolean",
      description: "The chain confirms the reported outside address",
    },
    matchedOn: { type: "string", enum: ["receiver", "sender", "tx_hash"] },
    reportTransferId: { type: "string", description: "Transfer id of the exchange report" },
    onchainTransferId: { type: "string", description: "Transfer id of the on-chain transfer" },
    blockNumber: { type: "integer", nullable: true },
    status: { type: "string", description: "On-chain status: pending or confirmed" },
    reportedAt: { type: "string", format: "date-time" },
    reportedAmount: { type: "string", description: "Integer base units, as reported" },
    amountMatches: { type: "boolean" },
  },
} as const;

/** A list entry that matched an address. */
export const MatchSchema = {
  type: "object",
  properties: {
    list: str,
    listVersion: { type: "string", nullable: true },
    entity: { type: "string", nullable: true },
    programmes: strs,
    category: { type: "string", nullable: true },
    listedFrom: { type: "string", format: "date-time", nullable: true },
    listedUntil: { type: "string", format: "date-time", nullable: true },
    url: { type: "string", nullable: true },
  },
} as const;

const DESCRIPTIONS: Record<number, string> = {
  400: "Invalid input (the detail says what is wrong)",
  401: "No key, or an unknown or revoked key",
  403: "The key's role may not do this",
  404: "Not found (or not visible to this tenant)",
  409: "Conflict",
  429: "Rate limit exceeded",
  503: "A dependency is unavailable",
};

/** Problem+json responses for the given statuses. */
export function problemResponses(...codes: number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const c of codes) {
    out[c] = {
      description: DESCRIPTIONS[c] ?? "Error",
      content: { "application/problem+json": { schema: { $ref: "Problem#" } } },
    };
  }
  return out;
}

/** ISO string of a Unix ms value, or null. */
export function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}
