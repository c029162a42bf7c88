import type { Family } from "@chainscreen/addresses";
import type { WatchlistCategory, WatchlistRecord, WatchlistSeverity } from "@chainscreen/schema";

/** Input formats understood by {@link parseList}. */
export const LIST_FORMATS = [
  "ofac-advanced",
  "ofac-csv",
  "opensanctions",
  "csv",
  "json",
  "ofac-codes-dir",
] as const;
/** One of {@link LIST_FORMATS}. */
export type ListFormat = (typeof LIST_FORMATS)[number];

/** One address as a parser read it, before canonicalisation. */
export interface RawEntry {
  /** Currency code given by the source (OFAC `XBT`, FtM `currency`), null for custom lists. */
  code: string | null;
  /** Family or chain stated by the source (custom lists); otherwise derived from the code. */
  familyOrChain: string | null;
  /** Address exactly as written in the source. */
  address: string;
  entityName: string | null;
  entityId: string | null;
  programmes: string[];
  category: WatchlistCategory;
  severity: WatchlistSeverity;
  label: string | null;
  /** Designation date given by the source (ms), null when it gives none. */
  designatedAt: number | null;
  /** Where it was read, for reports: `row 12`, `line 3`, `party 25308`. */
  where: string;
}

/** A truncated address fragment (OFAC SDN.CSV remarks cut at 1,000 characters). */
export interface Fragment {
  entityId: string | null;
  code: string;
  text: string;
  where: string;
}

/** Address that failed validation in its family: reported, not indexed. */
export interface InvalidAddress {
  code: string | null;
  family: Family | string;
  address: string;
  reason: string;
  where: string;
}

/** What a parse found besides the entries: everything here is reported, nothing silently dropped. */
export interface ParseReport {
  /** Records read (rows, lines, parties, files). */
  recordsRead: number;
  /** Records that carried at least one address (or fragment). */
  addressRecords: number;
  fragments: Fragment[];
  invalid: InvalidAddress[];
  /** Codes this project has no family for, with how many addresses each carried. */
  unknownCodes: Record<string, number>;
  /** Other facts worth a look (code/family mismatch, rows rebuilt from comments, …). */
  warnings: string[];
}

/** Result of a parser: raw entries and the report. */
export interface ParseResult {
  entries: RawEntry[];
  report: ParseReport;
}

/** Canonical entry of a list: an address in a family with every record behind it. */
export interface ListEntry {
  family: Family;
  /** Canonical address (see `@chainscreen/addresses`). */
  address: string;
  /** Spellings seen in the source (e.g. EIP-55 checksummed), for display. */
  originals: string[];
  records: WatchlistRecord[];
}

/** Empty report. */
export function emptyReport(): ParseReport {
  return {
    recordsRead: 0,
    addressRecords: 0,
    fragments: [],
    invalid: [],
    unknownCodes: {},
    warnings: [],
  };
}

/** Key of an entry inside one list: family and canonical address. */
export function entryKey(family: string, address: string): string {
  return `${family}:${address}`;
}

/** Splits an {@link entryKey}. */
export function splitKey(key: string): { family: string; address: string } {
  const i = key.indexOf(":");
  return { family: key.slice(0, i), address: key.slice(i + 1) };
}
