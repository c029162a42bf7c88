import { createInterface } from "node:readline";
import { checkTextFile, parseDateMs, textStream, WatchlistFormatError } from "../input.js";
import { emptyReport, type ParseResult, type RawEntry } from "../types.js";

// OpenSanctions FollowTheMoney entities, one JSON object per line:
//   {"id", "schema", "caption", "properties": {...}, "first_seen", "last_seen", "datasets"}
// CryptoWallet: properties.publicKey[] (the address), currency[], holder[] (entity ids).
// Holders' names come from their own lines (caption / properties.name); programmes from Sanction
// entities (properties.entity[] → properties.program[] / programId[]).
const FORMAT = "opensanctions";

interface FtmEntity {
  id?: unknown;
  schema?: unknown;
  caption?: unknown;
  first_seen?: unknown;
  properties?: Record<string, unknown>;
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];

/**
 * Streams FtM JSON lines and returns one entry per CryptoWallet public key, with the holder's
 * name and programmes when their entities are in the same file.
 */
export async function parseOpenSanctions(path: string): Promise<ParseResult> {
  await checkTextFile(path, FORMAT);
  const report = emptyReport();
  const names = new Map<string, string>();
  const programmes = new Map<string, Set<string>>();
  const wallets: Array<{ e: FtmEntity; line: number }> = [];
  const rl = createInterface({
    input: textStream(path, "utf8"),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let line = 0;
  for await (const raw of rl) {
    line++;
    const t = raw.trim();
    if (!t) continue;
    let e: FtmEntity;
    try {
      e = JSON.parse(t) as FtmEntity;
    } catch {
      throw new WatchlistFormatError(FORMAT, path, `line ${line} is not JSON`, { line });
    }
    if (
      typeof e !== "object" ||
      e === null ||
      typeof e.schema !== "string" ||
      typeof e.id !== "string"
    ) {
      throw new WatchlistFormatError(
        FORMAT,
        path,
        `line ${line} is not an FtM entity (id, schema)`,
        {
          line,
        },
      );
    }
    report.recordsRead++;
    const props = e.properties ?? {};
    if (e.schema === "CryptoWallet") {
      wallets.push({ e, line });
    } else if (e.schema === "Sanction") {
      const progs = [...strings(props.program), ...strings(props.programId)];
      for (const ent of strings(props.entity)) {
        const set = programmes.get(ent) ?? new Set<string>();
        for (const p of progs) set.add(p);
        programmes.set(ent, set);
      }
    } else {
      const name = typeof e.caption === "string" ? e.caption : strings(props.name)[0];
      if (name) names.set(e.id, name);
    }
  }
  if (report.recordsRead === 0) throw new WatchlistFormatError(FORMAT, path, "no entities");
  const entries: RawEntry[] = [];
  for (const { e, line: ln } of wallets) {
    const props = e.properties ?? {};
    const keys = strings(props.publicKey);
    const currency = strings(props.currency)[0] ?? null;
    const holder = strings(props.holder)[0] ?? null;
    const progs = new Set<string>([...(programmes.get(e.id as string) ?? [])]);
    if (holder) for (const p of programmes.get(holder) ?? []) progs.add(p);
    if (keys.length) report.addressRecords++;
    for (const address of keys) {
      entries.push({
        code: currency ? currency.toUpperCase() : null,
        familyOrChain: null,
        address,
        entityName:
          (holder && names.get(holder)) || (typeof e.caption === "string" ? e.caption : null),
        entityId: holder ?? (e.id as string),
        programmes: [...progs].sort(),
        category: "sanctioned",
        severity: "severe",
        label: null,
        designatedAt: parseDateMs(typeof e.first_seen === "string" ? e.first_seen : null),
        where: `line ${ln}`,
      });
    }
  }
  return { entries, report };
}
