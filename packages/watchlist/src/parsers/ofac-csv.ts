import { parse } from "csv-parse";
import { checkTextFile, textStream, WatchlistFormatError } from "../input.js";
import { emptyReport, type ParseResult, type RawEntry } from "../types.js";

// OFAC SDN.CSV (legacy format): no header, 12 columns — ent_num, SDN_Name, SDN_Type, Program,
// Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks; `-0-` means empty;
// latin-1; CRLF; a DOS end-of-file byte (0x1A) after the last record. Remarks are cut at 1,000
// characters; the rest sits in SDN_COMMENTS.CSV (ent_num, remarks continuation).
const COLUMNS = 12;
/** Length at which OFAC cuts the Remarks column of SDN.CSV. */
export const OFAC_REMARKS_LIMIT = 1000;
const FORMAT = "ofac-csv";
/** DOS end-of-file byte OFAC appends after the last record. */
const DOS_EOF = String.fromCharCode(0x1a);
const ADDRESS_RE = /Digital Currency Address - ([A-Za-z0-9]+) ([^;]*?)(;|$)/g;

function field(v: string | undefined): string | null {
  const t = (v ?? "").trim();
  return t === "" || t === "-0-" ? null : t;
}

/** Programmes of the Program column: `CYBER2] [DPRK3` → [CYBER2, DPRK3]. */
export function splitProgrammes(p: string | null): string[] {
  if (!p) return [];
  return p
    .split(/\]\s*\[/)
    .map((s) => s.replace(/[[\]]/g, "").trim())
    .filter(Boolean);
}

async function* records(path: string, columns: number | null): AsyncGenerator<string[]> {
  const parser = textStream(path, "latin1").pipe(
    parse({ relax_column_count: true, bom: true, skip_empty_lines: true }),
  );
  let n = 0;
  try {
    for await (const rec of parser as AsyncIterable<string[]>) {
      n++;
      // The trailing DOS EOF byte parses as a one-field record.
      if (rec.length === 1 && (rec[0] ?? "").split(DOS_EOF).join("").trim() === "") continue;
      if (columns !== null && rec.length !== columns) {
        throw new WatchlistFormatError(
          FORMAT,
          path,
          `record ${n} has ${rec.length} columns, expected ${columns} (is this SDN.CSV?)`,
          { record: n },
        );
      }
      yield rec;
    }
  } catch (err) {
    if (err instanceof WatchlistFormatError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new WatchlistFormatError(FORMAT, path, `not a readable CSV: ${reason}`);
  }
}

/** Reads SDN_COMMENTS.CSV into ent_num → continuation of the remarks. */
async function readComments(path: string): Promise<Map<string, string>> {
  await checkTextFile(path, FORMAT);
  const out = new Map<string, string>();
  for await (const rec of records(path, null)) {
    if (rec.length < 2) {
      throw new WatchlistFormatError(
        FORMAT,
        path,
        "comments file needs ent_num and remarks columns",
      );
    }
    const id = (rec[0] ?? "").trim();
    out.set(id, (out.get(id) ?? "") + (rec[1] ?? ""));
  }
  return out;
}

/** Options of {@link parseOfacCsv}. */
export interface OfacCsvOptions {
  /** SDN_COMMENTS.CSV: with it, remarks cut at 1,000 characters are rebuilt in full. */
  commentsPath?: string;
}

/**
 * Streams OFAC SDN.CSV and returns every digital currency address in the Remarks column, with
 * party name, programmes and ent_num. An address that runs into the 1,000-character cut (no `;`
 * after it) is a fragment: reported, never returned as an entry.
 */
export async function parseOfacCsv(path: string, opts: OfacCsvOptions = {}): Promise<ParseResult> {
  await checkTextFile(path, FORMAT);
  const comments = opts.commentsPath ? await readComments(opts.commentsPath) : null;
  const report = emptyReport();
  const entries: RawEntry[] = [];
  let row = 0;
  for await (const rec of records(path, COLUMNS)) {
    row++;
    report.recordsRead++;
    const id = (rec[0] ?? "").trim();
    if (!/^\d+$/.test(id)) {
      throw new WatchlistFormatError(FORMAT, path, `record ${row} has no numeric ent_num`);
    }
    let remarks = rec[11] ?? "";
    let truncated = remarks.length >= OFAC_REMARKS_LIMIT;
    const more = comments?.get(id);
    if (truncated && more !== undefined) {
      remarks += more;
      truncated = false;
      report.warnings.push(`ent_num ${id}: remarks rebuilt from the comments file`);
    }
    if (!remarks.includes("Digital Currency Address")) continue;
    report.addressRecords++;
    if (truncated) {
      report.warnings.push(`ent_num ${id}: remarks cut at ${OFAC_REMARKS_LIMIT} characters`);
    }
    const name = field(rec[1]);
    const programmes = splitProgrammes(field(rec[3]));
    for (const m of remarks.matchAll(ADDRESS_RE)) {
      const code = (m[1] ?? "").toUpperCase();
      const text = (m[2] ?? "").trim();
      const atEnd = m[3] === "";
      if (atEnd && truncated) {
        report.fragments.push({ entityId: id, code, text, where: `row ${row}` });
        continue;
      }
      // The last remark ends with "."; addresses never do.
      const address = (atEnd ? text.replace(/\.$/, "") : text).split(/\s+/)[0] ?? "";
      if (!address) {
        report.invalid.push({
          code,
          family: "unknown",
          address: text,
          reason: "no address",
          where: `row ${row}`,
        });
        continue;
      }
      entries.push({
        code,
        familyOrChain: null,
        address,
        entityName: name,
        entityId: id,
        programmes,
        category: "sanctioned",
        severity: "severe",
        label: null,
        designatedAt: null,
        where: `row ${row}`,
      });
    }
  }
  if (report.recordsRead === 0) throw new WatchlistFormatError(FORMAT, path, "no records");
  return { entries, report };
}
