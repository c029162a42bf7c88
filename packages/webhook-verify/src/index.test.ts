import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { computeSignature, parseSignatureHeader, signatureHeader, verify } from "./index.js";

const body = JSON.stringify({ type: "alert.v1", id: "a1", note: "é ünïcode" });
const now = 1_800_000_000;

describe("webhook signatures", () => {
  it("is HMAC-SHA256 over timestamp, a dot and the body (independent computation)", () => {
    const expected = createHmac("sha256", "whsec_test").update(`${now}.${body}`).digest("hex");
    expect(computeSignature(body, "whsec_test", now)).toBe(expected);
    expect(signatureHeader(body, ["whsec_test"], now)).toBe(`t=${now},v1=${expected}`);
  });

  it("accepts string and byte bodies alike", () => {
    const h = signatureHeader(body, ["s1"], now);
    expect(verify(body, h, "s1", 300, now)).toEqual({ ok: true, timestamp: now });
    expect(verify(Buffer.from(body), h, "s1", 300, now).ok).toBe(true);
  });

  it("carries one v1 per active secret; either secret verifies", () => {
    const h = signatureHeader(body, ["old", "new"], now);
    expect(parseSignatureHeader(h)?.signatures).toHaveLength(2);
    expect(verify(body, h, "old", 300, now).ok).toBe(true);
    expect(verify(body, h, "new", 300, now).ok).toBe(true);
    expect(verify(body, h, "other", 300, now)).toEqual({
      ok: false,
      reason: "no_matching_signature",
    });
    expect(verify(body, h, ["other", "new"], 300, now).ok).toBe(true);
  });

  it("rejects a modified body, a stale or future timestamp and malformed headers", () => {
    const h = signatureHeader(body, ["s"], now);
    expect(verify(`${body} `, h, "s", 300, now).ok).toBe(false);
    expect(verify(body, h, "s", 300, now + 301)).toEqual({
      ok: false,
      reason: "timestamp_outside_tolerance",
    });
    expect(verify(body, h, "s", 300, now - 301).ok).toBe(false);
    expect(verify(body, h, "s", 300, now + 300).ok).toBe(true);
    // Moving the timestamp invalidates the signature (it is part of the signed message).
    const forged = h.replace(`t=${now}`, `t=${now + 1}`);
    expect(verify(body, forged, "s", 300, now)).toEqual({
      ok: false,
      reason: "no_matching_signature",
    });
    for (const bad of [
      undefined,
      null,
      "",
      "v1=abc",
      `t=${now}`,
      `t=x,v1=${"a".repeat(64)}`,
      `t=${now},v1=zz`,
    ]) {
      expect(verify(body, bad, "s", 300, now)).toEqual({ ok: false, reason: "malformed_header" });
    }
  });

  it("ignores unknown schemes and tolerates white space and upper-case hex", () => {
    const sig = computeSignature(body, "s", now);
    const h = `t=${now}, v0=deadbeef, v1=${sig.toUpperCase()}`;
    expect(verify(body, h, "s", 300, now).ok).toBe(true);
  });

  it("refuses to sign without a secret or with a bad timestamp", () => {
    expect(() => signatureHeader(body, [], now)).toThrow(RangeError);
    expect(() => signatureHeader(body, ["s"], 1.5)).toThrow(RangeError);
  });
});
