/** Small client for the Chainscreen API (same origin). The key lives in sessionStorage only. */

const KEY = "chainscreen.apiKey";

export function getKey(): string | null {
  return sessionStorage.getItem(KEY);
}
export function setKey(k: string | null): void {
  if (k) sessionStorage.setItem(KEY, k);
  else sessionStorage.removeItem(KEY);
}

/** A problem+json answer turned into an Error with the server's explanation. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function problemOf(r: Response): Promise<ApiError> {
  try {
    const p = (await r.json()) as { detail?: string; title?: string };
    return new ApiError(r.status, p.detail ?? p.title ?? `HTTP ${r.status}`);
  } catch {
    return new ApiError(r.status, `HTTP ${r.status}`);
  }
}

/** GET (or other) with the key; throws ApiError on non-2xx. */
export async function api<T>(path: string, init: RequestInit = {}, key = getKey()): Promise<T> {
  const headers = new Headers(init.headers);
  if (key) headers.set("authorization", `Bearer ${key}`);
  if (init.body) headers.set("content-type", "application/json");
  const r = await fetch(path, { ...init, headers });
  if (!r.ok) throw await problemOf(r);
  return (await r.json()) as T;
}

/** Downloads a streamed export as a file (the key goes in a header, so a plain link cannot be used). */
export async function download(path: string, filename: string): Promise<number> {
  const r = await fetch(path, { headers: { authorization: `Bearer ${getKey() ?? ""}` } });
  if (!r.ok) throw await problemOf(r);
  const blob = await r.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return blob.size;
}

export interface Me {
  keyId: string;
  tenantId: string;
  role: string;
  name: string;
}

export interface Flow {
  id: string;
  transferId: string;
  flaggedAt: string;
  timestamp: string;
  chain: string;
  txHash: string;
  kind: string;
  from: string;
  to: string;
  listedAddress: string;
  counterparty: string;
  asset: string;
  assetContract: string | null;
  amount: string;
  valueUsd: number;
  exposure: string;
  hops: number;
  severity: string;
  retro: boolean;
  entities: string[];
  programmes: string[];
  lists: string[];
  exchange: string | null;
  status: string;
}

export interface Match {
  list: string;
  listVersion: string | null;
  entity: string | null;
  programmes: string[];
  category: string | null;
  listedFrom: string | null;
  listedUntil: string | null;
}

export interface AddressView {
  chain: string;
  family: string;
  address: string;
  listed: boolean;
  matches: Match[];
  history: Match[];
  exposure: {
    exposure: string;
    minHops: number;
    flows: number;
    valueUsd: number;
    sources: string[];
    entities: string[];
  }[];
  counterparties: {
    address: string;
    asset: string;
    transfers: number;
    received: string;
    sent: string;
    listed: boolean;
    lastSeen: string;
  }[];
  flows: Flow[];
  graph: {
    nodes: {
      id: string;
      listed: boolean;
      entity: string | null;
      hops: number | null;
      focus: boolean;
    }[];
    edges: { source: string; target: string; flows: number; flagged: boolean }[];
  };
  timeline: { day: string; transfersIn: number; transfersOut: number; flagged: number }[];
}

/** Short form of an address or hash for tables. */
export function short(s: string, n = 6): string {
  return s.length <= 2 * n + 1 ? s : `${s.slice(0, n + 2)}…${s.slice(-n)}`;
}

/** USD with thousands separators. */
export function usd(v: number): string {
  return v.toLocaleString("en-US", {
    style: "currency",
    currency: "USD",
    maximumFractionDigits: 0,
  });
}
