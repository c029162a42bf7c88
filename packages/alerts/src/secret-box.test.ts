import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SecretBox } from "./secret-box.js";

describe("SecretBox", () => {
  it("round-trips, randomises, and rejects a wrong key or tampering", () => {
    const box = new SecretBox(randomBytes(32));
    const a = box.seal("whsec_abc");
    expect(a).toMatch(/^enc:v1:/);
    expect(a).not.toContain("whsec_abc");
    expect(box.seal("whsec_abc")).not.toBe(a);
    expect(box.open(a)).toBe("whsec_abc");
    expect(box.open("whsec_plain")).toBe("whsec_plain");
    expect(() => new SecretBox(randomBytes(32)).open(a)).toThrow(/cannot be decrypted/);
    const raw = Buffer.from(a.slice(7), "base64");
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(() => box.open(`enc:v1:${raw.toString("base64")}`)).toThrow(/cannot be decrypted/);
    expect(() => new SecretBox(randomBytes(16))).toThrow(/32 bytes/);
  });
});
