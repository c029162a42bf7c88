import {
  canonicalize,
  chainFamily,
  type Family,
  familyByShape,
  familyForCode,
  tryCanonicalize,
} from "@chainscreen/addresses";
import type { WatchlistRecord } from "@chainscreen/schema";
import { entryKey, type ListEntry, type ParseReport, type RawEntry } from "./types.js";

/** Entry counts of a list. */
export interface ListCounts {
  /** Distinct (family, address) keys. */
  addresses: number;
  /** Records (an address listed under two codes or for two entities has two). */
  records: number;
  /** Records per source code (`XBT`, `ETH`, …; `-` for entries without a code). */
  byCode: Record<string, number>;
  /** Distinct addresses per family. */
  byFamily: Record<string, number>;
}

/** Canonical entries of a parse, with counts; the report is completed in place. */
export interface NormalizedList {
  entries: Map<string, ListEntry>;
  counts: ListCounts;
  report: ParseReport;
}

function resolveFamily(
  raw: RawEntry,
  report: ParseReport,
): { family: Family; byCode: boolean } | null {
  if (raw.familyOrChain) {
    const f = chainFamily(raw.familyOrChain);
    if (!f) {
      report.invalid.push({
        code: raw.code,
        family: raw.familyOrChain,
        address: raw.address,
        reason: `unknown chain or family "${raw.familyOrChain}"`,
        where: raw.where,
      });
      return null;
    }
    return { family: f, byCode: false };
  }
  if (raw.code) {
    const r = familyForCode(raw.code, raw.address);
    if (!r.knownCode) report.unknownCodes[raw.code] = (report.unknownCodes[raw.code] ?? 0) + 1;
    return { family: r.family, byCode: r.by === "code" };
  }
  return { family: familyByShape(raw.address) ?? "unknown", byCode: false };
}

/**
 * Canonicalises raw entries into one {@link ListEntry} per (family, address). Addresses invalid in
 * their family are reported and left out — except when the code fixed the family and the address
 * is unambiguously valid in another one (OFAC lists a Tron address under XBT): then it is indexed
 * under the family its shape says, with a warning.
 */
export function normalize(raws: RawEntry[], report: ParseReport): NormalizedList {
  const entries = new Map<string, ListEntry>();
  const seen = new Map<string, Set<string>>();
  const byCode: Record<string, number> = {};
  let records = 0;
  for (const raw of raws) {
    const fam = resolveFamily(raw, report);
    if (!fam) continue;
    let family = fam.family;
    let r = tryCanonicalize(family, raw.address);
    if (!r.ok && fam.byCode) {
      const shape = familyByShape(raw.address);
      if (shape && shape !== family) {
        report.warnings.push(
          `${raw.where}: ${raw.code} address ${raw.address} is not ${family} but a valid ${shape} address; indexed as ${shape}`,
        );
        family = shape;
        r = { ok: true, address: canonicalize(shape, raw.address) };
      }
    }
    if (!r.ok) {
      report.invalid.push({
        code: raw.code,
        family,
        address: raw.address,
        reason: r.error,
        where: raw.where,
      });
      continue;
    }
    const key = entryKey(family, r.address);
    let e = entries.get(key);
    if (!e) {
      e = { family, address: r.address, originals: [], records: [] };
      entries.set(key, e);
      seen.set(key, new Set());
    }
    if (!e.originals.includes(raw.address)) e.originals.push(raw.address);
    const rec: WatchlistRecord = {
      code: raw.code,
      entityName: raw.entityName,
      entityId: raw.entityId,
      programmes: raw.programmes,
      category: raw.category,
      severity: raw.severity,
      label: raw.label,
      designatedAt: raw.designatedAt,
    };
    const sig = JSON.stringify(rec);
    const sigs = seen.get(key) as Set<string>;
    if (sigs.has(sig)) continue;
    sigs.add(sig);
    e.records.push(rec);
    records++;
    const c = raw.code ?? "-";
    byCode[c] = (byCode[c] ?? 0) + 1;
  }
  const byFamily: Record<string, number> = {};
  for (const e of entries.values()) byFamily[e.family] = (byFamily[e.family] ?? 0) + 1;
  return { entries, counts: { addresses: entries.size, records, byCode, byFamily }, report };
}
