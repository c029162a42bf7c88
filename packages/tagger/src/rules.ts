import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { ValidationError } from "@chainscreen/errors";
import { FlagExposure, FlagRuleKind, FlagSeverity } from "@chainscreen/schema";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** One severity rule: every present condition must hold; the first matching rule wins. */
export const SeverityRule = z
  .object({
    /** Stable id, copied into `flag.rule.id`. */
    id: z.string().min(1).max(128),
    when: z
      .object({
        rule: FlagRuleKind.optional(),
        exposure: FlagExposure.optional(),
        minHops: z.number().int().nonnegative().optional(),
        maxHops: z.number().int().nonnegative().optional(),
        /** Any of these categories among the matched entries. */
        categories: z.array(z.string()).optional(),
        minValueUsd: z.number().nonnegative().optional(),
        maxValueUsd: z.number().nonnegative().optional(),
        retro: z.boolean().optional(),
      })
      .strict()
      .default({}),
    severity: FlagSeverity,
  })
  .strict();
export type SeverityRule = z.infer<typeof SeverityRule>;

/** The tagger's declarative configuration (JSON or YAML); every field has a default. */
export const RulesConfig = z
  .object({
    direct: z
      .object({ enabled: z.boolean().default(true) })
      .strict()
      .default({ enabled: true }),
    indirect: z
      .object({
        enabled: z.boolean().default(true),
        /** Highest hop that is flagged (hop 1 = received directly from a listed address). */
        maxHops: z.number().int().min(1).max(16).default(2),
        /** Weight multiplier per hop: weight(h) = decay^h. */
        decay: z.number().gt(0).max(1).default(0.5),
        /** Exposure whose weight falls below this is not propagated (nor flagged). */
        minWeight: z.number().min(0).max(1).default(0),
        /** A transfer worth less (USD) neither propagates exposure nor gets an indirect flag. */
        minValueUsd: z.number().nonnegative().default(0),
        /** Unpriced transfers (no price for the asset) count as above the minimum when true. */
        unpricedPropagates: z.boolean().default(true),
        /** Categories that make an address a service: it never becomes exposed. */
        serviceCategories: z
          .array(z.string())
          .default(["exchange", "custodian", "service", "vasp", "bridge"]),
        /** Exposure is forgotten this long (transfer time) after the funds arrived. */
        windowMs: z
          .number()
          .int()
          .positive()
          .default(90 * DAY),
        /** Bounded memory: addresses held per instance (least recently used are evicted). */
        maxAddresses: z.number().int().positive().default(2_000_000),
        /** Exposure facts (source × inflow) kept per address; beyond it the weakest are dropped. */
        maxSourcesPerAddress: z.number().int().positive().default(64),
        /** Recent outflows kept per address for exposures that arrive late (out of order). */
        maxOutflowsPerAddress: z.number().int().positive().default(16),
        /** Recent outflows kept per instance in total (least recently used addresses' go first). */
        maxHeldOutflows: z.number().int().positive().default(500_000),
      })
      .strict()
      .prefault({}),
    structuring: z
      .object({
        enabled: z.boolean().default(true),
        /** Reporting threshold (USD). */
        thresholdUsd: z.number().positive().default(10_000),
        /** "Just under": value in [threshold × (1 − marginPct/100), threshold). */
        marginPct: z.number().gt(0).max(100).default(10),
        /** Transfers in the band within the window (this one included) that make structuring. */
        minCount: z.number().int().min(2).default(3),
        windowMs: z.number().int().positive().default(DAY),
      })
      .strict()
      .prefault({}),
    p2p: z
      .object({
        enabled: z.boolean().default(true),
        /** Transfers between two non-service addresses worth at least this (USD) are flagged. */
        minValueUsd: z.number().nonnegative().default(50_000),
        /** Only these chains (empty = all). */
        chains: z.array(z.string()).default([]),
      })
      .strict()
      .prefault({}),
    /** Flags of one rule for the same parties within this window share an incident id. */
    cooldown: z
      .object({
        windowMs: z.number().int().positive().default(HOUR),
        /** true: only the first flag of an incident is emitted (per instance); false: all, grouped. */
        suppressRepeats: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    prices: z
      .object({
        /** Symbols valued 1:1 in USD. */
        stablecoins: z
          .array(z.string())
          .default(["USDT", "USDC", "DAI", "BUSD", "TUSD", "USDP", "FDUSD", "PYUSD", "USDD"]),
        /** USD price per whole unit, by symbol (`ETH`) or `chain:contract`. */
        usd: z.record(z.string(), z.number().nonnegative()).default({}),
      })
      .strict()
      .prefault({}),
    /** Ordered severity rules; the first match wins; `defaultSeverity` otherwise. */
    severity: z.array(SeverityRule).default(() => DEFAULT_SEVERITY_RULES),
    defaultSeverity: FlagSeverity.default("medium"),
  })
  .strict();
export type RulesConfig = z.infer<typeof RulesConfig>;
/** Input form of {@link RulesConfig} (every field optional). */
export type RulesConfigInput = z.input<typeof RulesConfig>;

/** Default severity ladder, modelled on KYT's Severe/High/Medium/Low. */
export const DEFAULT_SEVERITY_RULES: SeverityRule[] = [
  {
    id: "direct-sanctioned",
    when: { exposure: "direct", categories: ["sanctioned"] },
    severity: "severe",
  },
  {
    id: "direct-illicit",
    when: { exposure: "direct", categories: ["mixer", "darknet", "ransomware", "scam", "stolen"] },
    severity: "high",
  },
  { id: "direct-other", when: { exposure: "direct" }, severity: "medium" },
  {
    id: "indirect-hop1-large",
    when: { exposure: "indirect", maxHops: 1, minValueUsd: 10_000 },
    severity: "high",
  },
  { id: "indirect-hop1", when: { exposure: "indirect", maxHops: 1 }, severity: "medium" },
  { id: "indirect-far", when: { exposure: "indirect" }, severity: "low" },
  { id: "structuring", when: { rule: "structuring" }, severity: "high" },
  { id: "p2p-large", when: { rule: "p2p", minValueUsd: 1_000_000 }, severity: "high" },
  { id: "p2p", when: { rule: "p2p" }, severity: "medium" },
];

/** A parsed configuration with its content hash (copied into `flag.rule.configVersion`). */
export interface LoadedRules {
  config: RulesConfig;
  version: string;
}

/** Validates a configuration object (defaults filled in) and hashes it. */
export function parseRules(input: unknown): LoadedRules {
  const r = RulesConfig.safeParse(input ?? {});
  if (!r.success) {
    const issues = r.error.issues
      .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
      .join("; ");
    throw new ValidationError(`invalid tagger rules: ${issues}`);
  }
  const version = createHash("sha256").update(JSON.stringify(r.data)).digest("hex").slice(0, 16);
  return { config: r.data, version };
}

/** Reads a rules file: `.json` as JSON, anything else as YAML (a superset of JSON). */
export function loadRulesFile(path: string): LoadedRules {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ValidationError(`cannot read rules file ${path}`, { cause: err });
  }
  let data: unknown;
  try {
    data = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ValidationError(
      `rules file ${path} is not valid ${path.endsWith(".json") ? "JSON" : "YAML"}`,
      { cause: err },
    );
  }
  return parseRules(data);
}

/** Facts about a finding that severity rules look at. */
export interface SeverityFacts {
  rule: FlagRuleKind;
  exposure: FlagExposure | null;
  hops: number | null;
  categories: readonly string[];
  valueUsd: number | null;
  retro: boolean;
}

/** First matching severity rule (id and severity), or the default. */
export function decideSeverity(
  cfg: RulesConfig,
  f: SeverityFacts,
): { id: string; severity: FlagSeverity } {
  for (const r of cfg.severity) {
    const w = r.when;
    if (w.rule !== undefined && w.rule !== f.rule) continue;
    if (w.exposure !== undefined && w.exposure !== f.exposure) continue;
    if (w.minHops !== undefined && (f.hops === null || f.hops < w.minHops)) continue;
    if (w.maxHops !== undefined && (f.hops === null || f.hops > w.maxHops)) continue;
    if (w.categories !== undefined && !w.categories.some((c) => f.categories.includes(c))) continue;
    if (w.minValueUsd !== undefined && (f.valueUsd === null || f.valueUsd < w.minValueUsd))
      continue;
    if (w.maxValueUsd !== undefined && (f.valueUsd === null || f.valueUsd >= w.maxValueUsd))
      continue;
    if (w.retro !== undefined && w.retro !== f.retro) continue;
    return { id: r.id, severity: r.severity };
  }
  return { id: `${f.rule}-default`, severity: cfg.defaultSeverity };
}
