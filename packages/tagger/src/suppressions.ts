import { readFileSync } from "node:fs";
import { ValidationError } from "@chainscreen/errors";
import { FlagRuleKind } from "@chainscreen/schema";
import { z } from "zod";
import { lookupAddress } from "./entries.js";

/**
 * A false-positive suppression written by an analyst (through the API): findings between these
 * two addresses are not flagged. The pair is unordered; `b` omitted suppresses every finding
 * where `a` is the matched address or a party. Optional rule kind and expiry.
 */
export const Suppression = z.object({
  family: z.string().min(2).max(64),
  a: z.string().min(1).max(128),
  b: z.string().min(1).max(128).nullable().default(null),
  rule: FlagRuleKind.nullable().default(null),
  /** Suppression ends at this time (ms, compared with the transfer's timestamp); null = never. */
  until: z.number().int().nonnegative().nullable().default(null),
  reason: z.string().max(1000).optional(),
});
export type Suppression = z.infer<typeof Suppression>;
/** Input form (defaults optional). */
export type SuppressionInput = z.input<typeof Suppression>;

/** The set of active suppressions; replaced wholesale when the source changes. */
export class Suppressions {
  private pairs = new Map<string, Suppression[]>();
  private count_ = 0;

  constructor(list: SuppressionInput[] = []) {
    this.replace(list);
  }

  /** Replaces every suppression (validated). */
  replace(list: SuppressionInput[]): void {
    const next = new Map<string, Suppression[]>();
    for (const raw of list) {
      const s = Suppression.parse(raw);
      const a = lookupAddress(s.family, s.a);
      const b = s.b === null ? null : lookupAddress(s.family, s.b);
      const norm = { ...s, a, b };
      for (const k of b === null
        ? [`${s.family}|${a}|*`]
        : [`${s.family}|${a}|${b}`, `${s.family}|${b}|${a}`]) {
        const arr = next.get(k) ?? [];
        arr.push(norm);
        next.set(k, arr);
      }
    }
    this.pairs = next;
    this.count_ = list.length;
  }

  /** Number of suppressions loaded. */
  get size(): number {
    return this.count_;
  }

  /** True when a finding of `rule` between `x` and any of `others` at time `t` is suppressed. */
  isSuppressed(
    family: string,
    rule: FlagRuleKind,
    x: string,
    others: readonly (string | null)[],
    t: number,
  ): boolean {
    if (this.pairs.size === 0) return false;
    const ok = (s: Suppression) =>
      (s.rule === null || s.rule === rule) && (s.until === null || t < s.until);
    const xl = lookupAddress(family, x);
    if (this.pairs.get(`${family}|${xl}|*`)?.some(ok)) return true;
    for (const o of others) {
      if (o === null) continue;
      const ol = lookupAddress(family, o);
      if (this.pairs.get(`${family}|${xl}|${ol}`)?.some(ok)) return true;
      if (this.pairs.get(`${family}|${ol}|*`)?.some(ok)) return true;
    }
    return false;
  }
}

/** Reads a suppression list from a JSON file (an array of {@link Suppression}). */
export function loadSuppressionsFile(path: string): SuppressionInput[] {
  try {
    const data: unknown = JSON.parse(readFileSync(path, "utf8"));
    return z.array(Suppression).parse(data);
  } catch (err) {
    throw new ValidationError(`cannot load suppressions from ${path}`, { cause: err });
  }
}
