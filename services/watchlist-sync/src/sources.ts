import { checkListId, LIST_FORMATS, type ListFormat } from "@chainscreen/watchlist";

/** One list to refresh. */
export interface SourceConfig {
  listId: string;
  format: ListFormat;
  /** http(s) URL or local path (a directory for ofac-codes-dir). */
  location: string;
  /** ofac-csv: SDN_COMMENTS.CSV URL or path. */
  comments?: string;
}

/** Parses `<listId>|<format>|<url or path>[|<comments>]` items separated by `;`. */
export function parseSources(s: string): SourceConfig[] {
  const out: SourceConfig[] = [];
  for (const item of s
    .split(";")
    .map((x) => x.trim())
    .filter(Boolean)) {
    const [listId, format, location, comments] = item.split("|").map((x) => x.trim());
    if (!listId || !format || !location) {
      throw new Error(`source "${item}" must be <listId>|<format>|<url or path>[|<comments>]`);
    }
    checkListId(listId);
    if (!(LIST_FORMATS as readonly string[]).includes(format)) {
      throw new Error(
        `source "${listId}": unknown format "${format}" (${LIST_FORMATS.join(", ")})`,
      );
    }
    out.push({ listId, format: format as ListFormat, location, comments: comments || undefined });
  }
  if (!out.length) throw new Error("no sources configured");
  const ids = out.map((o) => o.listId);
  if (new Set(ids).size !== ids.length) throw new Error("list ids must be unique across sources");
  return out;
}
