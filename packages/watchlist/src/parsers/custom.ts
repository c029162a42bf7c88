import { readFile } from "node:fs/promises";
import { WatchlistCategory, WatchlistSeverity } from "@chainscreen/schema";
import { parse } from "csv-parse";
import { checkTextFile, parseDateMs, textStream, WatchlistFormatError } from "../input.js";
import { emptyReport, type ParseResult, type RawEntry } from "../types.js";

// Custom lists, CSV with a header row or JSON (an array, or {"entries": [...]}). Columns/fields:
//   address (required); chain or family (required); label; category (sanctioned, mixer, exchange,
//   service, darknet, …; default "other"); severity (severe|high|medium|low; default "high");
//   entity; programmes (";"-separated in CSV); code; listed_from / listedFrom (date).

type Row = Record<string, unknown>;

function str(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  const s = String(v).trim();
  return s === "" ? null : s;
}

function toEntry(format: string, path: string, row: Row, where: string): RawEntry {
  const address = str(row.address);
  const familyOrChain = str(row.family) ?? str(row.chain);
  if (!address) throw new WatchlistFormatError(format, path, `${where}: missing address`);
  if (!familyOrChain)
    throw new WatchlistFormatError(format, path, `${where}: missing chain or family`);
  const cat = WatchlistCategory.safeParse((str(row.category) ?? "other").toLowerCase());
  if (!cat.success) {
    throw new WatchlistFormatError(
      format,
      path,
      `${where}: unknown category "${str(row.category)}"`,
      {
        allowed: WatchlistCategory.options,
      },
    );
  }
  const sev = WatchlistSeverity.safeParse((str(row.severity) ?? "high").toLowerCase());
  if (!sev.success) {
    throw new WatchlistFormatError(
      format,
      path,
      `${where}: unknown severity "${str(row.severity)}"`,
    );
  }
  const progRaw = row.programmes ?? row.programs;
  const programmes = Array.isArray(progRaw)
    ? progRaw.map(String)
    : (str(progRaw) ?? "")
        .split(";")
        .map((s) => s.trim())
        .filter(Boolean);
  return {
    code: str(row.code),
    familyOrChain: familyOrChain.toLowerCase(),
    address,
    entityName: str(row.entity) ?? str(row.entityName),
    entityId: str(row.entityId) ?? str(row.entity_id),
    programmes,
    category: cat.data,
    severity: sev.data,
    label: str(row.label),
    designatedAt: parseDateMs(str(row.listed_from) ?? str(row.listedFrom)),
    where,
  };
}

/** Streams a custom CSV list (header row required: address, chain|family, …). */
export async function parseCustomCsv(path: string): Promise<ParseResult> {
  const format = "csv";
  await checkTextFile(path, format);
  const report = emptyReport();
  const entries: RawEntry[] = [];
  const parser = textStream(path, "utf8").pipe(
    parse({
      columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()),
      bom: true,
      skip_empty_lines: true,
      trim: true,
    }),
  );
  let row = 1;
  try {
    for await (const rec of parser as AsyncIterable<Row>) {
      row++;
      if (row === 2) {
        const cols = Object.keys(rec);
        if (!cols.includes("address") || !(cols.includes("chain") || cols.includes("family"))) {
          throw new WatchlistFormatError(
            format,
            path,
            `header must name "address" and "chain" or "family" columns, found: ${cols.join(", ")}`,
          );
        }
      }
      report.recordsRead++;
      report.addressRecords++;
      entries.push(toEntry(format, path, rec, `row ${row}`));
    }
  } catch (err) {
    if (err instanceof WatchlistFormatError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new WatchlistFormatError(format, path, `not a readable CSV: ${reason}`);
  }
  if (report.recordsRead === 0)
    throw new WatchlistFormatError(format, path, "no rows after the header");
  return { entries, report };
}

/** Reads a custom JSON list: an array of entries or {"entries": [...]}. */
export async function parseCustomJson(path: string): Promise<ParseResult> {
  const format = "json";
  await checkTextFile(path, format);
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new WatchlistFormatError(format, path, `not valid JSON: ${reason}`);
  }
  const rows = Array.isArray(doc) ? doc : (doc as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(rows)) {
    throw new WatchlistFormatError(format, path, 'expected an array or {"entries": [...]}');
  }
  const report = emptyReport();
  const entries: RawEntry[] = [];
  rows.forEach((r, i) => {
    if (typeof r !== "object" || r === null) {
      throw new WatchlistFormatError(format, path, `entry ${i} is not an object`);
    }
    report.recordsRead++;
    report.addressRecords++;
    entries.push(toEntry(format, path, r as Row, `entry ${i}`));
  });
  if (entries.length === 0) throw new WatchlistFormatError(format, path, "no entries");
  return { entries, report };
}
