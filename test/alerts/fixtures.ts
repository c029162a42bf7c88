import { type FlagV1, flagHash, flagId } from "@chainscreen/schema";

/** Listed (OFAC SDN, ETH) address used as the sanctioned party in alert tests. */
export const LISTED = "0x8589427373d6d84e98730d7795d8f6f8731fda16";

/** A valid `flag.v1` for alert tests; fields can be overridden. */
export function makeFlag(
  over: {
    n?: number;
    from?: string;
    to?: string;
    chain?: string;
    severity?: FlagV1["severity"];
    exposure?: FlagV1["exposure"];
    retro?: boolean;
    listId?: string;
    programmes?: string[];
    status?: FlagV1["status"];
    createdAt?: number;
  } = {},
): FlagV1 {
  const n = over.n ?? 1;
  const chain = over.chain ?? "ethereum";
  const txHash = `0x${n.toString(16).padStart(64, "0")}`;
  const transferId = `${chain}:${txHash}:native:0`;
  const from = over.from ?? LISTED;
  const to = over.to ?? "0x00000000000000000000000000000000000000aa";
  const exposure = over.exposure === undefined ? "direct" : over.exposure;
  return {
    type: "flag.v1",
    id: flagId(transferId, "direct-sanctioned", ["from"], from),
    transferId,
    transfer: {
      id: transferId,
      chain,
      kind: "native",
      txHash,
      index: "0",
      blockNumber: 19_000_000 + n,
      blockHash: `0x${"b".repeat(64)}`,
      timestamp: 1_760_000_000_000 + n,
      from: [from],
      inputs: null,
      to,
      asset: { symbol: "ETH", contract: null, decimals: 18 },
      amount: "1000000000000000000",
      status: "confirmed",
      source: "test",
    },
    rule: {
      id: "direct-sanctioned",
      kind: exposure === null ? "p2p" : exposure,
      configVersion: "v1",
    },
    severity: over.severity ?? "severe",
    sides: ["from"],
    address: from,
    family: "evm",
    counterparty: to,
    entries: [
      {
        listId: over.listId ?? "ofac-sdn",
        listVersion: "2024-09-27",
        family: "evm",
        address: from,
        entityName: "Test Listed Entity",
        programmes: over.programmes ?? ["CYBER2"],
        category: "sanctioned",
        listedFrom: null,
        listedUntil: null,
        listedAt: null,
        listedAtTransferTime: true,
      },
    ],
    listedAtTransferTime: true,
    exposure,
    hops: exposure === "indirect" ? 2 : exposure === "direct" ? 0 : null,
    weight: exposure === null ? null : 1,
    path: [],
    valueUsd: "3000.00",
    evidence: [],
    incidentId: flagHash("incident", String(n)),
    retro: over.retro ?? false,
    listedAt: null,
    status: over.status ?? "active",
    createdAt: over.createdAt ?? Date.now(),
  };
}
