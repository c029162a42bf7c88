// Test-only fast-check arbitraries shared by the encoding and decoding tests.
import fc from "fast-check";

/** A record key or value: null, ASCII-ish or unicode (multi-byte) text, or raw bytes. */
export const bytesArb = fc.oneof(
  fc.constant(null),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
);

/** A header value: text or bytes. */
export const headerValueArb = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.uint8Array({ maxLength: 10 }).map((a) => Buffer.from(a)),
);
