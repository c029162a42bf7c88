import { z } from "zod";

/** Integer amount in base units (wei, sun, satoshi, token units) as a decimal string: never a float. */
export const Amount = z
  .string()
  .regex(
    /^(0|[1-9]\d*)$/,
    "amount must be a non-negative integer in base units, as a decimal string",
  );

/** Chain name as configured: lowercase, e.g. ethereum, bitcoin, tron, bsc, polygon. */
export const ChainName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,31}$/, "chain must be a lowercase name such as ethereum or tron");

/** Unix time in milliseconds. */
export const TimestampMs = z.number().int().nonnegative();

/** Non-empty string without surrounding white space. */
export const NonEmpty = z.string().min(1).max(512);
