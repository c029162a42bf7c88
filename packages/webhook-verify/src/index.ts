/**
 * Signing and verification of Chainscreen webhooks. Zero dependencies beyond `node:crypto`, so a
 * bank can copy this one file or import the package.
 *
 * Scheme (the one Stripe and Marble use): the signature header is `t=<unix seconds>,v1=<hex>`
 * with one `v1` entry per active signing secret, where `<hex>` is
 * HMAC-SHA256(key = secret as UTF-8, message = `${t}.${raw body bytes}`). During a secret rotation
 * two `v1` entries are sent; a receiver that knows either secret accepts the request.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** HTTP header names sent with every delivery (lower case, as Node exposes them). */
export const WebhookHeaders = {
  /** Alert id: stable across retries and replays, so receivers de-duplicate on it. */
  eventId: "chainscreen-event-id",
  /** Unix seconds of this attempt (also inside the signature as `t=`). */
  timestamp: "chainscreen-timestamp",
  /** `t=<ts>,v1=<hex>[,v1=<hex>]`. */
  signature: "chainscreen-signature",
  /** Unique per delivery job (differs between the original delivery and a replay). */
  deliveryId: "chainscreen-delivery-id",
} as const;

/** Default accepted clock difference between sender and receiver, in seconds. */
export const DEFAULT_TOLERANCE_SEC = 300;

type Body = string | Uint8Array;

/** Hex HMAC-SHA256 of `${timestampSec}.${body}` under one secret. */
export function computeSignature(body: Body, secret: string, timestampSec: number): string {
  const h = createHmac("sha256", secret);
  h.update(`${timestampSec}.`, "utf8");
  h.update(typeof body === "string" ? Buffer.from(body, "utf8") : body);
  return h.digest("hex");
}

/** Builds the signature header value: one `v1` per secret, in the order given. */
export function signatureHeader(
  body: Body,
  secrets: readonly string[],
  timestampSec: number,
): string {
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) {
    throw new RangeError("timestampSec must be a non-negative integer (unix seconds)");
  }
  if (secrets.length === 0) throw new RangeError("at least one signing secret is required");
  const parts = [`t=${timestampSec}`];
  for (const s of secrets) parts.push(`v1=${computeSignature(body, s, timestampSec)}`);
  return parts.join(",");
}

/** A parsed signature header. */
export interface ParsedSignature {
  timestamp: number;
  /** Every `v1` value, lower-case hex. Unknown schemes are ignored (forward compatible). */
  signatures: string[];
}

/** Parses `t=<ts>,v1=<hex>,…`; returns null when it has no valid timestamp or no v1 entry. */
export function parseSignatureHeader(header: string): ParsedSignature | null {
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const item of header.split(",")) {
    const eq = item.indexOf("=");
    if (eq <= 0) continue;
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === "t") {
      if (!/^\d{1,15}$/.test(value)) return null;
      timestamp = Number(value);
    } else if (key === "v1" && /^[0-9a-fA-F]{64}$/.test(value)) {
      signatures.push(value.toLowerCase());
    }
  }
  if (timestamp === null || signatures.length === 0) return null;
  return { timestamp, signatures };
}

/** Why a verification failed. */
export type VerifyFailure =
  | "malformed_header"
  | "timestamp_outside_tolerance"
  | "no_matching_signature";

/** Outcome of {@link verify}. */
export type VerifyResult = { ok: true; timestamp: number } | { ok: false; reason: VerifyFailure };

/**
 * Verifies a delivery. `body` must be the raw request body exactly as received (bytes or the
 * undecoded string), `header` the `chainscreen-signature` header, `secret` your signing secret
 * (or several, while you rotate). Rejects timestamps more than `toleranceSec` away from now
 * (replay protection). Signatures are compared in constant time.
 */
export function verify(
  body: Body,
  header: string | null | undefined,
  secret: string | readonly string[],
  toleranceSec: number = DEFAULT_TOLERANCE_SEC,
  nowSec: number = Math.floor(Date.now() / 1000),
): VerifyResult {
  if (typeof header !== "string") return { ok: false, reason: "malformed_header" };
  const parsed = parseSignatureHeader(header);
  if (!parsed) return { ok: false, reason: "malformed_header" };
  if (Math.abs(nowSec - parsed.timestamp) > toleranceSec) {
    return { ok: false, reason: "timestamp_outside_tolerance" };
  }
  const secrets = typeof secret === "string" ? [secret] : secret;
  let matched = false;
  for (const s of secrets) {
    const expected = Buffer.from(computeSignature(body, s, parsed.timestamp), "hex");
    for (const candidate of parsed.signatures) {
      // Both are 32 bytes (the header parser only keeps 64-hex-digit values); no early exit so
      // the time taken does not depend on which entry matched.
      if (timingSafeEqual(expected, Buffer.from(candidate, "hex"))) matched = true;
    }
  }
  return matched
    ? { ok: true, timestamp: parsed.timestamp }
    : { ok: false, reason: "no_matching_signature" };
}
