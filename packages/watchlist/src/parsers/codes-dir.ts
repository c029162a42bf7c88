import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { checkTextFile, WatchlistFormatError } from "../input.js";
import { emptyReport, type ParseResult, type RawEntry } from "../types.js";

// Per-code address lists as published by 0xB10C/ofac-sanctioned-digital-currency-addresses (one
// file per OFAC code, generated from SDN_ADVANCED.XML): sanctioned_addresses_<CODE>.txt (one
// address per line) or .json (array of strings). When both exist for a code, .txt is read.
const FORMAT = "ofac-codes-dir";
const FILE_RE = /^sanctioned_addresses_([A-Za-z0-9]+)\.(txt|json)$/;

/** Reads a directory of per-code lists; the code comes from each file name. */
export async function parseOfacCodesDir(dir: string): Promise<ParseResult> {
  let s: Awaited<ReturnType<typeof stat>>;
  try {
    s = await stat(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unknown";
    throw new WatchlistFormatError(FORMAT, dir, `cannot read directory (${code})`);
  }
  if (!s.isDirectory()) throw new WatchlistFormatError(FORMAT, dir, "not a directory");
  const byCode = new Map<string, { file: string; ext: string }>();
  for (const f of (await readdir(dir)).sort()) {
    const m = FILE_RE.exec(f);
    if (!m) continue;
    const code = (m[1] as string).toUpperCase();
    const prev = byCode.get(code);
    if (!prev || m[2] === "txt") byCode.set(code, { file: f, ext: m[2] as string });
  }
  if (byCode.size === 0) {
    throw new WatchlistFormatError(FORMAT, dir, "no sanctioned_addresses_<CODE>.txt|json files");
  }
  const report = emptyReport();
  const entries: RawEntry[] = [];
  for (const [code, { file, ext }] of byCode) {
    const path = join(dir, file);
    await checkTextFile(path, FORMAT);
    const text = await readFile(path, "utf8");
    let addresses: string[];
    if (ext === "json") {
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        throw new WatchlistFormatError(FORMAT, path, "not valid JSON");
      }
      if (!Array.isArray(doc) || doc.some((x) => typeof x !== "string")) {
        throw new WatchlistFormatError(FORMAT, path, "expected a JSON array of strings");
      }
      addresses = doc as string[];
    } else {
      addresses = text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean);
    }
    report.recordsRead++;
    if (addresses.length) report.addressRecords++;
    addresses.forEach((address, i) => {
      entries.push({
        code,
        familyOrChain: null,
        address,
        entityName: null,
        entityId: null,
        programmes: [],
        category: "sanctioned",
        severity: "severe",
        label: null,
        designatedAt: null,
        where: `${file}:${i + 1}`,
      });
    });
  }
  return { entries, report };
}
